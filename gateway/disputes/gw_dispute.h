/*
 * gw_dispute: disputes as objects (issue 19 item 6, ADR 0132), shaped like
 * Stripe's Dispute (https://docs.stripe.com/api/disputes/object): the model,
 * its JSON, the evidence a merchant may submit, and the events each change
 * writes in the same transaction (invariant 7, docs/invariants.md).
 *
 * Status, in Stripe's words: warning_needs_response, warning_under_review,
 * warning_closed (an inquiry), needs_response, under_review, won, lost.
 * needs_response -> under_review (evidence submitted) -> won | lost (the
 * PSP's decision); needs_response | under_review -> lost (the merchant
 * accepts: POST /v1/disputes/{id}/close); the warning_ states likewise.
 * won, lost and warning_closed are closed: nothing changes them here.
 */
#ifndef GW_DISPUTE_H
#define GW_DISPUTE_H
#include <stdbool.h>
#include <libpq-fe.h>
#include <jansson.h>

struct gw_error;

/* Stripe's text evidence fields have at most 20,000 characters each; the
 * whole request is bounded by the gateway's 64 KiB body limit (413). */
#define GW_DISPUTE_EVIDENCE_MAX 20000

/* Days the merchant has to answer, counted from the dispute's arrival,
 * when the PSP's webhook names no deadline (evidence_details.due_by). */
#define GW_DISPUTE_DUE_DAYS 7

struct gw_dispute {
	char id[72];                 /* "du_" + 22 base62 characters (128 CSPRNG bits) */
	char merchant_id[72];
	char payment_id[72];
	char psp_dispute_id[128];    /* Stripe "du_...", Adyen the chargeback's pspReference */
	long long amount;            /* minor units */
	char currency[4];
	char reason[48];             /* Stripe's reasons (gw_dispute_reason) */
	char status[32];
	json_t *evidence;            /* owned: {field: text}, only the fields set; NULL = {} */
	int submission_count;
	long long due_by;            /* UNIX seconds, 0: none */
	long long created;           /* UNIX seconds */
	char connector[32];          /* the payment's connector (for logs, never shown) */
	char payment_status[32];     /* the payment's status now (for its events) */
	char psp_payment[128];       /* the payment's PSP reference (for the vault's calls) */
};

/** Free what d owns (its evidence); d itself is the caller's. */
void gw_dispute_clear(struct gw_dispute *d);

/** Whether s is a dispute id's shape ("du_" + GW_ID_CHARS of [A-Za-z0-9]). */
bool gw_dispute_id_ok(const char *s);

/** Whether status is closed (won, lost, warning_closed): no evidence, no close. */
bool gw_dispute_closed(const char *status);

/**
 * The dispute's reason as Stripe names it: psp_reason when it is one of
 * Stripe's (bank_cannot_process, check_returned, credit_not_processed,
 * customer_initiated, debit_not_authorized, duplicate, fraudulent, general,
 * incorrect_account_details, insufficient_funds, noncompliant,
 * product_not_received, product_unacceptable, subscription_canceled,
 * unrecognized), else "general" (an Adyen reason code, or none).
 */
const char *gw_dispute_reason(const char *psp_reason);

/**
 * d as Stripe's Dispute: {"id","object":"dispute","amount","currency",
 * "payment","reason","status","evidence":{every text field: string|null},
 * "evidence_details":{"due_by","has_evidence","past_due",
 * "submission_count"},"is_charge_refundable":false,"livemode":false,
 * "created"}. @return new reference, NULL on allocation failure.
 */
json_t *gw_dispute_to_json(const struct gw_dispute *d);

/**
 * Validate the body of POST /v1/disputes/{id} (Stripe's update,
 * https://docs.stripe.com/api/disputes/update): {"evidence"?: {field:
 * string|null}, "submit"?: bool}. Only Stripe's text evidence fields are
 * known (no file fields: Strongroom stores no files). Each value is a
 * string of at most GW_DISPUTE_EVIDENCE_MAX characters without NUL, and
 * screened for card numbers (sr_panscan_has_pan, as common/sr_http_screen.c
 * screens the whole request); "" or null unsets the field. The given fields
 * are merged into *evidence (borrowed, updated in place). Errors (400
 * invalid_request_error, param named, no value echoed): parameter_invalid_type,
 * parameter_unknown (a body key, or evidence[KEY] for an unknown field),
 * evidence_too_long, pan_not_allowed.
 * @return 0 with *submit set (false when absent), or -1 with *err filled.
 */
int gw_dispute_update_parse(const json_t *body, json_t *evidence, bool *submit,
                            struct gw_error *err);

/**
 * Inside the caller's open transaction: append the event `type`
 * (dispute.created via "payment.disputed", dispute.funds_withdrawn,
 * dispute.updated, dispute.closed, dispute.funds_reinstated) about d to
 * d's payment's events and outbox (invariant 7): data.object is d's JSON,
 * data.previous_attributes the members of before (d's JSON before the
 * change, borrowed; NULL: none) that changed. The request that caused it
 * is this thread's merchant request, if any (Stripe's Event.request).
 * @return 0, -1 database or allocation error (the caller rolls back).
 */
int gw_dispute_event_in_tx(PGconn *conn, const struct gw_dispute *d, const char *type,
                           const json_t *before);

struct gw_app;

/** What POST /v1/disputes/{id} and POST /v1/disputes/{id}/close ask for. */
enum gw_dispute_op {
	GW_DISPUTE_UPDATE,           /* evidence, and submit when asked */
	GW_DISPUTE_CLOSE,            /* accept: the merchant concedes */
};

/**
 * Act on dispute id of merchant (gateway/disputes/gw_dispute_ops.c): check
 * the dispute (not found or another merchant's: 404 resource_missing;
 * closed: 400 dispute_closed; UPDATE after evidence was submitted: 400
 * dispute_already_submitted; CLOSE of one not needing a response: 400
 * dispute_not_closable), validate body (gw_dispute_update_parse; CLOSE
 * takes no parameter), take the dispute's lease (held: 409 dispute_busy),
 * ask the vault (POST /v1/dispute_operations; the PSP is only ever reached
 * through it), and on the PSP's confirmation write the change and its
 * event (dispute.updated, dispute.closed) in one transaction. A refusal by
 * the PSP is 400 psp_refused, a PSP that could not be reached or whose
 * answer was lost 502: nothing changes and the lease is given back.
 * @return the HTTP status; *out (new reference) the dispute with 200, else
 * *err filled (static strings).
 */
unsigned gw_dispute_act(struct gw_app *app, const char *request_id, const char *merchant,
                        const char *id, enum gw_dispute_op op, const json_t *body, json_t **out,
                        struct gw_error *err);

#endif

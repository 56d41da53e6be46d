/*
 * gw_audit: the per-request principal and the hash-chained audit trail
 * (issue 4; PCI DSS v4.0 10.2.1 every access to and action on cardholder
 * data environments' systems, 10.2.2 the details of each event, 10.3.2 audit
 * logs protected from modification).
 *
 * Every state-changing request and every refusal is one audit_events record
 * (tenant, actor key id and role, request id, action, target, provider,
 * result, HTTP status, failure reason). Each record's hash is SHA-256 (hex)
 * over its canonical form: the JSON object of all its fields including seq
 * and prev_hash, keys sorted, compact (jansson JSON_SORT_KEYS|JSON_COMPACT).
 * The first record's prev_hash is 64 zeros.
 */
#ifndef GW_AUDIT_H
#define GW_AUDIT_H
#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>
#include <jansson.h>

/* Permissions a route needs; a key's role grants a set of them. */
#define GW_PERM_READ     1u  /* GET */
#define GW_PERM_PAYMENTS 2u  /* create, capture, cancel */
#define GW_PERM_REFUNDS  4u  /* refunds */
#define GW_PERM_ADMIN    8u  /* account settings: webhook endpoints, PSP credentials (issue 5) */

/* The request being handled on this thread (set by gw_route and gw_auth). */
struct gw_req_ctx {
	unsigned need;           /* GW_PERM_* the route requires */
	char merchant[72];       /* authenticated merchant ("" before auth) */
	long long key_id;        /* api_keys.id (0: not authenticated) */
	char role[16];           /* the key's role */
	char target[72];         /* object acted on (payment, refund id) */
	char provider[32];       /* PSP connector involved, if any */
	char source[46];         /* the client address (gw_source_client; ADR 0119),
	                          * "" when unknown */
	const char *action;      /* the route's name ("POST /v1/payments"), static */
	/* An Idempotency-Key's final response, saved by gw_route only once the
	 * request's audit record is written (gw_idem_finish, issue 16). */
	char *idem_body;         /* malloc'd JSON, or NULL: nothing to save */
	int idem_status;
	char idem_merchant[72];
	char idem_key[256];
	/* The request as an event's cause (Stripe's Event.request, ADR 0129):
	 * its id, and its Idempotency-Key when well formed ("" none). */
	char request_id[40];
	char request_idem_key[256];
};

/** This thread's request context (thread-local storage). */
struct gw_req_ctx *gw_req_ctx(void);

/** Permissions of role ("admin", "payments", "finance", "read_only"); 0 for others. */
unsigned gw_role_perms(const char *role);

/** Whether s is one of the four roles. */
bool gw_role_valid(const char *s);

/* One audit record (strings may be NULL or "" for none). */
struct gw_audit_record {
	long long seq;
	char ts[40];             /* RFC 3339 UTC with microseconds */
	const char *merchant_id;
	long long key_id;        /* 0: none */
	const char *role;
	const char *request_id;
	const char *action;      /* e.g. "POST /v1/payments/{}/refunds" */
	const char *target;
	const char *provider;
	const char *result;      /* success | refused | error | replayed */
	int status;              /* HTTP status */
	const char *reason;      /* error code on refusals */
};

/**
 * Canonical form of rec chained to prev_hash (64 hex) and its SHA-256 hex
 * into hash[65]. @return 0, or -1 (out of memory).
 */
int gw_audit_hash(const struct gw_audit_record *rec, const char *prev_hash, char hash[65]);

/**
 * Append rec (seq and ts are assigned here) to the chain and return once it
 * is durable. Records appended concurrently by this process's threads are
 * group-committed (ADR 0083, common/sr_gc.h): linked in arrival order and
 * written in one transaction on the connection of one of the waiting
 * callers; batches are serialized across instances by an advisory lock.
 * A process appends to one chain (one gateway database).
 * When the database cannot take the record (an outage, a refused insert) and
 * the process has an audit spool (gw_audit_spool_open), the record is written
 * durably to the spool instead and linked to the chain, in spool order, as
 * soon as the database takes records again (issue 16, ADR 0114); while the
 * spool holds records, new ones queue behind them.
 * @param conn a borrowed connection with no open transaction.
 * @return 0 (in the chain, or durably spooled), or -1 (neither: logged; the
 * caller must not report the request as done, PCI DSS v4.0 10.2.1, 10.5.1).
 */
int gw_audit_append(PGconn *conn, struct gw_audit_record *rec);

/**
 * Inside a transaction opened by gw_audit_begin_locked: link recs[0..n)
 * (1..64) after the chain's head in this order (seq assigned; ts assigned
 * unless already set, as for a spooled record) and insert them. Does not
 * commit. @return 0, or -1 (logged; the caller rolls back).
 */
int gw_audit_link_insert(PGconn *conn, struct gw_audit_record *const *recs, size_t n);

/**
 * BEGIN and take the chain's advisory lock (serializes appends across
 * gatewayd instances and gatewayctl). @return 0, or -1 (rolled back, logged).
 */
int gw_audit_begin_locked(PGconn *conn);

/** Group-commit counters of this process: batches written, records in them. */
void gw_audit_stats(unsigned long long *batches, unsigned long long *records);

/**
 * Verify the whole chain in seq order: the sequence has no gap and starts at
 * 1 (a removed record), each prev_hash is the previous record's hash (a
 * reordered or removed record), each hash matches its fields (an altered
 * record). *report: new {"ok":true,"records":N} or {"ok":false,"records":N,
 * "first_bad_seq":S,"problem":"altered"|"removed"|"reordered"}.
 * @return 0 intact, 1 not intact, -1 database error.
 */
int gw_audit_verify(PGconn *conn, json_t **report);

#endif

/*
 * vaultctl's private declarations, shared by its command files in vault/ctl/
 * (vaultctl.c: options, usage and dispatch; ctl_*.c: one command group each).
 * Every cmd_* function runs one command and returns its exit status (EXIT_*);
 * messages go to stdout, errors to stderr prefixed "vaultctl: ".
 */
#ifndef VAULTCTL_H
#define VAULTCTL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/sr_db.h"
#include "hsm/hsm.h"
#include "hsm/ceremonies/hsm_backup.h"
#include "hsm/ceremonies/hsm_custodian.h"
#include "hsm/ceremonies/hsm_witness.h"

enum { EXIT_OK = 0, EXIT_OP = 1, EXIT_USAGE = 2, EXIT_TAMPERED = 3, EXIT_REFUSED = 4 };

struct opts {
	const char *module;
	const char *label;
	const char *pin_file;
	const char *so_pin_file;
	const char *config;     /* vaultd's configuration (audit verify) */
	const char *transcript; /* ceremony transcript (JSON lines) */
	const char *custodians; /* custodians file */
	const char *pubkey;     /* transcript signer's public key, PEM */
	const char *master;     /* ceremony master's name */
	const char *out;        /* keys backup: the backup file */
	const char *in;         /* keys restore: the backup file */
	const char *comp_dir;   /* keys backup/restore: component files */
	size_t quorum;          /* keys backup: M */
	size_t holders;         /* keys backup: N */
	bool wrappable;         /* keys generate: backup-capable (ADR 0073) */
	int batch;              /* keys reencrypt: records per batch */
	/* --secret NAME=FILE, one per custodian, in order (none: prompts on the terminal) */
	const char *secrets[HSM_CUSTODIAN_MAX];
	size_t nsecrets;
	/* ADR 0117: --witness NAME=FILE, the witnesses attesting every line of
	 * the command; enrolling: the witness "witness add" enrols (not loaded). */
	const char *witnesses[HSM_WITNESS_MAX];
	size_t nwitnesses;
	const char *enrolling;
	json_t *evidence;       /* --bag, --evidence: {"bags","video","room_access"}, or NULL */
	const char *tsa;        /* ceremony timestamp: the TSA's name */
	const char *tsa_ca;     /* ceremony timestamp / verify: the TSA's CA certificate, PEM */
	const char *query;      /* ceremony timestamp: the query ceremony time-query wrote */
	const char *reply;      /* ceremony timestamp: the TSA's reply */
	const char *reading;    /* ceremony clock: the reference clock's reading, RFC 3339 UTC */
	const char *clock;      /* ceremony clock: which reference clock */
	const char *anchor;     /* ceremony verify: the head anchored outside the host */
	const char *cn, *org, *san;   /* tls csr/rotate: the request's subject and names */
	long long overlap;            /* tls retire: seconds the new certificate serves first */
	bool allow_untimed;           /* ceremony verify: accept lines no trusted time follows */
};

/* ---- ctl_keys.c: the token and its keys ---------------------------------------- */

/** init-token: create the token o->label (SO and user PIN from files); exit 0 when it exists.
 * A token made without custodians can never run a dual-control ceremony (ADR 0105). */
int cmd_init_token(const struct opts *o);

/**
 * keys list (create false) / keys create (create true): print the vault's keys
 * and their flags, creating the absent ones when asked. EXIT_OP when a key is
 * missing its required type, length or flags (sensitive, never extractable in clear).
 */
int cmd_keys(const struct opts *o, bool create);

/** keys kcv LABEL: print the key's check value (ADR 0070). */
int cmd_keys_kcv(const struct opts *o, const char *label);

/** keys generate LABEL: a data key generated in the HSM under dual control. */
int cmd_keys_generate(const struct opts *o, const char *key_label);

/** Whether label names a vault data key: pan-enc-vN, fp-hmac-vN or audit-hmac-vN (N 1..999999). */
bool data_key_label_ok(const char *label);

/** The KCV as 6 upper-case hex digits, NUL-terminated. */
void kcv_hex(const uint8_t kcv[HSM_KCV_LEN], char out[2 * HSM_KCV_LEN + 1]);

/* ---- ctl_audit.c ------------------------------------------------------------------ */

/** audit verify: EXIT_OK intact, EXIT_TAMPERED (first bad record named), EXIT_OP, EXIT_USAGE. */
int cmd_audit_verify(const struct opts *o);

/* ---- ctl_ceremony.c: the signed transcript (ADR 0071) --------------------------- */

/** ceremony init: create (or confirm) the transcript signer, write its public key. */
int cmd_ceremony_init(const struct opts *o);

/** ceremony verify FILE: EXIT_OK intact, EXIT_TAMPERED (first bad line named),
 * EXIT_REFUSED (its last lines have no trusted time after them, ADR 0117, and
 * no --allow-untimed), EXIT_OP. */
int cmd_ceremony_verify(const struct opts *o, const char *file);

/**
 * Append one line (who, role, action, what) to the transcript o->transcript,
 * signed in the HSM h. Takes what (a new reference, may be NULL) in every case.
 * @return 0, or -1 with the error printed: failure to record is fatal for the step.
 */
int record(struct hsm *h, const struct opts *o, const char *who, const char *role,
           const char *action, json_t *what);

/** record(), also attested by extra (a witness being enrolled; borrowed, may be NULL). */
int record_attested(struct hsm *h, const struct opts *o, const struct hsm_witness *extra,
                    const char *who, const char *role, const char *action, json_t *what);

/**
 * The one call a ceremony command needs to put a step on the record when it
 * has no HSM session of its own (e.g. the TLS certificate commands): opens
 * the token o->label, appends one line by the ceremony master (action,
 * what: a new reference taken in every case, may be NULL) carrying the
 * command's witnesses and evidence (ADR 0117), closes the token.
 * @return 0, or -1 with the error printed (the step must fail).
 */
int ceremony_record(const struct opts *o, const char *action, json_t *what);

/**
 * record() for the commands that also run on a token without a transcript
 * signer (init-token without custodians, keys list / create / kcv): when
 * the token has no HSM_KEY_CEREMONY_SIGN yet, says so on stderr and returns
 * 0 without a line. Takes what in every case.
 */
int record_if_signer(struct hsm *h, const struct opts *o, const char *action, json_t *what);

/** Hex SHA-256 of the file at path into hex[65]. 0, or -1 (message printed). */
int file_sha256(const char *path, char hex[65]);

/**
 * Derive the keys of the command's witnesses (o->witnesses, but not
 * o->enrolling) once, before the command runs: each passphrase (a file of
 * mode 0600, or the terminal) must derive the key of that witness's current
 * enrolment in o->transcript (hsm_witness_load). Later calls do nothing.
 * @return EXIT_OK, EXIT_REFUSED (not enrolled, removed, or the wrong
 *         passphrase), EXIT_USAGE (a malformed --witness), EXIT_OP (printed).
 */
int ceremony_witnesses_load(const struct opts *o);

/** Free what main() and record() hold for the command (witness keys, evidence). */
void ceremony_done(struct opts *o);

/* ---- ctl_witness.c: witnesses and the ceremony's trusted time (ADR 0117) ------- */

/** witness add NAME: enrol a witness under dual control; the witness attests the line. */
int cmd_witness_add(const struct opts *o, const char *name);

/**
 * witness remove NAME: end an enrolled witness's enrolment under dual
 * control (line "witness-removed": name, the two custodians); from that line
 * on the witness attests nothing. EXIT_REFUSED when NAME is not a witness or
 * dual control fails; EXIT_USAGE when NAME is among the command's --witness.
 */
int cmd_witness_remove(const struct opts *o, const char *name);

/** ceremony time-query --out FILE: an RFC 3161 query over the transcript's head. */
int cmd_ceremony_time_query(const struct opts *o);

/** ceremony timestamp --tsa NAME --tsa-ca PEM --query Q --reply R: record the TSA's time. */
int cmd_ceremony_timestamp(const struct opts *o);

/** ceremony clock --reading T --clock TEXT: a witness-signed clock reading (offline). */
int cmd_ceremony_clock(const struct opts *o);

/* ---- ctl_custodian.c: custodians and their authentication ------------------------ */

/**
 * init-token NAME...: the SO initialises the token o->label with its first
 * custodians names[0..n) (2..HSM_CUSTODIAN_MAX), each entering their own
 * passphrase (o->secrets, or the terminal); the genesis is anchored in the
 * SO's session, the registry written to o->custodians, the transcript signer
 * created and the initialisation recorded (ADR 0105). EXIT_OK also when the
 * token exists already (nothing changes).
 */
int cmd_init_token_custodians(const struct opts *o, char *const names[], size_t n);

/** custodian add NAME: the new custodian and two current ones sign the enrolment (ADR 0105). */
int cmd_custodian_add(const struct opts *o, const char *name);

/** custodian remove NAME: two other current custodians sign the removal (ADR 0105). */
int cmd_custodian_remove(const struct opts *o, const char *name);

/**
 * Dual control (PCI DSS v4.0 3.7.6): records the ceremony master's request
 * (action, e.g. "key-generation-requested"; what, a new reference taken in
 * every case, may be NULL), then two different current custodians of the
 * registry verified against the token's anchors prove their passphrases
 * (o->secrets, or the terminal) by signing the request; their names land in names.
 * Every attempt is recorded.
 * @return EXIT_OK satisfied, EXIT_REFUSED refused, EXIT_OP error (printed).
 */
int dual_control(struct hsm *h, const struct opts *o, const char *action, json_t *what,
                 char names[2][HSM_CUSTODIAN_NAME_MAX + 1]);

/**
 * M-of-N quorum: records the ceremony master's request (action, what, as for
 * dual_control), then k different registered custodians authenticate; hd[0..k)
 * gets their names and passphrases (guarded memory, released by quorum_free,
 * which is safe after any return).
 * @return EXIT_OK all authenticated, EXIT_REFUSED refused (recorded), EXIT_OP error.
 */
int quorum(struct hsm *h, const struct opts *o, const char *action, json_t *what, size_t k,
           struct hsm_backup_holder *hd);

/** Free the passphrases quorum() left in hd[0..k). */
void quorum_free(struct hsm_backup_holder *hd, size_t k);

/* ---- ctl_backup.c: split-knowledge backup (ADR 0073) ----------------------------- */

/**
 * keys backup LABEL...: the nlabels data keys named (labels, borrowed)
 * wrapped under M-of-N transport keys the SO marks trusted (o->so_pin_file);
 * N component files. EXIT_USAGE without a valid label.
 */
int cmd_keys_backup(const struct opts *o, const char *const *labels, size_t nlabels);

/** keys restore: into a fresh token with M custodians; EXIT_REFUSED on a KCV mismatch. */
int cmd_keys_restore(const struct opts *o);

/* ---- ctl_rotate.c: online rotation (ADR 0074) ------------------------------------ */

/**
 * The database pool (one connection) and the HSM (sessions sessions) named in
 * vaultd's configuration o->config. On EXIT_OK the caller owns *cfg_out,
 * *pool_out and *h_out; on EXIT_OP it still frees what was set (json_decref,
 * sr_db_pool_free, hsm_close accept NULL). EXIT_USAGE without --config.
 */
int open_config(const struct opts *o, size_t sessions, json_t **cfg_out,
                struct sr_db_pool **pool_out, struct hsm **h_out);

/** keys rotate pan-enc|fp-hmac: a new version, current within 1 s, under dual control. */
int cmd_keys_rotate(const struct opts *o, const char *purpose);

/** keys reencrypt: move tokens and PSP credentials to the current versions (resumable). */
int cmd_keys_reencrypt(const struct opts *o);

/** keys retire LABEL: destroy an unused previous version under dual control. */
int cmd_keys_retire(const struct opts *o, const char *label);

/* ---- ctl_psp.c: the platform's PSP secrets (ADR 0120) ---------------------------- */

/**
 * psp load CONNECTOR NAME FILE: FILE's one-line value (mode 0600) sealed in
 * the HSM (vault_psp_platform_put) after dual control, recorded on the
 * transcript with its last 4 characters. EXIT_USAGE for a bad connector,
 * name, file or value (never echoed); EXIT_REFUSED without two custodians.
 */
int cmd_psp_load(const struct opts *o, const char *connector, const char *name, const char *file);

/** psp list: the loaded platform secrets, one JSON object per line, never a value. */
int cmd_psp_list(const struct opts *o);
/* ---- ctl_tls.c: TLS identities in the HSM (ADR 0118) ------------------------------ */

/**
 * tls csr ROLE (rotate false): a PKCS#10 request (RFC 2986) for the role's
 * newest key tls-ROLE-vN, generating tls-ROLE-v1 in the HSM on first use;
 * tls rotate ROLE (rotate true): a new key tls-ROLE-v(N+1) beside the old
 * one, and its request. Subject o->cn (o->org), names o->san; written to
 * o->out; signed in the HSM (CKM_ECDSA); recorded in the transcript.
 */
int cmd_tls_csr(const struct opts *o, const char *role, bool rotate);

/**
 * tls install ROLE CERT: install the PEM certificate CERT (its chain
 * follows the leaf) at o->out, or at the role's setting in o->config, only
 * when it is valid now and its key is a key of the role in the HSM that
 * signs for it; recorded in the transcript. EXIT_OP when refused.
 */
int cmd_tls_install(const struct opts *o, const char *role, const char *cert_file);

/**
 * tls retire ROLE: the end of a rotation's overlap. Once the certificate
 * installed at o->out (or the role's setting in o->config) is o->overlap
 * seconds old (its file's mtime), every other key of the role is destroyed
 * in the HSM (C_DestroyObject), each recorded in the transcript.
 * EXIT_REFUSED while the overlap runs; EXIT_OP when the installed
 * certificate names no key of the role.
 */
int cmd_tls_retire(const struct opts *o, const char *role);

/** tls list: every TLS key of the HSM and its flags; EXIT_OP when one could leave it. */
int cmd_tls_list(const struct opts *o);

#endif

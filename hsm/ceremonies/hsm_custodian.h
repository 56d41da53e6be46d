/*
 * hsm_custodian: key custodians and dual control for vaultctl's ceremonies
 * (issue 7, issue 15; ADRs 0072, 0105; PCI DSS v4.0 3.6.1.2, 3.6.1.3, 3.7.6).
 *
 * A custodian's passphrase derives an Ed25519 signing key (Argon2id,
 * crypto_pwhash with a per-custodian salt, then crypto_sign_seed_keypair);
 * the registry holds the public keys only. The registry file (JSON, mode
 * 0600) is a chain of records: the genesis (the first custodians, made when
 * the SO initialises the token) and each change (enrolment, removal), every
 * record signed by the custodians that authorised it. The HSM holds the
 * SHA-256 of every record in public data objects nobody can modify, copy or
 * destroy (CKA_MODIFIABLE, CKA_COPYABLE, CKA_DESTROYABLE false): the genesis
 * one created in the SO's session at initialisation, one per change after.
 * A registry that does not match them, or a record without its signatures,
 * is refused: the holder of the user PIN can neither forge nor roll back it.
 *
 *   {"version":2,
 *    "genesis":{"record":"<JSON text>","signatures":[{"name":"alice","sig":"<hex>"}]},
 *    "changes":[{"record":"<JSON text>","signatures":[...]}],
 *    "custodians":[{"name":"alice","pk":"<hex>","salt":"<hex>"}]}   (derived, checked)
 *
 * Names: 1-32 of [a-z0-9._-]. Passphrases: 12-256 bytes, entered by each
 * custodian separately (a prompt on /dev/tty without echo, or one mode-0600
 * file per custodian holding a single line), into guarded memory.
 */
#ifndef HSM_CUSTODIAN_H
#define HSM_CUSTODIAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define HSM_CUSTODIAN_NAME_MAX 32
#define HSM_CUSTODIAN_PASS_MIN 12
#define HSM_CUSTODIAN_PASS_MAX 256
#define HSM_CUSTODIAN_MAX      16   /* custodians in a registry, secrets on a command line */
#define HSM_CUSTODIAN_QUORUM   2    /* custodians authorising any change or operation */
#define HSM_CUSTODIAN_SIG_LEN  64   /* Ed25519 */
/* The HSM anchors' CKA_APPLICATION and the genesis anchor's CKA_LABEL; the
 * changes' labels are "custodians-change-N", N = 1, 2, ... */
#define HSM_CUSTODIAN_APP      "strongroom/custodians/v1"
#define HSM_CUSTODIAN_GENESIS  "custodians-genesis"
/* Signature domains: a registry record, a ceremony operation. */
#define HSM_CUSTODIAN_DOMAIN_RECORD    "strongroom/custodian-record/v1\n"
#define HSM_CUSTODIAN_DOMAIN_OPERATION "strongroom/dual-control/v1\n"

struct hsm;
struct hsm_custodian_registry;

/** A name custodians may use: 1-32 of [a-z0-9._-]. */
bool hsm_custodian_name_ok(const char *name);

/**
 * The genesis of a registry: n (2..HSM_CUSTODIAN_MAX) distinct custodians,
 * each with their passphrase (pass[i], pass_len[i] bytes, 12-256), each
 * signing the genesis record. On 0, *doc_out (the registry document, the
 * caller's reference) and anchor (SHA-256 of the genesis record: the value
 * of the HSM's genesis anchor, hsm_init_token_anchored) are set.
 * @return 0, or -1 with err (never a passphrase).
 */
int hsm_custodian_genesis(const char *const names[], const char *const pass[],
                          const size_t pass_len[], size_t n, const char *master,
                          json_t **doc_out, uint8_t anchor[32], char *err, size_t errlen);

/** Write doc to path (mode 0600, atomically by rename). 0, or -1 with err. */
int hsm_custodian_save(const char *path, const json_t *doc, char *err, size_t errlen);

/**
 * Load the registry at path (a regular file of mode 0600) and verify it
 * against the HSM anchors of h's token: the genesis, every change in order
 * (hash chain, signatures of the authorising custodians current at that
 * point, one anchor each, none missing or extra) and the derived list.
 * On 0, *out is the verified registry (hsm_custodian_close).
 * @return 0; 1 refused (no genesis on the token, or the file does not match
 *         its anchors or signatures: err says which); -1 error (err).
 */
int hsm_custodian_open(struct hsm *h, const char *path, struct hsm_custodian_registry **out,
                       char *err, size_t errlen);
/** Free a registry from hsm_custodian_open. NULL ok. */
void hsm_custodian_close(struct hsm_custodian_registry *r);

/** Whether name is a current custodian of r. */
bool hsm_custodian_registered(const struct hsm_custodian_registry *r, const char *name);

/** The number of current custodians of r. */
size_t hsm_custodian_count(const struct hsm_custodian_registry *r);

/**
 * A custodian proves their passphrase: derive their key with their salt,
 * compare with their registered public key (constant time) and sign
 * domain || text (Ed25519, RFC 8032). Unknown names cost the same as a
 * wrong passphrase and give the same answer.
 * @return 1 signed (sig set), 0 refused, -1 error (err).
 */
int hsm_custodian_sign(const struct hsm_custodian_registry *r, const char *name, const char *pass,
                       size_t pass_len, const char *domain, const char *text,
                       uint8_t sig[HSM_CUSTODIAN_SIG_LEN], char *err, size_t errlen);

/** Check sig of domain || text by name's registered key. true when valid. */
bool hsm_custodian_verify(const struct hsm_custodian_registry *r, const char *name,
                          const char *domain, const char *text,
                          const uint8_t sig[HSM_CUSTODIAN_SIG_LEN]);

/**
 * The next change record of r: enrol name (add, with their passphrase: a
 * fresh salt and their public key; new_sig receives the new custodian's own
 * signature of the record, their proof of possession) or remove name (pass
 * and new_sig NULL). *record_out (malloc'd text, the caller frees) is what
 * the authorising custodians sign with domain HSM_CUSTODIAN_DOMAIN_RECORD.
 * @return 0; 1 refused (add: registered already, registry full; remove: not
 *         registered, fewer than HSM_CUSTODIAN_QUORUM would remain); -1 error.
 */
int hsm_custodian_change_record(const struct hsm_custodian_registry *r, bool add, const char *name,
                                const char *pass, size_t pass_len, const char *master,
                                char **record_out, uint8_t new_sig[HSM_CUSTODIAN_SIG_LEN],
                                char *err, size_t errlen);

/**
 * Append record (from hsm_custodian_change_record on r) with the n
 * signatures signers[i] / sigs[i] to the registry at path: checked as
 * hsm_custodian_open checks it (an enrolment is signed by the new custodian
 * and HSM_CUSTODIAN_QUORUM other current custodians; a removal by
 * HSM_CUSTODIAN_QUORUM current custodians other than the leaving one), then
 * the file is written aside, the change's anchor created in h's token, and
 * the file renamed into place. r is stale afterwards (close it).
 * @return 0; 1 refused (not a quorum, a bad signature); -1 error (err).
 */
int hsm_custodian_change_commit(struct hsm *h, const struct hsm_custodian_registry *r,
                                const char *path, const char *record, const char *const signers[],
                                const uint8_t (*sigs)[HSM_CUSTODIAN_SIG_LEN], size_t n, char *err,
                                size_t errlen);

/* ---- hsm_custodian_input.c: each custodian enters their own secret ---------- */

/** Where the custodians' passphrases come from (see hsm_custodian_input_open). */
struct hsm_custodian_input;

/**
 * secrets[0..n): "NAME=FILE", one per custodian, in the order they come
 * forward (n = 0: every custodian is prompted on /dev/tty instead). Each FILE
 * is a regular file of mode 0600 holding one line, that custodian's
 * passphrase; a file with more than one line, the same file for two names,
 * or a name given twice is refused. Read into guarded memory here.
 * @return the input, or NULL with err (naming the file, never its content).
 */
struct hsm_custodian_input *hsm_custodian_input_open(const char *const secrets[], size_t n,
                                                     char *err, size_t errlen);
/** Wipe and free the input. NULL ok. */
void hsm_custodian_input_close(struct hsm_custodian_input *in);

/**
 * The next custodian who comes forward: name into name[] and their passphrase
 * into a guarded buffer (*pass, the caller frees it with sr_secret_free).
 * Files: the next secret not used yet, in command-line order. Terminal: the
 * name is asked (echoed), then the passphrase (not echoed); prompt_label says
 * who is asked ("custodian 1").
 * @return 0, or -1 with err (no more secrets, no terminal, too long).
 */
int hsm_custodian_next(struct hsm_custodian_input *in, const char *prompt_label,
                       char name[HSM_CUSTODIAN_NAME_MAX + 1], char **pass, size_t *pass_len,
                       char *err, size_t errlen);

/**
 * The passphrase of the named custodian (a new one being enrolled, or one of
 * the genesis): their own secret file (then used), or asked on the terminal,
 * twice when confirm (both must match). *pass as for hsm_custodian_next.
 * @return 0, or -1 with err.
 */
int hsm_custodian_secret_of(struct hsm_custodian_input *in, const char *name, bool confirm,
                            char **pass, size_t *pass_len, char *err, size_t errlen);

/** Secret files not used yet (0 on a terminal). */
size_t hsm_custodian_input_left(const struct hsm_custodian_input *in);

#endif

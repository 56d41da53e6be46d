/*
 * hsm_backup: split-knowledge backup and restore of the token's data keys
 * (issue 7, ADR 0073; PCI DSS v4.0 3.6.1, 3.6.1.2, 3.7.2, 3.7.6; NIST SP
 * 800-57 Part 1 §8.2.2 key backup). vaultctl only: vaultd never links it.
 *
 * Scheme (ADR 0073, 0104):
 *  - The data keys the ceremony names (pan-enc-vN, fp-hmac-vN,
 *    audit-hmac-vN, ...; nothing else on the token matters) leave the token
 *    only wrapped, C_WrapKey with CKM_AES_KEY_WRAP_PAD (RFC 5649; PKCS#11
 *    v2.40 curr. mech. §2.14.3) under a 256-bit AES transport key. They
 *    carry CKA_WRAP_WITH_TRUSTED, so the token wraps them only under a key
 *    marked CKA_TRUSTED, which only the Security Officer can set (§4.10):
 *    the transport keys are made while the SO is logged in, the keys are
 *    wrapped once the user is logged in again.
 *  - M-of-N: for every M-subset of the N custodians (C(N,M) sets) an own
 *    transport key exists only as M random 32-byte components, one per
 *    custodian of the set. SoftHSM2 2.6 has no CKM_XOR_BASE_AND_DATA, so the
 *    components are combined in the HSM by a chain of derivations:
 *      K1 = C_CreateObject(component 1)            (session AES key, CKA_DERIVE)
 *      Ki = C_DeriveKey(CKM_AES_ECB_ENCRYPT_DATA, base K(i-1), data component i)
 *      transport key = KM (sensitive, never extractable, CKA_TRUSTED,
 *                          public session object)
 *    The transport key's value never exists outside the HSM; without any one
 *    component it is unknown. The data keys are wrapped under every set's
 *    transport key.
 *  - Key check values (ADR 0070, AES-ECB of a zero block): each component
 *    (computed in the HSM), each set's transport key, each data key.
 *  - Each custodian's components are sealed for that custodian alone:
 *    XChaCha20-Poly1305 (libsodium) under a key derived from the custodian's
 *    own passphrase by Argon2id (salt per file), the backup id and name as
 *    associated data. Plain component values exist only in guarded memory.
 *
 * Documents (JSON): the backup file (format "strongroom-key-backup/1": id,
 * M, N, custodians, keys with label, key type, version, bits, KCV and
 * attributes (sensitive, extractable, wrap_with_trusted), and the
 * sets with their custodians, component and transport-key KCVs and wrapped
 * keys in hex) and one component file per custodian (format
 * "strongroom-key-component/1": id, custodian, the components' set, index
 * and KCV, and the sealed values). Neither holds a key in the clear.
 */
#ifndef HSM_BACKUP_H
#define HSM_BACKUP_H
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hsm/ceremonies/hsm_custodian.h"

#define HSM_BACKUP_MAX_HOLDERS 9    /* N <= 9: at most C(9,4) = 126 sets */
#define HSM_BACKUP_COMP_LEN    32   /* component and transport key: AES-256 */

struct hsm;

/** A custodian taking part: name and passphrase (borrowed, guarded memory). */
struct hsm_backup_holder {
	char name[HSM_CUSTODIAN_NAME_MAX + 1];
	const char *pass;
	size_t pass_len;
};

/** What one backup ceremony exports (borrowed strings). */
struct hsm_backup_spec {
	const char *const *labels;  /* the keys the ceremony names: 1..32, distinct */
	size_t nlabels;
	const char *so_pin_file;    /* the Security Officer's PIN, mode 0600 */
	const char *user_pin_file;  /* the user PIN h logged in with, mode 0600 */
};

/**
 * Back up the keys spec names for n holders with quorum m
 * (2 <= m <= n <= HSM_BACKUP_MAX_HOLDERS, distinct names). The caller has
 * authenticated the holders (hsm_custodian_sign, ADR 0105): the M-of-N quorum is the
 * dual control under which the SO marks the transport keys trusted (PCI DSS
 * v4.0 3.6.1.2, 3.7.6). Logs in as the SO (spec->so_pin_file) for the
 * transport keys, then as the user again (spec->user_pin_file), on every
 * path. Other objects on the token are not looked at. Refuses (-1) and names
 * the key and the reason when a named key is absent or ambiguous, neither AES
 * nor generic secret, not CKA_SENSITIVE, not CKA_EXTRACTABLE (made without
 * --wrappable), or extractable without CKA_WRAP_WITH_TRUSTED (made before
 * ADR 0104), or when the token refuses to wrap it. The length of a key the
 * token keeps no CKA_VALUE_LEN for (a restored key) is measured by wrapping
 * it. h needs a session pool of at least 2 and no other thread using it.
 * @param backup_out new reference: the backup document.
 * @param comp_out   comp_out[i] new reference: holder i's component document.
 * @return 0, or -1 with err (never key or component bytes, never a PIN).
 */
int hsm_backup_create(struct hsm *h, const struct hsm_backup_spec *spec,
                      const struct hsm_backup_holder *holders, size_t n, size_t m,
                      json_t **backup_out, json_t *comp_out[], char *err, size_t errlen);

/**
 * Restore the keys of backup into the token of h (which must hold none of
 * them: a fresh token). holders[i] brings comps[i] (its component document);
 * k of them. The first backup set whose custodians are all present is
 * combined in the HSM; each component's KCV, the transport key's KCV and each
 * unwrapped key's KCV must match the backup document. All or nothing: a
 * failure destroys the keys already restored. Unwrapped keys are token,
 * private, sensitive, not modifiable, extractable and CKA_WRAP_WITH_TRUSTED
 * as backed up (so they can be backed up again, only under a trusted key),
 * with the usages of their type; their length is the backup's "bits",
 * which must agree with the wrapped blob's (RFC 5649: 8 + the key rounded up
 * to 8 bytes). SoftHSM2 2.6 keeps no CKA_VALUE_LEN for an unwrapped key
 * (read-only on C_UnwrapKey), so the length lives in the result and the
 * transcript; hsm_backup_create measures it again.
 * @param restored_out new reference on success: [{label, key_type, bits,
 *        kcv, attributes: {sensitive, extractable, wrap_with_trusted}}],
 *        the attributes read back from the token.
 * @return 0 restored; 1 refused (fewer than M custodians, a component that
 *         does not open with its holder's passphrase, a KCV that does not
 *         match, unwrap failure, a label present already) with the reason in
 *         err; -1 error.
 */
int hsm_backup_restore(struct hsm *h, const json_t *backup, const struct hsm_backup_holder *holders,
                       const json_t *const comps[], size_t k, json_t **restored_out, char *err,
                       size_t errlen);

/**
 * Open a component document with its holder's passphrase.
 * @param values_out guarded buffer of *count_out * HSM_BACKUP_COMP_LEN bytes,
 *        in the document's component order; free with sr_secret_free.
 * @return 0; 1 when it does not open (wrong passphrase, altered, another
 *         holder's); -1 malformed (err).
 */
int hsm_backup_unseal(const json_t *comp, const struct hsm_backup_holder *holder,
                      uint8_t **values_out, size_t *count_out, char *err, size_t errlen);

/**
 * Combine k components (k * HSM_BACKUP_COMP_LEN bytes, in order) into a
 * session transport key in the HSM as described above, return its KCV and
 * destroy it. For tests and the restore check.
 * @return 0, or -1 with err.
 */
int hsm_backup_combine_kcv(struct hsm *h, const uint8_t *comps, size_t k, uint8_t kcv[3],
                           char *err, size_t errlen);

/**
 * Destroy the token secret key labelled label (C_DestroyObject, PKCS#11
 * v2.40 §5.7; PCI DSS v4.0 3.7.5, NIST SP 800-57 §8.3.4 key destruction).
 * vaultctl keys retire calls it only when no record needs the key.
 * @return 1 destroyed, 0 no such key, -1 error.
 */
int hsm_key_destroy(struct hsm *h, const char *label, char *err, size_t errlen);

#endif

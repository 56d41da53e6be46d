/*
 * hsm_backup: split-knowledge backup and restore of the token's data keys
 * (issue 7, ADR 0073; PCI DSS v4.0 3.6.1, 3.6.1.2, 3.7.2, 3.7.6; NIST SP
 * 800-57 Part 1 §8.2.2 key backup). vaultctl only: vaultd never links it.
 *
 * Scheme (ADR 0073):
 *  - Every data key (each token secret key: pan-enc-vN, fp-hmac-vN,
 *    audit-hmac-vN, ...) leaves the token only wrapped, C_WrapKey with
 *    CKM_AES_KEY_WRAP_PAD (RFC 5649; PKCS#11 v2.40 curr. mech. §2.14.3) under
 *    a 256-bit AES transport key.
 *  - M-of-N: for every M-subset of the N custodians (C(N,M) sets) an own
 *    transport key exists only as M random 32-byte components, one per
 *    custodian of the set. SoftHSM2 2.6 has no CKM_XOR_BASE_AND_DATA, so the
 *    components are combined in the HSM by a chain of derivations:
 *      K1 = C_CreateObject(component 1)            (session AES key, CKA_DERIVE)
 *      Ki = C_DeriveKey(CKM_AES_ECB_ENCRYPT_DATA, base K(i-1), data component i)
 *      transport key = KM (sensitive, never extractable, session object)
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
 * M, N, custodians, keys with label, key type, version, bits and KCV, and the
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

/**
 * Back up every secret key on the token for n holders with quorum m
 * (2 <= m <= n <= HSM_BACKUP_MAX_HOLDERS, distinct names). The caller has
 * authenticated the holders (hsm_custodian_sign, ADR 0105). Refuses (-1) when a key is
 * not extractable (made by keys create, not keys generate), of a type other
 * than AES or generic secret, or when the token has no secret key.
 * h needs a session pool of at least 2.
 * @param backup_out new reference: the backup document.
 * @param comp_out   comp_out[i] new reference: holder i's component document.
 * @return 0, or -1 with err (never key or component bytes).
 */
int hsm_backup_create(struct hsm *h, const struct hsm_backup_holder *holders, size_t n,
                      size_t m, json_t **backup_out, json_t *comp_out[], char *err,
                      size_t errlen);

/**
 * Restore the keys of backup into the token of h (which must hold none of
 * them: a fresh token). holders[i] brings comps[i] (its component document);
 * k of them. The first backup set whose custodians are all present is
 * combined in the HSM; each component's KCV, the transport key's KCV and each
 * unwrapped key's KCV must match the backup document. All or nothing: a
 * failure destroys the keys already restored. Unwrapped keys are token,
 * private, sensitive, extractable (so they can be backed up again), with the
 * usages of their type.
 * @param restored_out new reference on success: [{label, key_type, kcv}].
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

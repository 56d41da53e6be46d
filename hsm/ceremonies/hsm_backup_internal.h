/*
 * hsm_backup_internal: shared by hsm_backup.c (backup, sealing, the
 * transport keys) and hsm_restore.c (restore) only; see hsm_backup.h for the
 * scheme (ADR 0073, 0104). Raw PKCS#11 v2.40 calls on a session borrowed
 * with hsm_p11_borrow.
 */
#ifndef HSM_BACKUP_INTERNAL_H
#define HSM_BACKUP_INTERNAL_H

#include "hsm/hsm.h"
#include "hsm/hsm_p11.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BACKUP_FORMAT "strongroom-key-backup/1"
#define COMP_FORMAT   "strongroom-key-component/1"
#define MAX_KEYS      32
#define MAX_SETS      126
#define WRAP_MAX      64    /* RFC 5649 of a 32-byte key: 40 bytes */

/** printf into err (capacity errlen); nothing when err is NULL or errlen 0. */
void bk_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** "fn: CKR_...: message" into err. */
void bk_p11err(char *err, size_t errlen, const char *fn, CK_RV rv);

/** The KCV as 6 upper-case hex digits, NUL-terminated. */
void bk_kcv_hex(const uint8_t kcv[HSM_KCV_LEN], char out[2 * HSM_KCV_LEN + 1]);

/** A label unique to this run ("tmp-<what>-<16 hex>") for a session object. */
void bk_tmp_label(char *out, size_t cap, const char *what);

/** Exactly len bytes from 2 * len hex digits. 0, or -1 (wrong length, not hex). */
int bk_hexval(const char *hx, uint8_t *out, size_t len);

/**
 * KCV of one component (HSM_BACKUP_COMP_LEN bytes at val): imported as a
 * session key, its KCV taken with hsm_kcv, destroyed. 0, or -1 with err.
 */
int bk_component_kcv(struct hsm *h, CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s,
                     const uint8_t *val, uint8_t kcv[HSM_KCV_LEN], char *err, size_t errlen);

/**
 * The transport key from k components (k * HSM_BACKUP_COMP_LEN bytes),
 * combined in the HSM: K1 = component 1, Ki = CKM_AES_ECB_ENCRYPT_DATA(K(i-1),
 * component i) (PKCS#11 v2.40 curr. mech. §2.11.1). The result is a public
 * session AES-256 key labelled label (CKA_WRAP, CKA_UNWRAP, CKA_ENCRYPT for
 * its KCV), sensitive, never extractable; CKA_TRUSTED when trusted, which
 * the token accepts only while the Security Officer is logged in
 * (hsm_p11_login). Intermediate keys are destroyed.
 * @return 0 (*out set), or -1 with err.
 */
int bk_combine(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, const uint8_t *comps, size_t k,
               const char *label, bool trusted, CK_OBJECT_HANDLE *out, char *err,
               size_t errlen);

#endif

/*
 * hsm_internal: private to hsm.c, hsm_keys.c and hsm_ops.c (the PKCS#11
 * v2.40 layer of hsm.h): the handle's structure, error messages, the
 * session pool and the key lookup they share. Nothing outside hsm/ includes
 * this header.
 */
#ifndef HSM_INTERNAL_H
#define HSM_INTERNAL_H

#include "hsm/hsm_p11.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HSM_MAC_LEN 32   /* HMAC-SHA256 output, bytes */
#define HSM_LABEL_LEN 32 /* CK_TOKEN_INFO.label: 32 bytes, blank padded */

/* One entry of the per-label key handle cache (hsm_key_handle). */
struct hsm_keyent {
	char *label;
	CK_OBJECT_CLASS cls;   /* CKO_SECRET_KEY or CKO_PRIVATE_KEY */
	CK_OBJECT_HANDLE obj;
	struct hsm_keyent *next;
};

struct hsm {
	void *dl;
	CK_FUNCTION_LIST_PTR p11;
	CK_SLOT_ID slot;
	bool logged_in;

	pthread_mutex_t lock;        /* guards all[] (replacement), idle[], nidle, keys */
	pthread_cond_t cond;         /* signalled when a session is given back */
	bool lock_ok;
	CK_SESSION_HANDLE *all;      /* every open session (for hsm_close) */
	size_t nall;
	CK_SESSION_HANDLE *idle;     /* stack of idle sessions */
	size_t nidle;
	struct hsm_keyent *keys;
	/* hsm_recover: what hsm_open found the token by, and its state. */
	CK_UTF8CHAR label[HSM_LABEL_LEN]; /* blank-padded token label */
	char *pin_file;
	bool recovering;             /* no session is handed out meanwhile */
};

/* ---- error messages (hsm.c) ---------------------------------------------- */

/** printf into err (capacity errlen, always NUL-terminated); err NULL or errlen 0: nothing. */
void hsm_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** Empty err (when err != NULL and errlen > 0). */
void hsm_clrerr(char *err, size_t errlen);
/** "fn: CKR_...: message" (hsm_rv_str) into err. */
void hsm_p11err(char *err, size_t errlen, const char *fn, CK_RV rv);

/* ---- session pool (hsm.c) ------------------------------------------------ */

/** Take an idle session of the pool; waits until one is given back. */
CK_SESSION_HANDLE hsm_sess_get(struct hsm *h);
/**
 * Give a session back. broken: an operation may still be active in it (an
 * error path that does not end the operation, PKCS#11 v2.40 §5.2), so it is
 * replaced with a fresh session (opened before the old one is closed).
 */
void hsm_sess_put(struct hsm *h, CK_SESSION_HANDLE s, bool broken);

/* ---- key lookup (hsm_keys.c) --------------------------------------------- */

/**
 * The handle of the secret key labelled label: the cached one, or a lookup
 * in session s (then cached). 0, or -1 with err ("hsm: no secret key
 * labelled '...' on the token" when absent).
 */
int hsm_key_handle(struct hsm *h, CK_SESSION_HANDLE s, const char *label,
                   CK_OBJECT_HANDLE *obj_out, char *err, size_t errlen);
/** hsm_key_handle for an object of class cls (CKO_SECRET_KEY or CKO_PRIVATE_KEY:
 *  the TLS identities' and the transcript signer's private keys, ADR 0118). */
int hsm_key_handle_cls(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
                       const char *label, CK_OBJECT_HANDLE *obj_out, char *err, size_t errlen);
/** Forget label's cached handle (the key was deleted or its handle went stale). */
void hsm_key_forget(struct hsm *h, const char *label);
/* hsm_find_obj's flags. */
#define HSM_FIND_VAULT   1u  /* the vault's secret keys (handle cache, hsm_key_info, generation):
                              * messages say "key"/"secret key" and a failing
                              * C_FindObjectsFinal is an error; without it (the ceremony
                              * calls) they say "object" and its result is not checked */
#define HSM_FIND_PRESENT 2u  /* absent: -1, "hsm: no <class> labelled '...' on the token" */
#define HSM_FIND_ABSENT  4u  /* present: -1, "hsm: a <class> labelled '...' already exists" */

/**
 * The lookup every key call starts with: find the object of class cls
 * (CKO_SECRET_KEY, CKO_PRIVATE_KEY or CKO_PUBLIC_KEY; <class> in the messages
 * is "secret key", "private key" or "public key") labelled label in session s,
 * always in the token, never the cache (PKCS#11 v2.40 §5.7.7-5.7.9
 * C_FindObjectsInit/C_FindObjects/C_FindObjectsFinal), then read its nattrs
 * attributes attrs (§5.7.5 C_GetAttributeValue; nattrs may be 0).
 * @return 1 found (*obj_out set, attrs filled), 0 absent (only without
 *         HSM_FIND_PRESENT), -1 with err: PKCS#11 error, empty label, two
 *         objects with one label (ambiguous, refused), or the HSM_FIND_PRESENT
 *         / HSM_FIND_ABSENT expectation not met.
 */
int hsm_find_obj(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label,
                 unsigned flags, CK_OBJECT_HANDLE *obj_out, CK_ATTRIBUTE *attrs,
                 CK_ULONG nattrs, char *err, size_t errlen);

/* ---- operations (hsm_ops.c) ---------------------------------------------- */

enum hsm_op { HSM_OP_ENCRYPT, HSM_OP_DECRYPT, HSM_OP_SIGN };

/**
 * Start op (C_EncryptInit, C_DecryptInit or C_SignInit, PKCS#11 v2.40 §5.8,
 * §5.9, §5.11) with the key handle key and mechanism mech in session s, then
 * its single-part call (C_Encrypt, C_Decrypt or C_Sign) of in (inlen bytes)
 * into out (capacity *outlen bytes; then the length written). For the
 * ceremony calls: no handle cache, no retry. 0, or -1 with err ("C_SignInit:
 * CKR_..."); then an operation may still be active and the caller gives the
 * session back broken (hsm_sess_put).
 */
int hsm_op_once(struct hsm *h, CK_SESSION_HANDLE s, enum hsm_op op, CK_MECHANISM *mech,
                CK_OBJECT_HANDLE key, const uint8_t *in, size_t inlen, uint8_t *out,
                CK_ULONG *outlen, char *err, size_t errlen);

#endif

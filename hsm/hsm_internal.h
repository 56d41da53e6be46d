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

#define HSM_MAC_LEN 32   /* HMAC-SHA256 output, bytes */

/* One entry of the per-label key handle cache (hsm_key_handle). */
struct hsm_keyent {
	char *label;
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
/** Forget label's cached handle (the key was deleted or its handle went stale). */
void hsm_key_forget(struct hsm *h, const char *label);
/**
 * Find the object of class cls labelled label in session s (ceremony
 * commands: always asks the token, never the cache). 1 found (*obj_out
 * set), 0 absent, -1 error (two objects with one label included).
 */
int hsm_find_obj(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label,
                 CK_OBJECT_HANDLE *obj_out, char *err, size_t errlen);

#endif

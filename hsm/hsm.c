/*
 * hsm: the vault's PKCS#11 v2.40 layer (see hsm.h). This file: module
 * loading, token lookup, the session pool, open/close and login, token
 * initialisation; hsm_keys.c: key lookup, generation, attributes, KCV;
 * hsm_ops.c: random, encrypt/decrypt, HMAC, ECDSA signatures.
 *
 * - The module is loaded with dlopen and initialised once per process with
 *   CKF_OS_LOCKING_OK (PKCS#11 v2.40 §5.4 C_Initialize); a process-wide
 *   registry counts the users of each module so that one handle's C_Finalize
 *   never pulls the module out from under another.
 * - The token is found by its 32-byte blank-padded CKA label, never by slot
 *   number (SoftHSM2 renumbers slots after C_InitToken, docs/development.md pitfalls).
 * - The user PIN is read from a mode-0600 file into guarded memory and wiped
 *   right after C_Login (PCI DSS v4.0 3.6.1, 8.3.2; invariant 10, docs/invariants.md).
 * - A pool of R/W sessions, taken and given back per operation (mutex +
 *   condition variable). Login state is per application and token (§5.6), so
 *   one C_Login covers every session of the pool.
 * - Key handles are looked up by CKA_CLASS=CKO_SECRET_KEY + CKA_LABEL and
 *   cached per label: token-object handles are valid in every session of the
 *   application (§4.4.1).
 * Error messages name the PKCS#11 function and CKR_* value; never a PIN, key
 * byte or caller data.
 */
#include "hsm/hsm.h"
#include "hsm/hsm_internal.h"

#include "common/sr_secret.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>


struct hsm_module {
	CK_FUNCTION_LIST_PTR p11;
	pid_t pid;          /* process that called C_Initialize */
	unsigned refs;
	struct hsm_module *next;
};

static pthread_mutex_t g_mod_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hsm_module *g_mods = NULL;

void hsm_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void hsm_clrerr(char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
}

void hsm_p11err(char *err, size_t errlen, const char *fn, CK_RV rv)
{
	hsm_seterr(err, errlen, "%s: %s", fn, hsm_rv_str(rv));
}

/* ---- module loading ------------------------------------------------------ */

/*
 * dlopen the module and C_Initialize it unless this process already did
 * (registry keyed by the function list, which is the same for every dlopen
 * of one library). On success *dl_out holds a dlopen reference of its own.
 */
static int module_load(const char *path, void **dl_out, CK_FUNCTION_LIST_PTR *p11_out,
                       char *err, size_t errlen)
{
	CK_C_GetFunctionList getfl = NULL;
	CK_FUNCTION_LIST_PTR p11 = NULL;
	CK_C_INITIALIZE_ARGS args;
	struct hsm_module *m = NULL;
	void *dl = NULL;
	int locked = 0;
	int ret = -1;
	CK_RV rv;

	if (path == NULL || path[0] == '\0') {
		hsm_seterr(err, errlen, "hsm: no PKCS#11 module path");
		goto out;
	}
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL) {
		const char *e = dlerror();
		hsm_seterr(err, errlen, "hsm: cannot load PKCS#11 module %s: %s", path,
		           e != NULL ? e : "unknown error");
		goto out;
	}
	*(void **)(&getfl) = dlsym(dl, "C_GetFunctionList");
	if (getfl == NULL) {
		hsm_seterr(err, errlen, "hsm: %s has no C_GetFunctionList", path);
		goto out;
	}
	rv = getfl(&p11);
	if (rv != CKR_OK || p11 == NULL) {
		hsm_p11err(err, errlen, "C_GetFunctionList", rv != CKR_OK ? rv : CKR_GENERAL_ERROR);
		goto out;
	}
	pthread_mutex_lock(&g_mod_lock);
	locked = 1;
	for (m = g_mods; m != NULL; m = m->next) {
		if (m->p11 == p11)
			break;
	}
	if (m != NULL && m->pid != getpid()) {
		/* We are a forked child of the process that initialised the module:
		 * its sessions and login are not ours. PKCS#11 v2.40 §6.7.7 and
		 * docs/development.md pitfalls (SoftHSM2 reset_on_fork = false): C_Finalize,
		 * then initialise afresh. Handles inherited from the parent are dead. */
		p11->C_Finalize(NULL);
		memset(&args, 0, sizeof(args));
		args.flags = CKF_OS_LOCKING_OK;
		rv = p11->C_Initialize(&args);
		if (rv != CKR_OK) {
			hsm_p11err(err, errlen, "C_Initialize (after fork)", rv);
			goto out;
		}
		m->pid = getpid();
		m->refs = 0;
	}
	if (m == NULL) {
		m = calloc(1, sizeof(*m));
		if (m == NULL) {
			hsm_seterr(err, errlen, "hsm: out of memory");
			goto out;
		}
		/* PKCS#11 v2.40 §5.4: the library may use the OS's locking primitives;
		 * the daemon calls it from several threads. */
		memset(&args, 0, sizeof(args));
		args.flags = CKF_OS_LOCKING_OK;
		rv = p11->C_Initialize(&args);
		if (rv != CKR_OK) {
			free(m);
			m = NULL;
			hsm_p11err(err, errlen, "C_Initialize", rv);
			goto out;
		}
		m->p11 = p11;
		m->pid = getpid();
		m->next = g_mods;
		g_mods = m;
	}
	m->refs++;
	*dl_out = dl;
	*p11_out = p11;
	dl = NULL;
	ret = 0;
out:
	if (locked)
		pthread_mutex_unlock(&g_mod_lock);
	if (dl != NULL)
		dlclose(dl);
	return ret;
}

/* Drop one reference; the last one calls C_Finalize. Then dlclose. */
static void module_unload(void *dl, CK_FUNCTION_LIST_PTR p11)
{
	struct hsm_module **pp = NULL;
	struct hsm_module *m = NULL;

	if (p11 != NULL) {
		pthread_mutex_lock(&g_mod_lock);
		for (pp = &g_mods; *pp != NULL; pp = &(*pp)->next) {
			if ((*pp)->p11 == p11)
				break;
		}
		if (*pp != NULL && (*pp)->pid == getpid() && (*pp)->refs > 0 &&
		    --(*pp)->refs == 0) {
			m = *pp;
			*pp = m->next;
			p11->C_Finalize(NULL);
			free(m);
		}
		pthread_mutex_unlock(&g_mod_lock);
	}
	if (dl != NULL)
		dlclose(dl);
}

/* ---- token lookup -------------------------------------------------------- */

/* Blank-pad a label to the 32 bytes of CK_TOKEN_INFO.label (§3.2). */
static int pad_label(const char *label, CK_UTF8CHAR out[HSM_LABEL_LEN], char *err, size_t errlen)
{
	size_t n;

	if (label == NULL || label[0] == '\0') {
		hsm_seterr(err, errlen, "hsm: empty token label");
		return -1;
	}
	n = strlen(label);
	if (n > HSM_LABEL_LEN) {
		hsm_seterr(err, errlen, "hsm: token label longer than %d bytes", HSM_LABEL_LEN);
		return -1;
	}
	memset(out, ' ', HSM_LABEL_LEN);
	memcpy(out, label, n);
	return 0;
}

/*
 * Find a slot with a token present. want_label != NULL: the initialised token
 * with that (padded) label. want_label == NULL: the first token whose
 * CKF_TOKEN_INITIALIZED flag is clear. Returns 1 found, 0 not found, -1 error.
 */
static int find_slot(CK_FUNCTION_LIST_PTR p11, const CK_UTF8CHAR *want_label, CK_SLOT_ID *slot_out,
                     char *err, size_t errlen)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG nslots = 0;
	CK_ULONG i;
	int ret = -1;
	CK_RV rv;

	for (;;) {
		rv = p11->C_GetSlotList(CK_TRUE, NULL, &nslots);
		if (rv != CKR_OK) {
			hsm_p11err(err, errlen, "C_GetSlotList", rv);
			goto out;
		}
		free(slots);
		slots = calloc(nslots + 1, sizeof(*slots));
		if (slots == NULL) {
			hsm_seterr(err, errlen, "hsm: out of memory");
			goto out;
		}
		rv = p11->C_GetSlotList(CK_TRUE, slots, &nslots);
		if (rv == CKR_BUFFER_TOO_SMALL)
			continue;   /* a token appeared in between */
		if (rv != CKR_OK) {
			hsm_p11err(err, errlen, "C_GetSlotList", rv);
			goto out;
		}
		break;
	}
	for (i = 0; i < nslots; i++) {
		CK_TOKEN_INFO ti;

		memset(&ti, 0, sizeof(ti));
		rv = p11->C_GetTokenInfo(slots[i], &ti);
		if (rv != CKR_OK)
			continue;   /* token removed or unreadable: not ours */
		if (want_label != NULL) {
			if ((ti.flags & CKF_TOKEN_INITIALIZED) &&
			    memcmp(ti.label, want_label, HSM_LABEL_LEN) == 0) {
				*slot_out = slots[i];
				ret = 1;
				goto out;
			}
		} else if (!(ti.flags & CKF_TOKEN_INITIALIZED)) {
			*slot_out = slots[i];
			ret = 1;
			goto out;
		}
	}
	ret = 0;
out:
	free(slots);
	return ret;
}

/* ---- session pool ---------------------------------------------------------- */

CK_SESSION_HANDLE hsm_sess_get(struct hsm *h)
{
	CK_SESSION_HANDLE s;

	pthread_mutex_lock(&h->lock);
	while (h->nidle == 0 || h->recovering)
		pthread_cond_wait(&h->cond, &h->lock);
	s = h->idle[--h->nidle];
	pthread_mutex_unlock(&h->lock);
	return s;
}

/*
 * Give a session back. broken: an operation may still be active in it (an
 * error path that does not end the operation, §5.2), so replace it with a
 * fresh session, opened before the old one is closed: closing the last
 * session of a token logs the application out (§5.6).
 */
void hsm_sess_put(struct hsm *h, CK_SESSION_HANDLE s, bool broken)
{
	CK_SESSION_HANDLE fresh = CK_INVALID_HANDLE;
	size_t i;

	if (broken &&
	    h->p11->C_OpenSession(h->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
	                          &fresh) == CKR_OK) {
		h->p11->C_CloseSession(s);
		pthread_mutex_lock(&h->lock);
		for (i = 0; i < h->nall; i++) {
			if (h->all[i] == s)
				h->all[i] = fresh;
		}
		pthread_mutex_unlock(&h->lock);
		s = fresh;
	}
	pthread_mutex_lock(&h->lock);
	h->idle[h->nidle++] = s;
	/* Wake every waiter: a taker, or hsm_recover waiting for all of them. */
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* ---- open / close ----------------------------------------------------------- */

int hsm_open(const char *module_path, const char *token_label, const char *pin_file,
             size_t pool_size, struct hsm **out, char *err, size_t errlen)
{
	CK_UTF8CHAR want[HSM_LABEL_LEN];
	struct hsm *h = NULL;
	char *pin = NULL;
	size_t pin_len = 0;
	size_t i;
	int ret = -1;
	int r;
	CK_RV rv;

	hsm_clrerr(err, errlen);
	if (out == NULL) {
		hsm_seterr(err, errlen, "hsm: no output handle");
		goto out;
	}
	*out = NULL;
	if (pool_size == 0 || pool_size > 1024) {
		hsm_seterr(err, errlen, "hsm: session pool size must be 1..1024");
		goto out;
	}
	if (pad_label(token_label, want, err, errlen) != 0)
		goto out;
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		hsm_seterr(err, errlen, "hsm: out of memory");
		goto out;
	}
	if (pthread_mutex_init(&h->lock, NULL) != 0) {
		hsm_seterr(err, errlen, "hsm: cannot create mutex");
		goto out;
	}
	if (pthread_cond_init(&h->cond, NULL) != 0) {
		pthread_mutex_destroy(&h->lock);
		hsm_seterr(err, errlen, "hsm: cannot create condition variable");
		goto out;
	}
	h->lock_ok = true;
	memcpy(h->label, want, sizeof h->label);
	h->pin_file = strdup(pin_file != NULL ? pin_file : "");
	h->all = calloc(pool_size, sizeof(*h->all));
	h->idle = calloc(pool_size, sizeof(*h->idle));
	if (h->all == NULL || h->idle == NULL || h->pin_file == NULL) {
		hsm_seterr(err, errlen, "hsm: out of memory");
		goto out;
	}
	if (module_load(module_path, &h->dl, &h->p11, err, errlen) != 0)
		goto out;
	r = find_slot(h->p11, want, &h->slot, err, errlen);
	if (r < 0)
		goto out;
	if (r == 0) {
		hsm_seterr(err, errlen, "hsm: no initialised token labelled '%s'", token_label);
		goto out;
	}
	for (i = 0; i < pool_size; i++) {
		rv = h->p11->C_OpenSession(h->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
		                           &h->all[h->nall]);
		if (rv != CKR_OK) {
			hsm_p11err(err, errlen, "C_OpenSession", rv);
			goto out;
		}
		h->idle[h->nidle++] = h->all[h->nall++];
	}

	pin = sr_secret_read_file(pin_file, &pin_len, err, errlen);
	if (pin == NULL)
		goto out;
	/* PKCS#11 v2.40 §5.6 C_Login: one login covers all sessions of the token. */
	rv = h->p11->C_Login(h->all[0], CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)pin_len);
	/* PCI DSS v4.0 8.3.2 / invariant 10, docs/invariants.md: the PIN is wiped right after use. */
	sr_secret_free(pin);
	pin = NULL;
	pin_len = 0;
	if (rv == CKR_USER_ALREADY_LOGGED_IN) {
		/* Another handle of this process holds the login: we could not check
		 * this PIN, and its hsm_close would log us out. Refuse. */
		hsm_seterr(err, errlen, "hsm: token '%s' is already open in this process",
		           token_label);
		goto out;
	}
	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, "C_Login", rv);
		goto out;
	}
	h->logged_in = true;
	*out = h;
	h = NULL;
	ret = 0;
out:
	sr_secret_free(pin);
	hsm_close(h);
	return ret;
}

void hsm_close(struct hsm *h)
{
	struct hsm_keyent *e = NULL;
	size_t i;

	if (h == NULL)
		return;
	if (h->p11 != NULL) {
		if (h->logged_in && h->nall > 0)
			h->p11->C_Logout(h->all[0]);
		for (i = 0; i < h->nall; i++)
			h->p11->C_CloseSession(h->all[i]);
	}
	module_unload(h->dl, h->p11);
	while (h->keys != NULL) {
		e = h->keys;
		h->keys = e->next;
		free(e->label);
		free(e);
	}
	free(h->pin_file);
	if (h->lock_ok) {
		pthread_cond_destroy(&h->cond);
		pthread_mutex_destroy(&h->lock);
	}
	free(h->all);
	free(h->idle);
	free(h);
}

/* ---- recovery ---------------------------------------------------------------- */

int hsm_recover(struct hsm *h, char *err, size_t errlen)
{
	CK_C_INITIALIZE_ARGS args;
	struct hsm_keyent *e = NULL;
	struct hsm_module *m = NULL;
	char *pin = NULL;
	size_t pin_len = 0;
	size_t i;
	int ret = -1;
	CK_RV rv;

	hsm_clrerr(err, errlen);
	if (h == NULL || h->p11 == NULL) {
		hsm_seterr(err, errlen, "hsm_recover: no handle");
		return -1;
	}
	/* Take the whole pool: no operation runs while the module is reset. */
	pthread_mutex_lock(&h->lock);
	while (h->recovering)
		pthread_cond_wait(&h->cond, &h->lock);
	h->recovering = true;
	while (h->nidle < h->nall)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);

	for (i = 0; i < h->nall; i++)
		h->p11->C_CloseSession(h->all[i]);   /* may fail: the token is gone */
	h->logged_in = false;
	/* A module keeps what it found at C_Initialize (SoftHSM2 does not see a
	 * token directory restored under it): when this handle is the module's
	 * only user in the process, PKCS#11 v2.40 §5.4 C_Finalize + C_Initialize
	 * make it read its tokens again. */
	pthread_mutex_lock(&g_mod_lock);
	for (m = g_mods; m != NULL; m = m->next) {
		if (m->p11 == h->p11)
			break;
	}
	if (m != NULL && m->refs == 1 && m->pid == getpid()) {
		h->p11->C_Finalize(NULL);
		memset(&args, 0, sizeof(args));
		args.flags = CKF_OS_LOCKING_OK;
		rv = h->p11->C_Initialize(&args);
		if (rv != CKR_OK) {
			pthread_mutex_unlock(&g_mod_lock);
			hsm_p11err(err, errlen, "C_Initialize", rv);
			goto out;
		}
	}
	pthread_mutex_unlock(&g_mod_lock);
	if (find_slot(h->p11, h->label, &h->slot, err, errlen) != 1) {
		if (err != NULL && errlen > 0 && err[0] == '\0')
			hsm_seterr(err, errlen, "hsm: the token is not present");
		goto out;
	}
	for (i = 0; i < h->nall; i++) {
		rv = h->p11->C_OpenSession(h->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
		                           &h->all[i]);
		if (rv != CKR_OK) {
			hsm_p11err(err, errlen, "C_OpenSession", rv);
			goto out;
		}
	}
	pin = sr_secret_read_file(h->pin_file, &pin_len, err, errlen);
	if (pin == NULL)
		goto out;
	rv = h->p11->C_Login(h->all[0], CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)pin_len);
	sr_secret_free(pin);   /* PCI DSS v4.0 8.3.2: wiped right after use */
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		hsm_p11err(err, errlen, "C_Login", rv);
		goto out;
	}
	h->logged_in = true;
	ret = 0;
out:
	/* Handles found before are stale; the pool is handed out again (after a
	 * failure its sessions fail fast, and a later call tries again). */
	pthread_mutex_lock(&h->lock);
	while (h->keys != NULL) {
		e = h->keys;
		h->keys = e->next;
		free(e->label);
		free(e);
	}
	for (i = 0; i < h->nall; i++)
		h->idle[i] = h->all[i];
	h->nidle = h->nall;
	h->recovering = false;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return ret;
}

/* ---- token initialisation ------------------------------------------------------ */

int hsm_init_token(const char *module_path, const char *token_label, const char *so_pin_file,
                   const char *user_pin_file, char *err, size_t errlen)
{
	return hsm_init_token_anchored(module_path, token_label, so_pin_file, user_pin_file, NULL,
	                               NULL, NULL, 0, err, errlen);
}

/* The anchor (PKCS#11 v2.40 §4.5 data object) in the SO's session: a public
 * token object nobody may modify, copy or destroy afterwards. */
static CK_RV create_anchor(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, const char *app,
                           const char *label, const uint8_t *value, size_t value_len)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &no, sizeof(no) },
		{ CKA_MODIFIABLE, &no, sizeof(no) },
		{ CKA_COPYABLE, &no, sizeof(no) },
		{ CKA_DESTROYABLE, &no, sizeof(no) },
		{ CKA_APPLICATION, (void *)app, strlen(app) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_VALUE, (void *)value, value_len },
	};

	return p11->C_CreateObject(s, t, sizeof(t) / sizeof(t[0]), &o);
}

int hsm_init_token_anchored(const char *module_path, const char *token_label,
                            const char *so_pin_file, const char *user_pin_file,
                            const char *anchor_app, const char *anchor_label,
                            const uint8_t *anchor, size_t anchor_len, char *err, size_t errlen)
{
	CK_UTF8CHAR want[HSM_LABEL_LEN];
	CK_FUNCTION_LIST_PTR p11 = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_SLOT_ID slot = 0;
	void *dl = NULL;
	char *so_pin = NULL;
	char *user_pin = NULL;
	size_t so_len = 0, user_len = 0;
	int so_logged_in = 0;
	int ret = -1;
	int r;
	CK_RV rv;

	hsm_clrerr(err, errlen);
	if (pad_label(token_label, want, err, errlen) != 0)
		goto out;
	if (module_load(module_path, &dl, &p11, err, errlen) != 0)
		goto out;
	r = find_slot(p11, want, &slot, err, errlen);
	if (r < 0)
		goto out;
	if (r == 1) {
		ret = 1;   /* already there: nothing to do */
		goto out;
	}
	r = find_slot(p11, NULL, &slot, err, errlen);
	if (r < 0)
		goto out;
	if (r == 0) {
		hsm_seterr(err, errlen, "hsm: no uninitialised token slot is available");
		goto out;
	}
	so_pin = sr_secret_read_file(so_pin_file, &so_len, err, errlen);
	if (so_pin == NULL)
		goto out;
	user_pin = sr_secret_read_file(user_pin_file, &user_len, err, errlen);
	if (user_pin == NULL)
		goto out;
	/* PKCS#11 v2.40 §5.6 C_InitToken, then C_InitPIN as the SO. */
	rv = p11->C_InitToken(slot, (CK_UTF8CHAR_PTR)so_pin, (CK_ULONG)so_len, want);
	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, "C_InitToken", rv);
		goto out;
	}
	rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
	if (rv != CKR_OK) {
		s = CK_INVALID_HANDLE;
		hsm_p11err(err, errlen, "C_OpenSession", rv);
		goto out;
	}
	rv = p11->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)so_pin, (CK_ULONG)so_len);
	sr_secret_free(so_pin);
	so_pin = NULL;
	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, "C_Login (SO)", rv);
		goto out;
	}
	so_logged_in = 1;
	/* Before the user PIN exists: no other object can precede the anchor. */
	if (anchor != NULL && anchor_app != NULL && anchor_label != NULL) {
		rv = create_anchor(p11, s, anchor_app, anchor_label, anchor, anchor_len);
		if (rv != CKR_OK) {
			hsm_p11err(err, errlen, "C_CreateObject (SO)", rv);
			goto out;
		}
	}
	rv = p11->C_InitPIN(s, (CK_UTF8CHAR_PTR)user_pin, (CK_ULONG)user_len);
	sr_secret_free(user_pin);
	user_pin = NULL;
	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, "C_InitPIN", rv);
		goto out;
	}
	ret = 0;
out:
	/* PCI DSS v4.0 8.3.2: PINs wiped on every path. */
	sr_secret_free(so_pin);
	sr_secret_free(user_pin);
	if (p11 != NULL) {
		if (so_logged_in)
			p11->C_Logout(s);
		if (s != CK_INVALID_HANDLE)
			p11->C_CloseSession(s);
	}
	module_unload(dl, p11);
	return ret;
}

int hsm_p11_borrow(struct hsm *h, CK_FUNCTION_LIST_PTR *p11, CK_SESSION_HANDLE *s)
{
	if (h == NULL || p11 == NULL || s == NULL)
		return -1;
	*p11 = h->p11;
	*s = hsm_sess_get(h);
	return 0;
}

/* Forget every cached key handle. */
static void hsm_p11_forget_all(struct hsm *h)
{
	pthread_mutex_lock(&h->lock);
	while (h->keys != NULL) {
		struct hsm_keyent *e = h->keys;
		h->keys = e->next;
		free(e->label);
		free(e);
	}
	pthread_mutex_unlock(&h->lock);
}

void hsm_p11_return(struct hsm *h, CK_SESSION_HANDLE s, bool broken)
{
	if (h == NULL)
		return;
	/* vaultctl may have destroyed or created keys: forget every cached handle. */
	hsm_p11_forget_all(h);
	hsm_sess_put(h, s, broken);
}

int hsm_p11_login(struct hsm *h, bool so, const char *pin_file, char *err, size_t errlen)
{
	char *pin = NULL;
	size_t pin_len = 0;
	CK_RV rv;

	hsm_clrerr(err, errlen);
	if (h == NULL || h->nall == 0 || pin_file == NULL) {
		hsm_seterr(err, errlen, "hsm: bad arguments to login");
		return -1;
	}
	pin = sr_secret_read_file(pin_file, &pin_len, err, errlen);
	if (pin == NULL)
		return -1;
	if (h->logged_in) {
		rv = h->p11->C_Logout(h->all[0]);
		h->logged_in = false;
		if (rv != CKR_OK && rv != CKR_USER_NOT_LOGGED_IN) {
			sr_secret_free(pin);
			hsm_p11err(err, errlen, "C_Logout", rv);
			return -1;
		}
	}
	hsm_p11_forget_all(h);
	rv = h->p11->C_Login(h->all[0], so ? CKU_SO : CKU_USER, (CK_UTF8CHAR_PTR)pin,
	                     (CK_ULONG)pin_len);
	sr_secret_free(pin);
	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, so ? "C_Login (SO)" : "C_Login", rv);
		return -1;
	}
	h->logged_in = true;
	return 0;
}

int hsm_token_serial(struct hsm *h, char serial[17], char *err, size_t errlen)
{
	CK_TOKEN_INFO ti;
	size_t n = sizeof(ti.serialNumber);
	CK_RV rv;

	hsm_clrerr(err, errlen);
	if (h == NULL || serial == NULL) {
		hsm_seterr(err, errlen, "hsm_token_serial: bad arguments");
		return -1;
	}
	memset(&ti, 0, sizeof(ti));
	rv = h->p11->C_GetTokenInfo(h->slot, &ti);
	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, "C_GetTokenInfo", rv);
		return -1;
	}
	while (n > 0 && (ti.serialNumber[n - 1] == ' ' || ti.serialNumber[n - 1] == '\0'))
		n--;
	memcpy(serial, ti.serialNumber, n);
	serial[n] = '\0';
	return 0;
}

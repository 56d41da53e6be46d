/*
 * hsm: the vault's PKCS#11 v2.40 layer (see hsm.h).
 *
 * - The module is loaded with dlopen and initialised once per process with
 *   CKF_OS_LOCKING_OK (PKCS#11 v2.40 §5.4 C_Initialize); a process-wide
 *   registry counts the users of each module so that one handle's C_Finalize
 *   never pulls the module out from under another.
 * - The token is found by its 32-byte blank-padded CKA label, never by slot
 *   number (SoftHSM2 renumbers slots after C_InitToken, BRIEF.md pitfalls).
 * - The user PIN is read from a mode-0600 file into guarded memory and wiped
 *   right after C_Login (PCI DSS v4.0 3.6.1, 8.3.2; BRIEF invariant 10).
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
#include "hsm/hsm_p11.h"

#include "common/sr_metrics.h"
#include "common/sr_secret.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

#define HSM_LABEL_LEN 32   /* CK_TOKEN_INFO.label: 32 bytes, blank padded */
#define HSM_KEY_LEN   32   /* AES-256, HMAC-SHA256 key length in bytes */
#define HSM_MAC_LEN   32

struct hsm_module {
	CK_FUNCTION_LIST_PTR p11;
	pid_t pid;          /* process that called C_Initialize */
	unsigned refs;
	struct hsm_module *next;
};

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

static pthread_mutex_t g_mod_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hsm_module *g_mods = NULL;

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void clrerr(char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
}

static void p11err(char *err, size_t errlen, const char *fn, CK_RV rv)
{
	seterr(err, errlen, "%s: %s", fn, hsm_rv_str(rv));
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
		seterr(err, errlen, "hsm: no PKCS#11 module path");
		goto out;
	}
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL) {
		const char *e = dlerror();
		seterr(err, errlen, "hsm: cannot load PKCS#11 module %s: %s", path,
		       e != NULL ? e : "unknown error");
		goto out;
	}
	*(void **)(&getfl) = dlsym(dl, "C_GetFunctionList");
	if (getfl == NULL) {
		seterr(err, errlen, "hsm: %s has no C_GetFunctionList", path);
		goto out;
	}
	rv = getfl(&p11);
	if (rv != CKR_OK || p11 == NULL) {
		p11err(err, errlen, "C_GetFunctionList", rv != CKR_OK ? rv : CKR_GENERAL_ERROR);
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
		 * BRIEF.md pitfalls (SoftHSM2 reset_on_fork = false): C_Finalize,
		 * then initialise afresh. Handles inherited from the parent are dead. */
		p11->C_Finalize(NULL);
		memset(&args, 0, sizeof(args));
		args.flags = CKF_OS_LOCKING_OK;
		rv = p11->C_Initialize(&args);
		if (rv != CKR_OK) {
			p11err(err, errlen, "C_Initialize (after fork)", rv);
			goto out;
		}
		m->pid = getpid();
		m->refs = 0;
	}
	if (m == NULL) {
		m = calloc(1, sizeof(*m));
		if (m == NULL) {
			seterr(err, errlen, "hsm: out of memory");
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
			p11err(err, errlen, "C_Initialize", rv);
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
		seterr(err, errlen, "hsm: empty token label");
		return -1;
	}
	n = strlen(label);
	if (n > HSM_LABEL_LEN) {
		seterr(err, errlen, "hsm: token label longer than %d bytes", HSM_LABEL_LEN);
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
			p11err(err, errlen, "C_GetSlotList", rv);
			goto out;
		}
		free(slots);
		slots = calloc(nslots + 1, sizeof(*slots));
		if (slots == NULL) {
			seterr(err, errlen, "hsm: out of memory");
			goto out;
		}
		rv = p11->C_GetSlotList(CK_TRUE, slots, &nslots);
		if (rv == CKR_BUFFER_TOO_SMALL)
			continue;   /* a token appeared in between */
		if (rv != CKR_OK) {
			p11err(err, errlen, "C_GetSlotList", rv);
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

static CK_SESSION_HANDLE sess_get(struct hsm *h)
{
	CK_SESSION_HANDLE s;

	pthread_mutex_lock(&h->lock);
	while (h->nidle == 0)
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
static void sess_put(struct hsm *h, CK_SESSION_HANDLE s, bool broken)
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
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* ---- key lookup ------------------------------------------------------------ */

/*
 * Find the secret key labelled label in session s. 1 found, 0 absent, -1 error
 * (including two keys with one label: ambiguous, refused).
 */
static int find_key_p11(struct hsm *h, CK_SESSION_HANDLE s, const char *label,
                        CK_OBJECT_HANDLE *obj_out, char *err, size_t errlen)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ATTRIBUTE tmpl[2];
	CK_OBJECT_HANDLE found[2] = { CK_INVALID_HANDLE, CK_INVALID_HANDLE };
	CK_ULONG nfound = 0;
	int active = 0;
	int ret = -1;
	CK_RV rv;

	if (label == NULL || label[0] == '\0') {
		seterr(err, errlen, "hsm: empty key label");
		goto out;
	}
	tmpl[0].type = CKA_CLASS;
	tmpl[0].pValue = &cls;
	tmpl[0].ulValueLen = sizeof(cls);
	tmpl[1].type = CKA_LABEL;
	tmpl[1].pValue = (void *)label;
	tmpl[1].ulValueLen = strlen(label);
	rv = h->p11->C_FindObjectsInit(s, tmpl, 2);
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_FindObjectsInit", rv);
		goto out;
	}
	active = 1;
	rv = h->p11->C_FindObjects(s, found, 2, &nfound);
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_FindObjects", rv);
		goto out;
	}
	if (nfound > 1) {
		seterr(err, errlen, "hsm: more than one secret key labelled '%s'", label);
		goto out;
	}
	if (nfound == 1)
		*obj_out = found[0];
	ret = nfound == 1 ? 1 : 0;
out:
	if (active) {
		rv = h->p11->C_FindObjectsFinal(s);
		if (rv != CKR_OK && ret >= 0) {
			p11err(err, errlen, "C_FindObjectsFinal", rv);
			ret = -1;
		}
	}
	return ret;
}

/* The cached handle for label, or a lookup (then cached). 0, or -1 with err
 * ("no key labelled ..." when absent). */
static int key_handle(struct hsm *h, CK_SESSION_HANDLE s, const char *label,
                      CK_OBJECT_HANDLE *obj_out, char *err, size_t errlen)
{
	struct hsm_keyent *e = NULL;
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	int r;

	pthread_mutex_lock(&h->lock);
	for (e = h->keys; e != NULL; e = e->next) {
		if (strcmp(e->label, label) == 0) {
			*obj_out = e->obj;
			pthread_mutex_unlock(&h->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&h->lock);

	r = find_key_p11(h, s, label, &obj, err, errlen);
	if (r < 0)
		return -1;
	if (r == 0) {
		seterr(err, errlen, "hsm: no secret key labelled '%s' on the token", label);
		return -1;
	}
	e = calloc(1, sizeof(*e));
	if (e != NULL)
		e->label = strdup(label);
	if (e == NULL || e->label == NULL) {
		free(e);
		*obj_out = obj;   /* works uncached */
		return 0;
	}
	e->obj = obj;
	pthread_mutex_lock(&h->lock);
	e->next = h->keys;
	h->keys = e;
	pthread_mutex_unlock(&h->lock);
	*obj_out = obj;
	return 0;
}

/* Forget a cached handle (the key was deleted or its handle went stale). */
static void key_forget(struct hsm *h, const char *label)
{
	struct hsm_keyent **pp = NULL;
	struct hsm_keyent *e = NULL;

	pthread_mutex_lock(&h->lock);
	for (pp = &h->keys; *pp != NULL;) {
		if (strcmp((*pp)->label, label) == 0) {
			e = *pp;
			*pp = e->next;
			free(e->label);
			free(e);
		} else {
			pp = &(*pp)->next;
		}
	}
	pthread_mutex_unlock(&h->lock);
}

enum hsm_op { HSM_OP_ENCRYPT, HSM_OP_DECRYPT, HSM_OP_SIGN };

/*
 * Look the key up (cache first) and start the operation in session s. A
 * cached handle that went stale (the key was destroyed and re-created, e.g.
 * by vaultctl) is forgotten and looked up once more. 0, or -1 with err.
 */
static int op_init(struct hsm *h, CK_SESSION_HANDLE s, const char *label, enum hsm_op op,
                   CK_MECHANISM *mech, char *err, size_t errlen)
{
	static const char *const names[] = { "C_EncryptInit", "C_DecryptInit", "C_SignInit" };
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_RV rv = CKR_GENERAL_ERROR;
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if (key_handle(h, s, label, &key, err, errlen) != 0)
			return -1;
		switch (op) {
		case HSM_OP_ENCRYPT:
			rv = h->p11->C_EncryptInit(s, mech, key);
			break;
		case HSM_OP_DECRYPT:
			rv = h->p11->C_DecryptInit(s, mech, key);
			break;
		case HSM_OP_SIGN:
			rv = h->p11->C_SignInit(s, mech, key);
			break;
		}
		if (rv != CKR_KEY_HANDLE_INVALID && rv != CKR_OBJECT_HANDLE_INVALID)
			break;
		key_forget(h, label);
	}
	if (rv != CKR_OK) {
		p11err(err, errlen, names[op], rv);
		return -1;
	}
	return 0;
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

	clrerr(err, errlen);
	if (out == NULL) {
		seterr(err, errlen, "hsm: no output handle");
		goto out;
	}
	*out = NULL;
	if (pool_size == 0 || pool_size > 1024) {
		seterr(err, errlen, "hsm: session pool size must be 1..1024");
		goto out;
	}
	if (pad_label(token_label, want, err, errlen) != 0)
		goto out;
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		seterr(err, errlen, "hsm: out of memory");
		goto out;
	}
	if (pthread_mutex_init(&h->lock, NULL) != 0) {
		seterr(err, errlen, "hsm: cannot create mutex");
		goto out;
	}
	if (pthread_cond_init(&h->cond, NULL) != 0) {
		pthread_mutex_destroy(&h->lock);
		seterr(err, errlen, "hsm: cannot create condition variable");
		goto out;
	}
	h->lock_ok = true;
	h->all = calloc(pool_size, sizeof(*h->all));
	h->idle = calloc(pool_size, sizeof(*h->idle));
	if (h->all == NULL || h->idle == NULL) {
		seterr(err, errlen, "hsm: out of memory");
		goto out;
	}
	if (module_load(module_path, &h->dl, &h->p11, err, errlen) != 0)
		goto out;
	r = find_slot(h->p11, want, &h->slot, err, errlen);
	if (r < 0)
		goto out;
	if (r == 0) {
		seterr(err, errlen, "hsm: no initialised token labelled '%s'", token_label);
		goto out;
	}
	for (i = 0; i < pool_size; i++) {
		rv = h->p11->C_OpenSession(h->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
		                           &h->all[h->nall]);
		if (rv != CKR_OK) {
			p11err(err, errlen, "C_OpenSession", rv);
			goto out;
		}
		h->idle[h->nidle++] = h->all[h->nall++];
	}

	pin = sr_secret_read_file(pin_file, &pin_len, err, errlen);
	if (pin == NULL)
		goto out;
	/* PKCS#11 v2.40 §5.6 C_Login: one login covers all sessions of the token. */
	rv = h->p11->C_Login(h->all[0], CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)pin_len);
	/* PCI DSS v4.0 8.3.2 / BRIEF invariant 10: the PIN is wiped right after use. */
	sr_secret_free(pin);
	pin = NULL;
	pin_len = 0;
	if (rv == CKR_USER_ALREADY_LOGGED_IN) {
		/* Another handle of this process holds the login: we could not check
		 * this PIN, and its hsm_close would log us out. Refuse. */
		seterr(err, errlen, "hsm: token '%s' is already open in this process", token_label);
		goto out;
	}
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_Login", rv);
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
	if (h->lock_ok) {
		pthread_cond_destroy(&h->cond);
		pthread_mutex_destroy(&h->lock);
	}
	free(h->all);
	free(h->idle);
	free(h);
}

/* ---- token initialisation ------------------------------------------------------ */

int hsm_init_token(const char *module_path, const char *token_label, const char *so_pin_file,
                   const char *user_pin_file, char *err, size_t errlen)
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

	clrerr(err, errlen);
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
		seterr(err, errlen, "hsm: no uninitialised token slot is available");
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
		p11err(err, errlen, "C_InitToken", rv);
		goto out;
	}
	rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
	if (rv != CKR_OK) {
		s = CK_INVALID_HANDLE;
		p11err(err, errlen, "C_OpenSession", rv);
		goto out;
	}
	rv = p11->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)so_pin, (CK_ULONG)so_len);
	sr_secret_free(so_pin);
	so_pin = NULL;
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_Login (SO)", rv);
		goto out;
	}
	so_logged_in = 1;
	rv = p11->C_InitPIN(s, (CK_UTF8CHAR_PTR)user_pin, (CK_ULONG)user_len);
	sr_secret_free(user_pin);
	user_pin = NULL;
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_InitPIN", rv);
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

/* ---- operations ------------------------------------------------------------- */

/* Operation latency and errors (ops: random, encrypt, decrypt, hmac). The
 * labels name the operation only, never a key label or data. */
static struct sr_metric *g_hsm_latency, *g_hsm_errors;
static pthread_once_t g_hsm_metrics_once = PTHREAD_ONCE_INIT;

static void metrics_init(void)
{
	static const char *const lop[] = { "op", NULL };

	g_hsm_latency = sr_metrics_histogram("strongroom_hsm_operation_duration_seconds",
	                                     "PKCS#11 operation latency, seconds.", lop, NULL, 0);
	g_hsm_errors = sr_metrics_counter("strongroom_hsm_errors_total",
	                                  "PKCS#11 operations that failed.", lop);
}

static void observe(const char *op, const struct timespec *t0, int ret)
{
	pthread_once(&g_hsm_metrics_once, metrics_init);
	sr_metrics_observe(g_hsm_latency, sr_metrics_since(t0), op);
	if (ret != 0)
		sr_metrics_add(g_hsm_errors, 1, op);
}

int hsm_random(struct hsm *h, uint8_t *out, size_t len, char *err, size_t errlen)
{
	struct timespec t0;
	CK_SESSION_HANDLE s;
	CK_RV rv;

	clrerr(err, errlen);
	if (h == NULL || (out == NULL && len > 0)) {
		seterr(err, errlen, "hsm_random: bad arguments");
		return -1;
	}
	if (len == 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	s = sess_get(h);
	rv = h->p11->C_GenerateRandom(s, out, (CK_ULONG)len);
	sess_put(h, s, false);
	observe("random", &t0, rv == CKR_OK ? 0 : -1);
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_GenerateRandom", rv);
		return -1;
	}
	return 0;
}

/* Fill a GCM mechanism (PKCS#11 v2.40 curr. mech. §2.12.3 CK_GCM_PARAMS). */
static void gcm_mech(CK_GCM_PARAMS *gp, CK_MECHANISM *m, uint8_t *iv, const uint8_t *aad,
                     size_t aad_n)
{
	memset(gp, 0, sizeof(*gp));
	gp->pIv = iv;
	gp->ulIvLen = HSM_GCM_IV_LEN;
	gp->ulIvBits = HSM_GCM_IV_LEN * 8;   /* p11-kit's struct has ulIvBits: 96 */
	gp->pAAD = (CK_BYTE_PTR)aad;
	gp->ulAADLen = (CK_ULONG)aad_n;
	gp->ulTagBits = HSM_GCM_TAG_LEN * 8;
	m->mechanism = CKM_AES_GCM;
	m->pParameter = gp;
	m->ulParameterLen = sizeof(*gp);
}

int hsm_aes_gcm_encrypt(struct hsm *h, const char *key_label, const uint8_t *aad, size_t aad_len,
                        const uint8_t *pt, size_t pt_len, uint8_t iv_out[HSM_GCM_IV_LEN],
                        uint8_t *ct_out, size_t *ct_len, char *err, size_t errlen)
{
	struct timespec t0;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_GCM_PARAMS gp;
	CK_MECHANISM mech;
	CK_ULONG outlen = 0;
	CK_BYTE empty = 0;
	bool have = false, broken = false;
	int ret = -1;
	CK_RV rv;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	clrerr(err, errlen);
	if (h == NULL || key_label == NULL || (aad == NULL && aad_len > 0) ||
	    (pt == NULL && pt_len > 0) || iv_out == NULL || ct_out == NULL || ct_len == NULL) {
		seterr(err, errlen, "hsm_aes_gcm_encrypt: bad arguments");
		goto out;
	}
	if (pt_len > SIZE_MAX - HSM_GCM_TAG_LEN || *ct_len < pt_len + HSM_GCM_TAG_LEN) {
		seterr(err, errlen, "hsm_aes_gcm_encrypt: output buffer too small");
		goto out;
	}
	s = sess_get(h);
	have = true;
	/* NIST SP 800-38D §8.2.2: RBG-based 96-bit IV, fresh for every message,
	 * from the token's RNG (at most 2^32 messages per key with random IVs). */
	rv = h->p11->C_GenerateRandom(s, iv_out, HSM_GCM_IV_LEN);
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_GenerateRandom", rv);
		goto out;
	}
	gcm_mech(&gp, &mech, iv_out, aad, aad_len);
	if (op_init(h, s, key_label, HSM_OP_ENCRYPT, &mech, err, errlen) != 0) {
		broken = true;   /* a failed *Init may leave the session unusable */
		goto out;
	}
	outlen = (CK_ULONG)*ct_len;
	/* An empty message still needs a non-NULL pointer for some modules. */
	rv = h->p11->C_Encrypt(s, pt_len > 0 ? (CK_BYTE_PTR)pt : &empty, (CK_ULONG)pt_len, ct_out,
	                       &outlen);
	if (rv != CKR_OK) {
		/* CKR_BUFFER_TOO_SMALL leaves the operation active (§5.2), and some
		 * modules (SoftHSM2 on CKR_ARGUMENTS_BAD) do so on other errors too:
		 * replace the session whenever the single-part call fails. */
		broken = true;
		p11err(err, errlen, "C_Encrypt", rv);
		goto out;
	}
	*ct_len = (size_t)outlen;
	ret = 0;
out:
	observe("encrypt", &t0, ret);
	if (have)
		sess_put(h, s, broken);
	return ret;
}

int hsm_aes_gcm_decrypt(struct hsm *h, const char *key_label, const uint8_t *aad, size_t aad_len,
                        const uint8_t iv[HSM_GCM_IV_LEN], const uint8_t *ct, size_t ct_len,
                        uint8_t *pt_out, size_t *pt_len, char *err, size_t errlen)
{
	struct timespec t0;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	uint8_t ivc[HSM_GCM_IV_LEN];
	uint8_t bounce_small[256];
	uint8_t *bounce = NULL;
	uint8_t *dst = NULL;
	CK_GCM_PARAMS gp;
	CK_MECHANISM mech;
	CK_ULONG outlen = 0;
	bool have = false, broken = false;
	int ret = -1;
	CK_RV rv;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	clrerr(err, errlen);
	if (h == NULL || key_label == NULL || (aad == NULL && aad_len > 0) || iv == NULL ||
	    ct == NULL || pt_out == NULL || pt_len == NULL) {
		seterr(err, errlen, "hsm_aes_gcm_decrypt: bad arguments");
		goto out;
	}
	if (ct_len < HSM_GCM_TAG_LEN) {
		seterr(err, errlen, "hsm_aes_gcm_decrypt: ciphertext shorter than the tag");
		goto out;
	}
	if (*pt_len < ct_len - HSM_GCM_TAG_LEN) {
		seterr(err, errlen, "hsm_aes_gcm_decrypt: output buffer too small");
		goto out;
	}
	memcpy(ivc, iv, sizeof(ivc));
	s = sess_get(h);
	have = true;
	gcm_mech(&gp, &mech, ivc, aad, aad_len);
	if (op_init(h, s, key_label, HSM_OP_DECRYPT, &mech, err, errlen) != 0) {
		broken = true;   /* a failed *Init may leave the session unusable */
		goto out;
	}
	/* SoftHSM2 wants room for ciphertext||tag even though only the
	 * plaintext comes out: when the caller's buffer is exactly the plaintext
	 * size, decrypt into a wiped bounce buffer (stack for card-sized data,
	 * guarded memory otherwise). */
	dst = pt_out;
	if (*pt_len < ct_len) {
		if (ct_len <= sizeof(bounce_small)) {
			dst = bounce_small;
		} else {
			bounce = sr_secret_alloc(ct_len);
			if (bounce == NULL) {
				seterr(err, errlen, "hsm_aes_gcm_decrypt: out of guarded memory");
				goto out;
			}
			dst = bounce;
		}
		outlen = (CK_ULONG)ct_len;
	} else {
		outlen = (CK_ULONG)*pt_len;
	}
	/* The tag is checked inside the token; on CKR_ENCRYPTED_DATA_INVALID no
	 * plaintext is released (NIST SP 800-38D §7.2). */
	rv = h->p11->C_Decrypt(s, (CK_BYTE_PTR)ct, (CK_ULONG)ct_len, dst, &outlen);
	if (rv != CKR_OK) {
		broken = true;   /* see hsm_aes_gcm_encrypt */
		p11err(err, errlen, "C_Decrypt", rv);
		goto out;
	}
	if (outlen != ct_len - HSM_GCM_TAG_LEN || outlen > *pt_len) {
		seterr(err, errlen, "C_Decrypt: unexpected plaintext length");
		goto out;
	}
	if (dst != pt_out)
		memcpy(pt_out, dst, outlen);
	*pt_len = (size_t)outlen;
	ret = 0;
out:
	observe("decrypt", &t0, ret);
	if (have)
		sess_put(h, s, broken);
	sodium_memzero(bounce_small, sizeof(bounce_small));
	sr_secret_free(bounce);
	if (ret != 0 && pt_out != NULL && pt_len != NULL)
		sodium_memzero(pt_out, *pt_len);
	return ret;
}

int hsm_hmac_sha256(struct hsm *h, const char *key_label, const uint8_t *msg, size_t msg_len,
                    uint8_t mac[32], char *err, size_t errlen)
{
	struct timespec t0;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_MECHANISM mech = { CKM_SHA256_HMAC, NULL, 0 };
	CK_ULONG maclen = HSM_MAC_LEN;
	CK_BYTE empty = 0;
	bool have = false, broken = false;
	int ret = -1;
	CK_RV rv;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	clrerr(err, errlen);
	if (h == NULL || key_label == NULL || (msg == NULL && msg_len > 0) || mac == NULL) {
		seterr(err, errlen, "hsm_hmac_sha256: bad arguments");
		goto out;
	}
	s = sess_get(h);
	have = true;
	/* PCI DSS v4.0 3.5.1.1: keyed cryptographic hash (HMAC-SHA256, RFC 2104)
	 * with a key that never leaves the HSM. */
	if (op_init(h, s, key_label, HSM_OP_SIGN, &mech, err, errlen) != 0) {
		broken = true;   /* a failed *Init may leave the session unusable */
		goto out;
	}
	rv = h->p11->C_Sign(s, msg_len > 0 ? (CK_BYTE_PTR)msg : &empty, (CK_ULONG)msg_len, mac,
	                    &maclen);
	if (rv != CKR_OK) {
		broken = true;   /* see hsm_aes_gcm_encrypt */
		p11err(err, errlen, "C_Sign", rv);
		goto out;
	}
	if (maclen != HSM_MAC_LEN) {
		seterr(err, errlen, "C_Sign: unexpected MAC length %lu", (unsigned long)maclen);
		goto out;
	}
	ret = 0;
out:
	observe("hmac", &t0, ret);
	if (have)
		sess_put(h, s, broken);
	return ret;
}

int hsm_key_info(struct hsm *h, const char *key_label, struct hsm_key_info *info,
                 char *err, size_t errlen)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_BBOOL sens = CK_FALSE, extr = CK_TRUE, asens = CK_FALSE, nextr = CK_FALSE;
	CK_KEY_TYPE kt = 0;
	CK_ULONG vlen = 0;
	CK_ATTRIBUTE a[6];
	bool have = false;
	int ret = -1;
	int r;
	CK_RV rv;

	clrerr(err, errlen);
	if (h == NULL || key_label == NULL || info == NULL) {
		seterr(err, errlen, "hsm_key_info: bad arguments");
		goto out;
	}
	memset(info, 0, sizeof(*info));
	s = sess_get(h);
	have = true;
	/* Always asks the token (not the cache): this is what audits rely on. */
	r = find_key_p11(h, s, key_label, &key, err, errlen);
	if (r < 0)
		goto out;
	if (r == 0) {
		ret = 0;   /* info->found = false */
		goto out;
	}
	a[0] = (CK_ATTRIBUTE){ CKA_SENSITIVE, &sens, sizeof(sens) };
	a[1] = (CK_ATTRIBUTE){ CKA_EXTRACTABLE, &extr, sizeof(extr) };
	a[2] = (CK_ATTRIBUTE){ CKA_ALWAYS_SENSITIVE, &asens, sizeof(asens) };
	a[3] = (CK_ATTRIBUTE){ CKA_NEVER_EXTRACTABLE, &nextr, sizeof(nextr) };
	a[4] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &kt, sizeof(kt) };
	a[5] = (CK_ATTRIBUTE){ CKA_VALUE_LEN, &vlen, sizeof(vlen) };
	rv = h->p11->C_GetAttributeValue(s, key, a, 6);
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_GetAttributeValue", rv);
		goto out;
	}
	info->found = true;
	info->sensitive = sens == CK_TRUE;
	info->extractable = extr == CK_TRUE;
	info->always_sensitive = asens == CK_TRUE;
	info->never_extractable = nextr == CK_TRUE;
	info->key_type = (unsigned long)kt;
	info->value_len = (unsigned long)vlen;
	ret = 0;
out:
	if (have)
		sess_put(h, s, false);
	return ret;
}

/*
 * C_GenerateKey (PKCS#11 v2.40 §5.14) of a 256-bit token secret key:
 * CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE (PCI DSS v4.0 3.5.1.2,
 * 3.6.1: the key never exists outside the HSM), with only the usages given.
 * Refuses a label that already exists.
 */
static int generate_key(struct hsm *h, const char *label, CK_MECHANISM_TYPE mech_type,
                        CK_KEY_TYPE kt, bool enc, bool sign, bool wrappable, char *err,
                        size_t errlen)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	CK_MECHANISM mech = { mech_type, NULL, 0 };
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ULONG vlen = HSM_KEY_LEN;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_BBOOL b_enc = enc ? CK_TRUE : CK_FALSE;
	CK_BBOOL b_sign = sign ? CK_TRUE : CK_FALSE;
	/* ADR 0073: a backup-capable key may leave the token only wrapped
	 * (C_WrapKey); CKA_SENSITIVE still forbids reading its value. */
	CK_BBOOL b_extr = wrappable ? CK_TRUE : CK_FALSE;
	bool have = false;
	int ret = -1;
	int r;
	CK_RV rv;

	clrerr(err, errlen);
	if (h == NULL || label == NULL || label[0] == '\0') {
		seterr(err, errlen, "hsm: bad arguments to key generation");
		goto out;
	}
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_VALUE_LEN, &vlen, sizeof(vlen) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &b_extr, sizeof(b_extr) },
		{ CKA_MODIFIABLE, &no, sizeof(no) },
		{ CKA_ENCRYPT, &b_enc, sizeof(b_enc) },
		{ CKA_DECRYPT, &b_enc, sizeof(b_enc) },
		{ CKA_SIGN, &b_sign, sizeof(b_sign) },
		{ CKA_VERIFY, &b_sign, sizeof(b_sign) },
		{ CKA_WRAP, &no, sizeof(no) },
		{ CKA_UNWRAP, &no, sizeof(no) },
		{ CKA_DERIVE, &no, sizeof(no) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	s = sess_get(h);
	have = true;
	r = find_key_p11(h, s, label, &obj, err, errlen);
	if (r < 0)
		goto out;
	if (r == 1) {
		seterr(err, errlen, "hsm: a secret key labelled '%s' already exists", label);
		goto out;
	}
	rv = h->p11->C_GenerateKey(s, &mech, t, sizeof(t) / sizeof(t[0]), &obj);
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_GenerateKey", rv);
		goto out;
	}
	ret = 0;
out:
	if (have)
		sess_put(h, s, false);
	return ret;
}

int hsm_generate_aes_key(struct hsm *h, const char *key_label, char *err, size_t errlen)
{
	/* PKCS#11 v2.40 curr. mech. §2.8.3 CKM_AES_KEY_GEN, 32-byte CKA_VALUE_LEN. */
	return generate_key(h, key_label, CKM_AES_KEY_GEN, CKK_AES, true, false, false, err,
	                    errlen);
}

int hsm_generate_hmac_key(struct hsm *h, const char *key_label, char *err, size_t errlen)
{
	/* PKCS#11 v2.40 curr. mech. §2.42.1 CKM_GENERIC_SECRET_KEY_GEN. */
	return generate_key(h, key_label, CKM_GENERIC_SECRET_KEY_GEN, CKK_GENERIC_SECRET, false,
	                    true, false, err, errlen);
}

int hsm_generate_wrappable_key(struct hsm *h, const char *key_label, bool aes, char *err,
                               size_t errlen)
{
	return aes ? generate_key(h, key_label, CKM_AES_KEY_GEN, CKK_AES, true, false, true, err,
	                          errlen)
	           : generate_key(h, key_label, CKM_GENERIC_SECRET_KEY_GEN, CKK_GENERIC_SECRET,
	                          false, true, true, err, errlen);
}

int hsm_p11_borrow(struct hsm *h, CK_FUNCTION_LIST_PTR *p11, CK_SESSION_HANDLE *s)
{
	if (h == NULL || p11 == NULL || s == NULL)
		return -1;
	*p11 = h->p11;
	*s = sess_get(h);
	return 0;
}

void hsm_p11_return(struct hsm *h, CK_SESSION_HANDLE s, bool broken)
{
	if (h == NULL)
		return;
	/* vaultctl may have destroyed or created keys: forget every cached handle. */
	pthread_mutex_lock(&h->lock);
	while (h->keys != NULL) {
		struct hsm_keyent *e = h->keys;
		h->keys = e->next;
		free(e->label);
		free(e);
	}
	pthread_mutex_unlock(&h->lock);
	sess_put(h, s, broken);
}

/* ---- key ceremonies (issue 7): KCV, token serial, the transcript signing key ---- */

/* Find an object of class cls labelled label in session s (ceremony
 * commands: always asks the token, never the cache). 1 found, 0 absent, -1 error. */
static int find_obj(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label,
                    CK_OBJECT_HANDLE *obj_out, char *err, size_t errlen)
{
	CK_ATTRIBUTE tmpl[2];
	CK_OBJECT_HANDLE found[2] = { CK_INVALID_HANDLE, CK_INVALID_HANDLE };
	CK_ULONG nfound = 0;
	CK_RV rv;

	if (label == NULL || label[0] == '\0') {
		seterr(err, errlen, "hsm: empty object label");
		return -1;
	}
	tmpl[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	tmpl[1] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, strlen(label) };
	rv = h->p11->C_FindObjectsInit(s, tmpl, 2);
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_FindObjectsInit", rv);
		return -1;
	}
	rv = h->p11->C_FindObjects(s, found, 2, &nfound);
	h->p11->C_FindObjectsFinal(s);
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_FindObjects", rv);
		return -1;
	}
	if (nfound > 1) {
		seterr(err, errlen, "hsm: more than one object labelled '%s'", label);
		return -1;
	}
	if (nfound == 1)
		*obj_out = found[0];
	return nfound == 1 ? 1 : 0;
}

int hsm_kcv(struct hsm *h, const char *key_label, uint8_t kcv[HSM_KCV_LEN], char *err,
            size_t errlen)
{
	static const CK_BYTE zero[HSM_KCV_BLOCK] = { 0 };
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof(kt) };
	CK_MECHANISM mech = { CKM_AES_ECB, NULL, 0 };
	CK_BYTE out[HSM_MAC_LEN];
	CK_ULONG outlen = sizeof(out);
	bool have = false, broken = false;
	int ret = -1;
	int r;
	CK_RV rv;

	clrerr(err, errlen);
	if (h == NULL || key_label == NULL || kcv == NULL) {
		seterr(err, errlen, "hsm_kcv: bad arguments");
		goto out;
	}
	s = sess_get(h);
	have = true;
	r = find_obj(h, s, CKO_SECRET_KEY, key_label, &key, err, errlen);
	if (r <= 0) {
		if (r == 0)
			seterr(err, errlen, "hsm: no secret key labelled '%s' on the token", key_label);
		goto out;
	}
	rv = h->p11->C_GetAttributeValue(s, key, &a, 1);
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_GetAttributeValue", rv);
		goto out;
	}
	if (kt == CKK_AES) {
		/* KCV of an AES key: the first 3 bytes of AES-ECB(key, 0^128)
		 * (PKCS#11 v2.40 curr. mech. §2.8.6 CKM_AES_ECB; ANSI X9.24-1 style
		 * check value). Uses C_Encrypt because the data keys carry CKA_ENCRYPT
		 * only; SoftHSM2 2.6 performs CKM_AES_CMAC through C_Sign, which needs
		 * CKA_SIGN (ADR 0070). */
		rv = h->p11->C_EncryptInit(s, &mech, key);
		if (rv != CKR_OK) {
			broken = true;
			p11err(err, errlen, "C_EncryptInit", rv);
			goto out;
		}
		rv = h->p11->C_Encrypt(s, (CK_BYTE_PTR)zero, sizeof(zero), out, &outlen);
		if (rv != CKR_OK) {
			broken = true;
			p11err(err, errlen, "C_Encrypt", rv);
			goto out;
		}
	} else if (kt == CKK_GENERIC_SECRET) {
		/* KCV of an HMAC key: the first 3 bytes of HMAC-SHA256(key, 0^128),
		 * the same 16 zero bytes as for AES (ADR 0070). */
		mech.mechanism = CKM_SHA256_HMAC;
		rv = h->p11->C_SignInit(s, &mech, key);
		if (rv != CKR_OK) {
			broken = true;
			p11err(err, errlen, "C_SignInit", rv);
			goto out;
		}
		rv = h->p11->C_Sign(s, (CK_BYTE_PTR)zero, sizeof(zero), out, &outlen);
		if (rv != CKR_OK) {
			broken = true;
			p11err(err, errlen, "C_Sign", rv);
			goto out;
		}
	} else {
		seterr(err, errlen, "hsm_kcv: '%s' is neither an AES nor an HMAC key", key_label);
		goto out;
	}
	if (outlen < HSM_KCV_LEN) {
		seterr(err, errlen, "hsm_kcv: short output");
		goto out;
	}
	memcpy(kcv, out, HSM_KCV_LEN);
	ret = 0;
out:
	sodium_memzero(out, sizeof(out));
	if (have)
		sess_put(h, s, broken);
	return ret;
}

int hsm_token_serial(struct hsm *h, char serial[17], char *err, size_t errlen)
{
	CK_TOKEN_INFO ti;
	size_t n = sizeof(ti.serialNumber);
	CK_RV rv;

	clrerr(err, errlen);
	if (h == NULL || serial == NULL) {
		seterr(err, errlen, "hsm_token_serial: bad arguments");
		return -1;
	}
	memset(&ti, 0, sizeof(ti));
	rv = h->p11->C_GetTokenInfo(h->slot, &ti);
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_GetTokenInfo", rv);
		return -1;
	}
	while (n > 0 && (ti.serialNumber[n - 1] == ' ' || ti.serialNumber[n - 1] == '\0'))
		n--;
	memcpy(serial, ti.serialNumber, n);
	serial[n] = '\0';
	return 0;
}

/* DER of the P-256 OID 1.2.840.10045.3.1.7 (RFC 5480 §2.1.1.1), CKA_EC_PARAMS. */
static const CK_BYTE P256_PARAMS[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

int hsm_generate_ec_signing_key(struct hsm *h, const char *label, char *err, size_t errlen)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
	CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	bool have = false;
	int ret = -1;
	int r;
	CK_RV rv;

	clrerr(err, errlen);
	if (h == NULL || label == NULL || label[0] == '\0') {
		seterr(err, errlen, "hsm: bad arguments to key pair generation");
		goto out;
	}
	CK_ATTRIBUTE tpub[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &no, sizeof(no) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_ENCRYPT, &no, sizeof(no) },
		{ CKA_WRAP, &no, sizeof(no) },
		{ CKA_MODIFIABLE, &no, sizeof(no) },
		{ CKA_EC_PARAMS, (void *)P256_PARAMS, sizeof(P256_PARAMS) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	/* PCI DSS v4.0 3.6.1: the signing key is generated in the HSM and can only sign. */
	CK_ATTRIBUTE tpriv[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_MODIFIABLE, &no, sizeof(no) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_DECRYPT, &no, sizeof(no) },
		{ CKA_UNWRAP, &no, sizeof(no) },
		{ CKA_DERIVE, &no, sizeof(no) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	s = sess_get(h);
	have = true;
	r = find_obj(h, s, CKO_PRIVATE_KEY, label, &priv, err, errlen);
	if (r < 0)
		goto out;
	if (r == 1) {
		seterr(err, errlen, "hsm: a private key labelled '%s' already exists", label);
		goto out;
	}
	/* PKCS#11 v2.40 curr. mech. §2.3.6 CKM_EC_KEY_PAIR_GEN. */
	rv = h->p11->C_GenerateKeyPair(s, &mech, tpub, sizeof(tpub) / sizeof(tpub[0]), tpriv,
	                               sizeof(tpriv) / sizeof(tpriv[0]), &pub, &priv);
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_GenerateKeyPair", rv);
		goto out;
	}
	ret = 0;
out:
	if (have)
		sess_put(h, s, false);
	return ret;
}

int hsm_ec_sign(struct hsm *h, const char *label, const uint8_t digest[32], uint8_t sig[64],
                char *err, size_t errlen)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	CK_ULONG siglen = 64;
	bool have = false, broken = false;
	int ret = -1;
	int r;
	CK_RV rv;

	clrerr(err, errlen);
	if (h == NULL || label == NULL || digest == NULL || sig == NULL) {
		seterr(err, errlen, "hsm_ec_sign: bad arguments");
		goto out;
	}
	s = sess_get(h);
	have = true;
	r = find_obj(h, s, CKO_PRIVATE_KEY, label, &key, err, errlen);
	if (r <= 0) {
		if (r == 0)
			seterr(err, errlen, "hsm: no private key labelled '%s' on the token", label);
		goto out;
	}
	/* PKCS#11 v2.40 curr. mech. §2.3.7 CKM_ECDSA over a SHA-256 digest: r||s. */
	rv = h->p11->C_SignInit(s, &mech, key);
	if (rv != CKR_OK) {
		broken = true;
		p11err(err, errlen, "C_SignInit", rv);
		goto out;
	}
	rv = h->p11->C_Sign(s, (CK_BYTE_PTR)digest, 32, sig, &siglen);
	if (rv != CKR_OK) {
		broken = true;
		p11err(err, errlen, "C_Sign", rv);
		goto out;
	}
	if (siglen != 64) {
		seterr(err, errlen, "C_Sign: unexpected ECDSA signature length %lu",
		       (unsigned long)siglen);
		goto out;
	}
	ret = 0;
out:
	if (have)
		sess_put(h, s, broken);
	return ret;
}

int hsm_ec_public_point(struct hsm *h, const char *label, uint8_t point[65], char *err,
                        size_t errlen)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_BYTE buf[80];
	CK_ATTRIBUTE a = { CKA_EC_POINT, buf, sizeof(buf) };
	bool have = false;
	int ret = -1;
	int r;
	CK_RV rv;

	clrerr(err, errlen);
	if (h == NULL || label == NULL || point == NULL) {
		seterr(err, errlen, "hsm_ec_public_point: bad arguments");
		goto out;
	}
	s = sess_get(h);
	have = true;
	r = find_obj(h, s, CKO_PUBLIC_KEY, label, &key, err, errlen);
	if (r <= 0) {
		if (r == 0)
			seterr(err, errlen, "hsm: no public key labelled '%s' on the token", label);
		goto out;
	}
	rv = h->p11->C_GetAttributeValue(s, key, &a, 1);
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_GetAttributeValue", rv);
		goto out;
	}
	/* CKA_EC_POINT is the DER OCTET STRING of the uncompressed point
	 * (04 41 04 X Y, PKCS#11 v2.40 curr. mech. §2.3.3); accept the bare point too. */
	if (a.ulValueLen == 67 && buf[0] == 0x04 && buf[1] == 0x41 && buf[2] == 0x04) {
		memcpy(point, buf + 2, 65);
	} else if (a.ulValueLen == 65 && buf[0] == 0x04) {
		memcpy(point, buf, 65);
	} else {
		seterr(err, errlen, "hsm: '%s' is not an uncompressed P-256 point", label);
		goto out;
	}
	ret = 0;
out:
	if (have)
		sess_put(h, s, false);
	return ret;
}

/*
 * hsm_backup: split-knowledge key backup (ADR 0073, 0104): the named keys'
 * checks, the components and their sealing, the transport keys the Security
 * Officer marks CKA_TRUSTED, the wrapping; key destruction. Restore is in
 * hsm_restore.c.
 */
#include "hsm/ceremonies/hsm_backup.h"
#include "hsm/ceremonies/hsm_backup_internal.h"

#include "hsm/hsm.h"
#include "hsm/hsm_p11.h"
#include "common/sr_secret.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>


void bk_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void bk_p11err(char *err, size_t errlen, const char *fn, CK_RV rv)
{
	bk_seterr(err, errlen, "%s: %s", fn, hsm_rv_str(rv));
}

void bk_kcv_hex(const uint8_t kcv[HSM_KCV_LEN], char out[2 * HSM_KCV_LEN + 1])
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < HSM_KCV_LEN; i++) {
		out[2 * i] = digits[kcv[i] >> 4];
		out[2 * i + 1] = digits[kcv[i] & 15];
	}
	out[2 * HSM_KCV_LEN] = '\0';
}

/* A label unique to this run for a session object hsm_kcv can find. */
void bk_tmp_label(char *out, size_t cap, const char *what)
{
	uint8_t r[8];
	char hx[17];

	randombytes_buf(r, sizeof r);
	sodium_bin2hex(hx, sizeof hx, r, sizeof r);
	snprintf(out, cap, "tmp-%s-%s", what, hx);
}

/*
 * Import a component as a session AES-256 key (CKA_DERIVE, and CKA_ENCRYPT
 * for its KCV), sensitive and never extractable. PKCS#11 v2.40 §5.7. A
 * public session object (CKA_PRIVATE false): the Security Officer, who may
 * create no private object, makes the backup's transport keys from it, and
 * session objects are seen by this process alone.
 */
static int import_component(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, const uint8_t *val,
                            const char *label, CK_OBJECT_HANDLE *obj, char *err, size_t errlen)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, &no, sizeof(no) },
		{ CKA_PRIVATE, &no, sizeof(no) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_ENCRYPT, &yes, sizeof(yes) },
		{ CKA_DERIVE, &yes, sizeof(yes) },
		{ CKA_VALUE, (void *)val, HSM_BACKUP_COMP_LEN },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_RV rv = p11->C_CreateObject(s, t, sizeof(t) / sizeof(t[0]), obj);

	if (rv != CKR_OK) {
		bk_p11err(err, errlen, "C_CreateObject (component)", rv);
		return -1;
	}
	return 0;
}

/* See hsm_backup_internal.h. */
int bk_component_kcv(struct hsm *h, CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s,
                     const uint8_t *val, uint8_t kcv[HSM_KCV_LEN], char *err, size_t errlen)
{
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	char label[64];
	int rc;

	bk_tmp_label(label, sizeof label, "component");
	if (import_component(p11, s, val, label, &obj, err, errlen) != 0)
		return -1;
	rc = hsm_kcv(h, label, kcv, err, errlen);
	p11->C_DestroyObject(s, obj);
	return rc;
}

/* See hsm_backup_internal.h (ADR 0073, 0104). */
int bk_combine(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, const uint8_t *comps, size_t k,
               const char *label, bool trusted, CK_OBJECT_HANDLE *out, char *err,
               size_t errlen)
{
	CK_OBJECT_HANDLE cur = CK_INVALID_HANDLE, next = CK_INVALID_HANDLE;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ULONG vlen = HSM_BACKUP_COMP_LEN;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_KEY_DERIVATION_STRING_DATA kd;
	CK_MECHANISM mech = { CKM_AES_ECB_ENCRYPT_DATA, &kd, sizeof(kd) };
	char tmp[64];
	size_t i;
	int ret = -1;
	CK_RV rv;

	if (k < 1) {
		bk_seterr(err, errlen, "no components");
		return -1;
	}
	bk_tmp_label(tmp, sizeof tmp, "chain");
	if (import_component(p11, s, comps, k == 1 ? label : tmp, &cur, err, errlen) != 0)
		return -1;
	for (i = 1; i < k; i++) {
		bool last = i == k - 1;
		CK_BBOOL use = last ? CK_TRUE : CK_FALSE;
		CK_BBOOL der = last ? CK_FALSE : CK_TRUE;
		/* PKCS#11 v2.40 §4.10: only the SO may set CKA_TRUSTED. */
		CK_BBOOL trust = last && trusted ? CK_TRUE : CK_FALSE;
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_KEY_TYPE, &kt, sizeof(kt) },
			{ CKA_VALUE_LEN, &vlen, sizeof(vlen) },
			{ CKA_TOKEN, &no, sizeof(no) },
			{ CKA_PRIVATE, &no, sizeof(no) },
			{ CKA_TRUSTED, &trust, sizeof(trust) },
			{ CKA_SENSITIVE, &yes, sizeof(yes) },
			{ CKA_EXTRACTABLE, &no, sizeof(no) },
			{ CKA_ENCRYPT, &use, sizeof(use) },
			{ CKA_WRAP, &use, sizeof(use) },
			{ CKA_UNWRAP, &use, sizeof(use) },
			{ CKA_DERIVE, &der, sizeof(der) },
			{ CKA_LABEL, (void *)(last ? label : tmp), strlen(last ? label : tmp) },
		};

		kd.pData = (CK_BYTE_PTR)(comps + i * HSM_BACKUP_COMP_LEN);
		kd.ulLen = HSM_BACKUP_COMP_LEN;
		rv = p11->C_DeriveKey(s, &mech, cur, t, sizeof(t) / sizeof(t[0]), &next);
		p11->C_DestroyObject(s, cur);
		cur = CK_INVALID_HANDLE;
		if (rv != CKR_OK) {
			bk_p11err(err, errlen, "C_DeriveKey (CKM_AES_ECB_ENCRYPT_DATA)", rv);
			goto out;
		}
		cur = next;
	}
	*out = cur;
	cur = CK_INVALID_HANDLE;
	ret = 0;
out:
	if (cur != CK_INVALID_HANDLE)
		p11->C_DestroyObject(s, cur);
	return ret;
}

int hsm_backup_combine_kcv(struct hsm *h, const uint8_t *comps, size_t k, uint8_t kcv[3],
                           char *err, size_t errlen)
{
	CK_FUNCTION_LIST_PTR p11 = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE t = CK_INVALID_HANDLE;
	char label[64];
	int rc = -1;

	if (h == NULL || comps == NULL || kcv == NULL || hsm_p11_borrow(h, &p11, &s) != 0) {
		bk_seterr(err, errlen, "combine: bad arguments");
		return -1;
	}
	bk_tmp_label(label, sizeof label, "transport");
	if (bk_combine(p11, s, comps, k, label, false, &t, err, errlen) == 0) {
		rc = hsm_kcv(h, label, kcv, err, errlen);
		p11->C_DestroyObject(s, t);
	}
	hsm_p11_return(h, s, false);
	return rc;
}

/* ---- the keys the ceremony names ------------------------------------------- */

struct keyinfo {
	const char *label;
	CK_OBJECT_HANDLE obj;
	CK_KEY_TYPE kt;
	CK_ULONG len;   /* bytes; 0 when the token keeps none (an unwrapped key): measured */
	char kcv[2 * HSM_KCV_LEN + 1];
};

static const char *kt_name(CK_KEY_TYPE kt)
{
	return kt == CKK_AES ? "CKK_AES" : kt == CKK_GENERIC_SECRET ? "CKK_GENERIC_SECRET" : "other";
}

/*
 * Find the token secret key labelled label in session s (PKCS#11 v2.40 §5.7
 * C_FindObjects, C_GetAttributeValue) and check that it can be backed up
 * (ADR 0104): AES or generic secret, CKA_SENSITIVE, CKA_EXTRACTABLE and
 * CKA_WRAP_WITH_TRUSTED. Fills k->obj, kt and len.
 * @return 0, or -1 with err naming the key and the exact reason.
 */
static int check_key(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, struct keyinfo *k,
                     char *err, size_t errlen)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_BBOOL yes = CK_TRUE, sens = CK_FALSE, extr = CK_FALSE, wwt = CK_FALSE;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_LABEL, (void *)k->label, strlen(k->label) },
	};
	CK_ATTRIBUTE a[] = {
		{ CKA_KEY_TYPE, &k->kt, sizeof(k->kt) },
		{ CKA_VALUE_LEN, &k->len, sizeof(k->len) },
		{ CKA_SENSITIVE, &sens, sizeof(sens) },
		{ CKA_EXTRACTABLE, &extr, sizeof(extr) },
		{ CKA_WRAP_WITH_TRUSTED, &wwt, sizeof(wwt) },
	};
	CK_OBJECT_HANDLE objs[2];
	CK_ULONG n = 0;
	CK_RV rv;

	rv = p11->C_FindObjectsInit(s, t, 3);
	if (rv != CKR_OK) {
		bk_p11err(err, errlen, "C_FindObjectsInit", rv);
		return -1;
	}
	rv = p11->C_FindObjects(s, objs, 2, &n);
	p11->C_FindObjectsFinal(s);
	if (rv != CKR_OK) {
		bk_p11err(err, errlen, "C_FindObjects", rv);
		return -1;
	}
	if (n != 1) {
		bk_seterr(err, errlen, "backup refused: '%s': %s", k->label,
		          n == 0 ? "no secret key with this label on the token"
		                 : "more than one secret key with this label on the token");
		return -1;
	}
	k->obj = objs[0];
	rv = p11->C_GetAttributeValue(s, k->obj, a, sizeof(a) / sizeof(a[0]));
	if (rv != CKR_OK) {
		bk_p11err(err, errlen, "C_GetAttributeValue", rv);
		return -1;
	}
	if (k->kt != CKK_AES && k->kt != CKK_GENERIC_SECRET) {
		bk_seterr(err, errlen, "backup refused: '%s' is neither an AES nor a generic secret "
		          "(HMAC) key", k->label);
		return -1;
	}
	if (sens != CK_TRUE) {
		bk_seterr(err, errlen, "backup refused: '%s' is not CKA_SENSITIVE", k->label);
		return -1;
	}
	/* PCI DSS v4.0 3.5.1.2: better refuse than make a backup that silently misses it. */
	if (extr != CK_TRUE) {
		bk_seterr(err, errlen, "backup refused: '%s' is not CKA_EXTRACTABLE (made without "
		          "--wrappable): the HSM never exports it; rotate to a backup-capable "
		          "version (keys rotate --wrappable)", k->label);
		return -1;
	}
	/* ADR 0104: such a key can be wrapped under any key a user-PIN holder makes. */
	if (wwt != CK_TRUE) {
		bk_seterr(err, errlen, "backup refused: '%s' is CKA_EXTRACTABLE without "
		          "CKA_WRAP_WITH_TRUSTED (made before ADR 0104): anyone with the user PIN "
		          "can export it; rotate to a new --wrappable version and retire it",
		          k->label);
		return -1;
	}
	return 0;
}

/*
 * The length in bytes of key k that the token keeps none of (CKA_VALUE_LEN
 * 0: SoftHSM2 2.6 refuses it on C_UnwrapKey), measured with the trusted
 * transport key tk: C_WrapKey with CKM_AES_KEY_WRAP (RFC 3394, PKCS#11 v2.40
 * curr. mech. §2.14) gives len + 8 bytes, and only for whole 8-byte blocks.
 * 0, or -1 with err.
 */
static int measure_len(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE tk,
                       struct keyinfo *k, char *err, size_t errlen)
{
	CK_MECHANISM kw = { CKM_AES_KEY_WRAP, NULL, 0 };
	CK_BYTE blob[WRAP_MAX];
	CK_ULONG blen = sizeof blob;
	CK_RV rv = p11->C_WrapKey(s, &kw, tk, k->obj, blob, &blen);

	sodium_memzero(blob, sizeof blob);
	if (rv != CKR_OK || blen <= 8 || blen > WRAP_MAX) {
		bk_seterr(err, errlen, "backup refused: '%s': the token records no length for it "
		          "(an unwrapped key) and it cannot be measured (C_WrapKey CKM_AES_KEY_WRAP: "
		          "%s)", k->label, hsm_rv_str(rv));
		return -1;
	}
	k->len = blen - 8;
	return 0;
}

/* "pan-enc-v3" -> 3; 0 when the label carries no version. */
static long label_version(const char *label)
{
	const char *v = strrchr(label, '-');
	char *end = NULL;
	long n;

	if (v == NULL || v[1] != 'v')
		return 0;
	n = strtol(v + 2, &end, 10);
	return end != v + 2 && *end == '\0' && n > 0 ? n : 0;
}

int bk_hexval(const char *hx, uint8_t *out, size_t len)
{
	size_t got = 0;

	if (hx == NULL || strlen(hx) != 2 * len)
		return -1;
	if (sodium_hex2bin(out, len, hx, 2 * len, NULL, &got, NULL) != 0 || got != len)
		return -1;
	return 0;
}

/* ---- sealing components for their holder ---------------------------------- */

static int seal_key(const struct hsm_backup_holder *hd, const uint8_t *salt, uint8_t *key)
{
	/* Argon2id (RFC 9106), libsodium's interactive limits: the passphrase
	 * itself is a custodian credential of 12+ bytes (ADR 0072). */
	return crypto_pwhash(key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, hd->pass,
	                     hd->pass_len, salt, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                     crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13);
}

static void seal_ad(char *ad, size_t cap, const char *id, const char *name)
{
	snprintf(ad, cap, "%s|%s|%s", COMP_FORMAT, id, name);
}

/* Seal count components (guarded vals) for holder hd into a component document. */
static json_t *seal_components(const struct hsm_backup_holder *hd, const char *id,
                               const uint8_t *vals, size_t count, json_t *meta, char *err,
                               size_t errlen)
{
	uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	uint8_t *key = NULL, *box = NULL;
	char *boxhex = NULL;
	char ad[128], salthex[2 * sizeof salt + 1], noncehex[2 * sizeof nonce + 1];
	unsigned long long blen = 0;
	size_t cap = count * HSM_BACKUP_COMP_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES;
	json_t *doc = NULL;

	key = sr_secret_alloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
	box = malloc(cap);
	boxhex = malloc(2 * cap + 1);
	if (key == NULL || box == NULL || boxhex == NULL) {
		bk_seterr(err, errlen, "out of memory");
		goto out;
	}
	randombytes_buf(salt, sizeof salt);
	randombytes_buf(nonce, sizeof nonce);
	if (seal_key(hd, salt, key) != 0) {
		bk_seterr(err, errlen, "Argon2id: out of memory");
		goto out;
	}
	seal_ad(ad, sizeof ad, id, hd->name);
	crypto_aead_xchacha20poly1305_ietf_encrypt(box, &blen, vals, count * HSM_BACKUP_COMP_LEN,
	                                           (const uint8_t *)ad, strlen(ad), NULL, nonce,
	                                           key);
	sodium_bin2hex(boxhex, 2 * cap + 1, box, (size_t)blen);
	sodium_bin2hex(salthex, sizeof salthex, salt, sizeof salt);
	sodium_bin2hex(noncehex, sizeof noncehex, nonce, sizeof nonce);
	doc = json_pack("{s:s, s:s, s:s, s:O, s:{s:s, s:s, s:s, s:s, s:s}}", "format", COMP_FORMAT,
	                "backup_id", id, "custodian", hd->name, "components", meta, "seal", "aead",
	                "XChaCha20-Poly1305", "kdf", "Argon2id13 (interactive limits)", "salt",
	                salthex, "nonce", noncehex, "box", boxhex);
	if (doc == NULL)
		bk_seterr(err, errlen, "out of memory");
out:
	sr_secret_free(key);
	free(box);
	free(boxhex);
	return doc;
}

int hsm_backup_unseal(const json_t *comp, const struct hsm_backup_holder *holder,
                      uint8_t **values_out, size_t *count_out, char *err, size_t errlen)
{
	uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	uint8_t *key = NULL, *box = NULL, *vals = NULL;
	const char *id = NULL, *name = NULL, *fmt = NULL, *salthex = NULL, *noncehex = NULL,
	           *boxhex = NULL;
	json_t *meta = NULL;
	char ad[128];
	size_t count, blen;
	unsigned long long plen = 0;
	int ret = -1;

	*values_out = NULL;
	*count_out = 0;
	if (json_unpack((json_t *)comp, "{s:s, s:s, s:s, s:o, s:{s:s, s:s, s:s}}", "format", &fmt,
	                "backup_id", &id, "custodian", &name, "components", &meta, "seal", "salt",
	                &salthex, "nonce", &noncehex, "box", &boxhex) != 0 ||
	    strcmp(fmt, COMP_FORMAT) != 0 || !json_is_array(meta) || json_array_size(meta) == 0 ||
	    json_array_size(meta) > MAX_SETS || bk_hexval(salthex, salt, sizeof salt) != 0 ||
	    bk_hexval(noncehex, nonce, sizeof nonce) != 0) {
		bk_seterr(err, errlen, "not a component file (%s)", COMP_FORMAT);
		goto out;
	}
	count = json_array_size(meta);
	blen = count * HSM_BACKUP_COMP_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES;
	box = malloc(blen);
	key = sr_secret_alloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
	vals = sr_secret_alloc(count * HSM_BACKUP_COMP_LEN);
	if (box == NULL || key == NULL || vals == NULL) {
		bk_seterr(err, errlen, "out of memory");
		goto out;
	}
	if (bk_hexval(boxhex, box, blen) != 0) {
		bk_seterr(err, errlen, "component file: sealed values malformed");
		goto out;
	}
	if (strcmp(name, holder->name) != 0) {
		bk_seterr(err, errlen, "the component file belongs to another custodian");
		ret = 1;
		goto out;
	}
	if (seal_key(holder, salt, key) != 0) {
		bk_seterr(err, errlen, "Argon2id: out of memory");
		goto out;
	}
	seal_ad(ad, sizeof ad, id, holder->name);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(vals, &plen, NULL, box, blen,
	                                               (const uint8_t *)ad, strlen(ad), nonce,
	                                               key) != 0 ||
	    plen != count * HSM_BACKUP_COMP_LEN) {
		bk_seterr(err, errlen, "the component file does not open with this custodian's "
		          "passphrase (or was altered)");
		ret = 1;
		goto out;
	}
	*values_out = vals;
	*count_out = count;
	vals = NULL;
	ret = 0;
out:
	sr_secret_free(key);
	sr_secret_free(vals);
	free(box);
	return ret;
}

/* ---- backup ----------------------------------------------------------------- */

/* Next m-subset of {0..n-1} in lexicographic order; false after the last. */
static bool next_subset(size_t *idx, size_t m, size_t n)
{
	size_t i = m;

	while (i > 0 && idx[i - 1] == n - m + i - 1)
		i--;
	if (i == 0)
		return false;
	idx[i - 1]++;
	for (; i < m; i++)
		idx[i] = idx[i - 1] + 1;
	return true;
}

static size_t binom(size_t n, size_t k)
{
	size_t r = 1, i;

	for (i = 1; i <= k; i++)
		r = r * (n - k + i) / i;
	return r;
}

/* The spec's labels: 1..MAX_KEYS, each named once. 0, or -1 with err. */
static int check_spec(const struct hsm_backup_spec *spec, char *err, size_t errlen)
{
	size_t i, j;

	if (spec == NULL || spec->labels == NULL || spec->nlabels == 0 ||
	    spec->nlabels > MAX_KEYS || spec->so_pin_file == NULL || spec->user_pin_file == NULL) {
		bk_seterr(err, errlen, "backup: name 1 to %d keys, the SO and the user PIN files",
		          MAX_KEYS);
		return -1;
	}
	for (i = 0; i < spec->nlabels; i++) {
		if (spec->labels[i] == NULL || spec->labels[i][0] == '\0' ||
		    strlen(spec->labels[i]) > 64) {
			bk_seterr(err, errlen, "backup: key %zu: empty or longer than 64 bytes", i + 1);
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(spec->labels[i], spec->labels[j]) == 0) {
				bk_seterr(err, errlen, "backup: key '%s' named twice", spec->labels[i]);
				return -1;
			}
		}
	}
	return 0;
}

int hsm_backup_create(struct hsm *h, const struct hsm_backup_spec *spec,
                      const struct hsm_backup_holder *holders, size_t n, size_t m,
                      json_t **backup_out, json_t *comp_out[], char *err, size_t errlen)
{
	CK_FUNCTION_LIST_PTR p11 = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE tks[MAX_SETS];
	CK_MECHANISM wrap = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	struct keyinfo keys[MAX_KEYS];
	size_t nkeys = 0, nsets, i, j, idx[HSM_BACKUP_MAX_HOLDERS], given[HSM_BACKUP_MAX_HOLDERS];
	uint8_t *comps = NULL, *held[HSM_BACKUP_MAX_HOLDERS] = { NULL };
	json_t *meta[HSM_BACKUP_MAX_HOLDERS] = { NULL };
	json_t *doc = NULL, *jkeys = NULL, *jsets = NULL, *names = NULL, *jset = NULL;
	uint8_t idb[8], kcv[HSM_KCV_LEN];
	char id[17], serial[17], when[32], hx[2 * HSM_KCV_LEN + 1], tlabel[64];
	bool have = false, broken = false, so = false;
	time_t now = time(NULL);
	struct tm tm;
	size_t set = 0, ntks = 0;
	int ret = -1;
	CK_RV rv;

	*backup_out = NULL;
	if (h == NULL || holders == NULL || comp_out == NULL || m < 2 || m > n ||
	    n > HSM_BACKUP_MAX_HOLDERS) {
		bk_seterr(err, errlen, "backup: need 2 <= M <= N <= %d custodians",
		          HSM_BACKUP_MAX_HOLDERS);
		return -1;
	}
	for (i = 0; i < n; i++) {
		comp_out[i] = NULL;
		for (j = 0; j < i; j++) {
			if (strcmp(holders[i].name, holders[j].name) == 0) {
				bk_seterr(err, errlen, "backup: custodian '%s' given twice",
				          holders[i].name);
				return -1;
			}
		}
	}
	if (check_spec(spec, err, errlen) != 0)
		return -1;
	nsets = binom(n, m);
	if (hsm_token_serial(h, serial, err, errlen) != 0)
		return -1;
	hsm_p11_borrow(h, &p11, &s);
	have = true;
	/* 1. As the user: the named keys, each checked, with its KCV. */
	nkeys = spec->nlabels;
	for (i = 0; i < nkeys; i++) {
		memset(&keys[i], 0, sizeof keys[i]);
		keys[i].label = spec->labels[i];
		if (check_key(p11, s, &keys[i], err, errlen) != 0 ||
		    hsm_kcv(h, keys[i].label, kcv, err, errlen) != 0)
			goto out;
		bk_kcv_hex(kcv, keys[i].kcv);
	}
	comps = sr_secret_alloc(m * HSM_BACKUP_COMP_LEN);
	for (i = 0; i < n; i++) {
		held[i] = sr_secret_alloc(nsets * HSM_BACKUP_COMP_LEN);
		meta[i] = json_array();
		given[i] = 0;
	}
	jkeys = json_array();
	jsets = json_array();
	names = json_array();
	if (comps == NULL || jsets == NULL || names == NULL || jkeys == NULL) {
		bk_seterr(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (held[i] == NULL || meta[i] == NULL) {
			bk_seterr(err, errlen, "out of guarded memory");
			goto out;
		}
		json_array_append_new(names, json_string(holders[i].name));
	}
	randombytes_buf(idb, sizeof idb);
	sodium_bin2hex(id, sizeof id, idb, sizeof idb);
	for (i = 0; i < m; i++)
		idx[i] = i;
	/* 2. As the Security Officer: one trusted transport key per M-subset
	 * (PKCS#11 v2.40 §4.10: only the SO sets CKA_TRUSTED; ADR 0104). */
	so = true;   /* from here on, every path logs the user back in */
	if (hsm_p11_login(h, true, spec->so_pin_file, err, errlen) != 0)
		goto out;
	do {
		json_t *jc = NULL, *jw = NULL, *jn = NULL;

		set++;
		/* Fresh random components from the token's RNG (PCI DSS 3.6.1.2). */
		if (hsm_random(h, comps, m * HSM_BACKUP_COMP_LEN, err, errlen) != 0)
			goto out;
		jc = json_array();
		jn = json_array();
		jw = json_array();
		jset = json_pack("{s:I, s:o, s:o, s:o, s:b}", "set", (json_int_t)set, "custodians",
		                 jn, "component_kcvs", jc, "wrapped", jw, "transport_trusted", 1);
		if (jset == NULL) {
			bk_seterr(err, errlen, "out of memory");
			goto out;
		}
		json_array_append_new(jsets, jset);
		for (j = 0; j < m; j++) {
			size_t hi = idx[j];

			if (bk_component_kcv(h, p11, s, comps + j * HSM_BACKUP_COMP_LEN, kcv, err,
			                     errlen) != 0)
				goto out;
			bk_kcv_hex(kcv, hx);
			json_array_append_new(jc, json_string(hx));
			json_array_append_new(jn, json_string(holders[hi].name));
			memcpy(held[hi] + given[hi] * HSM_BACKUP_COMP_LEN,
			       comps + j * HSM_BACKUP_COMP_LEN, HSM_BACKUP_COMP_LEN);
			given[hi]++;
			json_array_append_new(meta[hi], json_pack("{s:I, s:I, s:I, s:s}", "set",
			                                          (json_int_t)set, "index",
			                                          (json_int_t)(j + 1), "of",
			                                          (json_int_t)m, "kcv", hx));
		}
		bk_tmp_label(tlabel, sizeof tlabel, "transport");
		if (bk_combine(p11, s, comps, m, tlabel, true, &tks[ntks], err, errlen) != 0)
			goto out;
		ntks++;
		sodium_memzero(comps, m * HSM_BACKUP_COMP_LEN);
		if (hsm_kcv(h, tlabel, kcv, err, errlen) != 0)
			goto out;
		bk_kcv_hex(kcv, hx);
		json_object_set_new(jset, "transport_kcv", json_string(hx));
	} while (next_subset(idx, m, n));
	/* 3. As the user again: every named key wrapped under every set's key. */
	so = false;
	if (hsm_p11_login(h, false, spec->user_pin_file, err, errlen) != 0)
		goto out;
	for (i = 0; i < nkeys; i++) {
		/* Private handles died with the logout: found (and checked) again. */
		if (check_key(p11, s, &keys[i], err, errlen) != 0)
			goto out;
		if (keys[i].len == 0 && measure_len(p11, s, tks[0], &keys[i], err, errlen) != 0)
			goto out;
		json_array_foreach(jsets, set, jset) {
			CK_BYTE blob[WRAP_MAX];
			CK_ULONG blen = sizeof blob;
			char bhex[2 * WRAP_MAX + 1];

			/* RFC 5649 AES key wrap with padding (PKCS#11 v2.40 §5.18 C_WrapKey). */
			rv = p11->C_WrapKey(s, &wrap, tks[set], keys[i].obj, blob, &blen);
			if (rv != CKR_OK) {
				bk_seterr(err, errlen, "backup refused: '%s': C_WrapKey "
				          "(CKM_AES_KEY_WRAP_PAD): %s", keys[i].label, hsm_rv_str(rv));
				broken = true;
				goto out;
			}
			sodium_bin2hex(bhex, sizeof bhex, blob, blen);
			json_array_append_new(json_object_get(jset, "wrapped"),
			                      json_pack("{s:s, s:s}", "label", keys[i].label, "blob",
			                                bhex));
		}
		json_array_append_new(jkeys, json_pack("{s:s, s:s, s:I, s:I, s:s, s:{s:b, s:b, s:b}}",
		                                        "label", keys[i].label, "key_type",
		                                        kt_name(keys[i].kt), "version",
		                                        (json_int_t)label_version(keys[i].label),
		                                        "bits", (json_int_t)(keys[i].len * 8), "kcv",
		                                        keys[i].kcv, "attributes", "sensitive", 1,
		                                        "extractable", 1, "wrap_with_trusted", 1));
	}

	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	doc = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:O, s:s, s:s, s:s, s:s, s:O, s:O}",
	                "format", BACKUP_FORMAT, "backup_id", id, "created", when, "hsm_serial",
	                serial, "m", (json_int_t)m, "n", (json_int_t)n, "custodians", names,
	                "wrap_mechanism", "CKM_AES_KEY_WRAP_PAD (RFC 5649)", "combination",
	                "K1 = component 1; Ki = CKM_AES_ECB_ENCRYPT_DATA(K(i-1), component i)",
	                "transport_keys", "CKA_TRUSTED, set by the Security Officer (ADR 0104)",
	                "kcv_method", "first 3 bytes of AES-ECB(key, 16 zero bytes); HMAC keys: "
	                "of HMAC-SHA256(key, 16 zero bytes)", "keys", jkeys, "sets", jsets);
	if (doc == NULL) {
		bk_seterr(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		comp_out[i] = seal_components(&holders[i], id, held[i], given[i], meta[i], err,
		                              errlen);
		if (comp_out[i] == NULL)
			goto out;
	}
	*backup_out = doc;
	doc = NULL;
	ret = 0;
out:
	for (i = 0; i < ntks; i++)
		p11->C_DestroyObject(s, tks[i]);
	if (so)   /* h goes back to its user login whatever failed */
		(void)hsm_p11_login(h, false, spec->user_pin_file, NULL, 0);
	if (have)
		hsm_p11_return(h, s, broken);
	if (ret != 0) {
		for (i = 0; i < n && i < HSM_BACKUP_MAX_HOLDERS; i++) {
			json_decref(comp_out[i]);
			comp_out[i] = NULL;
		}
	}
	sr_secret_free(comps);
	for (i = 0; i < HSM_BACKUP_MAX_HOLDERS; i++) {
		sr_secret_free(held[i]);
		json_decref(meta[i]);
	}
	json_decref(doc);
	json_decref(jkeys);
	json_decref(jsets);
	json_decref(names);
	return ret;
}

/* ---- destruction -------------------------------------------------------------- */

int hsm_key_destroy(struct hsm *h, const char *label, char *err, size_t errlen)
{
	CK_FUNCTION_LIST_PTR p11 = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_BBOOL yes = CK_TRUE;
	CK_OBJECT_HANDLE objs[2];
	CK_ULONG n = 0;
	CK_RV rv;
	int ret = -1;

	if (h == NULL || label == NULL || label[0] == '\0' || hsm_p11_borrow(h, &p11, &s) != 0) {
		bk_seterr(err, errlen, "destroy: bad arguments");
		return -1;
	}
	{
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_TOKEN, &yes, sizeof(yes) },
			{ CKA_LABEL, (void *)label, strlen(label) },
		};

		rv = p11->C_FindObjectsInit(s, t, 3);
		if (rv != CKR_OK) {
			bk_p11err(err, errlen, "C_FindObjectsInit", rv);
			goto out;
		}
		rv = p11->C_FindObjects(s, objs, 2, &n);
		p11->C_FindObjectsFinal(s);
		if (rv != CKR_OK) {
			bk_p11err(err, errlen, "C_FindObjects", rv);
			goto out;
		}
	}
	if (n > 1) {
		bk_seterr(err, errlen, "destroy: more than one key labelled '%s'", label);
		goto out;
	}
	if (n == 0) {
		ret = 0;
		goto out;
	}
	rv = p11->C_DestroyObject(s, objs[0]);
	if (rv != CKR_OK) {
		bk_p11err(err, errlen, "C_DestroyObject", rv);
		goto out;
	}
	ret = 1;
out:
	hsm_p11_return(h, s, false);
	return ret;
}

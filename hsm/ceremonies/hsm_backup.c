/*
 * hsm_backup: split-knowledge key backup and restore (ADR 0073).
 */
#include "hsm/ceremonies/hsm_backup.h"

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

#define BACKUP_FORMAT "strongroom-key-backup/1"
#define COMP_FORMAT   "strongroom-key-component/1"
#define MAX_KEYS      32
#define MAX_SETS      126
#define WRAP_MAX      64    /* RFC 5649 of a 32-byte key: 40 bytes */

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

static void p11err(char *err, size_t errlen, const char *fn, CK_RV rv)
{
	seterr(err, errlen, "%s: %s", fn, hsm_rv_str(rv));
}

static void kcv_hex(const uint8_t kcv[HSM_KCV_LEN], char out[2 * HSM_KCV_LEN + 1])
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
static void tmp_label(char *out, size_t cap, const char *what)
{
	uint8_t r[8];
	char hx[17];

	randombytes_buf(r, sizeof r);
	sodium_bin2hex(hx, sizeof hx, r, sizeof r);
	snprintf(out, cap, "tmp-%s-%s", what, hx);
}

/*
 * Import a component as a session AES-256 key (CKA_DERIVE, and CKA_ENCRYPT
 * for its KCV), sensitive and never extractable. PKCS#11 v2.40 §5.7.
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
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_ENCRYPT, &yes, sizeof(yes) },
		{ CKA_DERIVE, &yes, sizeof(yes) },
		{ CKA_VALUE, (void *)val, HSM_BACKUP_COMP_LEN },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_RV rv = p11->C_CreateObject(s, t, sizeof(t) / sizeof(t[0]), obj);

	if (rv != CKR_OK) {
		p11err(err, errlen, "C_CreateObject (component)", rv);
		return -1;
	}
	return 0;
}

/* KCV of one component: imported, checked with hsm_kcv, destroyed. */
static int component_kcv(struct hsm *h, CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s,
                         const uint8_t *val, uint8_t kcv[HSM_KCV_LEN], char *err, size_t errlen)
{
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	char label[64];
	int rc;

	tmp_label(label, sizeof label, "component");
	if (import_component(p11, s, val, label, &obj, err, errlen) != 0)
		return -1;
	rc = hsm_kcv(h, label, kcv, err, errlen);
	p11->C_DestroyObject(s, obj);
	return rc;
}

/*
 * The transport key from k components, combined in the HSM (ADR 0073):
 * K1 = component 1, Ki = AES-ECB-ENCRYPT-DATA(K(i-1), component i) (PKCS#11
 * v2.40 curr. mech. §2.11.1 CKM_AES_ECB_ENCRYPT_DATA). The result is a session
 * AES-256 key labelled label: CKA_WRAP, CKA_UNWRAP, CKA_ENCRYPT (its KCV),
 * sensitive, never extractable. Intermediate keys are destroyed.
 */
static int combine(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, const uint8_t *comps,
                   size_t k, const char *label, CK_OBJECT_HANDLE *out, char *err, size_t errlen)
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
		seterr(err, errlen, "no components");
		return -1;
	}
	tmp_label(tmp, sizeof tmp, "chain");
	if (import_component(p11, s, comps, k == 1 ? label : tmp, &cur, err, errlen) != 0)
		return -1;
	for (i = 1; i < k; i++) {
		bool last = i == k - 1;
		CK_BBOOL use = last ? CK_TRUE : CK_FALSE;
		CK_BBOOL der = last ? CK_FALSE : CK_TRUE;
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_KEY_TYPE, &kt, sizeof(kt) },
			{ CKA_VALUE_LEN, &vlen, sizeof(vlen) },
			{ CKA_TOKEN, &no, sizeof(no) },
			{ CKA_PRIVATE, &yes, sizeof(yes) },
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
			p11err(err, errlen, "C_DeriveKey (CKM_AES_ECB_ENCRYPT_DATA)", rv);
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
		seterr(err, errlen, "combine: bad arguments");
		return -1;
	}
	tmp_label(label, sizeof label, "transport");
	if (combine(p11, s, comps, k, label, &t, err, errlen) == 0) {
		rc = hsm_kcv(h, label, kcv, err, errlen);
		p11->C_DestroyObject(s, t);
	}
	hsm_p11_return(h, s, false);
	return rc;
}

/* ---- the token's secret keys ---------------------------------------------- */

struct keyinfo {
	char label[64];
	CK_OBJECT_HANDLE obj;
	CK_KEY_TYPE kt;
	CK_ULONG len;
	CK_BBOOL extractable;
	char kcv[2 * HSM_KCV_LEN + 1];
};

static const char *kt_name(CK_KEY_TYPE kt)
{
	return kt == CKK_AES ? "CKK_AES" : kt == CKK_GENERIC_SECRET ? "CKK_GENERIC_SECRET" : "other";
}

/* Every token secret key with a label (PKCS#11 v2.40 §5.7 C_FindObjects). */
static int list_keys(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, struct keyinfo *keys,
                     size_t *nkeys, char *err, size_t errlen)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_TOKEN, &yes, sizeof(yes) } };
	CK_OBJECT_HANDLE objs[MAX_KEYS + 1];
	CK_ULONG n = 0, i;
	CK_RV rv;

	rv = p11->C_FindObjectsInit(s, t, 2);
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_FindObjectsInit", rv);
		return -1;
	}
	rv = p11->C_FindObjects(s, objs, MAX_KEYS + 1, &n);
	p11->C_FindObjectsFinal(s);
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_FindObjects", rv);
		return -1;
	}
	if (n > MAX_KEYS) {
		seterr(err, errlen, "more than %d secret keys on the token", MAX_KEYS);
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct keyinfo *k = &keys[i];
		CK_ATTRIBUTE a[] = {
			{ CKA_LABEL, k->label, sizeof(k->label) - 1 },
			{ CKA_KEY_TYPE, &k->kt, sizeof(k->kt) },
			{ CKA_VALUE_LEN, &k->len, sizeof(k->len) },
			{ CKA_EXTRACTABLE, &k->extractable, sizeof(k->extractable) },
		};

		memset(k, 0, sizeof(*k));
		k->obj = objs[i];
		rv = p11->C_GetAttributeValue(s, objs[i], a, 4);
		if (rv != CKR_OK) {
			p11err(err, errlen, "C_GetAttributeValue", rv);
			return -1;
		}
		k->label[a[0].ulValueLen] = '\0';
	}
	*nkeys = n;
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

static int hexval(const char *hx, uint8_t *out, size_t len)
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
		seterr(err, errlen, "out of memory");
		goto out;
	}
	randombytes_buf(salt, sizeof salt);
	randombytes_buf(nonce, sizeof nonce);
	if (seal_key(hd, salt, key) != 0) {
		seterr(err, errlen, "Argon2id: out of memory");
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
		seterr(err, errlen, "out of memory");
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
	    json_array_size(meta) > MAX_SETS || hexval(salthex, salt, sizeof salt) != 0 ||
	    hexval(noncehex, nonce, sizeof nonce) != 0) {
		seterr(err, errlen, "not a component file (%s)", COMP_FORMAT);
		goto out;
	}
	count = json_array_size(meta);
	blen = count * HSM_BACKUP_COMP_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES;
	box = malloc(blen);
	key = sr_secret_alloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
	vals = sr_secret_alloc(count * HSM_BACKUP_COMP_LEN);
	if (box == NULL || key == NULL || vals == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	if (hexval(boxhex, box, blen) != 0) {
		seterr(err, errlen, "component file: sealed values malformed");
		goto out;
	}
	if (strcmp(name, holder->name) != 0) {
		seterr(err, errlen, "the component file belongs to another custodian");
		ret = 1;
		goto out;
	}
	if (seal_key(holder, salt, key) != 0) {
		seterr(err, errlen, "Argon2id: out of memory");
		goto out;
	}
	seal_ad(ad, sizeof ad, id, holder->name);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(vals, &plen, NULL, box, blen,
	                                               (const uint8_t *)ad, strlen(ad), nonce,
	                                               key) != 0 ||
	    plen != count * HSM_BACKUP_COMP_LEN) {
		seterr(err, errlen, "the component file does not open with this custodian's "
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

int hsm_backup_create(struct hsm *h, const struct hsm_backup_holder *holders, size_t n,
                      size_t m, json_t **backup_out, json_t *comp_out[], char *err,
                      size_t errlen)
{
	CK_FUNCTION_LIST_PTR p11 = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE tk = CK_INVALID_HANDLE;
	CK_MECHANISM wrap = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	struct keyinfo keys[MAX_KEYS];
	size_t nkeys = 0, nsets, i, j, idx[HSM_BACKUP_MAX_HOLDERS], given[HSM_BACKUP_MAX_HOLDERS];
	uint8_t *comps = NULL, *held[HSM_BACKUP_MAX_HOLDERS] = { NULL };
	json_t *meta[HSM_BACKUP_MAX_HOLDERS] = { NULL };
	json_t *doc = NULL, *jkeys = NULL, *jsets = NULL, *names = NULL;
	uint8_t idb[8], kcv[HSM_KCV_LEN];
	char id[17], serial[17], when[32], hx[2 * HSM_KCV_LEN + 1], tlabel[64];
	bool have = false, broken = false;
	time_t now = time(NULL);
	struct tm tm;
	size_t set = 0;
	int ret = -1;
	CK_RV rv;

	*backup_out = NULL;
	if (h == NULL || holders == NULL || comp_out == NULL || m < 2 || m > n ||
	    n > HSM_BACKUP_MAX_HOLDERS) {
		seterr(err, errlen, "backup: need 2 <= M <= N <= %d custodians",
		       HSM_BACKUP_MAX_HOLDERS);
		return -1;
	}
	for (i = 0; i < n; i++) {
		comp_out[i] = NULL;
		for (j = 0; j < i; j++) {
			if (strcmp(holders[i].name, holders[j].name) == 0) {
				seterr(err, errlen, "backup: custodian '%s' given twice",
				       holders[i].name);
				return -1;
			}
		}
	}
	nsets = binom(n, m);
	if (hsm_token_serial(h, serial, err, errlen) != 0)
		return -1;
	hsm_p11_borrow(h, &p11, &s);
	have = true;
	if (list_keys(p11, s, keys, &nkeys, err, errlen) != 0)
		goto out;
	if (nkeys == 0) {
		seterr(err, errlen, "backup: no secret key on the token");
		goto out;
	}
	jkeys = json_array();
	for (i = 0; i < nkeys; i++) {
		if (keys[i].kt != CKK_AES && keys[i].kt != CKK_GENERIC_SECRET) {
			seterr(err, errlen, "backup: '%s' is neither an AES nor an HMAC key",
			       keys[i].label);
			goto out;
		}
		/* PCI DSS 3.5.1.2: a key made never extractable cannot be backed up;
		 * better refuse than make a backup that silently misses it. */
		if (keys[i].extractable != CK_TRUE) {
			seterr(err, errlen, "backup: '%s' is not extractable (made by keys create, "
			       "not keys generate): it cannot be backed up", keys[i].label);
			goto out;
		}
		if (hsm_kcv(h, keys[i].label, kcv, err, errlen) != 0)
			goto out;
		kcv_hex(kcv, keys[i].kcv);
		json_array_append_new(jkeys, json_pack("{s:s, s:s, s:I, s:I, s:s}", "label",
		                                        keys[i].label, "key_type",
		                                        kt_name(keys[i].kt), "version",
		                                        (json_int_t)label_version(keys[i].label),
		                                        "bits", (json_int_t)(keys[i].len * 8), "kcv",
		                                        keys[i].kcv));
	}
	comps = sr_secret_alloc(m * HSM_BACKUP_COMP_LEN);
	for (i = 0; i < n; i++) {
		held[i] = sr_secret_alloc(nsets * HSM_BACKUP_COMP_LEN);
		meta[i] = json_array();
		given[i] = 0;
	}
	jsets = json_array();
	names = json_array();
	if (comps == NULL || jsets == NULL || names == NULL || jkeys == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (held[i] == NULL || meta[i] == NULL) {
			seterr(err, errlen, "out of guarded memory");
			goto out;
		}
		json_array_append_new(names, json_string(holders[i].name));
	}
	randombytes_buf(idb, sizeof idb);
	sodium_bin2hex(id, sizeof id, idb, sizeof idb);
	for (i = 0; i < m; i++)
		idx[i] = i;
	do {
		json_t *jset = NULL, *jc = NULL, *jw = NULL, *jn = NULL;

		set++;
		/* Fresh random components from the token's RNG (PCI DSS 3.6.1.2). */
		if (hsm_random(h, comps, m * HSM_BACKUP_COMP_LEN, err, errlen) != 0)
			goto out;
		jc = json_array();
		jn = json_array();
		jw = json_array();
		jset = json_pack("{s:I, s:o, s:o, s:o}", "set", (json_int_t)set, "custodians", jn,
		                 "component_kcvs", jc, "wrapped", jw);
		if (jset == NULL) {
			seterr(err, errlen, "out of memory");
			goto out;
		}
		json_array_append_new(jsets, jset);
		for (j = 0; j < m; j++) {
			size_t hi = idx[j];

			if (component_kcv(h, p11, s, comps + j * HSM_BACKUP_COMP_LEN, kcv, err,
			                  errlen) != 0)
				goto out;
			kcv_hex(kcv, hx);
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
		tmp_label(tlabel, sizeof tlabel, "transport");
		if (combine(p11, s, comps, m, tlabel, &tk, err, errlen) != 0)
			goto out;
		sodium_memzero(comps, m * HSM_BACKUP_COMP_LEN);
		if (hsm_kcv(h, tlabel, kcv, err, errlen) != 0)
			goto out;
		kcv_hex(kcv, hx);
		json_object_set_new(jset, "transport_kcv", json_string(hx));
		for (i = 0; i < nkeys; i++) {
			CK_BYTE blob[WRAP_MAX];
			CK_ULONG blen = sizeof blob;
			char bhex[2 * WRAP_MAX + 1];

			/* RFC 5649 AES key wrap with padding (PKCS#11 v2.40 §5.18 C_WrapKey). */
			rv = p11->C_WrapKey(s, &wrap, tk, keys[i].obj, blob, &blen);
			if (rv != CKR_OK) {
				p11err(err, errlen, "C_WrapKey (CKM_AES_KEY_WRAP_PAD)", rv);
				broken = true;
				goto out;
			}
			sodium_bin2hex(bhex, sizeof bhex, blob, blen);
			json_array_append_new(jw, json_pack("{s:s, s:s}", "label", keys[i].label,
			                                    "blob", bhex));
		}
		p11->C_DestroyObject(s, tk);
		tk = CK_INVALID_HANDLE;
	} while (next_subset(idx, m, n));

	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	doc = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:O, s:s, s:s, s:s, s:O, s:O}", "format",
	                BACKUP_FORMAT, "backup_id", id, "created", when, "hsm_serial", serial, "m",
	                (json_int_t)m, "n", (json_int_t)n, "custodians", names, "wrap_mechanism",
	                "CKM_AES_KEY_WRAP_PAD (RFC 5649)", "combination",
	                "K1 = component 1; Ki = CKM_AES_ECB_ENCRYPT_DATA(K(i-1), component i)",
	                "kcv_method", "first 3 bytes of AES-ECB(key, 16 zero bytes); HMAC keys: "
	                "of HMAC-SHA256(key, 16 zero bytes)", "keys", jkeys, "sets", jsets);
	if (doc == NULL) {
		seterr(err, errlen, "out of memory");
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
	if (tk != CK_INVALID_HANDLE)
		p11->C_DestroyObject(s, tk);
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

/* ---- restore ---------------------------------------------------------------- */

/* Holder index of name among the k holders, or -1. */
static int holder_of(const struct hsm_backup_holder *holders, size_t k, const char *name)
{
	size_t i;

	for (i = 0; i < k; i++)
		if (strcmp(holders[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Destroy the keys restored so far (all or nothing). */
static void undo(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *objs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p11->C_DestroyObject(s, objs[i]);
}

int hsm_backup_restore(struct hsm *h, const json_t *backup, const struct hsm_backup_holder *holders,
                       const json_t *const comps[], size_t k, json_t **restored_out, char *err,
                       size_t errlen)
{
	CK_FUNCTION_LIST_PTR p11 = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE tk = CK_INVALID_HANDLE, made[MAX_KEYS];
	CK_MECHANISM wrap = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	const char *fmt = NULL, *id = NULL;
	json_int_t m = 0, n = 0;
	json_t *jkeys = NULL, *jsets = NULL, *jset = NULL, *chosen = NULL, *out = NULL;
	uint8_t *vals[HSM_BACKUP_MAX_HOLDERS] = { NULL };
	size_t nvals[HSM_BACKUP_MAX_HOLDERS] = { 0 };
	uint8_t *tcomps = NULL;
	uint8_t kcv[HSM_KCV_LEN];
	char hx[2 * HSM_KCV_LEN + 1], tlabel[64];
	size_t i, j, si, nmade = 0;
	bool have = false;
	int ret = -1, r;
	CK_RV rv;

	*restored_out = NULL;
	if (h == NULL || backup == NULL || holders == NULL || comps == NULL ||
	    k > HSM_BACKUP_MAX_HOLDERS) {
		seterr(err, errlen, "restore: bad arguments");
		return -1;
	}
	if (json_unpack((json_t *)backup, "{s:s, s:s, s:I, s:I, s:o, s:o}", "format", &fmt,
	                "backup_id", &id, "m", &m, "n", &n, "keys", &jkeys, "sets", &jsets) != 0 ||
	    strcmp(fmt, BACKUP_FORMAT) != 0 || m < 2 || n < m || n > HSM_BACKUP_MAX_HOLDERS ||
	    !json_is_array(jkeys) || json_array_size(jkeys) == 0 ||
	    json_array_size(jkeys) > MAX_KEYS || !json_is_array(jsets) ||
	    json_array_size(jsets) == 0) {
		seterr(err, errlen, "not a key backup file (%s)", BACKUP_FORMAT);
		return -1;
	}
	/* Split knowledge (PCI DSS 3.7.6): M custodians or nothing. */
	if ((json_int_t)k < m) {
		seterr(err, errlen, "restore refused: %zu custodian(s) present, the backup needs %lld "
		       "(M of N = %lld of %lld)", k, (long long)m, (long long)m, (long long)n);
		return 1;
	}
	for (i = 0; i < k; i++) {
		const char *cid = NULL;

		if (json_unpack((json_t *)comps[i], "{s:s}", "backup_id", &cid) != 0 ||
		    strcmp(cid, id) != 0) {
			seterr(err, errlen, "restore refused: the component file of custodian %zu "
			       "belongs to another backup", i + 1);
			ret = 1;
			goto out;
		}
		r = hsm_backup_unseal(comps[i], &holders[i], &vals[i], &nvals[i], err, errlen);
		if (r != 0) {
			ret = r;
			goto out;
		}
	}
	json_array_foreach(jsets, si, jset) {
		json_t *cn = json_object_get(jset, "custodians");
		json_t *c = NULL;
		size_t ci;
		bool all = json_is_array(cn) && (json_int_t)json_array_size(cn) == m;

		json_array_foreach(cn, ci, c) {
			if (!json_is_string(c) || holder_of(holders, k, json_string_value(c)) < 0)
				all = false;
		}
		if (all) {
			chosen = jset;
			break;
		}
	}
	if (chosen == NULL) {
		seterr(err, errlen, "restore refused: these custodians hold no complete set of "
		       "components (M of N = %lld of %lld)", (long long)m, (long long)n);
		ret = 1;
		goto out;
	}
	tcomps = sr_secret_alloc((size_t)m * HSM_BACKUP_COMP_LEN);
	if (tcomps == NULL) {
		seterr(err, errlen, "out of guarded memory");
		goto out;
	}
	hsm_p11_borrow(h, &p11, &s);
	have = true;
	/* Each custodian's component of this set, checked against its KCV. */
	for (j = 0; j < (size_t)m; j++) {
		const char *name = json_string_value(json_array_get(json_object_get(chosen,
		                                                                     "custodians"), j));
		const char *want = json_string_value(json_array_get(json_object_get(chosen,
		                                                                     "component_kcvs"),
		                                                     j));
		json_int_t setno = json_integer_value(json_object_get(chosen, "set"));
		json_t *meta = NULL, *c = NULL;
		int hi = holder_of(holders, k, name);
		bool found = false;

		meta = json_object_get(comps[hi], "components");
		for (i = 0; i < json_array_size(meta) && i < nvals[hi]; i++) {
			c = json_array_get(meta, i);
			if (json_integer_value(json_object_get(c, "set")) == setno &&
			    json_integer_value(json_object_get(c, "index")) == (json_int_t)(j + 1)) {
				memcpy(tcomps + j * HSM_BACKUP_COMP_LEN,
				       vals[hi] + i * HSM_BACKUP_COMP_LEN, HSM_BACKUP_COMP_LEN);
				found = true;
				break;
			}
		}
		if (!found) {
			seterr(err, errlen, "restore refused: custodian '%s' has no component %zu of "
			       "set %lld", name, j + 1, (long long)setno);
			ret = 1;
			goto out;
		}
		if (component_kcv(h, p11, s, tcomps + j * HSM_BACKUP_COMP_LEN, kcv, err,
		                  errlen) != 0)
			goto out;
		kcv_hex(kcv, hx);
		if (want == NULL || sodium_memcmp(hx, want, sizeof hx - 1) != 0 ||
		    strlen(want) != sizeof hx - 1) {
			seterr(err, errlen, "restore refused: custodian '%s''s component KCV %s does "
			       "not match the backup's", name, hx);
			ret = 1;
			goto out;
		}
	}
	/* A fresh token: none of the labels may exist. */
	json_array_foreach(jkeys, i, jset) {
		struct hsm_key_info ki;
		const char *label = json_string_value(json_object_get(jset, "label"));

		if (label == NULL || hsm_key_info(h, label, &ki, err, errlen) != 0) {
			if (label == NULL)
				seterr(err, errlen, "not a key backup file (a key without label)");
			goto out;
		}
		if (ki.found) {
			seterr(err, errlen, "restore refused: '%s' exists on the token already "
			       "(restore into a fresh token)", label);
			ret = 1;
			goto out;
		}
	}
	tmp_label(tlabel, sizeof tlabel, "transport");
	if (combine(p11, s, tcomps, (size_t)m, tlabel, &tk, err, errlen) != 0)
		goto out;
	if (hsm_kcv(h, tlabel, kcv, err, errlen) != 0)
		goto out;
	kcv_hex(kcv, hx);
	{
		const char *want = json_string_value(json_object_get(chosen, "transport_kcv"));

		if (want == NULL || strlen(want) != sizeof hx - 1 ||
		    sodium_memcmp(hx, want, sizeof hx - 1) != 0) {
			seterr(err, errlen, "restore refused: the transport key's KCV %s does not "
			       "match the backup's", hx);
			ret = 1;
			goto out;
		}
	}
	out = json_array();
	json_array_foreach(jkeys, i, jset) {
		const char *label = json_string_value(json_object_get(jset, "label"));
		const char *kts = json_string_value(json_object_get(jset, "key_type"));
		const char *want = json_string_value(json_object_get(jset, "kcv"));
		const char *bhex = NULL;
		json_t *w = NULL;
		size_t wi;
		CK_BYTE blob[WRAP_MAX];
		size_t blen = 0;
		CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
		CK_KEY_TYPE kt;
		CK_BBOOL yes = CK_TRUE, no = CK_FALSE, enc, sign;

		if (kts == NULL || want == NULL) {
			seterr(err, errlen, "not a key backup file (key type or KCV missing)");
			goto undo;
		}
		kt = strcmp(kts, "CKK_AES") == 0 ? CKK_AES : CKK_GENERIC_SECRET;
		if (kt == CKK_GENERIC_SECRET && strcmp(kts, "CKK_GENERIC_SECRET") != 0) {
			seterr(err, errlen, "not a key backup file (key type %s)", kts);
			goto undo;
		}
		enc = kt == CKK_AES ? CK_TRUE : CK_FALSE;
		sign = kt == CKK_AES ? CK_FALSE : CK_TRUE;
		json_array_foreach(json_object_get(chosen, "wrapped"), wi, w) {
			const char *wl = json_string_value(json_object_get(w, "label"));
			if (wl != NULL && strcmp(wl, label) == 0)
				bhex = json_string_value(json_object_get(w, "blob"));
		}
		if (bhex == NULL || strlen(bhex) % 2 != 0 || strlen(bhex) / 2 > WRAP_MAX ||
		    hexval(bhex, blob, strlen(bhex) / 2) != 0) {
			seterr(err, errlen, "restore refused: no wrapped copy of '%s' in this set",
			       label);
			ret = 1;
			goto undo;
		}
		blen = strlen(bhex) / 2;
		{
			CK_ATTRIBUTE t[] = {
				{ CKA_CLASS, &cls, sizeof(cls) },
				{ CKA_KEY_TYPE, &kt, sizeof(kt) },
				{ CKA_TOKEN, &yes, sizeof(yes) },
				{ CKA_PRIVATE, &yes, sizeof(yes) },
				{ CKA_SENSITIVE, &yes, sizeof(yes) },
				{ CKA_EXTRACTABLE, &yes, sizeof(yes) },
				{ CKA_ENCRYPT, &enc, sizeof(enc) },
				{ CKA_DECRYPT, &enc, sizeof(enc) },
				{ CKA_SIGN, &sign, sizeof(sign) },
				{ CKA_VERIFY, &sign, sizeof(sign) },
				{ CKA_WRAP, &no, sizeof(no) },
				{ CKA_UNWRAP, &no, sizeof(no) },
				{ CKA_DERIVE, &no, sizeof(no) },
				{ CKA_LABEL, (void *)label, strlen(label) },
			};

			/* PKCS#11 v2.40 §5.18 C_UnwrapKey: RFC 5649's integrity check
			 * fails for a wrong transport key or an altered blob. */
			rv = p11->C_UnwrapKey(s, &wrap, tk, blob, (CK_ULONG)blen, t,
			                      sizeof(t) / sizeof(t[0]), &made[nmade]);
		}
		if (rv != CKR_OK) {
			p11err(err, errlen, "restore refused: C_UnwrapKey", rv);
			ret = 1;
			goto undo;
		}
		nmade++;
		if (hsm_kcv(h, label, kcv, err, errlen) != 0)
			goto undo;
		kcv_hex(kcv, hx);
		if (strlen(want) != sizeof hx - 1 || sodium_memcmp(hx, want, sizeof hx - 1) != 0) {
			seterr(err, errlen, "restore refused: '%s' KCV %s does not match the "
			       "backup's %s", label, hx, want);
			ret = 1;
			goto undo;
		}
		json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "label", label, "key_type",
		                                     kts, "kcv", hx));
	}
	*restored_out = out;
	out = NULL;
	ret = 0;
	goto out;
undo:
	undo(p11, s, made, nmade);
out:
	if (tk != CK_INVALID_HANDLE)
		p11->C_DestroyObject(s, tk);
	if (have)
		hsm_p11_return(h, s, false);
	for (i = 0; i < HSM_BACKUP_MAX_HOLDERS; i++)
		sr_secret_free(vals[i]);
	sr_secret_free(tcomps);
	json_decref(out);
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
		seterr(err, errlen, "destroy: bad arguments");
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
			p11err(err, errlen, "C_FindObjectsInit", rv);
			goto out;
		}
		rv = p11->C_FindObjects(s, objs, 2, &n);
		p11->C_FindObjectsFinal(s);
		if (rv != CKR_OK) {
			p11err(err, errlen, "C_FindObjects", rv);
			goto out;
		}
	}
	if (n > 1) {
		seterr(err, errlen, "destroy: more than one key labelled '%s'", label);
		goto out;
	}
	if (n == 0) {
		ret = 0;
		goto out;
	}
	rv = p11->C_DestroyObject(s, objs[0]);
	if (rv != CKR_OK) {
		p11err(err, errlen, "C_DestroyObject", rv);
		goto out;
	}
	ret = 1;
out:
	hsm_p11_return(h, s, false);
	return ret;
}

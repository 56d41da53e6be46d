/*
 * hsm_custodian: the custodians registry, a chain of signed records anchored
 * in the HSM, and the custodians' proofs of their passphrases (see
 * hsm_custodian.h, ADR 0105). Passphrases and the keys they derive live only
 * in guarded memory (sr_secret_alloc) and are wiped after each use; they are
 * never logged, echoed or written.
 */
#include "hsm/ceremonies/hsm_custodian.h"
#include "hsm/hsm.h"
#include "hsm/hsm_p11.h"
#include "common/sr_secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define PK_LEN   crypto_sign_PUBLICKEYBYTES
#define SALT_LEN crypto_pwhash_SALTBYTES
#define MAX_ANCHORS 1024

struct hsm_custodian_registry {
	json_t *doc;   /* the file as loaded */
	json_t *cur;   /* current custodians: [{"name","pk","salt"}] */
	char head[2 * crypto_hash_sha256_BYTES + 1];   /* SHA-256 of the last record, hex */
	size_t nchanges;
};

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

bool hsm_custodian_name_ok(const char *name)
{
	size_t i, n;

	if (name == NULL)
		return false;
	n = strlen(name);
	if (n == 0 || n > HSM_CUSTODIAN_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

static void sha256_hex(const char *text, char out[2 * crypto_hash_sha256_BYTES + 1],
                       uint8_t raw[crypto_hash_sha256_BYTES])
{
	uint8_t d[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(d, (const uint8_t *)text, strlen(text));
	sodium_bin2hex(out, 2 * crypto_hash_sha256_BYTES + 1, d, sizeof(d));
	if (raw != NULL)
		memcpy(raw, d, sizeof(d));
}

/* Fixed-length lower-case hex into out[len]; false when not exactly that. */
static bool unhex(const char *hex, uint8_t *out, size_t len)
{
	size_t got = 0;

	return hex != NULL && strlen(hex) == 2 * len &&
	       sodium_hex2bin(out, len, hex, 2 * len, NULL, &got, NULL) == 0 && got == len;
}

static void now_utc(char when[32])
{
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(when, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * The custodian's signing key from their passphrase: Argon2id (RFC 9106,
 * libsodium's interactive limits: 64 MiB) into a 32-byte seed, then
 * crypto_sign_seed_keypair (Ed25519). sk (64 bytes) in guarded memory.
 */
static int derive(const char *pass, size_t pass_len, const uint8_t salt[SALT_LEN],
                  uint8_t pk[PK_LEN], uint8_t *sk)
{
	uint8_t *seed = sr_secret_alloc(crypto_sign_SEEDBYTES);
	int rc = -1;

	if (seed == NULL)
		return -1;
	if (crypto_pwhash(seed, crypto_sign_SEEDBYTES, pass, pass_len, salt,
	                  crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
	                  crypto_pwhash_ALG_ARGON2ID13) == 0 &&
	    crypto_sign_seed_keypair(pk, sk, seed) == 0)
		rc = 0;
	sr_secret_free(seed);
	return rc;
}

/* Sign domain || text with sk. */
static void sign_text(const uint8_t *sk, const char *domain, const char *text,
                      uint8_t sig[HSM_CUSTODIAN_SIG_LEN])
{
	crypto_sign_state st;

	crypto_sign_init(&st);
	crypto_sign_update(&st, (const uint8_t *)domain, strlen(domain));
	crypto_sign_update(&st, (const uint8_t *)text, strlen(text));
	crypto_sign_final_create(&st, sig, NULL, sk);
	sodium_memzero(&st, sizeof(st));
}

static bool verify_text(const uint8_t pk[PK_LEN], const char *domain, const char *text,
                        const uint8_t sig[HSM_CUSTODIAN_SIG_LEN])
{
	crypto_sign_state st;

	crypto_sign_init(&st);
	crypto_sign_update(&st, (const uint8_t *)domain, strlen(domain));
	crypto_sign_update(&st, (const uint8_t *)text, strlen(text));
	return crypto_sign_final_verify(&st, sig, pk) == 0;
}

static json_t *find(const json_t *list, const char *name)
{
	json_t *c = NULL;
	size_t i;

	json_array_foreach(list, i, c) {
		const char *n = json_string_value(json_object_get(c, "name"));
		if (n != NULL && name != NULL && strcmp(n, name) == 0)
			return c;
	}
	return NULL;
}

/* A custodian entry {"name","pk","salt"} with exactly these members, well formed. */
static bool entry_ok(const json_t *c)
{
	uint8_t pk[PK_LEN], salt[SALT_LEN];

	return json_is_object(c) && json_object_size(c) == 3 &&
	       hsm_custodian_name_ok(json_string_value(json_object_get(c, "name"))) &&
	       unhex(json_string_value(json_object_get(c, "pk")), pk, sizeof(pk)) &&
	       unhex(json_string_value(json_object_get(c, "salt")), salt, sizeof(salt));
}

static json_t *new_entry(const char *name, const uint8_t pk[PK_LEN], const uint8_t salt[SALT_LEN])
{
	char pkh[2 * PK_LEN + 1], sh[2 * SALT_LEN + 1];

	sodium_bin2hex(pkh, sizeof(pkh), pk, PK_LEN);
	sodium_bin2hex(sh, sizeof(sh), salt, SALT_LEN);
	return json_pack("{s:s, s:s, s:s}", "name", name, "pk", pkh, "salt", sh);
}

/* Whether name (in set) signed domain || text: sig_hex verifies under its pk. */
static bool signed_by(const json_t *set, const char *name, const char *domain, const char *text,
                      const char *sig_hex)
{
	const json_t *c = find(set, name);
	uint8_t pk[PK_LEN], sig[HSM_CUSTODIAN_SIG_LEN];

	return c != NULL && unhex(json_string_value(json_object_get(c, "pk")), pk, sizeof(pk)) &&
	       unhex(sig_hex, sig, sizeof(sig)) && verify_text(pk, domain, text, sig);
}

/*
 * The signatures of a record: every one valid; returns how many distinct
 * members of set other than except signed, and whether must (if not NULL,
 * checked against must_set) signed. -1 when any signature is invalid or a
 * signer is neither in set nor must.
 */
static int count_signers(const json_t *sigs, const json_t *set, const char *except,
                         const json_t *must_set, const char *must, const char *text,
                         bool *must_signed)
{
	const char *seen[HSM_CUSTODIAN_MAX + 1];
	size_t i, j, nseen = 0;
	json_t *s = NULL;
	int count = 0;

	*must_signed = false;
	if (!json_is_array(sigs) || json_array_size(sigs) > HSM_CUSTODIAN_MAX + 1)
		return -1;
	json_array_foreach(sigs, i, s) {
		const char *name = json_string_value(json_object_get(s, "name"));
		const char *sig = json_string_value(json_object_get(s, "sig"));

		if (name == NULL || sig == NULL || json_object_size(s) != 2)
			return -1;
		for (j = 0; j < nseen; j++)
			if (strcmp(seen[j], name) == 0)
				return -1;   /* the same custodian twice */
		seen[nseen++] = name;
		if (must != NULL && strcmp(name, must) == 0) {
			if (!signed_by(must_set, name, HSM_CUSTODIAN_DOMAIN_RECORD, text, sig))
				return -1;
			*must_signed = true;
			continue;
		}
		if (except != NULL && strcmp(name, except) == 0)
			return -1;   /* the leaving custodian does not authorise */
		if (!signed_by(set, name, HSM_CUSTODIAN_DOMAIN_RECORD, text, sig))
			return -1;
		count++;
	}
	return count;
}

/* ---- HSM anchors -------------------------------------------------------------- */

struct anchors {
	size_t n;
	char label[MAX_ANCHORS][40];
	uint8_t value[MAX_ANCHORS][crypto_hash_sha256_BYTES];
	bool used[MAX_ANCHORS];
};

/* Every data object of application HSM_CUSTODIAN_APP on the token. 0, 1 (a
 * malformed or duplicated anchor: refused), -1 error. */
static int read_anchors(struct hsm *h, struct anchors *a, char *err, size_t errlen)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_ATTRIBUTE q[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_APPLICATION, (void *)HSM_CUSTODIAN_APP, strlen(HSM_CUSTODIAN_APP) },
	};
	CK_OBJECT_HANDLE objs[64];
	CK_FUNCTION_LIST_PTR p11 = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_ULONG got = 0, i;
	bool active = false;
	int ret = -1;
	size_t j;
	CK_RV rv;

	a->n = 0;
	if (hsm_p11_borrow(h, &p11, &s) != 0) {
		seterr(err, errlen, "custodians: no HSM session");
		return -1;
	}
	rv = p11->C_FindObjectsInit(s, q, 2);
	if (rv != CKR_OK)
		goto p11fail;
	active = true;
	do {
		rv = p11->C_FindObjects(s, objs, 64, &got);
		if (rv != CKR_OK)
			goto p11fail;
		for (i = 0; i < got; i++) {
			if (a->n >= MAX_ANCHORS) {
				seterr(err, errlen, "custodians: more than %d anchors on the token",
				       MAX_ANCHORS);
				ret = 1;
				goto out;
			}
			CK_ATTRIBUTE t[] = {
				{ CKA_LABEL, a->label[a->n], sizeof(a->label[0]) - 1 },
				{ CKA_VALUE, a->value[a->n], sizeof(a->value[0]) },
			};
			rv = p11->C_GetAttributeValue(s, objs[i], t, 2);
			if (rv != CKR_OK || t[1].ulValueLen != sizeof(a->value[0])) {
				seterr(err, errlen, "custodians: a malformed anchor on the token");
				ret = 1;
				goto out;
			}
			a->label[a->n][t[0].ulValueLen] = '\0';
			for (j = 0; j < a->n; j++) {
				if (strcmp(a->label[j], a->label[a->n]) == 0) {
					seterr(err, errlen, "custodians: two anchors '%s' on the token",
					       a->label[j]);
					ret = 1;
					goto out;
				}
			}
			a->used[a->n++] = false;
		}
	} while (got > 0);
	ret = 0;
	goto out;
p11fail:
	seterr(err, errlen, "custodians: reading the HSM anchors failed (CKR 0x%lx)",
	       (unsigned long)rv);
out:
	if (active)
		p11->C_FindObjectsFinal(s);
	hsm_p11_return(h, s, false);
	return ret;
}

/* The record text matches the anchor labelled label (which is then used). */
static bool anchored(struct anchors *a, const char *label, const char *text)
{
	uint8_t d[crypto_hash_sha256_BYTES];
	char hx[2 * crypto_hash_sha256_BYTES + 1];
	size_t i;

	sha256_hex(text, hx, d);
	for (i = 0; i < a->n; i++) {
		if (strcmp(a->label[i], label) == 0) {
			a->used[i] = true;
			return sodium_memcmp(a->value[i], d, sizeof(d)) == 0;
		}
	}
	return false;
}

/* A change's anchor, created in a user session (the same template as the
 * genesis one: never modifiable, copyable or destroyable). */
static int create_anchor(struct hsm *h, const char *label, const char *text, char *err,
                         size_t errlen)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	uint8_t d[crypto_hash_sha256_BYTES];
	char hx[2 * crypto_hash_sha256_BYTES + 1];
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &no, sizeof(no) },
		{ CKA_MODIFIABLE, &no, sizeof(no) },
		{ CKA_COPYABLE, &no, sizeof(no) },
		{ CKA_DESTROYABLE, &no, sizeof(no) },
		{ CKA_APPLICATION, (void *)HSM_CUSTODIAN_APP, strlen(HSM_CUSTODIAN_APP) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_VALUE, d, sizeof(d) },
	};
	CK_FUNCTION_LIST_PTR p11 = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;
	CK_RV rv;

	sha256_hex(text, hx, d);
	if (hsm_p11_borrow(h, &p11, &s) != 0) {
		seterr(err, errlen, "custodians: no HSM session");
		return -1;
	}
	rv = p11->C_CreateObject(s, t, sizeof(t) / sizeof(t[0]), &o);
	hsm_p11_return(h, s, false);
	if (rv != CKR_OK) {
		seterr(err, errlen, "custodians: creating the anchor %s failed (CKR 0x%lx)", label,
		       (unsigned long)rv);
		return -1;
	}
	return 0;
}

/* ---- the registry ------------------------------------------------------------- */

int hsm_custodian_genesis(const char *const names[], const char *const pass[],
                          const size_t pass_len[], size_t n, const char *master,
                          json_t **doc_out, uint8_t anchor[32], char *err, size_t errlen)
{
	uint8_t pk[PK_LEN], salt[SALT_LEN], sig[HSM_CUSTODIAN_SIG_LEN], *sk = NULL;
	char when[32], sh[2 * HSM_CUSTODIAN_SIG_LEN + 1], hx[2 * crypto_hash_sha256_BYTES + 1];
	json_t *list = json_array(), *sigs = json_array(), *rec = NULL, *doc = NULL;
	char *text = NULL;
	size_t i, j;
	int ret = -1;

	*doc_out = NULL;
	sk = sr_secret_alloc(crypto_sign_SECRETKEYBYTES);
	if (list == NULL || sigs == NULL || sk == NULL || !hsm_custodian_name_ok(master)) {
		seterr(err, errlen, "custodians: out of memory or a bad master name");
		goto out;
	}
	if (n < HSM_CUSTODIAN_QUORUM || n > HSM_CUSTODIAN_MAX) {
		seterr(err, errlen, "custodians: the token needs %d to %d custodians",
		       HSM_CUSTODIAN_QUORUM, HSM_CUSTODIAN_MAX);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!hsm_custodian_name_ok(names[i]) || pass[i] == NULL) {
			seterr(err, errlen, "custodians: a name is 1-%d characters of a-z 0-9 . _ -",
			       HSM_CUSTODIAN_NAME_MAX);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0) {
				seterr(err, errlen, "custodians: '%s' is named twice", names[i]);
				goto out;
			}
		if (pass_len[i] < HSM_CUSTODIAN_PASS_MIN || pass_len[i] > HSM_CUSTODIAN_PASS_MAX) {
			seterr(err, errlen, "custodians: %s's passphrase must be %d to %d bytes long",
			       names[i], HSM_CUSTODIAN_PASS_MIN, HSM_CUSTODIAN_PASS_MAX);
			goto out;
		}
		randombytes_buf(salt, sizeof(salt));
		if (derive(pass[i], pass_len[i], salt, pk, sk) != 0 ||
		    json_array_append_new(list, new_entry(names[i], pk, salt)) != 0) {
			seterr(err, errlen, "custodians: out of memory deriving a key");
			goto out;
		}
	}
	now_utc(when);
	rec = json_pack("{s:s, s:i, s:i, s:s, s:s, s:s, s:O}", "type", "genesis", "version", 1,
	                "quorum", HSM_CUSTODIAN_QUORUM, "kdf",
	                "argon2id13 interactive (crypto_pwhash) -> ed25519 seed", "master", master,
	                "created", when, "custodians", list);
	text = rec != NULL ? json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (text == NULL)
		goto oom;
	/* Each custodian signs the genesis: proof of their passphrase. */
	for (i = 0; i < n; i++) {
		const json_t *c = json_array_get(list, i);
		if (!unhex(json_string_value(json_object_get(c, "salt")), salt, sizeof(salt)) ||
		    derive(pass[i], pass_len[i], salt, pk, sk) != 0)
			goto oom;
		sign_text(sk, HSM_CUSTODIAN_DOMAIN_RECORD, text, sig);
		sodium_bin2hex(sh, sizeof(sh), sig, sizeof(sig));
		if (json_array_append_new(sigs, json_pack("{s:s, s:s}", "name", names[i], "sig", sh)))
			goto oom;
	}
	doc = json_pack("{s:i, s:{s:s, s:O}, s:[], s:O}", "version", 2, "genesis", "record", text,
	                "signatures", sigs, "changes", "custodians", list);
	if (doc == NULL)
		goto oom;
	sha256_hex(text, hx, anchor);
	*doc_out = doc;
	doc = NULL;
	ret = 0;
	goto out;
oom:
	seterr(err, errlen, "custodians: out of memory");
out:
	sr_secret_free(sk);
	free(text);
	json_decref(rec);
	json_decref(doc);
	json_decref(list);
	json_decref(sigs);
	return ret;
}

/* Write doc to a 0600 file at tmp (fsync'd). 0 or -1. */
static int write_file(const char *tmp, const json_t *doc)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc = -1;

	if (fd < 0)
		return -1;
	if (fchmod(fd, 0600) == 0 && json_dumpfd(doc, fd, JSON_INDENT(2) | JSON_SORT_KEYS) == 0 &&
	    write(fd, "\n", 1) == 1 && fsync(fd) == 0)
		rc = 0;
	close(fd);
	if (rc != 0)
		unlink(tmp);
	return rc;
}

static int tmp_path(char *tmp, size_t cap, const char *path)
{
	return (size_t)snprintf(tmp, cap, "%s.tmp", path) < cap ? 0 : -1;
}

int hsm_custodian_save(const char *path, const json_t *doc, char *err, size_t errlen)
{
	char tmp[4096];

	if (path == NULL || doc == NULL || tmp_path(tmp, sizeof(tmp), path) != 0 ||
	    write_file(tmp, doc) != 0 || rename(tmp, path) != 0) {
		seterr(err, errlen, "custodians: cannot write %s", path != NULL ? path : "(null)");
		if (path != NULL && tmp_path(tmp, sizeof(tmp), path) == 0)
			unlink(tmp);
		return -1;
	}
	return 0;
}

static json_t *load_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	json_error_t je;
	json_t *o = NULL;

	if (lstat(path, &st) != 0) {
		seterr(err, errlen, "custodians: %s: %s", path, strerror(errno));
		return NULL;
	}
	/* PCI DSS v4.0 3.6.1: key custodians' material readable by the owner only. */
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		seterr(err, errlen, "custodians: %s must be a regular file of mode 0600", path);
		return NULL;
	}
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(o) || json_integer_value(json_object_get(o, "version")) != 2) {
		json_decref(o);
		seterr(err, errlen, "custodians: %s: not a version 2 custodians registry", path);
		return NULL;
	}
	return o;
}

/* Apply one change (parsed record rec, text, signatures sigs) to cur after
 * its checks; prev is the previous record's hash. 0, or 1 with err. */
static int apply_change(json_t *cur, const json_t *rec, const char *text, const json_t *sigs,
                        size_t seq, const char *prev, char *err, size_t errlen)
{
	const char *type = json_string_value(json_object_get(rec, "type"));
	const char *name = json_string_value(json_object_get(rec, "name"));
	json_t *entry = NULL;
	bool must = false;
	int count;
	size_t i;

	if (json_integer_value(json_object_get(rec, "seq")) != (json_int_t)seq ||
	    json_string_value(json_object_get(rec, "prev")) == NULL ||
	    strcmp(json_string_value(json_object_get(rec, "prev")), prev) != 0 ||
	    !hsm_custodian_name_ok(name) || type == NULL) {
		seterr(err, errlen, "change %zu is out of sequence or malformed", seq);
		return 1;
	}
	if (strcmp(type, "add") == 0) {
		entry = json_pack("{s:O, s:O, s:O}", "name", json_object_get(rec, "name"), "pk",
		                  json_object_get(rec, "pk"), "salt", json_object_get(rec, "salt"));
		if (entry == NULL || !entry_ok(entry) || find(cur, name) != NULL ||
		    json_array_size(cur) >= HSM_CUSTODIAN_MAX) {
			seterr(err, errlen, "change %zu enrols a bad or existing custodian", seq);
			json_decref(entry);
			return 1;
		}
		json_t *one = json_pack("[O]", entry);
		count = count_signers(sigs, cur, NULL, one, name, text, &must);
		json_decref(one);
		if (count < HSM_CUSTODIAN_QUORUM || !must) {
			seterr(err, errlen, "change %zu (enrolment of %s) lacks the signatures of the "
			       "new custodian and %d current ones", seq, name, HSM_CUSTODIAN_QUORUM);
			json_decref(entry);
			return 1;
		}
		json_array_append_new(cur, entry);
		return 0;
	}
	if (strcmp(type, "remove") == 0 && json_object_size(rec) == 6) {
		count = count_signers(sigs, cur, name, NULL, NULL, text, &must);
		if (find(cur, name) == NULL || json_array_size(cur) <= HSM_CUSTODIAN_QUORUM ||
		    count < HSM_CUSTODIAN_QUORUM) {
			seterr(err, errlen, "change %zu (removal of %s) lacks the signatures of %d "
			       "other current custodians", seq, name, HSM_CUSTODIAN_QUORUM);
			return 1;
		}
		for (i = 0; i < json_array_size(cur); i++)
			if (strcmp(json_string_value(json_object_get(json_array_get(cur, i), "name")),
			           name) == 0)
				break;
		json_array_remove(cur, i);
		return 0;
	}
	seterr(err, errlen, "change %zu is malformed", seq);
	return 1;
}

/* Verify doc against the anchors a; on 0 r->cur, r->head, r->nchanges set. */
static int verify_doc(struct hsm_custodian_registry *r, struct anchors *a, char *err,
                      size_t errlen)
{
	const json_t *gen = json_object_get(r->doc, "genesis");
	const json_t *changes = json_object_get(r->doc, "changes");
	const char *text = json_string_value(json_object_get(gen, "record"));
	json_t *rec = NULL, *ch = NULL, *c = NULL;
	char label[40];
	bool must = false;
	size_t i, j;
	int ret = 1;

	if (text == NULL || !json_is_array(changes)) {
		seterr(err, errlen, "the genesis is missing");
		return 1;
	}
	if (!anchored(a, HSM_CUSTODIAN_GENESIS, text)) {
		seterr(err, errlen, "the genesis does not match the token's genesis anchor");
		return 1;
	}
	rec = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	r->cur = json_deep_copy(json_object_get(rec, "custodians"));
	if (json_integer_value(json_object_get(rec, "quorum")) != HSM_CUSTODIAN_QUORUM ||
	    !json_is_array(r->cur) || json_array_size(r->cur) < HSM_CUSTODIAN_QUORUM ||
	    json_array_size(r->cur) > HSM_CUSTODIAN_MAX) {
		seterr(err, errlen, "the genesis is malformed");
		goto out;
	}
	json_array_foreach(r->cur, i, c) {
		for (j = 0; j < i; j++)
			if (json_equal(json_object_get(c, "name"),
			               json_object_get(json_array_get(r->cur, j), "name")))
				break;
		/* Every genesis custodian signed it (count_signers: all valid, distinct). */
		if (!entry_ok(c) || j < i) {
			seterr(err, errlen, "the genesis is malformed");
			goto out;
		}
	}
	if (count_signers(json_object_get(gen, "signatures"), r->cur, NULL, NULL, NULL, text,
	                  &must) != (int)json_array_size(r->cur)) {
		seterr(err, errlen, "the genesis lacks a custodian's signature");
		goto out;
	}
	sha256_hex(text, r->head, NULL);
	json_array_foreach(changes, i, ch) {
		const char *t = json_string_value(json_object_get(ch, "record"));

		snprintf(label, sizeof(label), "custodians-change-%zu", i + 1);
		json_decref(rec);
		rec = t != NULL ? json_loads(t, JSON_REJECT_DUPLICATES, NULL) : NULL;
		if (rec == NULL || !anchored(a, label, t)) {
			seterr(err, errlen, "change %zu does not match the token's anchor", i + 1);
			goto out;
		}
		if (apply_change(r->cur, rec, t, json_object_get(ch, "signatures"), i + 1, r->head,
		                 err, errlen) != 0)
			goto out;
		sha256_hex(t, r->head, NULL);
	}
	r->nchanges = json_array_size(changes);
	for (i = 0; i < a->n; i++) {
		if (!a->used[i]) {
			seterr(err, errlen, "the token holds anchor '%s' the registry lacks (a "
			       "change removed, or an old copy of the file)", a->label[i]);
			goto out;
		}
	}
	if (!json_equal(r->cur, json_object_get(r->doc, "custodians"))) {
		seterr(err, errlen, "the list of custodians differs from its signed records");
		goto out;
	}
	ret = 0;
out:
	json_decref(rec);
	return ret;
}

int hsm_custodian_open(struct hsm *h, const char *path, struct hsm_custodian_registry **out,
                       char *err, size_t errlen)
{
	struct hsm_custodian_registry *r = NULL;
	struct anchors *a = NULL;
	char why[256] = "";
	int rc = -1;

	*out = NULL;
	if (h == NULL || path == NULL) {
		seterr(err, errlen, "custodians: bad arguments");
		return -1;
	}
	r = calloc(1, sizeof(*r));
	a = calloc(1, sizeof(*a));
	if (r == NULL || a == NULL) {
		seterr(err, errlen, "custodians: out of memory");
		goto out;
	}
	rc = read_anchors(h, a, err, errlen);
	if (rc != 0)
		goto out;
	if (a->n == 0) {
		seterr(err, errlen, "custodians: the token has no custodian genesis: its custodians "
		       "are named when the SO initialises it (vaultctl init-token NAME...)");
		rc = 1;
		goto out;
	}
	rc = -1;
	r->doc = load_file(path, err, errlen);
	if (r->doc == NULL)
		goto out;
	rc = verify_doc(r, a, why, sizeof(why));
	if (rc != 0) {
		seterr(err, errlen, "custodians: %s: refused: %s", path, why);
		goto out;
	}
	*out = r;
	r = NULL;
out:
	free(a);
	hsm_custodian_close(r);
	return rc;
}

void hsm_custodian_close(struct hsm_custodian_registry *r)
{
	if (r == NULL)
		return;
	json_decref(r->doc);
	json_decref(r->cur);
	free(r);
}

bool hsm_custodian_registered(const struct hsm_custodian_registry *r, const char *name)
{
	return r != NULL && find(r->cur, name) != NULL;
}

size_t hsm_custodian_count(const struct hsm_custodian_registry *r)
{
	return r != NULL ? json_array_size(r->cur) : 0;
}

int hsm_custodian_sign(const struct hsm_custodian_registry *r, const char *name, const char *pass,
                       size_t pass_len, const char *domain, const char *text,
                       uint8_t sig[HSM_CUSTODIAN_SIG_LEN], char *err, size_t errlen)
{
	const json_t *c = NULL;
	uint8_t pk[PK_LEN], want[PK_LEN], salt[SALT_LEN], *sk = NULL;
	bool known;
	int ret = -1;

	if (r == NULL || name == NULL || pass == NULL || domain == NULL || text == NULL) {
		seterr(err, errlen, "custodians: bad arguments");
		return -1;
	}
	c = hsm_custodian_name_ok(name) ? find(r->cur, name) : NULL;
	known = c != NULL && unhex(json_string_value(json_object_get(c, "pk")), want, PK_LEN) &&
	        unhex(json_string_value(json_object_get(c, "salt")), salt, SALT_LEN);
	if (!known) {
		/* The same cost for an unknown name as for a wrong passphrase. */
		randombytes_buf(salt, sizeof(salt));
		randombytes_buf(want, sizeof(want));
	}
	sk = sr_secret_alloc(crypto_sign_SECRETKEYBYTES);
	if (sk == NULL || derive(pass, pass_len, salt, pk, sk) != 0) {
		seterr(err, errlen, "custodians: out of memory deriving a key");
		goto out;
	}
	ret = 0;
	if (sodium_memcmp(pk, want, PK_LEN) == 0 && known) {
		sign_text(sk, domain, text, sig);
		ret = 1;
	}
out:
	sr_secret_free(sk);
	return ret;
}

bool hsm_custodian_verify(const struct hsm_custodian_registry *r, const char *name,
                          const char *domain, const char *text,
                          const uint8_t sig[HSM_CUSTODIAN_SIG_LEN])
{
	const json_t *c = r != NULL ? find(r->cur, name) : NULL;
	uint8_t pk[PK_LEN];

	return c != NULL && domain != NULL && text != NULL && sig != NULL &&
	       unhex(json_string_value(json_object_get(c, "pk")), pk, PK_LEN) &&
	       verify_text(pk, domain, text, sig);
}

int hsm_custodian_change_record(const struct hsm_custodian_registry *r, bool add, const char *name,
                                const char *pass, size_t pass_len, const char *master,
                                char **record_out, uint8_t new_sig[HSM_CUSTODIAN_SIG_LEN],
                                char *err, size_t errlen)
{
	uint8_t pk[PK_LEN], salt[SALT_LEN], *sk = NULL;
	char when[32];
	json_t *rec = NULL, *e = NULL;
	int ret = -1;

	*record_out = NULL;
	if (r == NULL || !hsm_custodian_name_ok(name) || !hsm_custodian_name_ok(master) ||
	    (add && (pass == NULL || new_sig == NULL))) {
		seterr(err, errlen, "custodians: a name is 1-%d characters of a-z 0-9 . _ -",
		       HSM_CUSTODIAN_NAME_MAX);
		return -1;
	}
	if (add ? find(r->cur, name) != NULL : find(r->cur, name) == NULL) {
		seterr(err, errlen, add ? "custodians: '%s' is registered already"
		                        : "custodians: '%s' is not registered", name);
		return 1;
	}
	if (add ? json_array_size(r->cur) >= HSM_CUSTODIAN_MAX
	        : json_array_size(r->cur) <= HSM_CUSTODIAN_QUORUM) {
		seterr(err, errlen, add ? "custodians: the registry is full (%d)"
		                        : "custodians: removing one would leave fewer than %d",
		       add ? HSM_CUSTODIAN_MAX : HSM_CUSTODIAN_QUORUM + 1);
		return 1;
	}
	now_utc(when);
	rec = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "type", add ? "add" : "remove", "seq",
	                (json_int_t)(r->nchanges + 1), "prev", r->head, "name", name, "master",
	                master, "at", when);
	if (rec == NULL)
		goto oom;
	if (add) {
		if (pass_len < HSM_CUSTODIAN_PASS_MIN || pass_len > HSM_CUSTODIAN_PASS_MAX) {
			seterr(err, errlen, "custodians: a passphrase is %d to %d bytes long",
			       HSM_CUSTODIAN_PASS_MIN, HSM_CUSTODIAN_PASS_MAX);
			goto out;
		}
		sk = sr_secret_alloc(crypto_sign_SECRETKEYBYTES);
		randombytes_buf(salt, sizeof(salt));
		if (sk == NULL || derive(pass, pass_len, salt, pk, sk) != 0)
			goto oom;
		e = new_entry(name, pk, salt);
		if (e == NULL || json_object_update(rec, e) != 0)
			goto oom;
	}
	*record_out = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	if (*record_out == NULL)
		goto oom;
	if (add)
		sign_text(sk, HSM_CUSTODIAN_DOMAIN_RECORD, *record_out, new_sig);
	ret = 0;
	goto out;
oom:
	seterr(err, errlen, "custodians: out of memory");
out:
	sr_secret_free(sk);
	json_decref(e);
	json_decref(rec);
	return ret;
}

int hsm_custodian_change_commit(struct hsm *h, const struct hsm_custodian_registry *r,
                                const char *path, const char *record, const char *const signers[],
                                const uint8_t (*sigs)[HSM_CUSTODIAN_SIG_LEN], size_t n, char *err,
                                size_t errlen)
{
	char sh[2 * HSM_CUSTODIAN_SIG_LEN + 1], label[40], why[256] = "", tmp[4096];
	json_t *doc = NULL, *sarr = json_array(), *rec = NULL, *cur = NULL;
	size_t i;
	int ret = -1;

	if (h == NULL || r == NULL || path == NULL || record == NULL || sarr == NULL ||
	    n > HSM_CUSTODIAN_MAX || tmp_path(tmp, sizeof(tmp), path) != 0) {
		seterr(err, errlen, "custodians: bad arguments");
		goto out;
	}
	for (i = 0; i < n; i++) {
		sodium_bin2hex(sh, sizeof(sh), sigs[i], HSM_CUSTODIAN_SIG_LEN);
		if (json_array_append_new(sarr, json_pack("{s:s, s:s}", "name", signers[i], "sig",
		                                          sh)) != 0)
			goto out;
	}
	/* The same checks as hsm_custodian_open's, on the state this change follows. */
	rec = json_loads(record, JSON_REJECT_DUPLICATES, NULL);
	cur = json_deep_copy(r->cur);
	if (rec == NULL || cur == NULL) {
		seterr(err, errlen, "custodians: a malformed change record");
		goto out;
	}
	if (apply_change(cur, rec, record, sarr, r->nchanges + 1, r->head, why, sizeof(why)) != 0) {
		seterr(err, errlen, "custodians: refused: %s", why);
		ret = 1;
		goto out;
	}
	doc = json_deep_copy(r->doc);
	if (doc == NULL ||
	    json_array_append_new(json_object_get(doc, "changes"),
	                          json_pack("{s:s, s:O}", "record", record, "signatures", sarr)) != 0 ||
	    json_object_set(doc, "custodians", cur) != 0)
		goto out;
	/* File aside, anchor, rename: a failure between the last two leaves the
	 * record in path.tmp, and the registry refused until it is renamed. */
	snprintf(label, sizeof(label), "custodians-change-%zu", r->nchanges + 1);
	if (write_file(tmp, doc) != 0) {
		seterr(err, errlen, "custodians: cannot write %s", tmp);
		goto out;
	}
	if (create_anchor(h, label, record, err, errlen) != 0) {
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) != 0) {
		seterr(err, errlen, "custodians: the change is anchored but %s could not be renamed "
		       "to %s: rename it by hand", tmp, path);
		goto out;
	}
	ret = 0;
out:
	json_decref(doc);
	json_decref(sarr);
	json_decref(rec);
	json_decref(cur);
	return ret;
}

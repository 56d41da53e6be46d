/*
 * hsm_witness: ceremony witnesses' keys and signatures (see hsm_witness.h,
 * ADR 0117). Passphrases and secret keys stay in guarded memory and are
 * never echoed, logged or named in an error.
 */
#include "hsm/ceremonies/hsm_witness.h"
#include "common/sr_secret.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define SALT_LEN crypto_pwhash_SALTBYTES

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

/* Argon2id (RFC 9106, libsodium's interactive limits) into an Ed25519 seed,
 * as for custodians (hsm_custodian.c), into w->pk and w->sk (allocated). */
static int derive(const char *pass, size_t pass_len, const uint8_t salt[SALT_LEN],
                  struct hsm_witness *w)
{
	uint8_t *seed = sr_secret_alloc(crypto_sign_SEEDBYTES);
	int rc = -1;

	w->sk = sr_secret_alloc(crypto_sign_SECRETKEYBYTES);
	if (seed != NULL && w->sk != NULL &&
	    crypto_pwhash(seed, crypto_sign_SEEDBYTES, pass, pass_len, salt,
	                  crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
	                  crypto_pwhash_ALG_ARGON2ID13) == 0 &&
	    crypto_sign_seed_keypair(w->pk, w->sk, seed) == 0)
		rc = 0;
	sr_secret_free(seed);
	if (rc != 0)
		hsm_witness_clear(w);
	return rc;
}

static bool pass_ok(const char *name, size_t pass_len)
{
	return hsm_custodian_name_ok(name) && pass_len >= HSM_CUSTODIAN_PASS_MIN &&
	       pass_len <= HSM_CUSTODIAN_PASS_MAX;
}

int hsm_witness_enrol(const char *name, const char *pass, size_t pass_len, struct hsm_witness *w,
                      json_t **what_out, char *err, size_t errlen)
{
	uint8_t salt[SALT_LEN];
	char salthex[2 * SALT_LEN + 1], pkhex[2 * HSM_WITNESS_PK_LEN + 1];

	if (w == NULL || what_out == NULL || pass == NULL || name == NULL ||
	    !pass_ok(name, pass_len)) {
		seterr(err, errlen, "witness: a name of 1-%d of a-z 0-9 . _ - and a passphrase of "
		       "%d-%d bytes", HSM_CUSTODIAN_NAME_MAX, HSM_CUSTODIAN_PASS_MIN,
		       HSM_CUSTODIAN_PASS_MAX);
		return -1;
	}
	memset(w, 0, sizeof(*w));
	snprintf(w->name, sizeof(w->name), "%s", name);
	randombytes_buf(salt, sizeof(salt));
	if (derive(pass, pass_len, salt, w) != 0) {
		seterr(err, errlen, "witness: key derivation failed (out of memory?)");
		return -1;
	}
	sodium_bin2hex(salthex, sizeof(salthex), salt, sizeof(salt));
	sodium_bin2hex(pkhex, sizeof(pkhex), w->pk, sizeof(w->pk));
	*what_out = json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", name, "pk", pkhex, "salt",
	                      salthex, "kdf", "argon2id13 interactive (crypto_pwhash) -> ed25519 seed",
	                      "signature", "Ed25519 over \"strongroom/transcript-witness/v1\\n\" || "
	                      "the line without sig and witnesses");
	if (*what_out == NULL) {
		hsm_witness_clear(w);
		seterr(err, errlen, "witness: out of memory");
		return -1;
	}
	return 0;
}

/* Hex of exactly n bytes into out. 0, or -1. */
static int unhex(const char *s, uint8_t *out, size_t n)
{
	size_t got = 0;

	if (s == NULL || strlen(s) != 2 * n ||
	    sodium_hex2bin(out, n, s, 2 * n, NULL, &got, NULL) != 0 || got != n)
		return -1;
	return 0;
}

/*
 * The newest enrolment of name in the transcript at path, unless a later
 * "witness-removed" line removed them: its salt and public key. The lines'
 * signatures are not checked here (hsm_transcript_verify does).
 * 1 enrolled, 0 not (or no transcript yet), -1 the transcript cannot be read.
 */
static int newest(const char *path, const char *name, uint8_t salt[SALT_LEN],
                  uint8_t pk[HSM_WITNESS_PK_LEN], int *ever)
{
	char *line = NULL;
	size_t cap = 0;
	int found = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	while (getline(&line, &cap, f) > 0) {
		json_t *o = json_loads(line, 0, NULL);
		json_t *what = json_object_get(o, "what");
		const char *action = json_string_value(json_object_get(o, "action"));
		const char *who = json_string_value(json_object_get(what, "name"));

		if (action != NULL && who != NULL && strcmp(who, name) == 0) {
			if (strcmp(action, "witness-removed") == 0)
				found = 0;
			else if (strcmp(action, "witness-enrolled") == 0 &&
			         unhex(json_string_value(json_object_get(what, "salt")), salt,
			               SALT_LEN) == 0 &&
			         unhex(json_string_value(json_object_get(what, "pk")), pk,
			               HSM_WITNESS_PK_LEN) == 0) {
				found = 1;
				if (ever != NULL)
					*ever = 1;
			}
		}
		json_decref(o);
	}
	free(line);
	fclose(f);
	return found;
}

int hsm_witness_enrolled(const char *path, const char *name)
{
	uint8_t salt[SALT_LEN], pk[HSM_WITNESS_PK_LEN];

	if (path == NULL || name == NULL)
		return -1;
	return newest(path, name, salt, pk, NULL);
}

int hsm_witness_ever_enrolled(const char *path, const char *name)
{
	uint8_t salt[SALT_LEN], pk[HSM_WITNESS_PK_LEN];
	int ever = 0;

	if (path == NULL || name == NULL || newest(path, name, salt, pk, &ever) < 0)
		return -1;
	return ever;
}

int hsm_witness_load(const char *path, const char *name, const char *pass, size_t pass_len,
                     struct hsm_witness *w, char *err, size_t errlen)
{
	uint8_t salt[SALT_LEN], pk[HSM_WITNESS_PK_LEN];
	int found;

	if (w == NULL || path == NULL || name == NULL || pass == NULL) {
		seterr(err, errlen, "witness: bad arguments");
		return -1;
	}
	memset(w, 0, sizeof(*w));
	if (!pass_ok(name, pass_len)) {
		seterr(err, errlen, "witness: refused");
		return 1;
	}
	found = newest(path, name, salt, pk, NULL);
	if (found < 0) {
		seterr(err, errlen, "witness: the transcript cannot be read: %s", strerror(errno));
		return -1;
	}
	snprintf(w->name, sizeof(w->name), "%s", name);
	if (!found)   /* the same cost and answer as a wrong passphrase */
		randombytes_buf(salt, sizeof(salt));
	if (derive(pass, pass_len, salt, w) != 0) {
		seterr(err, errlen, "witness: key derivation failed (out of memory?)");
		return -1;
	}
	if (!found || sodium_memcmp(w->pk, pk, sizeof(pk)) != 0) {
		hsm_witness_clear(w);
		seterr(err, errlen, "witness %s: refused (not enrolled, or the wrong passphrase)",
		       name);
		return 1;
	}
	return 0;
}

void hsm_witness_clear(struct hsm_witness *w)
{
	if (w == NULL)
		return;
	sr_secret_free(w->sk);
	w->sk = NULL;
}

/* Ed25519 of domain || canon (one buffer: crypto_sign_detached). */
static uint8_t *message(const char *canon, size_t *len)
{
	size_t d = strlen(HSM_WITNESS_DOMAIN), c = strlen(canon);
	uint8_t *m = malloc(d + c);

	if (m == NULL)
		return NULL;
	memcpy(m, HSM_WITNESS_DOMAIN, d);
	memcpy(m + d, canon, c);
	*len = d + c;
	return m;
}

void hsm_witness_sign(const struct hsm_witness *w, const char *canon,
                      uint8_t sig[HSM_WITNESS_SIG_LEN])
{
	size_t len = 0;
	uint8_t *m = message(canon, &len);

	memset(sig, 0, HSM_WITNESS_SIG_LEN);
	if (m == NULL || w->sk == NULL) {
		free(m);
		return;   /* an all-zero signature never verifies */
	}
	crypto_sign_detached(sig, NULL, m, len, w->sk);
	free(m);
}

bool hsm_witness_sig_ok(const uint8_t pk[HSM_WITNESS_PK_LEN], const char *canon,
                        const uint8_t sig[HSM_WITNESS_SIG_LEN])
{
	size_t len = 0;
	uint8_t *m = message(canon, &len);
	bool ok;

	if (m == NULL)
		return false;
	ok = crypto_sign_verify_detached(sig, m, len, pk) == 0;
	free(m);
	return ok;
}

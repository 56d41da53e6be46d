/*
 * hsm_transcript: signed, hash-chained ceremony transcript (see
 * hsm_transcript.h, ADR 0071). Signing happens in the HSM (hsm_ec_sign, the
 * digest from libsodium); verification uses only OpenSSL's libcrypto and the
 * public key, so an auditor can check a transcript away from the CDE.
 */
#include "hsm/ceremonies/hsm_transcript.h"
#include "hsm/ceremonies/hsm_timestamp.h"
#include "hsm/ceremonies/hsm_witness.h"
#include "hsm/hsm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <sodium.h>

#define DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)
#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

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

/* Read the whole of fd (from offset 0) into a NUL-terminated heap buffer. */
static char *read_all(int fd, size_t *len_out)
{
	char *buf = NULL, *nb = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap + 1);
			if (nb == NULL) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL)
		return NULL;
	buf[len] = '\0';
	*len_out = len;
	return buf;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	sodium_bin2hex(out, n * 2 + 1, b, n);
}

int hsm_transcript_append(struct hsm *h, const char *path, const char *who, const char *role,
                          const char *action, json_t *what, char *err, size_t errlen)
{
	return hsm_transcript_append_ctx(h, path, NULL, who, role, action, what, err, errlen);
}

/* The token's identity as the "hsm" member (ADR 0117). NULL on error (err). */
static json_t *identity(struct hsm *h, char serial[17], char *err, size_t errlen)
{
	struct hsm_identity id;

	if (hsm_token_identity(h, &id, err, errlen) != 0)
		return NULL;
	memcpy(serial, id.serial, sizeof(id.serial));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "manufacturer",
	                 id.manufacturer, "model", id.model, "serial", id.serial, "firmware",
	                 id.firmware, "hardware", id.hardware, "slot", "description",
	                 id.slot_description, "manufacturer", id.slot_manufacturer, "firmware",
	                 id.slot_firmware, "hardware", id.slot_hardware);
}

/* The witnesses' signatures of canon as the "witnesses" member. NULL on error. */
static json_t *attest(const struct hsm_transcript_ctx *ctx, const char *canon)
{
	json_t *arr = json_array();
	uint8_t sig[HSM_WITNESS_SIG_LEN];
	char hx[2 * HSM_WITNESS_SIG_LEN + 1];
	size_t i;

	for (i = 0; arr != NULL && i < ctx->nwitnesses; i++) {
		if (ctx->witnesses[i].sk == NULL) {
			json_decref(arr);
			return NULL;
		}
		hsm_witness_sign(&ctx->witnesses[i], canon, sig);
		hex(sig, sizeof(sig), hx);
		if (json_array_append_new(arr, json_pack("{s:s, s:s}", "name",
		                                         ctx->witnesses[i].name, "sig", hx)) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

int hsm_transcript_append_ctx(struct hsm *h, const char *path, const struct hsm_transcript_ctx *ctx,
                              const char *who, const char *role, const char *action, json_t *what,
                              char *err, size_t errlen)
{
	json_t *o = NULL, *id = NULL;
	char *buf = NULL, *canon = NULL, *line = NULL;
	char prev[65] = ZERO_HASH, when[32], serial[17], sighex[129];
	uint8_t digest[32], sig[64];
	size_t len = 0, n;
	long seq = 1;
	struct tm tm;
	time_t now;
	int fd = -1;
	int ret = -1;

	if (h == NULL || path == NULL || who == NULL || role == NULL || action == NULL) {
		seterr(err, errlen, "transcript: bad arguments");
		goto out;
	}
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		seterr(err, errlen, "transcript: %s: %s", path, strerror(errno));
		goto out;
	}
	buf = read_all(fd, &len);
	if (buf == NULL) {
		seterr(err, errlen, "transcript: %s: cannot read", path);
		goto out;
	}
	if (len > 0) {
		const char *last = NULL;
		json_t *lo = NULL;
		json_error_t je;

		if (buf[len - 1] != '\n') {
			seterr(err, errlen, "transcript: %s: last line is incomplete; verify it", path);
			goto out;
		}
		buf[len - 1] = '\0';
		last = strrchr(buf, '\n');
		last = last != NULL ? last + 1 : buf;
		crypto_hash_sha256(digest, (const uint8_t *)last, strlen(last));
		hex(digest, 32, prev);
		lo = json_loads(last, 0, &je);
		if (!json_is_integer(json_object_get(lo, "seq"))) {
			json_decref(lo);
			seterr(err, errlen, "transcript: %s: last line has no sequence number", path);
			goto out;
		}
		seq = (long)json_integer_value(json_object_get(lo, "seq")) + 1;
		json_decref(lo);
	}
	if ((id = identity(h, serial, err, errlen)) == NULL)
		goto out;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "seq", (json_int_t)seq,
	              "prev", prev, "when", when, "who", who, "role", role, "action", action,
	              "hsm_serial", serial, "signer", HSM_KEY_CEREMONY_SIGN);
	if (o == NULL || json_object_set_new(o, "what", what != NULL ? json_incref(what) : json_object()) != 0 ||
	    json_object_set(o, "hsm", id) != 0 ||
	    (ctx != NULL && ctx->evidence != NULL &&
	     json_object_set_new(o, "evidence", json_deep_copy(ctx->evidence)) != 0)) {
		seterr(err, errlen, "transcript: out of memory");
		goto out;
	}
	/* ADR 0117: the witnesses sign the line without "witnesses" and "sig";
	 * the HSM signs it with their signatures. */
	if (ctx != NULL && ctx->nwitnesses > 0) {
		json_t *w = NULL;

		canon = json_dumps(o, DUMP_FLAGS);
		if (canon == NULL || (w = attest(ctx, canon)) == NULL ||
		    json_object_set_new(o, "witnesses", w) != 0) {
			seterr(err, errlen, "transcript: a witness cannot sign");
			goto out;
		}
		free(canon);
	}
	canon = json_dumps(o, DUMP_FLAGS);
	if (canon == NULL) {
		seterr(err, errlen, "transcript: cannot serialise");
		goto out;
	}
	/* PCI DSS v4.0 3.6.1: the record of key events is signed by a key that
	 * never leaves the HSM, so it cannot be rewritten without the HSM. */
	crypto_hash_sha256(digest, (const uint8_t *)canon, strlen(canon));
	if (hsm_ec_sign(h, HSM_KEY_CEREMONY_SIGN, digest, sig, err, errlen) != 0)
		goto out;
	hex(sig, sizeof(sig), sighex);
	if (json_object_set_new(o, "sig", json_string(sighex)) != 0 ||
	    (line = json_dumps(o, DUMP_FLAGS)) == NULL) {
		seterr(err, errlen, "transcript: out of memory");
		goto out;
	}
	n = strlen(line);
	line[n] = '\n';   /* json_dumps leaves room for the NUL only: rewrite it */
	if (write(fd, line, n + 1) != (ssize_t)(n + 1) || fsync(fd) != 0) {
		line[n] = '\0';
		seterr(err, errlen, "transcript: %s: write failed", path);
		goto out;
	}
	line[n] = '\0';
	ret = 0;
out:
	if (fd >= 0)
		close(fd);   /* releases the lock */
	free(buf);
	free(canon);
	free(line);
	json_decref(o);
	json_decref(id);
	return ret;
}

int hsm_transcript_head(const char *path, char head[65], long *lines, char *err, size_t errlen)
{
	char *buf = NULL, *last = NULL, *p = NULL;
	uint8_t digest[32];
	size_t len = 0;
	long n = 0;
	int fd;

	if (path == NULL || head == NULL || lines == NULL) {
		seterr(err, errlen, "transcript: bad arguments");
		return -1;
	}
	memcpy(head, ZERO_HASH, 65);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		seterr(err, errlen, "transcript: %s: %s", path, strerror(errno));
		return -1;
	}
	buf = read_all(fd, &len);
	close(fd);
	if (buf == NULL || (len > 0 && buf[len - 1] != '\n')) {
		free(buf);
		seterr(err, errlen, "transcript: %s: unreadable or its last line is incomplete", path);
		return -1;
	}
	for (p = buf; *p != '\0'; p = strchr(p, '\n') + 1)
		n++;
	if (len > 0) {
		buf[len - 1] = '\0';
		last = strrchr(buf, '\n');
		last = last != NULL ? last + 1 : buf;
		crypto_hash_sha256(digest, (const uint8_t *)last, strlen(last));
		hex(digest, sizeof(digest), head);
	}
	*lines = n;
	free(buf);
	return 0;
}

/* Verify a raw 64-byte r||s ECDSA signature over a SHA-256 digest. 1 good, 0 bad. */
static int ecdsa_ok(EVP_PKEY *pk, const uint8_t digest[32], const uint8_t sig[64])
{
	ECDSA_SIG *es = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	int derlen, ok = 0;

	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;   /* owned by es */
	derlen = i2d_ECDSA_SIG(es, &der);
	if (derlen <= 0)
		goto out;
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1)
		goto out;
	ok = EVP_PKEY_verify(ctx, der, (size_t)derlen, digest, 32) == 1;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static EVP_PKEY *load_p256(const char *pem, char *err, size_t errlen)
{
	EVP_PKEY *pk = NULL;
	char group[32] = "";
	size_t glen = 0;
	FILE *f = fopen(pem, "r");

	if (f == NULL) {
		seterr(err, errlen, "transcript: %s: %s", pem, strerror(errno));
		return NULL;
	}
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
	    EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
	                                   &glen) != 1 ||
	    strcmp(group, "prime256v1") != 0) {
		EVP_PKEY_free(pk);
		seterr(err, errlen, "transcript: %s: not a P-256 public key (PEM SubjectPublicKeyInfo)",
		       pem);
		return NULL;
	}
	return pk;
}

static int bad(struct hsm_transcript_report *rep, long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(struct hsm_transcript_report *rep, long line, const char *fmt, ...)
{
	va_list ap;

	rep->first_bad = line;
	va_start(ap, fmt);
	vsnprintf(rep->reason, sizeof(rep->reason), fmt, ap);
	va_end(ap);
	return 1;
}

int hsm_transcript_verify(const char *path, const char *pubkey_pem,
                          struct hsm_transcript_report *rep, char *err, size_t errlen)
{
	return hsm_transcript_verify_opts(path, pubkey_pem, NULL, rep, err, errlen);
}

/* The witnesses enrolled so far in the transcript being verified. */
struct enrolled {
	char name[HSM_CUSTODIAN_NAME_MAX + 1];
	uint8_t pk[HSM_WITNESS_PK_LEN];
	bool removed;   /* the name stays taken: a removed witness is never re-enrolled */
};
#define ENROLLED_MAX 64

struct wstate {
	struct enrolled e[ENROLLED_MAX];
	size_t n;
};

/* Bytes of a hex string of exactly n bytes. 0, or -1. */
static int unhex(const char *s, uint8_t *out, size_t n)
{
	size_t got = 0;

	if (s == NULL || strlen(s) != 2 * n ||
	    sodium_hex2bin(out, n, s, 2 * n, NULL, &got, NULL) != 0 || got != n)
		return -1;
	return 0;
}

/*
 * ADR 0117's checks of one line o (its "sig" removed; prev is the hash it
 * chains to): a witness enrolment updates ws; every witness signature
 * verifies with its witness's enrolled key; an enrolment is attested by the
 * new witness; a trusted-time line's token stamps prev; a clock reading is
 * attested. 0 good, or 1 with why.
 */
static int check_extras(json_t *o, const char *prev, struct wstate *ws,
                        const struct hsm_transcript_verify_opts *vo,
                        struct hsm_transcript_report *rep, char *why, size_t whylen)
{
	const char *action = json_string_value(json_object_get(o, "action"));
	json_t *what = json_object_get(o, "what"), *w = json_object_get(o, "witnesses"), *e;
	const char *enrolled = NULL, *source = NULL;
	bool self_attested = false;
	char *canon = NULL;
	size_t i, k;
	int bad = 0;

	if (action != NULL && strcmp(action, "witness-enrolled") == 0) {
		struct enrolled ne;

		enrolled = json_string_value(json_object_get(what, "name"));
		if (enrolled == NULL || !hsm_custodian_name_ok(enrolled) ||
		    unhex(json_string_value(json_object_get(what, "pk")), ne.pk, sizeof(ne.pk)) != 0) {
			seterr(why, whylen, "a witness enrolment without a name or public key");
			return 1;
		}
		snprintf(ne.name, sizeof(ne.name), "%s", enrolled);
		ne.removed = false;
		for (k = 0; k < ws->n && strcmp(ws->e[k].name, enrolled) != 0; k++)
			;
		if (k < ws->n) {   /* whoever signs lines must not take a witness's name,
		                    * not even a removed witness's */
			seterr(why, whylen, "witness %s is already enrolled: a name keeps its key", enrolled);
			return 1;
		}
		if (k == ENROLLED_MAX) {
			seterr(why, whylen, "more than %d witnesses enrolled", ENROLLED_MAX);
			return 1;
		}
		ws->e[k] = ne;
		ws->n = k == ws->n ? ws->n + 1 : ws->n;
	}
	/* A removal takes effect at its own line: the witness removed attests
	 * neither it nor any later line. */
	if (action != NULL && strcmp(action, "witness-removed") == 0) {
		const char *gone = json_string_value(json_object_get(what, "name"));

		for (k = 0; gone != NULL && k < ws->n && strcmp(ws->e[k].name, gone) != 0; k++)
			;
		if (gone == NULL || k == ws->n || ws->e[k].removed) {
			seterr(why, whylen, "the removal of a witness who is not enrolled");
			return 1;
		}
		ws->e[k].removed = true;
	}
	if (w != NULL) {
		json_incref(w);
		json_object_del(o, "witnesses");
		canon = json_dumps(o, DUMP_FLAGS);
		if (!json_is_array(w) || json_array_size(w) == 0 || canon == NULL) {
			seterr(why, whylen, "witnesses is not a list of signatures");
			bad = 1;
		}
		json_array_foreach(w, i, e) {
			const char *name = json_string_value(json_object_get(e, "name"));
			uint8_t sig[HSM_WITNESS_SIG_LEN];

			if (bad)
				break;
			for (k = 0; name != NULL && k < ws->n && strcmp(ws->e[k].name, name) != 0; k++)
				;
			if (name == NULL || k == ws->n || ws->e[k].removed) {
				seterr(why, whylen, "attested by a witness who is not enrolled");
				bad = 1;
			} else if (unhex(json_string_value(json_object_get(e, "sig")), sig,
			                 sizeof(sig)) != 0 || !hsm_witness_sig_ok(ws->e[k].pk, canon, sig)) {
				seterr(why, whylen, "witness %s's signature does not verify", name);
				bad = 1;
			} else if (enrolled != NULL && strcmp(name, enrolled) == 0) {
				self_attested = true;
			}
		}
		free(canon);
		json_decref(w);
		if (bad)
			return 1;
		rep->attested++;
	}
	if (enrolled != NULL && !self_attested) {
		seterr(why, whylen, "witness %s's enrolment is not attested by the witness", enrolled);
		return 1;
	}
	if (action != NULL && strcmp(action, "trusted-time") == 0) {
		source = json_string_value(json_object_get(what, "source"));
		if (source != NULL && strcmp(source, "rfc3161") == 0) {
			if (!hsm_ts_check(what, prev, vo != NULL ? vo->tsa_ca : NULL, why, whylen))
				return 1;
			rep->tsa_times++;
		} else if (source != NULL && strcmp(source, "witness-clock-reading") == 0) {
			if (w == NULL) {
				seterr(why, whylen, "a clock reading no witness attests");
				return 1;
			}
			rep->clock_readings++;
		} else {
			seterr(why, whylen, "a trusted time of unknown source");
			return 1;
		}
	}
	return 0;
}

int hsm_transcript_verify_opts(const char *path, const char *pubkey_pem,
                               const struct hsm_transcript_verify_opts *vo,
                               struct hsm_transcript_report *rep, char *err, size_t errlen)
{
	struct wstate *ws = NULL;
	char why[160];
	EVP_PKEY *pk = NULL;
	char *buf = NULL, *p = NULL, *nl = NULL, *canon = NULL;
	char prev[65] = ZERO_HASH;
	uint8_t digest[32], sig[64];
	size_t len = 0, siglen = 0;
	long lineno = 0;
	int fd = -1;
	int ret = -1;

	if (path == NULL || pubkey_pem == NULL || rep == NULL) {
		seterr(err, errlen, "transcript: bad arguments");
		return -1;
	}
	memset(rep, 0, sizeof(*rep));
	rep->tsa_checked = vo != NULL && vo->tsa_ca != NULL;
	ws = calloc(1, sizeof(*ws));
	pk = load_p256(pubkey_pem, err, errlen);
	if (pk == NULL || ws == NULL)
		goto out;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		seterr(err, errlen, "transcript: %s: %s", path, strerror(errno));
		goto out;
	}
	buf = read_all(fd, &len);
	if (buf == NULL) {
		seterr(err, errlen, "transcript: %s: cannot read", path);
		goto out;
	}
	if (len == 0) {
		ret = bad(rep, 1, "the transcript is empty");
		goto out;
	}
	for (p = buf; *p != '\0'; p = nl + 1) {
		json_t *o = NULL, *js = NULL;
		json_error_t je;
		const char *s = NULL;
		char *again = NULL;
		bool timed;
		int same;

		lineno++;
		nl = strchr(p, '\n');
		if (nl == NULL) {
			ret = bad(rep, lineno, "incomplete last line (no newline)");
			goto out;
		}
		*nl = '\0';
		o = json_loads(p, JSON_REJECT_DUPLICATES, &je);
		if (!json_is_object(o)) {
			json_decref(o);
			ret = bad(rep, lineno, "not a JSON object");
			goto out;
		}
		/* The bytes must be exactly the canonical form that was signed. */
		again = json_dumps(o, DUMP_FLAGS);
		same = again != NULL && strcmp(again, p) == 0;
		free(again);
		if (!same) {
			json_decref(o);
			ret = bad(rep, lineno, "not in canonical form (the line was edited)");
			goto out;
		}
		js = json_object_get(o, "seq");
		if (!json_is_integer(js) || json_integer_value(js) != lineno) {
			long got = json_is_integer(js) ? (long)json_integer_value(js) : -1;
			json_decref(o);
			ret = bad(rep, lineno,
			          "sequence number %ld where %ld was expected: a line was removed, "
			          "inserted or reordered here", got, lineno);
			goto out;
		}
		s = json_string_value(json_object_get(o, "prev"));
		if (s == NULL || strcmp(s, prev) != 0) {
			json_decref(o);
			ret = bad(rep, lineno,
			          "hash of the previous line does not match: a line before it was "
			          "altered, removed or reordered");
			goto out;
		}
		s = json_string_value(json_object_get(o, "sig"));
		if (s == NULL || strlen(s) != 128 ||
		    sodium_hex2bin(sig, sizeof(sig), s, 128, NULL, &siglen, NULL) != 0 ||
		    siglen != sizeof(sig)) {
			json_decref(o);
			ret = bad(rep, lineno, "no well-formed signature");
			goto out;
		}
		json_object_del(o, "sig");
		canon = json_dumps(o, DUMP_FLAGS);
		if (canon == NULL) {
			json_decref(o);
			seterr(err, errlen, "transcript: out of memory");
			goto out;
		}
		SHA256((const unsigned char *)canon, strlen(canon), digest);
		free(canon);
		canon = NULL;
		if (!ecdsa_ok(pk, digest, sig)) {
			json_decref(o);
			ret = bad(rep, lineno, "signature does not verify (the line was altered or "
			          "signed by another key)");
			goto out;
		}
		same = check_extras(o, prev, ws, vo, rep, why, sizeof(why));
		s = json_string_value(json_object_get(o, "action"));
		timed = s != NULL && strcmp(s, "trusted-time") == 0;
		json_decref(o);
		if (same != 0) {
			ret = bad(rep, lineno, "%s", why);
			goto out;
		}
		SHA256((const unsigned char *)p, strlen(p), digest);
		hex(digest, sizeof(digest), prev);
		rep->lines = lineno;
		/* ADR 0117: a trusted-time line closes every line before it. */
		if (timed)
			rep->untimed_from = 0;
		else if (rep->untimed_from == 0)
			rep->untimed_from = lineno;
		if (vo != NULL && vo->anchor != NULL && strcmp(vo->anchor, prev) == 0) {
			rep->anchor_found = true;
			rep->anchor_line = lineno;
		}
	}
	memcpy(rep->head, prev, sizeof(rep->head));
	ret = 0;
	if (vo != NULL && vo->anchor != NULL && !rep->anchor_found)
		ret = bad(rep, 0, "the anchored head is not the hash of any line: the transcript "
		          "was rewritten or cut before it");
	else if (vo != NULL && !vo->allow_untimed && rep->untimed_from != 0)
		ret = 2;
out:
	free(ws);
	if (fd >= 0)
		close(fd);
	free(buf);
	free(canon);
	EVP_PKEY_free(pk);
	return ret;
}

int hsm_transcript_write_pubkey(const uint8_t point[65], const char *path, char *err,
                                size_t errlen)
{
	uint8_t pt[65];
	char group[] = "prime256v1";
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	FILE *f = NULL;
	int fd = -1;
	int ret = -1;

	memcpy(pt, point, sizeof(pt));
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		seterr(err, errlen, "transcript: the HSM's public point is not a valid P-256 key");
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		seterr(err, errlen, "transcript: %s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (PEM_write_PUBKEY(f, pk) != 1 || fflush(f) != 0) {
		seterr(err, errlen, "transcript: %s: cannot write the public key", path);
		goto out;
	}
	ret = 0;
out:
	if (f != NULL)
		fclose(f);
	if (fd >= 0)
		close(fd);
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(ctx);
	return ret;
}

/*
 * vault_tls_key: TLS identity roles and labels, and the HSM-backed signer
 * of vaultd's listeners (ADR 0118). See vault_tls_key.h.
 */
#include "vault/crypto/vault_tls_key.h"

#include "common/sr_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ROLES[] = { "public", "internal", "egress", NULL };

bool vault_tls_role_ok(const char *role)
{
	size_t i;

	for (i = 0; role != NULL && ROLES[i] != NULL; i++)
		if (strcmp(role, ROLES[i]) == 0)
			return true;
	return false;
}

void vault_tls_prefix(const char *role, char *out, size_t outlen)
{
	snprintf(out, outlen, "tls-%s-", role);
}

unsigned vault_tls_label_version(const char *role, const char *label)
{
	char prefix[32];
	const char *p;
	unsigned long v = 0;
	size_t n;

	if (!vault_tls_role_ok(role) || label == NULL)
		return 0;
	vault_tls_prefix(role, prefix, sizeof prefix);
	n = strlen(prefix);
	if (strncmp(label, prefix, n) != 0 || label[n] != 'v')
		return 0;
	p = label + n + 1;
	if (*p < '1' || *p > '9' || strlen(p) > 6)
		return 0;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	return (unsigned)v;
}

/* What bind hands to sign: the HSM and the label of the key found. */
struct bound_key {
	struct hsm *hsm;
	char label[HSM_TLS_LABEL_MAX];
};

static void *bind(void *ctx, const uint8_t point[65], char *err, size_t errlen)
{
	const struct vault_tls_signer *ts = ctx;
	struct bound_key *k = calloc(1, sizeof *k);

	if (k == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->hsm = ts->hsm;
	if (hsm_tls_key_for_point(ts->hsm, ts->prefix, point, k->label, err, errlen) != 0) {
		free(k);
		return NULL;
	}
	sr_log(SR_LOG_INFO, NULL, "tls.key_bound", "{s:s}", "key", k->label);
	return k;
}

static int sign(void *key, const uint8_t digest[32], uint8_t sig[64])
{
	const struct bound_key *k = key;
	char err[256];

	if (hsm_ec_sign(k->hsm, k->label, digest, sig, err, sizeof err) == 0)
		return 0;
	/* The handshake fails; the message names the key and the CKR_*, never data. */
	sr_log(SR_LOG_ERROR, NULL, "tls.sign_failed", "{s:s, s:s}", "key", k->label, "error", err);
	return -1;
}

static void release(void *key)
{
	free(key);
}

int vault_tls_signer_init(struct vault_tls_signer *ts, struct hsm *h, const char *role)
{
	memset(ts, 0, sizeof *ts);
	if (h == NULL || !vault_tls_role_ok(role))
		return -1;
	ts->hsm = h;
	vault_tls_prefix(role, ts->prefix, sizeof ts->prefix);
	ts->signer.bind = bind;
	ts->signer.sign = sign;
	ts->signer.release = release;
	ts->signer.ctx = ts;
	return 0;
}

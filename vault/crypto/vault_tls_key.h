/*
 * vault_tls_key: the vault's TLS identities, whose private keys are in the
 * HSM only (ADR 0118): their roles and labels (shared with vaultctl tls),
 * and the signer vaultd gives its listeners (sr_http_signer) so that every
 * handshake signs inside the token (PKCS#11 v2.40 C_Sign, CKM_ECDSA).
 */
#ifndef VAULT_TLS_KEY_H
#define VAULT_TLS_KEY_H
#include <stdbool.h>
#include <stddef.h>

#include "common/sr_http.h"
#include "hsm/hsm.h"

/* Roles: the public listener, the internal (gateway mTLS) listener, the
 * egress client toward PSPs. Keys are labelled tls-ROLE-vN (N 1..999999). */
#define VAULT_TLS_ROLE_MAX 16

/** Whether role is one of "public", "internal", "egress". */
bool vault_tls_role_ok(const char *role);

/** The label prefix of role's keys, "tls-ROLE-" (out capacity >= 32). */
void vault_tls_prefix(const char *role, char *out, size_t outlen);

/**
 * The version N of label when it is "tls-ROLE-vN" for this role (N
 * 1..999999, no leading zero), else 0.
 */
unsigned vault_tls_label_version(const char *role, const char *label);

/* A listener's signer: its key is found by the certificate's public point
 * among role's keys at each (re)load (so a rotated certificate brings its
 * new key with it on SIGHUP), then used through hsm_ec_sign. */
struct vault_tls_signer {
	struct sr_http_signer signer;   /* give &signer to sr_http_config.signer */
	struct hsm *hsm;                /* borrowed */
	char prefix[32];
};

/**
 * Fill ts for role (vault_tls_role_ok) over the open HSM h (borrowed; it
 * must outlive every server that uses ts). ts must outlive them too.
 * @return 0, or -1 for an unknown role.
 */
int vault_tls_signer_init(struct vault_tls_signer *ts, struct hsm *h, const char *role);

#endif

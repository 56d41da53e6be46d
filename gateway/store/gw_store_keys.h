/*
 * gw_store_keys: secret keys with roles, roll with a grace period, revoke
 * (issue 4). Keys are stored as SHA-256 only (PCI DSS v4.0 8.3.2).
 * Return convention as gw_store.h.
 */
#ifndef GW_STORE_KEYS_H
#define GW_STORE_KEYS_H
#include <stddef.h>
#include <libpq-fe.h>
#include <jansson.h>

/* An authenticated key. */
struct gw_key_info {
	long long id;
	char merchant_id[72];
	char kind[16];           /* publishable | secret */
	char role[16];
};

/**
 * Look up a usable key by SHA-256 hex: not revoked, not past expires_at (a
 * rolled key's grace period). @return 0, 1 (no usable key), -1.
 */
int gw_store_key_lookup(PGconn *conn, const char *key_sha256, struct gw_key_info *out);

/** Insert a secret key with role for merchant_id; *id receives its id. */
int gw_store_key_insert(PGconn *conn, const char *merchant_id, const char *role,
                        const char *key_sha256, const char *key_prefix, long long *id);

/**
 * Roll key old_id: insert the new secret key (same merchant and role), set
 * the old key's expires_at = now() + grace_s and replaced_by. In one
 * transaction (the caller's). out receives the old key's merchant and role.
 * @return 0, 1 (no such active secret key), -1.
 */
int gw_store_key_roll(PGconn *conn, long long old_id, long long grace_s, const char *key_sha256,
                      const char *key_prefix, struct gw_key_info *out, long long *new_id);

/** Revoke key id now. @return 0, 1 (no such unrevoked key), -1. */
int gw_store_key_revoke(PGconn *conn, long long id);

/** merchant_id's keys as a JSON array of {"id","kind","role","prefix","created","expires","revoked"}. */
json_t *gw_store_key_list(PGconn *conn, const char *merchant_id);

#endif

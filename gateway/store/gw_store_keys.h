/*
 * gw_store_keys: secret keys with roles, roll with a grace period, revoke
 * (issue 4); the networks a key may be used from and its last use (issue
 * 28, ADR 0119). Keys are stored as SHA-256 only (PCI DSS v4.0 8.3.2).
 * Expiry and last use are by the database's clock (now()), never the
 * gateway's. Return convention as gw_store.h.
 */
#ifndef GW_STORE_KEYS_H
#define GW_STORE_KEYS_H
#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>
#include <jansson.h>

/* An authenticated key. */
struct gw_key_info {
	long long id;
	char merchant_id[72];
	char kind[16];           /* publishable | secret */
	char role[16];
	long long expires;       /* gw_store_key_roll: the old key's expires_at, Unix s */
	bool expired;            /* past expires_at (a rolled key's overlap is over) */
	bool touch_due;          /* last_used_at is unset or over a minute old */
	char sources[64 * 50];   /* allowed_sources as "net,net,..." ("": anywhere) */
};

/* Seconds between two writes of a key's last use (gw_store_key_touch). */
#define GW_KEY_TOUCH_S 60

/**
 * Look up an unrevoked key by SHA-256 hex, with its allow-list, whether it
 * is expired (expires_at <= now(): a key is refused from its expiry
 * instant on) and whether its last use is due to be written.
 * @return 0, 1 (no such unrevoked key), -1.
 */
int gw_store_key_lookup(PGconn *conn, const char *key_sha256, struct gw_key_info *out);

/** Insert a secret key with role for merchant_id; *id receives its id. */
int gw_store_key_insert(PGconn *conn, const char *merchant_id, const char *role,
                        const char *key_sha256, const char *key_prefix, long long *id);

/**
 * Roll key old_id: insert the new secret key (same merchant and role), set
 * the old key's expires_at = now() + grace_s and replaced_by. In one
 * transaction (the caller's). The new key gets the old one's allowed_sources.
 * grace_s 0 expires the old key at once. out receives the old key's merchant and role.
 * @return 0, 1 (no such active secret key), -1.
 */
int gw_store_key_roll(PGconn *conn, long long old_id, long long grace_s, const char *key_sha256,
                      const char *key_prefix, struct gw_key_info *out, long long *new_id);

/**
 * Record a use of key id from source (an address's text, "" unknown): sets
 * last_used_at = now() and last_used_source, only when the last write is
 * older than GW_KEY_TOUCH_S seconds (the condition is in the UPDATE, so
 * concurrent requests and gateway instances write once).
 * @return 0 written, 1 not due, -1.
 */
int gw_store_key_touch(PGconn *conn, long long id, const char *source);

/**
 * Set the networks secret key id may be used from: sources is "net,net,..."
 * in gw_cidr_format's canonical form (checked again by the cidr type), or
 * NULL for anywhere. @return 0, 1 (no such unrevoked secret key), -1.
 */
int gw_store_key_allow(PGconn *conn, long long id, const char *sources);

/** Revoke key id now. @return 0, 1 (no such unrevoked key), -1. */
int gw_store_key_revoke(PGconn *conn, long long id);

/**
 * merchant_id's keys as a JSON array of {"id","kind","role","prefix",
 * "created","expires","revoked","allowed_sources" (array of networks or
 * null: anywhere),"last_used" (Unix seconds or null),"last_used_source"
 * (address or null)}; NULL on error.
 */
json_t *gw_store_key_list(PGconn *conn, const char *merchant_id);

#endif

/*
 * gw_store_instances: the gateway_instances table (ADR 0113). Each gatewayd
 * process registers a random id and beats every GW_INSTANCE_BEAT_MS; a claim
 * (Idempotency-Key, webhook delivery) whose owner has not beaten for
 * GW_INSTANCE_DEAD_S seconds, by the database's clock, is an orphan.
 */
#ifndef GW_STORE_INSTANCES_H
#define GW_STORE_INSTANCES_H
#include <libpq-fe.h>

/** Heartbeat period of a live instance, in milliseconds. */
#define GW_INSTANCE_BEAT_MS 1000
/** Seconds without a heartbeat after which an instance counts as dead. */
#define GW_INSTANCE_DEAD_S 5
/** Size of an instance id: "gwi_" + base62 of 128 random bits, NUL. */
#define GW_INSTANCE_ID_MAX 32

/* SQL text for use inside the store's statements: true when the owner in
 * column COL is dead (no heartbeat for GW_INSTANCE_DEAD_S) or unknown
 * (deregistered at a clean stop). NULL owners are never orphans. */
#define GW_STR_(x) #x
#define GW_STR(x) GW_STR_(x)
#define GW_STORE_OWNER_DEAD(col) \
	"(" col " IS NOT NULL AND NOT EXISTS (SELECT 1 FROM gateway_instances gi " \
	"WHERE gi.id = " col " AND gi.heartbeat_at > now() - interval '" \
	GW_STR(GW_INSTANCE_DEAD_S) " seconds'))"

/**
 * Register instance id (or renew its heartbeat if it exists), and delete
 * instances dead for over a day (nothing references them any more: their
 * claims were taken over or completed). @return 0 or -1 (logged).
 */
int gw_store_instance_beat(PGconn *conn, const char *id);

/**
 * Deregister id at a clean stop, after every handler and thread of the
 * process has returned: its remaining claims become orphans at once.
 * @return 0 or -1 (logged).
 */
int gw_store_instance_remove(PGconn *conn, const char *id);

#endif

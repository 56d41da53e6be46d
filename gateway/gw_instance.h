/*
 * gw_instance: this gatewayd process's identity and heartbeat (ADR 0113).
 * At start the process draws a random instance id ("gwi_" + 128 bits, so a
 * restart is a new instance) and a thread of its own, on a database
 * connection of its own (never queued behind the request pool), renews the
 * row gateway_instances(id) every GW_INSTANCE_BEAT_MS. Claims record this id
 * as their owner; other instances may take over the claims of an owner that
 * has not beaten for GW_INSTANCE_DEAD_S seconds.
 */
#ifndef GW_INSTANCE_H
#define GW_INSTANCE_H
#include <stddef.h>

#include <jansson.h>

struct gw_instance;

/**
 * Draw the id into id_out[id_len] (at least GW_INSTANCE_ID_MAX bytes), write
 * the first heartbeat (synchronously: no claim is ever made under an id that
 * was not registered) and start the heartbeat thread. cfg: gatewayd's
 * configuration (db_* keys). @return the running heartbeat, or NULL with
 * err[errlen] set (no database, no thread).
 */
struct gw_instance *gw_instance_start(const json_t *cfg, char *id_out, size_t id_len, char *err,
                                      size_t errlen);

/**
 * Stop the heartbeat and deregister the instance: call only after every
 * request handler and worker thread of the process has returned (nothing
 * of it acts any more), so its remaining claims may be taken over at once.
 * NULL is a no-op; in is freed.
 */
void gw_instance_stop(struct gw_instance *in);

#endif

/*
 * pspsim_store: the simulator's durable state (issue 16; ADR 0115). Test
 * and demo only.
 *
 * An append-only journal, <state_dir>/journal.jsonl: one JSON line per
 * change, {"put":[{"kind","id","v"}, ...]}, each put the whole new value of
 * one object (an intent, an idempotency record, an Adyen payment, a
 * registered key ...), so that replaying the lines in order, the last put of
 * an object winning, rebuilds the state. A request's changes are one line,
 * written and fdatasync'd before its answer is sent; concurrent requests
 * share one write and one fdatasync (group commit, as common/sr_gc.h does
 * for the audit chains), so a kill -9 at any point loses nothing that was
 * answered. At start the journal is replayed (a torn last line, never
 * answered, is cut off; any other unreadable line refuses the start) and
 * rewritten compacted, one line per object. A second process on the same
 * directory is refused (flock). No card number or CVC is ever written:
 * payment methods keep their outcome, brand and last 4, and idempotency
 * fingerprints are keyed (psim_store_fingerprint).
 *
 * Use: under the module's own state lock, psim_store_put() each object the
 * request changed, then psim_store_commit(); after unlocking, before the
 * handler returns (sr_http sends the answer after that),
 * psim_store_wait(). Without a state directory everything here is a no-op
 * (memory only, as the unit tests' pspsim runs).
 */
#ifndef PSPSIM_STORE_H
#define PSPSIM_STORE_H
#include <stddef.h>

#include <jansson.h>

/**
 * Open (create, mode 0700) the state directory dir, lock it, replay and
 * compact its journal. dir NULL: memory only. The objects read are kept
 * for psim_store_each until psim_store_loaded_free.
 * @return 0, or -1 with err (locked by another process, unreadable or
 * corrupt journal, I/O error).
 */
int psim_store_open(const char *dir, char *err, size_t errlen);

/**
 * Call fn(id, value, arg) for every object of kind read at open, in journal
 * order (value borrowed: the callee takes a reference to keep it).
 * @return 0, or the first non-zero fn result.
 */
int psim_store_each(const char *kind, int (*fn)(const char *id, json_t *value, void *arg), void *arg);

/** Free the objects read at open (after every module took its own). */
void psim_store_loaded_free(void);

/**
 * Note that object kind/id is now value (borrowed; serialized at
 * psim_store_commit, so later changes in the same locked section are
 * included). Per thread; a no-op without a state directory.
 */
void psim_store_put(const char *kind, const char *id, json_t *value);

/**
 * Append this thread's puts as one journal line (not yet durable) and
 * remember its position for psim_store_wait; with no puts, remember the
 * journal's end (what this thread read may be not yet durable). Call under
 * the state lock that guarded the changes, so the journal's order is the
 * state's.
 */
void psim_store_commit(void);

/**
 * Return once the position remembered by this thread's last
 * psim_store_commit is durable (written and fdatasync'd, shared with other
 * threads' lines). Call without any state lock held. A journal that cannot
 * be written ends the process (exit 1, logged): an answer must never
 * outrun its record, and a failed fdatasync cannot be retried safely.
 */
void psim_store_wait(void);

/** Return once every line committed so far is durable (e.g. before sending a webhook). */
void psim_store_sync(void);

/** Close the journal (after the listeners stopped). */
void psim_store_close(void);

/**
 * Key the idempotency fingerprints with key[len] (the platform API key:
 * a secret kept outside the state directory). Call once at start.
 */
void psim_store_fingerprint_key(const void *key, size_t len);

/**
 * Fingerprint of a request for its Idempotency-Key: keyed BLAKE2b-256
 * (libsodium crypto_generichash) of method, NUL, path, NUL, body[len], as
 * 64 lowercase hex digits in hex[65]. body holds card fields: only this
 * keyed digest is kept or written.
 */
void psim_store_fingerprint(const char *method, const char *path, const void *body, size_t len,
                            char hex[65]);

/** {"journal_lines","journal_syncs"}: lines committed and fdatasyncs since start. New reference. */
json_t *psim_store_stats(void);

#endif

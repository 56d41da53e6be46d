/*
 * gw_audit_spool: audit records the database cannot take right now, kept
 * durably on local disk and linked to the chain when it can (issue 16,
 * ADR 0114; PCI DSS v4.0 10.2.1 every action recorded, 10.5.1 audit records
 * retained: none is dropped during a database outage).
 *
 * The spool is one file (gatewayd's audit_spool_file, mode 0600): one JSON
 * object per line with the record's fields (ts, merchant, key_id, role,
 * request_id, action, target, provider, result, status, reason) — the same
 * identifiers and codes as audit_events, never card data. Each record is
 * appended with write() and fsync() under an exclusive flock(2) (several
 * gatewayd processes may share the file) before the caller is told it is
 * kept. A drain links every spooled record after the chain's head, in file
 * order, in ONE transaction, then truncates the file; records already in the
 * chain (a COMMIT whose outcome was lost, or a crash between the drain's
 * COMMIT and the truncation) are recognized by (ts, action, request_id) and
 * not written twice.
 */
#ifndef GW_AUDIT_SPOOL_H
#define GW_AUDIT_SPOOL_H
#include <stdbool.h>
#include <libpq-fe.h>

#include "gateway/audit/gw_audit.h"

/**
 * Use path as this process's spool (created 0600 if absent, its directory
 * 0700 if absent). Call once at startup, before any append. Records already
 * in it (from before a restart) are drained by the next append.
 * @return 0, or -1 (cannot open; errno-based reason logged).
 */
int gw_audit_spool_open(const char *path);

/** Whether this process's spool may hold records (cheap; no I/O). */
bool gw_audit_spool_pending(void);

/**
 * Append rec durably (fsync'd) to the spool; rec->ts is kept, or set now.
 * @return 0, or -1 (no spool configured, or the write failed: nothing of rec
 * is left in the file).
 */
int gw_audit_spool_put(const struct gw_audit_record *rec);

/**
 * Link every spooled record to the chain on conn (a borrowed connection with
 * no open transaction), in file order, in one transaction, then empty the
 * spool. Attempts are spaced by at least 200 ms while the database still
 * refuses them. @return 0 (spool empty or drained; also without a spool),
 * or -1 (the records stay spooled).
 */
int gw_audit_spool_drain(PGconn *conn);

#endif

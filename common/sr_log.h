/*
 * sr_log: one JSON object per line on stderr (journald-friendly).
 *
 * Fields always present: ts (RFC 3339, UTC, ms), level, daemon, event;
 * request_id and correlation_id (the same value: the gateway's request id
 * travels with the request into the vault and to the PSP) when given. Extra fields come from a jansson json_pack format.
 * Never pass a PAN, CVC, PIN or key byte: tokens and last4 only.
 */
#ifndef SR_LOG_H
#define SR_LOG_H

enum sr_log_level { SR_LOG_DEBUG, SR_LOG_INFO, SR_LOG_WARN, SR_LOG_ERROR };

/** Set the daemon name written in every line (pointer kept; use a literal). */
void sr_log_init(const char *daemon);

/**
 * Write one log line.
 * @param request_id may be NULL.
 * @param event short dotted name, e.g. "token.created".
 * @param fmt NULL, or a json_pack() object format such as "{s:s, s:I}" followed
 *            by its arguments; fields are merged into the line.
 * Thread-safe (one write(2) per line).
 */
void sr_log(enum sr_log_level level, const char *request_id, const char *event,
            const char *fmt, ...);

#endif

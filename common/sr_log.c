/*
 * sr_log: one JSON object per line on stderr (see sr_log.h).
 * PCI DSS v4.0 10.2.2: every line carries a timestamp, the daemon (origin)
 * and the event; callers add the user/request identity. Never PANs
 * (PCI DSS 3.4.1, 3.3.1): callers pass tokens and last4 only.
 */
#include "common/sr_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

static const char *g_daemon = "strongroom";

void sr_log_init(const char *daemon)
{
	if (daemon != NULL)
		g_daemon = daemon;
}

static const char *level_name(enum sr_log_level level)
{
	switch (level) {
	case SR_LOG_DEBUG: return "debug";
	case SR_LOG_INFO: return "info";
	case SR_LOG_WARN: return "warn";
	case SR_LOG_ERROR: return "error";
	}
	return "info";
}

/* RFC 3339 UTC timestamp with milliseconds, e.g. 2026-11-21T23:29:42.123Z. */
static void format_ts(char out[32])
{
	struct timespec ts = {0};
	struct tm tm;

	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(ts.tv_nsec / 1000000L) % 1000u);
}

static void write_all(const char *buf, size_t len)
{
	/* One write(2) per line keeps lines from different threads whole
	 * (stderr is a pipe/journal: writes <= PIPE_BUF are atomic). */
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

void sr_log(enum sr_log_level level, const char *request_id, const char *event,
            const char *fmt, ...)
{
	json_t *line = NULL;
	json_t *extra = NULL;
	char *text = NULL;
	char ts[32];
	size_t len = 0;

	format_ts(ts);
	line = json_object();
	if (line == NULL)
		goto out;
	json_object_set_new(line, "ts", json_string(ts));
	json_object_set_new(line, "level", json_string(level_name(level)));
	json_object_set_new(line, "daemon", json_string(g_daemon));
	json_object_set_new(line, "event", json_string(event != NULL ? event : "unknown"));
	if (request_id != NULL) {
		/* The gateway's request id travels to the vault (X-Request-Id) and
		 * on to the PSP, so it is also the correlation id of one payment
		 * across both zones. */
		json_object_set_new(line, "request_id", json_string(request_id));
		json_object_set_new(line, "correlation_id", json_string(request_id));
	}

	if (fmt != NULL) {
		va_list ap;
		json_error_t jerr;

		va_start(ap, fmt);
		extra = json_vpack_ex(&jerr, 0, fmt, ap);
		va_end(ap);
		if (json_is_object(extra)) {
			const char *k = NULL;
			json_t *v = NULL;
			/* Fixed fields win over caller fields with the same name. */
			json_object_foreach(extra, k, v) {
				if (json_object_get(line, k) == NULL)
					json_object_set(line, k, v);
			}
		} else {
			/* A programming error in the format: say so, without values. */
			json_object_set_new(line, "log_format_error", json_true());
		}
	}

	text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	if (text == NULL)
		goto out;
	len = strlen(text);
	{
		char *withnl = realloc(text, len + 2);
		if (withnl == NULL)
			goto out;
		text = withnl;
	}
	text[len] = '\n';
	text[len + 1] = '\0';
	write_all(text, len + 1);
out:
	free(text);
	json_decref(extra);
	json_decref(line);
}

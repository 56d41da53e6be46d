/*
 * sr_log: one JSON object per line on stderr (see sr_log.h).
 * PCI DSS v4.0 10.2.2: every line carries a timestamp, the daemon (origin)
 * and the event; callers add the user/request identity. Never PANs
 * (PCI DSS 3.4.1, 3.3.1): callers pass tokens and last4 only.
 */
#include "common/sr_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* RFC 3339 UTC timestamp with milliseconds, e.g. 2026-11-21T23:29:42.123Z.
 * The date and time part is formatted once per second per thread. */
static void format_ts(char out[32])
{
	static __thread time_t cached_sec = (time_t)-1;
	static __thread char cached[24];
	struct timespec ts = {0};
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != cached_sec) {
		gmtime_r(&ts.tv_sec, &tm);
		if (strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
			cached[0] = '\0';
		cached_sec = ts.tv_sec;
	}
	snprintf(out, 32, "%s.%03uZ", cached, (unsigned)(ts.tv_nsec / 1000000L) % 1000u);
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

/* True when s can be written between JSON quotes as it is: printable ASCII
 * without '"' or '\\' (event names, daemon names, request ids). Anything
 * else goes through jansson's escaping. */
static bool plain_string(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return false;
	return true;
}

/* The fixed fields; a caller field with one of these names is dropped. */
static const char *const fixed_keys[] = {
	"ts", "level", "daemon", "event", "request_id", "correlation_id", NULL
};

/* The slow path, for lines the fast one cannot take (a string to escape,
 * a line over the stack buffer): the whole line as one jansson object. */
static char *dump_line(const char *ts, enum sr_log_level level, const char *request_id,
                       const char *event, json_t *extra, bool format_error)
{
	json_t *line = json_object();
	const char *k = NULL;
	json_t *v = NULL;
	char *text = NULL;

	if (line == NULL)
		return NULL;
	json_object_set_new(line, "ts", json_string(ts));
	json_object_set_new(line, "level", json_string(level_name(level)));
	json_object_set_new(line, "daemon", json_string(g_daemon));
	json_object_set_new(line, "event", json_string(event));
	if (request_id != NULL) {
		json_object_set_new(line, "request_id", json_string(request_id));
		json_object_set_new(line, "correlation_id", json_string(request_id));
	}
	if (extra != NULL)
		json_object_foreach(extra, k, v)
			json_object_set(line, k, v);
	if (format_error)
		json_object_set_new(line, "log_format_error", json_true());
	text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(line);
	return text;
}

void sr_log(enum sr_log_level level, const char *request_id, const char *event,
            const char *fmt, ...)
{
	json_t *extra = NULL;
	char *text = NULL;
	char buf[2048];
	char ts[32];
	size_t n = 0, cap = sizeof buf - 1;   /* one byte kept for the newline */
	bool format_error = false;
	int k;

	format_ts(ts);
	if (event == NULL)
		event = "unknown";
	if (fmt != NULL) {
		va_list ap;
		json_error_t jerr;

		va_start(ap, fmt);
		extra = json_vpack_ex(&jerr, 0, fmt, ap);
		va_end(ap);
		if (json_is_object(extra)) {
			/* Fixed fields win over caller fields with the same name. */
			for (k = 0; fixed_keys[k] != NULL; k++)
				(void)json_object_del(extra, fixed_keys[k]);
		} else {
			/* A programming error in the format: say so, without values. */
			json_decref(extra);
			extra = NULL;
			format_error = true;
		}
	}

	/* Fast path: the fixed fields printed as they are, the caller's fields
	 * serialised by jansson straight after them, into one stack buffer. */
	if (!plain_string(g_daemon) || !plain_string(event) ||
	    (request_id != NULL && !plain_string(request_id)))
		goto slow;
	k = request_id != NULL
	    ? snprintf(buf, cap, "{\"ts\":\"%s\",\"level\":\"%s\",\"daemon\":\"%s\",\"event\":\"%s\","
	               "\"request_id\":\"%s\",\"correlation_id\":\"%s\"", ts, level_name(level),
	               g_daemon, event, request_id, request_id)
	    : snprintf(buf, cap, "{\"ts\":\"%s\",\"level\":\"%s\",\"daemon\":\"%s\",\"event\":\"%s\"",
	               ts, level_name(level), g_daemon, event);
	if (k < 0 || (size_t)k >= cap)
		goto slow;
	n = (size_t)k;
	if (extra != NULL && json_object_size(extra) > 0) {
		/* '{"a":1}' appended, its '{' becoming the separating ','. */
		size_t m = json_dumpb(extra, buf + n, cap - n,
		                      JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));

		if (m < 2 || m > cap - n)
			goto slow;
		buf[n] = ',';
		n += m;
	} else {
		if (format_error) {
			k = snprintf(buf + n, cap - n, ",\"log_format_error\":true");
			if (k < 0 || (size_t)k >= cap - n)
				goto slow;
			n += (size_t)k;
		}
		if (n + 1 > cap)
			goto slow;
		buf[n++] = '}';
	}
	buf[n++] = '\n';
	write_all(buf, n);
	goto out;
slow:
	text = dump_line(ts, level, request_id, event, extra, format_error);
	if (text != NULL) {
		n = strlen(text);
		text[n] = '\n';   /* replaces the terminator: written by length */
		write_all(text, n + 1);
	}
out:
	free(text);
	json_decref(extra);
}

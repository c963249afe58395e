/*
 * log.h - the collector's own log: stderr in the foreground, syslog as a
 * daemon.  Thread-safe; each call writes one whole line.
 */
#ifndef PGA_CORE_LOG_H
#define PGA_CORE_LOG_H

#include <stdarg.h>
#include <stdbool.h>

/* A line is cut at this many bytes (its terminating NUL included). */
#define LOG_MAX_LINE 2048

/* Same numbering as enum pga_log_level in the SDK. */
enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARNING, LOG_LVL_INFO, LOG_LVL_DEBUG };

/*
 * log_open - choose the destination.  use_syslog false: stderr.  Safe to call
 * again (on reload); until the first call, messages go to stderr at info.
 */
void log_open(bool use_syslog, enum log_level max_level);

/* log_set_level - lines above max_level are discarded. */
void log_set_level(enum log_level max_level);

/* log_get_level - the level set last (lines above it are discarded). */
enum log_level log_get_level(void);

/*
 * log_parse_level - "error", "warning", "info" or "debug" to *out.
 * Returns false (and leaves *out) for anything else.
 */
bool log_parse_level(const char *text, enum log_level *out);

/* log_msg - one line at `level`; no trailing newline needed. */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* log_vmsg_prefixed - one line with "plugin NAME: " in front (NULL: none). */
void log_vmsg_prefixed(enum log_level level, const char *plugin_name,
		       const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/*
 * log_set_sink - send every line that passes the level filter to `sink`
 * (formatted, prefix included, no newline) instead of stderr or syslog.
 * A plugin worker process forwards its log to the collector this way.
 * Call it before any other thread exists; NULL restores the default.
 */
typedef void (*log_sink_fn)(enum log_level level, const char *text);
void log_set_sink(log_sink_fn sink);

#endif

#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static bool log_to_syslog;
/* Read on every call from any thread, written at a reload. */
static _Atomic int log_max = LOG_LVL_INFO;

/* Set once, before any thread, in a plugin worker process only. */
static log_sink_fn log_sink;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void log_open(bool use_syslog, enum log_level max_level)
{
	pthread_mutex_lock(&log_lock);
	if (use_syslog && !log_to_syslog)
		openlog("pganalytics-collector", LOG_PID, LOG_DAEMON);
	else if (!use_syslog && log_to_syslog)
		closelog();
	log_to_syslog = use_syslog;
	atomic_store(&log_max, (int)max_level);
	pthread_mutex_unlock(&log_lock);
}

void log_set_level(enum log_level max_level)
{
	atomic_store(&log_max, (int)max_level);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&log_max);
}

bool log_parse_level(const char *text, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (text && strcmp(text, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

static int syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LVL_ERROR: return LOG_ERR;
	case LOG_LVL_WARNING: return LOG_WARNING;
	case LOG_LVL_INFO: return LOG_INFO;
	default: return LOG_DEBUG;
	}
}

void log_vmsg_prefixed(enum log_level level, const char *plugin_name,
		       const char *fmt, va_list ap)
{
	char text[LOG_MAX_LINE];
	int used = 0;

	if ((int)level > atomic_load_explicit(&log_max, memory_order_relaxed))
		return;
	if (plugin_name)
		used = snprintf(text, sizeof(text), "plugin %s: ", plugin_name);
	vsnprintf(text + used, sizeof(text) - (size_t)used, fmt, ap);
	if (log_sink) {
		log_sink(level, text);
		return;
	}

	pthread_mutex_lock(&log_lock);
	if (log_to_syslog) {
		syslog(syslog_priority(level), "%s", text);
	} else {
		struct timespec now;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s: %s\n", stamp, now.tv_nsec / 1000000L,
			level_names[level], text);
		fflush(stderr);
	}
	pthread_mutex_unlock(&log_lock);
}

void log_set_sink(log_sink_fn sink)
{
	log_sink = sink;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg_prefixed(level, NULL, fmt, ap);
	va_end(ap);
}

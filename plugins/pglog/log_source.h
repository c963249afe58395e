/*
 * log_source.h - what the plugin reads: which files (a file, directory or
 * glob), in which format, with which log_line_prefix, and in which
 * log_timezone their times are written.  Comes from the configuration, or
 * from the server (log_settings.h) when a conninfo is set; the last one
 * read from the server is kept in the state directory, so that a restart
 * while the server is down follows the same files as before.
 */
#ifndef PGLOG_LOG_SOURCE_H
#define PGLOG_LOG_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "log_settings.h"

struct log_source {
	int format;              /* enum pglog_format */
	char *target;
	char *log_line_prefix;
	char *log_timezone;      /* "" when unknown */
};

/* log_source_set - *s holds copies of the values (the old ones freed); false when out of memory, *s then unchanged. */
bool log_source_set(struct log_source *s, int format, const char *target, const char *log_line_prefix,
		    const char *log_timezone);
/* log_source_equal - the same format, target, prefix and time zone. */
bool log_source_equal(const struct log_source *a, const struct log_source *b);
/* log_source_clear - free and zero. */
void log_source_clear(struct log_source *s);

/*
 * log_source_from_server - what to read, given the server's settings: the
 * format and files it writes, its log_line_prefix and log_timezone; each
 * one the server does not tell (logging_collector off, a role that may not
 * read log_directory) from `configured`.  False when the server writes no
 * file the plugin can read (why says so); else true, with a warning in
 * why when something had to come from `configured` for want of a privilege
 * (why[0] is '\0' otherwise).  *out is replaced.
 */
bool log_source_from_server(const struct log_settings *server, const struct log_source *configured,
			    struct log_source *out, char *why, size_t why_len);

/*
 * log_source_load - read `file` into *s.  0 on success, -1 when there is
 * no such file, -2 when it cannot be read or is damaged (*why says how).
 */
int log_source_load(const char *file, struct log_source *s, const char **why);
/* log_source_save - replace `file` atomically; 0, or -1 with errno set. */
int log_source_save(const char *file, const struct log_source *s);

#endif

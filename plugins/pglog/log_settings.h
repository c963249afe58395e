/*
 * log_settings.h - how the server logs, asked through libpq: which format
 * (log_destination), with which log_line_prefix and log_timezone, into
 * which files (logging_collector, log_directory relative to data_directory,
 * log_filename).  From them, the format to read and the file glob to
 * follow.
 */
#ifndef PGLOG_LOG_SETTINGS_H
#define PGLOG_LOG_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The server's settings as it reports them; NULL where the role may not read one. */
struct log_settings {
	char *log_destination;
	char *log_line_prefix;
	char *log_timezone;
	char *log_directory;       /* as set: may be relative to data_directory */
	char *log_filename;
	char *data_directory;
	bool logging_collector;
	char *role;                /* the session's role, to name it in a GRANT */
};

struct log_discovery;

/*
 * log_discovery_create - check `conninfo` (copied) without connecting.
 * NULL when libpq cannot parse it (why says so, quoted parts hidden) or,
 * with why = "", when out of memory.
 */
struct log_discovery *log_discovery_create(const char *conninfo, int64_t statement_timeout_ms,
					   char *why, size_t why_len);
/*
 * log_discovery_read - read the settings into *out (replacing what it
 * held).  False with one line for the log in err; *out is then untouched.
 */
bool log_discovery_read(struct log_discovery *d, struct log_settings *out, char *err,
			size_t err_len);
/* log_discovery_free - close the connection and free; NULL is fine. */
void log_discovery_free(struct log_discovery *d);

/* log_settings_clear - free what *s holds and zero it. */
void log_settings_clear(struct log_settings *s);

/*
 * log_settings_format - the format to read: of the destinations the server
 * writes files for, the one richest in structure (jsonlog, then csvlog,
 * then stderr).  Without logging_collector the server writes csvlog and
 * jsonlog as stderr text.  -1 when none of the three is set (syslog or
 * eventlog only).
 */
int log_settings_format(const struct log_settings *s);

/*
 * log_settings_glob - the files the server writes in `format`: log_directory
 * (made absolute with data_directory) and log_filename with each strftime
 * escape as `*` and the extension PostgreSQL substitutes for csvlog (.csv)
 * and jsonlog (.json).  Glob metacharacters of the names are escaped.
 * Newly allocated; NULL when the role may not read the paths, when
 * logging_collector is off (the server's stderr goes wherever its start
 * script sends it) or out of memory.
 */
char *log_settings_glob(const struct log_settings *s, int format);

#endif

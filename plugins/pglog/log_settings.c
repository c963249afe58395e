/*
 * log_settings.c - how the server logs (see log_settings.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log_settings.h"
#include "parser.h"
#include "pg_session.h"

/*
 * One round trip.  log_directory, log_filename and data_directory are
 * superuser-only: pg_settings leaves their rows out for a role that is
 * neither a superuser nor a member of pg_read_all_settings, where
 * current_setting() would fail the whole statement.
 */
static const char SETTINGS_SQL[] =
	"/* pganalytics */ "
	"SELECT name, setting FROM pg_settings WHERE name IN ('log_destination', "
	"'log_line_prefix', 'log_timezone', 'log_directory', 'log_filename', 'data_directory', "
	"'logging_collector') "
	"UNION ALL SELECT 'role', current_user::text";

struct log_discovery {
	struct pg_session *session;
};

struct log_discovery *log_discovery_create(const char *conninfo, int64_t statement_timeout_ms,
					   char *why, size_t why_len)
{
	struct pg_session *session = pg_session_create(conninfo, statement_timeout_ms, why, why_len);
	struct log_discovery *d;

	if (!session)
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		pg_session_free(session);
		return NULL;
	}
	d->session = session;
	return d;
}

void log_discovery_free(struct log_discovery *d)
{
	if (!d)
		return;
	pg_session_free(d->session);
	free(d);
}

void log_settings_clear(struct log_settings *s)
{
	free(s->log_destination);
	free(s->log_line_prefix);
	free(s->log_timezone);
	free(s->log_directory);
	free(s->log_filename);
	free(s->data_directory);
	free(s->role);
	memset(s, 0, sizeof(*s));
}

/* The member of *s that holds setting `name`; NULL for names not asked for. */
static char **slot_of(struct log_settings *s, const char *name)
{
	static const struct { const char *name; size_t offset; } slots[] = {
		{ "log_destination", offsetof(struct log_settings, log_destination) },
		{ "log_line_prefix", offsetof(struct log_settings, log_line_prefix) },
		{ "log_timezone", offsetof(struct log_settings, log_timezone) },
		{ "log_directory", offsetof(struct log_settings, log_directory) },
		{ "log_filename", offsetof(struct log_settings, log_filename) },
		{ "data_directory", offsetof(struct log_settings, data_directory) },
		{ "role", offsetof(struct log_settings, role) },
	};

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		if (strcmp(name, slots[i].name) == 0)
			return (char **)((char *)s + slots[i].offset);
	return NULL;
}

static bool read_row(struct log_settings *s, const char *name, const char *value)
{
	char **slot;

	if (strcmp(name, "logging_collector") == 0) {
		s->logging_collector = strcmp(value, "on") == 0;
		return true;
	}
	if ((slot = slot_of(s, name)) == NULL)
		return true;
	free(*slot);
	*slot = strdup(value);
	return *slot != NULL;
}

bool log_discovery_read(struct log_discovery *d, struct log_settings *out, char *err,
			size_t err_len)
{
	PGresult *res = pg_session_query(d->session, SETTINGS_SQL, "cannot read the log settings from",
					 err, err_len);
	struct log_settings fresh = { 0 };
	bool ok = res != NULL;

	for (int row = 0; ok && row < PQntuples(res); row++)
		ok = PQnfields(res) == 2 && !PQgetisnull(res, row, 1) &&
		     read_row(&fresh, PQgetvalue(res, row, 0), PQgetvalue(res, row, 1));
	if (res && !ok)
		snprintf(err, err_len, "cannot read the log settings: unexpected answer or out of memory");
	PQclear(res);
	if (!ok) {
		log_settings_clear(&fresh);
		return false;
	}
	log_settings_clear(out);
	*out = fresh;
	return true;
}

/* Whether the comma-separated list holds `word` (PostgreSQL ignores case and spaces around words). */
static bool list_has(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; *p;) {
		p += strspn(p, " \t,");
		size_t len = strcspn(p, ",");
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == n && strncasecmp(p, word, n) == 0)
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

int log_settings_format(const struct log_settings *s)
{
	const char *dest = s->log_destination ? s->log_destination : "stderr";
	bool json = list_has(dest, "jsonlog"), csv = list_has(dest, "csvlog");

	/* Without the logging collector csvlog and jsonlog fall back to stderr text. */
	if (!s->logging_collector)
		return json || csv || list_has(dest, "stderr") ? PGLOG_FORMAT_STDERR : -1;
	if (json)
		return PGLOG_FORMAT_JSON;
	if (csv)
		return PGLOG_FORMAT_CSV;
	return list_has(dest, "stderr") ? PGLOG_FORMAT_STDERR : -1;
}

/*
 * Append text[0..len) to the path; in a glob (escape), with a backslash
 * before each glob metacharacter.  A path without a wildcard stays a plain
 * path: the tail treats a target without *, ? or [ as a file name.
 */
static void put_literal(FILE *out, const char *text, size_t len, bool escape)
{
	for (size_t i = 0; i < len; i++) {
		if (escape && strchr("*?[]\\", text[i]))
			fputc('\\', out);
		fputc(text[i], out);
	}
}

/* Whether log_filename has a strftime escape (other than %%): the files then have varying names. */
static bool has_time_escape(const char *name)
{
	for (const char *p = strchr(name, '%'); p && p[1]; p = strchr(p + 2, '%'))
		if (p[1] != '%')
			return true;
	return false;
}

/* log_filename with its % escapes as `*` (one `*` for a run of them). */
static void put_filename_pattern(FILE *out, const char *name, size_t len, bool escape)
{
	bool star = false;

	for (size_t i = 0; i < len; i++) {
		if (name[i] == '%' && i + 1 < len && name[i + 1] == '%') {
			put_literal(out, "%", 1, escape);
			i++;
			star = false;
		} else if (name[i] == '%' && i + 1 < len) {
			if (!star)
				fputc('*', out);
			i++;
			star = true;
		} else {
			put_literal(out, &name[i], 1, escape);
			star = false;
		}
	}
}

/* PostgreSQL's rule: csvlog and jsonlog replace a final ".log" of log_filename, or append. */
static void put_file_name(FILE *out, const char *filename, int format, bool escape)
{
	const char *ext = format == PGLOG_FORMAT_CSV ? ".csv" : format == PGLOG_FORMAT_JSON ? ".json" : "";
	size_t len = strlen(filename);

	if (*ext && len >= 4 && strcmp(filename + len - 4, ".log") == 0)
		len -= 4;
	put_filename_pattern(out, filename, len, escape);
	fputs(ext, out);
}

char *log_settings_glob(const struct log_settings *s, int format)
{
	char *glob = NULL;
	size_t size = 0;
	FILE *out;
	bool escape;

	if (!s->logging_collector || !s->log_directory || !s->log_filename ||
	    (s->log_directory[0] != '/' && !s->data_directory))
		return NULL;
	if ((out = open_memstream(&glob, &size)) == NULL)
		return NULL;
	escape = has_time_escape(s->log_filename);
	if (s->log_directory[0] != '/') {
		put_literal(out, s->data_directory, strlen(s->data_directory), escape);
		fputc('/', out);
	}
	put_literal(out, s->log_directory, strlen(s->log_directory), escape);
	fputc('/', out);
	put_file_name(out, s->log_filename, format, escape);
	if (fclose(out) != 0) {
		free(glob);
		return NULL;
	}
	return glob;
}

/*
 * log_source.c - what the plugin reads, and its saved copy (see log_source.h).
 *
 * The file: a header line, then format, target, log_line_prefix and
 * log_timezone, one per line, escaped as state_file.h does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log_source.h"
#include "parser.h"
#include "state_file.h"

#define SOURCE_HEADER "pglog-source 1\n"

bool log_source_set(struct log_source *s, int format, const char *target, const char *log_line_prefix,
		    const char *log_timezone)
{
	char *t = strdup(target), *p = strdup(log_line_prefix), *z = strdup(log_timezone);

	if (!t || !p || !z) {
		free(t);
		free(p);
		free(z);
		return false;
	}
	log_source_clear(s);
	*s = (struct log_source){ format, t, p, z };
	return true;
}

static bool same_text(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

bool log_source_equal(const struct log_source *a, const struct log_source *b)
{
	return a->format == b->format && same_text(a->target, b->target) &&
	       same_text(a->log_line_prefix, b->log_line_prefix) &&
	       same_text(a->log_timezone, b->log_timezone);
}

void log_source_clear(struct log_source *s)
{
	free(s->target);
	free(s->log_line_prefix);
	free(s->log_timezone);
	memset(s, 0, sizeof(*s));
}

bool log_source_from_server(const struct log_settings *server, const struct log_source *configured,
			    struct log_source *out, char *why, size_t why_len)
{
	int format = log_settings_format(server);
	char *files;
	bool ok;

	why[0] = '\0';
	if (format < 0) {
		snprintf(why, why_len, "log_destination = '%s': the server writes no stderr, csvlog or "
			 "jsonlog file to read", server->log_destination ? server->log_destination : "");
		return false;
	}
	files = log_settings_glob(server, format);
	if (!files && server->logging_collector && (!server->log_directory || !server->log_filename))
		snprintf(why, why_len, "role \"%s\" may not read log_directory and log_filename: it needs to "
			 "be a superuser or a member of pg_read_all_settings (GRANT pg_read_all_settings "
			 "TO \"%s\"); following log_path = \"%s\"", server->role ? server->role : "?",
			 server->role ? server->role : "?", configured->target);
	ok = log_source_set(out, format, files ? files : configured->target,
			    server->log_line_prefix ? server->log_line_prefix : configured->log_line_prefix,
			    server->log_timezone ? server->log_timezone : configured->log_timezone);
	free(files);
	if (!ok)
		snprintf(why, why_len, "out of memory");
	return ok;
}

static void write_source(FILE *f, const void *arg)
{
	const struct log_source *s = arg;

	fputs(SOURCE_HEADER, f);
	state_file_put_text(f, parser_format_name(s->format));
	state_file_put_text(f, s->target);
	state_file_put_text(f, s->log_line_prefix);
	state_file_put_text(f, s->log_timezone);
}

int log_source_save(const char *file, const struct log_source *s)
{
	return state_file_replace(file, write_source, s);
}

/* The next line of f, without its newline and unescaped; NULL at the end or out of memory. */
static char *next_value(FILE *f, char **line, size_t *cap)
{
	ssize_t len = getline(line, cap, f);

	if (len <= 0 || (*line)[len - 1] != '\n')
		return NULL;
	(*line)[len - 1] = '\0';
	return state_file_unescape(*line);
}

int log_source_load(const char *file, struct log_source *s, const char **why)
{
	FILE *f = fopen(file, "re");
	char *line = NULL, *values[4] = { NULL };
	size_t cap = 0;
	int result = -2;

	if (f == NULL) {
		*why = strerror(errno);
		return errno == ENOENT ? -1 : -2;
	}
	*why = "no pglog-source header";
	if (getline(&line, &cap, f) > 0 && strcmp(line, SOURCE_HEADER) == 0) {
		*why = "a value is missing";
		size_t n = 0;
		while (n < 4 && (values[n] = next_value(f, &line, &cap)) != NULL)
			n++;
		int format = n == 4 ? parser_format_from_name(values[0]) : -1;
		if (n == 4 && format < 0)
			*why = "an unknown format";
		if (format >= 0 && log_source_set(s, format, values[1], values[2], values[3]))
			result = 0;
	}
	for (size_t i = 0; i < 4; i++)
		free(values[i]);
	free(line);
	fclose(f);
	return result;
}

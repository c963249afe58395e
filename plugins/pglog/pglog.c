/*
 * pglog - PostgreSQL server logs: tails the files (tail.h), parses stderr,
 * csvlog and jsonlog entries (parser.h) and reports each cycle's counts,
 * events and error samples as one pg_log record (report.h; the schema is
 * in docs/PAYLOAD.md).
 *
 * Order within a cycle: read, emit the record, and save the positions only
 * once record_end accepted it, so that a record the emitter refused does
 * not move the positions past lines nobody reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pganalytics/plugin.h>

#include "report.h"
#include "tail.h"

static const struct pga_option pglog_options[] = {
	{ "log_path", PGA_OPT_STRING, "/var/log/postgresql",
	  "the server's log: a file, a directory (every file of the format) or a glob" },
	{ "format", PGA_OPT_STRING, "stderr", "log_destination of the files: stderr, csvlog or jsonlog" },
	{ "log_line_prefix", PGA_OPT_STRING, "%m [%p] ", "the server's log_line_prefix (stderr format)" },
	{ "start_at", PGA_OPT_STRING, "end",
	  "where the very first start begins in files already there: end or beginning" },
	{ "state_dir", PGA_OPT_STRING, "",
	  "directory of the saved positions; empty: the plugin's directory under collector.state_dir" },
	{ "max_entry_bytes", PGA_OPT_INT, "65536", "an entry longer than this is cut (and counted)" },
	{ "max_bytes_per_cycle", PGA_OPT_INT, "268435456",
	  "bytes read per cycle at most; the rest is read in the next cycles" },
	{ "min_severity", PGA_OPT_STRING, "debug5",
	  "entries below this severity (PostgreSQL's log_min_messages order) are not reported" },
	{ "databases", PGA_OPT_STRING_LIST, "{\"*\"}",
	  "databases whose entries are reported (shell patterns); entries without one always are" },
	{ "exclude_databases", PGA_OPT_STRING_LIST, NULL, "databases (shell patterns) left out" },
	{ "bind_parameters", PGA_OPT_BOOL, "false",
	  "report the bind parameters of slow statements (they may hold personal data)" },
	{ "slow_statement_ms", PGA_OPT_DOUBLE, "0",
	  "durations below this are counted but not listed as events" },
	{ "max_events", PGA_OPT_INT, "100", "events listed per cycle; the rest are counted" },
	{ "max_errors", PGA_OPT_INT, "50", "distinct error messages sampled per cycle" },
	{ "max_keys", PGA_OPT_INT, "200", "distinct databases, users, applications, SQLSTATEs per cycle" },
	{ "max_text_bytes", PGA_OPT_INT, "4096", "statement and message text kept per event" },
	{ NULL, 0, NULL, NULL }
};

struct pglog {
	const struct pga_host *h;
	struct pga_ctx *ctx;
	struct report *report;
	struct tail *tail;
	char *positions_file;
	char **databases, **exclude_databases;
};

static bool read_int(struct pglog *pl, const char *key, int64_t min, int64_t max, int64_t *out)
{
	*out = pl->h->config_int(pl->ctx, key);
	if (*out >= min && *out <= max)
		return true;
	pl->h->log(pl->ctx, PGA_LOG_ERROR, "%s = %lld: must be from %lld to %lld", key,
		   (long long)*out, (long long)min, (long long)max);
	return false;
}

/* A string list option as a NULL-terminated array (fnmatch patterns). */
static char **read_list(struct pglog *pl, const char *key)
{
	size_t n = pl->h->config_list_size(pl->ctx, key);
	char **list = calloc(n + 1, sizeof(*list));

	for (size_t i = 0; list && i < n; i++)
		list[i] = (char *)pl->h->config_list_item(pl->ctx, key, i);
	return list;
}

static int severity_option(struct pglog *pl)
{
	const char *name = pl->h->config_string(pl->ctx, "min_severity");
	char upper[16];
	size_t i;

	for (i = 0; name[i] && i < sizeof(upper) - 1; i++)
		upper[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
	upper[i] = '\0';
	int s = severity_from_word(upper, i);
	if (strcmp(upper, "DEBUG") == 0 || s < PGLOG_SEV_DEBUG5 || s > PGLOG_SEV_PANIC) {
		pl->h->log(pl->ctx, PGA_LOG_ERROR,
			   "min_severity = \"%s\": must be one of debug5..debug1, info, notice, warning, error, log, fatal, panic",
			   name);
		return -1;
	}
	return s;
}

static bool read_report_options(struct pglog *pl, struct report_options *ro)
{
	int64_t max_events, max_errors, max_keys, max_text;

	ro->min_severity = severity_option(pl);
	pl->databases = read_list(pl, "databases");
	pl->exclude_databases = read_list(pl, "exclude_databases");
	ro->databases = (const char *const *)pl->databases;
	ro->exclude_databases = (const char *const *)pl->exclude_databases;
	ro->bind_parameters = pl->h->config_bool(pl->ctx, "bind_parameters");
	ro->slow_statement_ms = pl->h->config_double(pl->ctx, "slow_statement_ms");
	if (ro->min_severity < 0 || !pl->databases || !pl->exclude_databases ||
	    !read_int(pl, "max_events", 0, 100000, &max_events) ||
	    !read_int(pl, "max_errors", 0, 100000, &max_errors) ||
	    !read_int(pl, "max_keys", 1, 100000, &max_keys) ||
	    !read_int(pl, "max_text_bytes", 16, 1 << 20, &max_text))
		return false;
	ro->max_events = (size_t)max_events;
	ro->max_errors = (size_t)max_errors;
	ro->max_keys = (size_t)max_keys;
	ro->max_text = (size_t)max_text;
	return true;
}

static bool read_start_at(struct pglog *pl, bool *at_end)
{
	const char *value = pl->h->config_string(pl->ctx, "start_at");

	*at_end = strcmp(value, "end") == 0;
	if (*at_end || strcmp(value, "beginning") == 0)
		return true;
	pl->h->log(pl->ctx, PGA_LOG_ERROR, "start_at = \"%s\": must be \"end\" or \"beginning\"", value);
	return false;
}

static char *positions_path(struct pglog *pl)
{
	const char *dir = pl->h->config_string(pl->ctx, "state_dir");
	char *path;

	if (dir == NULL || dir[0] == '\0')
		dir = pl->h->state_dir(pl->ctx);
	if (asprintf(&path, "%s/positions", dir) < 0)
		return NULL;
	return path;
}

static bool read_tail_options(struct pglog *pl, struct tail_options *to)
{
	const char *format = pl->h->config_string(pl->ctx, "format");
	int64_t max_entry, max_bytes;

	to->target = pl->h->config_string(pl->ctx, "log_path");
	to->format = parser_format_from_name(format);
	to->log_line_prefix = pl->h->config_string(pl->ctx, "log_line_prefix");
	if (to->format < 0) {
		pl->h->log(pl->ctx, PGA_LOG_ERROR, "format = \"%s\": must be stderr, csvlog or jsonlog", format);
		return false;
	}
	if (to->target == NULL || to->target[0] == '\0') {
		pl->h->log(pl->ctx, PGA_LOG_ERROR, "log_path is empty: name the server's log file or directory");
		return false;
	}
	if (!read_start_at(pl, &to->start_at_end) ||
	    !read_int(pl, "max_entry_bytes", 256, 64 << 20, &max_entry) ||
	    !read_int(pl, "max_bytes_per_cycle", 4096, INT64_MAX, &max_bytes))
		return false;
	to->max_entry_bytes = (size_t)max_entry;
	to->max_bytes_per_cycle = (uint64_t)max_bytes;
	pl->positions_file = positions_path(pl);
	to->positions_file = pl->positions_file;
	return pl->positions_file != NULL;
}

static void pglog_shutdown(void *state)
{
	struct pglog *pl = state;

	tail_free(pl->tail);
	report_free(pl->report);
	free(pl->positions_file);
	free(pl->databases);
	free(pl->exclude_databases);
	free(pl);
}

static int pglog_init(const struct pga_host *host, struct pga_ctx *ctx, void **state)
{
	struct pglog *pl = calloc(1, sizeof(*pl));
	struct report_options ro;
	struct tail_options to;

	if (pl == NULL)
		return PGA_ENOMEM;
	pl->h = host;
	pl->ctx = ctx;
	if (!read_report_options(pl, &ro) || !read_tail_options(pl, &to)) {
		pglog_shutdown(pl);
		return PGA_ERROR;
	}
	pl->report = report_new(&ro);
	pl->tail = pl->report ? tail_new(&to, host, ctx, pl->report) : NULL;
	if (pl->tail == NULL) {
		host->log(ctx, PGA_LOG_ERROR, "out of memory");
		pglog_shutdown(pl);
		return PGA_ENOMEM;
	}
	*state = pl;
	return PGA_OK;
}

static int pglog_collect(void *state, struct pga_emitter *em)
{
	struct pglog *pl = state;
	int rc;

	tail_cycle(pl->tail);
	pl->h->record_begin(em, "pg_log");
	tail_emit(pl->tail, em);
	report_emit(pl->report, pl->h, em);
	rc = pl->h->record_end(em);
	if (rc != PGA_OK)
		return rc;
	return tail_save(pl->tail) ? PGA_OK : PGA_ERROR;
}

PGA_PLUGIN_DEFINE(.name = "pglog", .version = "0.1.0",
		  .description = "PostgreSQL server logs: counts, events and errors (stderr, csvlog, jsonlog)",
		  .options = pglog_options, .default_interval = 10,
		  .init = pglog_init, .collect = pglog_collect, .shutdown = pglog_shutdown)

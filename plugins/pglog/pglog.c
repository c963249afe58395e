/*
 * pglog - PostgreSQL server logs: tails the files (tail.h), parses stderr,
 * csvlog and jsonlog entries (parser.h) and reports each cycle's counts,
 * events and error samples as one pg_log record (report.h; the schema is
 * in docs/PAYLOAD.md).
 *
 * Order within a cycle: ask the server how it logs (when a conninfo is
 * set), read, emit the record, and save the positions only once
 * record_end accepted it, so that a record the emitter refused does not
 * move the positions past lines nobody reported.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pganalytics/plugin.h>

#include "log_settings.h"
#include "log_source.h"
#include "report.h"
#include "tail.h"

static const struct pga_option pglog_options[] = {
	{ "conninfo", PGA_OPT_STRING, "",
	  "libpq connection string: read format, files, log_line_prefix and log_timezone from the server "
	  "(they then override the four options below)" },
	{ "statement_timeout_ms", PGA_OPT_INT, "5000", "statement_timeout of that session" },
	{ "log_path", PGA_OPT_STRING, "/var/log/postgresql",
	  "the server's log: a file, a directory (every file of the format) or a glob" },
	{ "format", PGA_OPT_STRING, "stderr", "log_destination of the files: stderr, csvlog or jsonlog" },
	{ "log_line_prefix", PGA_OPT_STRING, "%m [%p] ", "the server's log_line_prefix (stderr format)" },
	{ "log_timezone", PGA_OPT_STRING, "",
	  "the server's log_timezone (an IANA name), to give events a Unix time; empty: only UTC and numeric zones" },
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
	char *source_file;               /* the source last read from the server */
	char **databases, **exclude_databases;
	struct log_source configured;    /* from the options */
	struct log_source current;       /* what the tail reads now */
	const char *origin;              /* of current: "config", "server" or "saved" */
	struct log_discovery *discovery; /* NULL without conninfo */
	struct log_settings server;
	char discovery_problem[512];     /* the last one logged; "" when none */
	struct log_zone *zone;           /* of current.log_timezone; NULL when unknown */
	char *zone_name;                 /* the log_timezone zone was loaded for */
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

/* dir/name, where dir is the state_dir option or the plugin's state directory. */
static char *state_path(struct pglog *pl, const char *name)
{
	const char *dir = pl->h->config_string(pl->ctx, "state_dir");
	char *path;

	if (dir == NULL || dir[0] == '\0')
		dir = pl->h->state_dir(pl->ctx);
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	return path;
}

static bool read_configured_source(struct pglog *pl)
{
	const char *format = pl->h->config_string(pl->ctx, "format");
	const char *target = pl->h->config_string(pl->ctx, "log_path");
	int f = parser_format_from_name(format);

	if (f < 0) {
		pl->h->log(pl->ctx, PGA_LOG_ERROR, "format = \"%s\": must be stderr, csvlog or jsonlog", format);
		return false;
	}
	if (target == NULL || target[0] == '\0') {
		pl->h->log(pl->ctx, PGA_LOG_ERROR, "log_path is empty: name the server's log file or directory");
		return false;
	}
	return log_source_set(&pl->configured, f, target, pl->h->config_string(pl->ctx, "log_line_prefix"),
			      pl->h->config_string(pl->ctx, "log_timezone")) &&
	       log_source_set(&pl->current, f, target, pl->configured.log_line_prefix,
			      pl->configured.log_timezone);
}

static bool read_tail_options(struct pglog *pl, struct tail_options *to)
{
	int64_t max_entry, max_bytes;

	if (!read_configured_source(pl) || !read_start_at(pl, &to->start_at_end) ||
	    !read_int(pl, "max_entry_bytes", 256, 64 << 20, &max_entry) ||
	    !read_int(pl, "max_bytes_per_cycle", 4096, INT64_MAX, &max_bytes))
		return false;
	to->max_entry_bytes = (size_t)max_entry;
	to->max_bytes_per_cycle = (uint64_t)max_bytes;
	pl->positions_file = state_path(pl, "positions");
	pl->source_file = state_path(pl, "source");
	to->positions_file = pl->positions_file;
	return pl->positions_file != NULL && pl->source_file != NULL;
}

/* With a conninfo: the session, and the source the server gave before a restart. */
static bool open_discovery(struct pglog *pl)
{
	const char *conninfo = pl->h->config_string(pl->ctx, "conninfo");
	int64_t timeout_ms;
	const char *why = "";
	char err[512];

	pl->origin = "config";
	if (conninfo == NULL || conninfo[0] == '\0')
		return true;
	if (!read_int(pl, "statement_timeout_ms", 1, 86400000, &timeout_ms))
		return false;
	pl->discovery = log_discovery_create(conninfo, timeout_ms, err, sizeof(err));
	if (pl->discovery == NULL) {
		pl->h->log(pl->ctx, PGA_LOG_ERROR, "%s", err[0] ? err : "out of memory");
		return false;
	}
	switch (log_source_load(pl->source_file, &pl->current, &why)) {
	case 0:
		pl->origin = "saved";
		break;
	case -2:
		pl->h->log(pl->ctx, PGA_LOG_WARNING, "%s: %s; using the configuration until the server answers",
			   pl->source_file, why);
		break;
	}
	return true;
}

static void pglog_shutdown(void *state)
{
	struct pglog *pl = state;

	tail_free(pl->tail);
	report_free(pl->report);
	log_discovery_free(pl->discovery);
	log_settings_clear(&pl->server);
	log_source_clear(&pl->configured);
	log_source_clear(&pl->current);
	log_zone_free(pl->zone);
	free(pl->zone_name);
	free(pl->positions_file);
	free(pl->source_file);
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
	if (!read_report_options(pl, &ro) || !read_tail_options(pl, &to) || !open_discovery(pl)) {
		pglog_shutdown(pl);
		return PGA_ERROR;
	}
	to.format = pl->current.format;
	to.target = pl->current.target;
	to.log_line_prefix = pl->current.log_line_prefix;
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

/* Log a discovery problem when it starts or changes, and its end. */
static void note_problem(struct pglog *pl, int level, const char *problem)
{
	if (strcmp(pl->discovery_problem, problem) == 0)
		return;
	if (problem[0])
		pl->h->log(pl->ctx, level, "%s", problem);
	else
		pl->h->log(pl->ctx, PGA_LOG_INFO, "read the log settings from the server again");
	snprintf(pl->discovery_problem, sizeof(pl->discovery_problem), "%s", problem);
}

/* Make the tail read `wanted`, saying what changed; false when out of memory. */
static bool switch_source(struct pglog *pl, const struct log_source *wanted)
{
	const struct log_source *cur = &pl->current;

	if (wanted->format != cur->format || strcmp(wanted->log_line_prefix, cur->log_line_prefix) != 0) {
		pl->h->log(pl->ctx, PGA_LOG_INFO, "the server logs as %s with log_line_prefix '%s' (was %s, '%s')",
			   parser_format_name(wanted->format), wanted->log_line_prefix,
			   parser_format_name(cur->format), cur->log_line_prefix);
		if (!tail_set_format(pl->tail, wanted->format, wanted->log_line_prefix))
			return false;
	}
	if (strcmp(wanted->target, cur->target) != 0) {
		pl->h->log(pl->ctx, PGA_LOG_INFO, "the server writes %s (was %s)", wanted->target, cur->target);
		if (!tail_set_target(pl->tail, wanted->target))
			return false;
	}
	return log_source_set(&pl->current, wanted->format, wanted->target, wanted->log_line_prefix,
			      wanted->log_timezone);
}

/* What the server says now: adopted, and saved for a restart while it is down. */
static void adopt_server_source(struct pglog *pl)
{
	struct log_source wanted = { 0 };
	char why[512];
	bool usable = log_source_from_server(&pl->server, &pl->configured, &wanted, why, sizeof(why));

	note_problem(pl, PGA_LOG_WARNING, why);
	if (usable && !log_source_equal(&wanted, &pl->current) && !switch_source(pl, &wanted))
		pl->h->log(pl->ctx, PGA_LOG_ERROR, "out of memory switching to the server's log settings");
	if (usable && strcmp(pl->origin, "server") != 0 && log_source_save(pl->source_file, &pl->current) != 0)
		pl->h->log(pl->ctx, PGA_LOG_WARNING, "%s: cannot save the log settings: %s", pl->source_file,
			   strerror(errno));
	if (usable)
		pl->origin = "server";
	log_source_clear(&wanted);
}

/*
 * Ask the server.  Returns false when the tail should wait: on the very
 * first start, before the server ever answered, start_at would otherwise
 * apply to files that are perhaps not the server's.
 */
static bool discover(struct pglog *pl)
{
	char err[512];

	if (pl->discovery == NULL)
		return true;
	if (log_discovery_read(pl->discovery, &pl->server, err, sizeof(err))) {
		adopt_server_source(pl);
		return true;
	}
	note_problem(pl, PGA_LOG_WARNING, err);
	if (strcmp(pl->origin, "server") == 0)
		pl->origin = "saved";
	return !(strcmp(pl->origin, "config") == 0 && tail_first_run(pl->tail));
}

/*
 * The zone of log_timezone, loaded again when it changed.  A zone that
 * cannot be loaded is logged once per name; events then have a `time` only
 * in UTC and numeric zones.
 */
static void follow_timezone(struct pglog *pl)
{
	const char *name = pl->current.log_timezone;
	char why[512];

	if (pl->zone_name && strcmp(pl->zone_name, name) == 0)
		return;
	log_zone_free(pl->zone);
	pl->zone = NULL;
	free(pl->zone_name);
	pl->zone_name = strdup(name);
	if (name[0] && (pl->zone = log_zone_load(LOG_ZONEINFO_DIR, name, why, sizeof(why))) == NULL)
		pl->h->log(pl->ctx, PGA_LOG_WARNING, "%s; events get a Unix time only in UTC and numeric zones",
			   why[0] ? why : "out of memory loading log_timezone");
	report_set_zone(pl->report, pl->zone);
}

/* The `source` member: what was read this cycle and where that came from. */
static void emit_source(struct pglog *pl, struct pga_emitter *em, bool waited)
{
	const struct pga_host *h = pl->h;

	h->object_begin(em, "source");
	h->set_string(em, "from", pl->origin);
	emit_text(h, em, "log_path", pl->current.target, strlen(pl->current.target));
	emit_text(h, em, "log_line_prefix", pl->current.log_line_prefix, strlen(pl->current.log_line_prefix));
	if (pl->current.log_timezone[0])
		emit_text(h, em, "log_timezone", pl->current.log_timezone, strlen(pl->current.log_timezone));
	if (pl->discovery_problem[0])
		emit_text(h, em, "problem", pl->discovery_problem, strlen(pl->discovery_problem));
	if (waited)
		h->set_bool(em, "waiting_for_server", true);
	h->object_end(em);
}

static int pglog_collect(void *state, struct pga_emitter *em)
{
	struct pglog *pl = state;
	bool read = discover(pl);
	int rc;

	follow_timezone(pl);
	if (read)
		tail_cycle(pl->tail);
	pl->h->record_begin(em, "pg_log");
	tail_emit(pl->tail, em);
	emit_source(pl, em, !read);
	report_emit(pl->report, pl->h, em);
	rc = pl->h->record_end(em);
	/* Saving nothing read would end the first start: start_at applies until the server answers. */
	if (rc != PGA_OK || !read)
		return rc;
	return tail_save(pl->tail) ? PGA_OK : PGA_ERROR;
}

PGA_PLUGIN_DEFINE(.name = "pglog", .version = "0.1.0",
		  .description = "PostgreSQL server logs: counts, events and errors (stderr, csvlog, jsonlog)",
		  .options = pglog_options, .default_interval = 10,
		  .init = pglog_init, .collect = pglog_collect, .shutdown = pglog_shutdown)

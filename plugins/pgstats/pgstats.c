/*
 * pgstats - PostgreSQL statistics through libpq (see pgstats.h for how a
 * cycle is organised and docs/PAYLOAD.md, section 2.2, for the records).
 *
 * Columns are emitted as the server returns them, typed by their OID, so
 * each version reports every column it has without a list to keep up to
 * date; where a view was renamed, the SQL maps it to the old names.
 */
#include <stdlib.h>
#include <string.h>

#include "pgstats.h"

static const struct pga_option pgstats_options[] = {
	{ "conninfo", PGA_OPT_STRING,
	  "host=/var/run/postgresql dbname=postgres user=pganalytics",
	  "libpq connection string; a password in it is never logged" },
	{ "password_file", PGA_OPT_STRING, "",
	  "a libpq password file (passfile); empty: libpq's default (PGPASSFILE, ~/.pgpass)" },
	{ "statement_timeout_ms", PGA_OPT_INT, "5000", "statement_timeout of the sessions" },
	{ "lock_timeout_ms", PGA_OPT_INT, "1000", "lock_timeout of the sessions" },
	{ "databases", PGA_OPT_STRING_LIST, "{\"*\"}",
	  "databases with a per-database record; shell patterns, \"*\" = every connectable one" },
	{ "exclude_databases", PGA_OPT_STRING_LIST, NULL,
	  "databases (shell patterns) left out of `databases`" },
	{ "max_tables", PGA_OPT_INT, "50000",
	  "tables (and functions) reported per database, busiest first" },
	{ "max_indexes", PGA_OPT_INT, "100000", "indexes reported per database, most used first" },
	{ "sizes_interval_s", PGA_OPT_INT, "300",
	  "seconds between table and index sizes (they open every relation); 0 = every cycle" },
	{ "settings_interval_s", PGA_OPT_INT, "3600",
	  "seconds between full pg_settings reports (a change is reported at once)" },
	{ "statements", PGA_OPT_BOOL, "true", "read pg_stat_statements when it is installed" },
	{ "statements_top", PGA_OPT_INT, "500",
	  "statements reported per cycle, by total execution time; 0 = all" },
	{ "statements_text_interval_s", PGA_OPT_INT, "3600",
	  "seconds between re-sending the query texts of reported statements" },
	{ NULL, 0, NULL, NULL }
};

/* A value read once at init; one out of range is refused there, naming the key. */
static bool read_bounded(struct pgstats *st, const char *key, int64_t min, int64_t max,
			 int64_t *out)
{
	*out = st->host->config_int(st->ctx, key);
	if (*out >= min && *out <= max)
		return true;
	st->host->log(st->ctx, PGA_LOG_ERROR, "%s = %lld: must be from %lld to %lld", key,
		      (long long)*out, (long long)min, (long long)max);
	return false;
}

#define DAY_MS (86400LL * 1000)
#define YEAR_S (366LL * 86400)
#define MAX_ROWS 10000000LL

static bool read_config(struct pgstats *st)
{
	struct pgstats_config *cfg = &st->cfg;
	const char *passfile = st->host->config_string(st->ctx, "password_file");

	cfg->conninfo = st->host->config_string(st->ctx, "conninfo");
	cfg->password_file = passfile && passfile[0] ? passfile : NULL;
	cfg->collect_statements = st->host->config_bool(st->ctx, "statements");
	return read_bounded(st, "statement_timeout_ms", 1, DAY_MS, &cfg->statement_timeout_ms) &&
	       read_bounded(st, "lock_timeout_ms", 1, DAY_MS, &cfg->lock_timeout_ms) &&
	       read_bounded(st, "max_tables", 1, MAX_ROWS, &cfg->max_tables) &&
	       read_bounded(st, "max_indexes", 1, MAX_ROWS, &cfg->max_indexes) &&
	       read_bounded(st, "sizes_interval_s", 0, YEAR_S, &cfg->sizes_interval_s) &&
	       read_bounded(st, "settings_interval_s", 1, YEAR_S, &cfg->settings_interval_s) &&
	       read_bounded(st, "statements_top", 0, MAX_ROWS, &cfg->statements_top) &&
	       read_bounded(st, "statements_text_interval_s", 1, YEAR_S,
			    &cfg->statements_text_interval_s);
}

/* libpq's parse error with every quoted piece hidden: it may quote the password. */
static void log_conninfo_error(struct pgstats *st, const char *err)
{
	char shown[256];
	size_t used = 0;
	bool quoted = false;

	for (const char *p = err; *p && *p != '\n' && used + 4 < sizeof(shown); p++) {
		if (*p == '"') {
			quoted = !quoted;
			used += (size_t)snprintf(shown + used, sizeof(shown) - used, "%s",
						 quoted ? "\"..." : "\"");
		} else if (!quoted) {
			shown[used++] = *p;
		}
	}
	shown[used] = '\0';
	st->host->log(st->ctx, PGA_LOG_ERROR, "conninfo is not a valid libpq connection string: %s",
		      shown);
}

static bool conninfo_parses(struct pgstats *st)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(st->cfg.conninfo, &err);

	if (opts) {
		PQconninfoFree(opts);
		return true;
	}
	log_conninfo_error(st, err ? err : "out of memory");
	PQfreemem(err);
	return false;
}

static void pgstats_shutdown(void *state)
{
	struct pgstats *st = state;

	pg_link_close(&st->main);
	databases_destroy(st->databases);
	statements_destroy(st->statements);
	instance_destroy(st->instance);
	free(st->display);
	free(st);
}

static int pgstats_init(const struct pga_host *host, struct pga_ctx *ctx, void **state)
{
	struct pgstats *st = calloc(1, sizeof(*st));

	if (!st)
		return PGA_ENOMEM;
	st->host = host;
	st->ctx = ctx;
	if (!read_config(st) || !conninfo_parses(st)) {
		pgstats_shutdown(st);
		return PGA_ERROR;
	}
	st->display = pg_masked_conninfo(st->cfg.conninfo);
	st->instance = instance_create();
	st->statements = statements_create();
	st->databases = databases_create();
	if (!st->display || !st->instance || !st->statements || !st->databases) {
		pgstats_shutdown(st);
		return PGA_ENOMEM;
	}
	*state = st;
	return PGA_OK;
}

/* False (and a message) for a server older than the catalogs the queries know. */
static bool version_supported(struct pgstats *st)
{
	int version = st->main.server_version;
	/* 120022 is 12.22, but 90624 is 9.6 (.24). */
	int minor = version >= 100000 ? version % 10000 : version % 10000 / 100;

	if (version < PGSTATS_MIN_VERSION) {
		st->host->log(st->ctx, PGA_LOG_ERROR,
			      "PostgreSQL %d.%d is not supported: pgstats reads PostgreSQL 13 to 18",
			      version / 10000, minor);
		return false;
	}
	if (version > PGSTATS_MAX_TESTED_VERSION && !st->version_warned) {
		st->version_warned = true;
		st->host->log(st->ctx, PGA_LOG_WARNING,
			      "PostgreSQL %d is newer than the newest tested (18); reading it "
			      "with the queries for 18", version / 10000);
	}
	return true;
}

/*
 * Connected, and to a version the statements are written for.  The host
 * backs off a failed cycle, so the instance connection needs no backoff of
 * its own.
 */
static bool instance_ready(struct pgstats *st)
{
	st->main.retry_at_ns = 0;
	return pg_link_ready(st, &st->main) && version_supported(st);
}

/*
 * A part's status as the cycle sees it: a broken connection or the deadline
 * ends the cycle; a record the emitter refused (it counts it) does not
 * stop the other parts.
 */
static bool cycle_goes_on(int rc)
{
	return rc != PGA_ERROR && rc != PGA_EDEADLINE;
}

/*
 * The instance record, with one fresh try when a reused connection turns out
 * to have died while idle (a restart, idle_session_timeout, a firewall): it
 * looks fine until it is used.  Nothing was emitted before it failed.
 */
static int collect_instance(struct pgstats *st, struct pga_emitter *em, bool reused)
{
	int rc = instance_collect(st, em);

	if (rc != PGA_ERROR || !reused || PQstatus(st->main.conn) != CONNECTION_BAD)
		return rc;
	pg_link_close(&st->main);
	if (!instance_ready(st))
		return PGA_ERROR;
	return instance_collect(st, em);
}

static int pgstats_collect(void *state, struct pga_emitter *em)
{
	struct pgstats *st = state;
	bool reused = st->main.conn != NULL;
	int rc;

	if (!instance_ready(st))
		return PGA_ERROR;
	rc = collect_instance(st, em, reused);
	if (cycle_goes_on(rc) && st->cfg.collect_statements)
		rc = statements_collect(st, em);
	if (cycle_goes_on(rc))
		rc = databases_collect(st, em);
	if (rc == PGA_ERROR || PQstatus(st->main.conn) != CONNECTION_OK)
		pg_link_close(&st->main);
	return cycle_goes_on(rc) ? PGA_OK : rc;
}

PGA_PLUGIN_DEFINE(.default_interval = 60, .name = "pgstats", .version = "0.2.0",
		  .description = "PostgreSQL statistics (libpq)", .options = pgstats_options,
		  .init = pgstats_init, .collect = pgstats_collect, .shutdown = pgstats_shutdown)

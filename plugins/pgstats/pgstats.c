/*
 * pgstats - PostgreSQL statistics through libpq.
 *
 * One persistent connection, opened read-only with short statement and
 * lock timeouts and application_name=pganalytics-collector.  Instance-level
 * statistics are read in one round trip: several statements sent together
 * with PQsendQuery, their results read one after another.  Columns are
 * emitted as the server returns them, typed by their OID, so each version
 * reports every column it has without a list to keep up to date.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <pganalytics/plugin.h>

#include "pg_value.h"

#define QUERY_TAG "/* pganalytics */ "

static const struct pga_option pgstats_options[] = {
	{ "conninfo", PGA_OPT_STRING,
	  "host=/var/run/postgresql dbname=postgres user=pganalytics",
	  "libpq connection string; a password in it is never logged" },
	{ "password_file", PGA_OPT_STRING, "",
	  "a libpq password file (passfile); empty: libpq's default" },
	{ "statement_timeout_ms", PGA_OPT_INT, "5000", "statement_timeout of the session" },
	{ "lock_timeout_ms", PGA_OPT_INT, "1000", "lock_timeout of the session" },
	{ NULL, 0, NULL, NULL }
};

struct pgstats {
	const struct pga_host *host;
	struct pga_ctx *ctx;
	PGconn *conn;
	char *display;          /* conninfo with the password masked, for messages */
};

/* The instance-level statements, in the order their results are read. */
static const char instance_sql[] =
	QUERY_TAG "SELECT current_setting('server_version') AS server_version, "
	"current_setting('server_version_num')::int AS server_version_num, "
	"extract(epoch FROM now() - pg_postmaster_start_time())::float8 AS uptime_s, "
	"pg_is_in_recovery() AS in_recovery;"
	QUERY_TAG "SELECT * FROM pg_stat_database WHERE datname IS NOT NULL ORDER BY datname;"
	QUERY_TAG "SELECT coalesce(state, backend_type) AS state, count(*)::int8 AS count "
	"FROM pg_stat_activity GROUP BY 1 ORDER BY 1;";

/* conninfo as it may be shown: every password replaced by asterisks. */
static char *masked_conninfo(const char *conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	size_t size = strlen(conninfo) + 64, used = 0;
	char *out = calloc(1, size + 1);

	if (!opts || !out) {
		PQconninfoFree(opts);
		free(out);
		return strdup("(unparsable conninfo)");
	}
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		used += (size_t)snprintf(out + used, used < size ? size - used : 0, "%s%s=%s",
					 used ? " " : "", o->keyword,
					 strcmp(o->keyword, "password") == 0 ? "*****" : o->val);
	}
	PQconninfoFree(opts);
	return out;
}

static char *session_options(const struct pgstats *st)
{
	char *text = NULL;

	if (asprintf(&text, "-c statement_timeout=%lld -c lock_timeout=%lld "
			    "-c default_transaction_read_only=on",
		     (long long)st->host->config_int(st->ctx, "statement_timeout_ms"),
		     (long long)st->host->config_int(st->ctx, "lock_timeout_ms")) < 0)
		return NULL;
	return text;
}

static int connect_server(struct pgstats *st)
{
	const char *conninfo = st->host->config_string(st->ctx, "conninfo");
	const char *passfile = st->host->config_string(st->ctx, "password_file");
	char *options = session_options(st);
	const char *keys[] = { "dbname", "application_name", "client_encoding", "options",
			       "passfile", NULL };
	const char *values[] = { conninfo, "pganalytics-collector", "UTF8", options,
				 passfile && passfile[0] ? passfile : NULL, NULL };

	if (!options)
		return PGA_ENOMEM;
	if (!values[4])
		keys[4] = NULL;
	/* expand_dbname: the conninfo string is expanded into its parts. */
	st->conn = PQconnectdbParams(keys, values, 1);
	free(options);
	if (PQstatus(st->conn) == CONNECTION_OK)
		return PGA_OK;
	st->host->log(st->ctx, PGA_LOG_ERROR, "cannot connect (%s): %s", st->display,
		      PQerrorMessage(st->conn));
	PQfinish(st->conn);
	st->conn = NULL;
	return PGA_ERROR;
}

static int pgstats_init(const struct pga_host *host, struct pga_ctx *ctx, void **state)
{
	struct pgstats *st = calloc(1, sizeof(*st));

	if (!st)
		return PGA_ENOMEM;
	st->host = host;
	st->ctx = ctx;
	st->display = masked_conninfo(host->config_string(ctx, "conninfo"));
	*state = st;
	return st->display ? PGA_OK : PGA_ENOMEM;
}

enum instance_part { PART_INSTANCE, PART_DATABASES, PART_CONNECTIONS, N_PARTS };

static const char *const part_names[N_PARTS] = { "instance", "databases", "connections" };

/*
 * Read every result of the batch (so the connection is ready for the next
 * one); true when each part returned rows.
 */
static bool read_parts(struct pgstats *st, PGresult *parts[N_PARTS])
{
	bool complete = true;
	size_t got = 0;
	PGresult *res;

	while ((res = PQgetResult(st->conn))) {
		if (got < N_PARTS && PQresultStatus(res) == PGRES_TUPLES_OK) {
			parts[got++] = res;
			continue;
		}
		if (complete)
			st->host->log(st->ctx, PGA_LOG_ERROR, "%s: %s",
				      got < N_PARTS ? part_names[got] : "query",
				      PQresultErrorMessage(res));
		complete = false;
		PQclear(res);
	}
	return complete && got == N_PARTS;
}

static void emit_object(struct pgstats *st, struct pga_emitter *em, const char *key, PGresult *res)
{
	st->host->object_begin(em, key);
	if (PQntuples(res) == 1)
		pg_value_emit_row(st->host, em, res, 0);
	st->host->object_end(em);
}

static void emit_rows(struct pgstats *st, struct pga_emitter *em, const char *key, PGresult *res)
{
	st->host->array_begin(em, key);
	for (int row = 0; row < PQntuples(res); row++) {
		st->host->object_begin(em, NULL);
		pg_value_emit_row(st->host, em, res, row);
		st->host->object_end(em);
	}
	st->host->array_end(em);
}

/* An incomplete set of results is not emitted at all: half a picture misleads. */
static int collect_instance(struct pgstats *st, struct pga_emitter *em)
{
	PGresult *parts[N_PARTS] = { NULL };
	int rc = PGA_ERROR;

	if (!PQsendQuery(st->conn, instance_sql)) {
		st->host->log(st->ctx, PGA_LOG_ERROR, "query: %s", PQerrorMessage(st->conn));
		return PGA_ERROR;
	}
	if (read_parts(st, parts)) {
		st->host->record_begin(em, "pg_stats");
		emit_object(st, em, part_names[PART_INSTANCE], parts[PART_INSTANCE]);
		emit_rows(st, em, part_names[PART_DATABASES], parts[PART_DATABASES]);
		emit_rows(st, em, part_names[PART_CONNECTIONS], parts[PART_CONNECTIONS]);
		rc = st->host->record_end(em);
	}
	for (size_t i = 0; i < N_PARTS; i++)
		PQclear(parts[i]);
	return rc;
}

static int pgstats_collect(void *state, struct pga_emitter *em)
{
	struct pgstats *st = state;

	if (st->conn && PQstatus(st->conn) != CONNECTION_OK) {
		PQfinish(st->conn);
		st->conn = NULL;
	}
	/* A failed connect fails the cycle: the host backs off and retries. */
	if (!st->conn && connect_server(st) != PGA_OK)
		return PGA_ERROR;
	return collect_instance(st, em);
}

static void pgstats_shutdown(void *state)
{
	struct pgstats *st = state;

	PQfinish(st->conn);
	free(st->display);
	free(st);
}

PGA_PLUGIN_DEFINE(.default_interval = 60, .name = "pgstats", .version = "0.1.0",
		  .description = "PostgreSQL statistics (libpq)", .options = pgstats_options,
		  .init = pgstats_init, .collect = pgstats_collect, .shutdown = pgstats_shutdown)

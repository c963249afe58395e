/*
 * connection.c - persistent libpq connections: opened read-only with short
 * statement and lock timeouts, reused across cycles, reopened after a
 * failure with a capped backoff, the password never shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgstats.h"

#define BACKOFF_FIRST_NS (5ull * 1000000000ull)
#define BACKOFF_CAP_NS (300ull * 1000000000ull)
#define CONNECT_TIMEOUT_S "10"

uint64_t pgstats_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool is_secret(const char *keyword)
{
	return strcmp(keyword, "password") == 0 || strcmp(keyword, "sslpassword") == 0;
}

char *pg_masked_conninfo(const char *conninfo)
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
					 is_secret(o->keyword) ? "*****" : o->val);
	}
	PQconninfoFree(opts);
	return out;
}

bool pg_error_is_privilege(const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return state && strcmp(state, "42501") == 0;
}

const char *pg_result_error_line(const PGresult *res, char *buf, size_t size)
{
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *text = primary ? primary : PQresultErrorMessage(res);
	size_t len = strcspn(text, "\n");

	snprintf(buf, size, "%.*s", (int)len, text);
	return buf;
}

/*
 * The session settings.  search_path is pg_catalog only: otherwise a
 * function any user created in public (say pg_relation_size(oid), an
 * exact match where pg_catalog's needs a cast) would run as the
 * collector's role.
 */
static char *session_options(const struct pgstats_config *cfg)
{
	char *text = NULL;

	if (asprintf(&text, "-c statement_timeout=%lld -c lock_timeout=%lld "
			    "-c default_transaction_read_only=on -c search_path=pg_catalog,pg_temp",
		     (long long)cfg->statement_timeout_ms, (long long)cfg->lock_timeout_ms) < 0)
		return NULL;
	return text;
}

/*
 * The conninfo string is expanded (expand_dbname) and the keys after it
 * override what it says; a second "dbname" is a plain database name, which
 * is how one conninfo reaches every database.
 */
static PGconn *open_connection(const struct pgstats_config *cfg, const char *datname)
{
	char *options = session_options(cfg);
	const char *keys[12], *values[12];
	size_t n = 0;
	PGconn *conn;

	if (!options)
		return NULL;
	keys[n] = "dbname", values[n++] = cfg->conninfo;
	keys[n] = "application_name", values[n++] = "pganalytics-collector";
	keys[n] = "client_encoding", values[n++] = "UTF8";
	keys[n] = "options", values[n++] = options;
	/* A host that drops packets must not hold a cycle for minutes. */
	keys[n] = "connect_timeout", values[n++] = CONNECT_TIMEOUT_S;
	keys[n] = "keepalives_idle", values[n++] = "30";
	keys[n] = "keepalives_interval", values[n++] = "10";
	keys[n] = "keepalives_count", values[n++] = "3";
	if (cfg->password_file)
		keys[n] = "passfile", values[n++] = cfg->password_file;
	if (datname)
		keys[n] = "dbname", values[n++] = datname;
	keys[n] = NULL, values[n] = NULL;
	conn = PQconnectdbParams(keys, values, 1);
	free(options);
	return conn;
}

static void schedule_retry(struct pg_link *link)
{
	uint64_t delay = BACKOFF_FIRST_NS;

	for (unsigned i = 1; i < link->failures && delay < BACKOFF_CAP_NS; i++)
		delay *= 2;
	link->retry_at_ns = pgstats_now_ns() + (delay < BACKOFF_CAP_NS ? delay : BACKOFF_CAP_NS);
}

static void report_failure(struct pgstats *st, struct pg_link *link, const char *why)
{
	size_t len = strcspn(why, "\n");
	int level = link->failures == 1 ? PGA_LOG_ERROR : PGA_LOG_DEBUG;

	st->host->log(st->ctx, level, "cannot connect to %s%s(%s): %.*s%s",
		      link->datname ? "database " : "", link->datname ? link->datname : "",
		      st->display, (int)len, why,
		      link->failures == 1 ? "; retrying with backoff" : "");
}

/*
 * A server-wide idle_session_timeout (14+) shorter than the interval would
 * close the persistent connection between cycles.  Not a startup option:
 * 13 would refuse the unknown name and the connection with it.
 */
static void disable_idle_timeout(PGconn *conn, int server_version)
{
	if (server_version >= 140000)
		PQclear(PQexec(conn, QUERY_TAG "SET idle_session_timeout = 0"));
}

bool pg_link_ready(struct pgstats *st, struct pg_link *link)
{
	if (link->conn && PQstatus(link->conn) == CONNECTION_OK)
		return true;
	pg_link_close(link);
	if (link->retry_at_ns && pgstats_now_ns() < link->retry_at_ns)
		return false;
	link->conn = open_connection(&st->cfg, link->datname);
	if (link->conn && PQstatus(link->conn) == CONNECTION_OK) {
		if (link->failures)
			st->host->log(st->ctx, PGA_LOG_INFO, "connected to %s after %u failed attempts",
				      link->datname ? link->datname : st->display, link->failures);
		link->failures = 0;
		link->retry_at_ns = 0;
		link->server_version = PQserverVersion(link->conn);
		disable_idle_timeout(link->conn, link->server_version);
		return true;
	}
	link->failures++;
	report_failure(st, link, link->conn ? PQerrorMessage(link->conn) : "out of memory");
	pg_link_close(link);
	schedule_retry(link);
	return false;
}

void pg_link_close(struct pg_link *link)
{
	PQfinish(link->conn);
	link->conn = NULL;
}

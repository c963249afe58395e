/*
 * pg_discovery.c - the server's paths through libpq (see pg_discovery.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pg_discovery.h"

#define CONNECT_TIMEOUT_S "10"

/*
 * One round trip.  data_directory and log_directory are superuser-only
 * settings: pg_settings leaves their rows out for a role that is neither a
 * superuser nor a member of pg_read_all_settings, where current_setting()
 * would fail the whole statement.  pg_tablespace_location() needs no
 * privilege, so tablespaces are read either way.
 */
static const char DISCOVERY_SQL[] =
	"/* pganalytics */ "
	"SELECT 'setting', name, NULL::oid, setting FROM pg_settings "
	"WHERE name IN ('data_directory', 'log_directory', 'logging_collector') "
	"UNION ALL SELECT 'tablespace', spcname, oid, pg_tablespace_location(oid) "
	"FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global') "
	"UNION ALL SELECT 'role', current_user, NULL, NULL";

struct pg_discovery {
	char *conninfo;
	char *options;      /* the session settings, as a libpq "options" value */
	PGconn *conn;
};

/* libpq's complaint about a conninfo, with every quoted part hidden. */
static void describe_bad_conninfo(const char *err, char *why, size_t why_len)
{
	size_t used = (size_t)snprintf(why, why_len, "conninfo is not a valid libpq connection string: ");
	bool quoted = false;

	for (const char *p = err; *p && *p != '\n' && used + 5 < why_len; p++) {
		if (*p == '"') {
			quoted = !quoted;
			used += (size_t)snprintf(why + used, why_len - used, quoted ? "\"..." : "\"");
		} else if (!quoted) {
			why[used++] = *p;
		}
	}
	why[used < why_len ? used : why_len - 1] = '\0';
}

struct pg_discovery *pg_discovery_create(const char *conninfo, int64_t statement_timeout_ms,
					 char *why, size_t why_len)
{
	char *err = NULL;
	PQconninfoOption *parsed = PQconninfoParse(conninfo, &err);
	struct pg_discovery *pd;

	why[0] = '\0';
	if (!parsed) {
		if (err)
			describe_bad_conninfo(err, why, why_len);
		PQfreemem(err);
		return NULL;
	}
	PQconninfoFree(parsed);
	if ((pd = calloc(1, sizeof(*pd))) == NULL)
		return NULL;
	pd->conninfo = strdup(conninfo);
	if (asprintf(&pd->options, "-c statement_timeout=%lld -c default_transaction_read_only=on "
				   "-c search_path=pg_catalog,pg_temp",
		     (long long)statement_timeout_ms) < 0)
		pd->options = NULL;
	if (!pd->conninfo || !pd->options) {
		pg_discovery_free(pd);
		return NULL;
	}
	return pd;
}

/* The conninfo is expanded (expand_dbname); the keys after it override it. */
static PGconn *open_connection(const struct pg_discovery *pd)
{
	const char *keys[] = { "dbname", "application_name", "client_encoding", "options",
			       "connect_timeout", NULL };
	const char *values[] = { pd->conninfo, "pganalytics-collector", "UTF8", pd->options,
				 CONNECT_TIMEOUT_S, NULL };

	return PQconnectdbParams(keys, values, 1);
}

/* "user@host:port/dbname" for messages: never the password. */
static void describe_server(PGconn *conn, char *buf, size_t len)
{
	const char *host = PQhost(conn), *port = PQport(conn);
	const char *user = PQuser(conn), *db = PQdb(conn);

	snprintf(buf, len, "%s@%s:%s/%s", user ? user : "?", host ? host : "?", port ? port : "?",
		 db ? db : "?");
}

static void first_line(const char *text, char *err, size_t err_len, const char *what,
		       PGconn *conn)
{
	char server[256];

	describe_server(conn, server, sizeof(server));
	snprintf(err, err_len, "%s %s: %.*s", what, server, (int)strcspn(text, "\n"), text);
}

static bool connection_ready(struct pg_discovery *pd, char *err, size_t err_len)
{
	if (pd->conn && PQstatus(pd->conn) == CONNECTION_OK)
		return true;
	PQfinish(pd->conn);
	pd->conn = open_connection(pd);
	if (!pd->conn) {
		snprintf(err, err_len, "cannot connect to PostgreSQL: out of memory");
		return false;
	}
	if (PQstatus(pd->conn) == CONNECTION_OK)
		return true;
	first_line(PQerrorMessage(pd->conn), err, err_len, "cannot connect to PostgreSQL", pd->conn);
	PQfinish(pd->conn);
	pd->conn = NULL;
	return false;
}

static char *column(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : strdup(PQgetvalue(res, row, col));
}

static void read_setting(const PGresult *res, int row, struct server_paths *out)
{
	const char *name = PQgetvalue(res, row, 1);

	if (strcmp(name, "data_directory") == 0)
		out->data_directory = column(res, row, 3);
	else if (strcmp(name, "log_directory") == 0)
		out->log_directory = column(res, row, 3);
	else if (strcmp(name, "logging_collector") == 0)
		out->logging_collector = strcmp(PQgetvalue(res, row, 3), "on") == 0;
}

static bool read_tablespace(const PGresult *res, int row, struct server_paths *out)
{
	struct tablespace *t = &out->tablespaces[out->n_tablespaces];

	t->name = column(res, row, 1);
	t->oid = strtoll(PQgetvalue(res, row, 2), NULL, 10);
	t->location = column(res, row, 3);
	if (!t->name || !t->location) {
		free(t->name);
		free(t->location);
		return false;
	}
	out->n_tablespaces++;
	return true;
}

static bool read_rows(const PGresult *res, struct server_paths *out, const char **role)
{
	int rows = PQntuples(res);

	memset(out, 0, sizeof(*out));
	out->known = true;
	out->tablespaces = calloc((size_t)rows + 1, sizeof(*out->tablespaces));
	if (!out->tablespaces)
		return false;
	for (int row = 0; row < rows; row++) {
		const char *kind = PQgetvalue(res, row, 0);

		if (strcmp(kind, "setting") == 0)
			read_setting(res, row, out);
		else if (strcmp(kind, "tablespace") == 0 && !read_tablespace(res, row, out))
			return false;
		else if (strcmp(kind, "role") == 0)
			*role = PQgetvalue(res, row, 1);
	}
	return true;
}

static enum discovery_result query_paths(struct pg_discovery *pd, struct server_paths *out,
					 char *err, size_t err_len)
{
	PGresult *res = PQexec(pd->conn, DISCOVERY_SQL);
	struct server_paths fresh;
	const char *role = "?";
	enum discovery_result result = DISCOVERY_OK;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 4) {
		first_line(PQresultErrorMessage(res), err, err_len, "cannot read the paths from", pd->conn);
		PQclear(res);
		return DISCOVERY_FAILED;
	}
	if (!read_rows(res, &fresh, &role)) {
		snprintf(err, err_len, "out of memory reading the paths from the server");
		server_paths_clear(&fresh);
		PQclear(res);
		return DISCOVERY_FAILED;
	}
	if (!fresh.data_directory || !fresh.log_directory) {
		snprintf(err, err_len, "role \"%s\" may not read data_directory and log_directory: "
			 "it needs to be a superuser or a member of pg_read_all_settings "
			 "(GRANT pg_read_all_settings TO \"%s\")",
			 role, role);
		result = DISCOVERY_PARTIAL;
	}
	PQclear(res);
	server_paths_clear(out);
	*out = fresh;
	return result;
}

enum discovery_result pg_discovery_read(struct pg_discovery *pd, struct server_paths *out,
					char *err, size_t err_len)
{
	bool reused = pd->conn != NULL;
	enum discovery_result result;

	err[0] = '\0';
	if (!connection_ready(pd, err, err_len))
		return DISCOVERY_FAILED;
	result = query_paths(pd, out, err, err_len);
	/* An idle connection may have died since the last cycle: one fresh try. */
	if (result == DISCOVERY_FAILED && reused && PQstatus(pd->conn) != CONNECTION_OK) {
		PQfinish(pd->conn);
		pd->conn = NULL;
		if (!connection_ready(pd, err, err_len))
			return DISCOVERY_FAILED;
		result = query_paths(pd, out, err, err_len);
	}
	if (result == DISCOVERY_FAILED) {
		PQfinish(pd->conn);
		pd->conn = NULL;
	}
	return result;
}

void pg_discovery_free(struct pg_discovery *pd)
{
	if (!pd)
		return;
	PQfinish(pd->conn);
	free(pd->conninfo);
	free(pd->options);
	free(pd);
}

void server_paths_clear(struct server_paths *paths)
{
	for (size_t i = 0; i < paths->n_tablespaces; i++) {
		free(paths->tablespaces[i].name);
		free(paths->tablespaces[i].location);
	}
	free(paths->tablespaces);
	free(paths->data_directory);
	free(paths->log_directory);
	memset(paths, 0, sizeof(*paths));
}

/*
 * pg_session.c - a plugin's persistent libpq connection (see pg_session.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_session.h"

#define CONNECT_TIMEOUT_S "10"

struct pg_session {
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

struct pg_session *pg_session_create(const char *conninfo, int64_t statement_timeout_ms,
				     char *why, size_t why_len)
{
	char *err = NULL;
	PQconninfoOption *parsed = PQconninfoParse(conninfo, &err);
	struct pg_session *s;

	why[0] = '\0';
	if (!parsed) {
		if (err)
			describe_bad_conninfo(err, why, why_len);
		PQfreemem(err);
		return NULL;
	}
	PQconninfoFree(parsed);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->conninfo = strdup(conninfo);
	if (asprintf(&s->options, "-c statement_timeout=%lld -c default_transaction_read_only=on "
				  "-c search_path=pg_catalog,pg_temp",
		     (long long)statement_timeout_ms) < 0)
		s->options = NULL;
	if (!s->conninfo || !s->options) {
		pg_session_free(s);
		return NULL;
	}
	return s;
}

/* The conninfo is expanded (expand_dbname); the keys after it override it. */
static PGconn *open_connection(const struct pg_session *s)
{
	const char *keys[] = { "dbname", "application_name", "client_encoding", "options",
			       "connect_timeout", NULL };
	const char *values[] = { s->conninfo, "pganalytics-collector", "UTF8", s->options,
				 CONNECT_TIMEOUT_S, NULL };

	return PQconnectdbParams(keys, values, 1);
}

/* "what user@host:port/dbname: the first line of text", for the log; never the password. */
static void describe_failure(PGconn *conn, const char *what, const char *text, char *err,
			     size_t err_len)
{
	const char *host = PQhost(conn), *port = PQport(conn);
	const char *user = PQuser(conn), *db = PQdb(conn);

	snprintf(err, err_len, "%s %s@%s:%s/%s: %.*s", what, user ? user : "?", host ? host : "?",
		 port ? port : "?", db ? db : "?", (int)strcspn(text, "\n"), text);
}

static void close_connection(struct pg_session *s)
{
	PQfinish(s->conn);
	s->conn = NULL;
}

static bool connection_ready(struct pg_session *s, char *err, size_t err_len)
{
	if (s->conn && PQstatus(s->conn) == CONNECTION_OK)
		return true;
	close_connection(s);
	s->conn = open_connection(s);
	if (!s->conn) {
		snprintf(err, err_len, "cannot connect to PostgreSQL: out of memory");
		return false;
	}
	if (PQstatus(s->conn) == CONNECTION_OK)
		return true;
	describe_failure(s->conn, "cannot connect to PostgreSQL", PQerrorMessage(s->conn), err, err_len);
	close_connection(s);
	return false;
}

static PGresult *run(struct pg_session *s, const char *sql, const char *what, char *err,
		     size_t err_len)
{
	PGresult *res = PQexec(s->conn, sql);

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	describe_failure(s->conn, what, res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn),
			 err, err_len);
	PQclear(res);
	return NULL;
}

PGresult *pg_session_query(struct pg_session *s, const char *sql, const char *what, char *err,
			   size_t err_len)
{
	bool reused = s->conn != NULL;
	PGresult *res;

	err[0] = '\0';
	if (!connection_ready(s, err, err_len))
		return NULL;
	res = run(s, sql, what, err, err_len);
	/* An idle connection may have died since the last cycle: one fresh try. */
	if (!res && reused && PQstatus(s->conn) != CONNECTION_OK) {
		close_connection(s);
		if (!connection_ready(s, err, err_len))
			return NULL;
		res = run(s, sql, what, err, err_len);
	}
	if (!res)
		close_connection(s);
	return res;
}

void pg_session_free(struct pg_session *s)
{
	if (!s)
		return;
	PQfinish(s->conn);
	free(s->conninfo);
	free(s->options);
	free(s);
}

/*
 * pg_session.h - one persistent libpq connection for a plugin that asks
 * the server a question each cycle (disk: where are the files; pglog: how
 * does the server log).  Compiled into each plugin that lists it in its
 * libs.mk (NAME_SOURCES): plugins share source, never a library.
 *
 * The session is opened the way every collector connection is:
 * application_name=pganalytics-collector, client_encoding UTF8, read-only
 * transactions, a statement_timeout, search_path=pg_catalog,pg_temp and a
 * 10 s connect_timeout.  Messages never contain the password: they name
 * the server as user@host:port/dbname, and a conninfo libpq cannot parse
 * is described with every quoted part hidden.
 */
#ifndef PGA_PLUGINS_PG_SESSION_H
#define PGA_PLUGINS_PG_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct pg_session;

/*
 * pg_session_create - check `conninfo` (copied) and prepare, without
 * connecting.  On a conninfo libpq cannot parse returns NULL and writes
 * why into why[why_len]; NULL with why = "" means out of memory.
 */
struct pg_session *pg_session_create(const char *conninfo, int64_t statement_timeout_ms,
				     char *why, size_t why_len);

/*
 * pg_session_query - run `sql` (one statement returning rows), connecting
 * first if needed.  An idle connection that died since the last call is
 * reopened and the statement sent again, once.  Returns the result, owned
 * by the caller (PQclear), or NULL with one line for the log in err: "what
 * user@host:port/dbname: libpq's first line" when the statement failed
 * (what is e.g. "cannot read the paths from"), or "cannot connect to
 * PostgreSQL ...".  After a failure the connection is closed and the next
 * call reconnects.
 */
PGresult *pg_session_query(struct pg_session *s, const char *sql, const char *what, char *err,
			   size_t err_len);

/* pg_session_free - close the connection and free; NULL is fine. */
void pg_session_free(struct pg_session *s);

#endif

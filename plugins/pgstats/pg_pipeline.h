/*
 * pg_pipeline.h - several statements in one round trip (libpq pipeline
 * mode), each followed by its own sync point so that a statement the
 * server refuses (a missing privilege, a bad byte) fails alone and the
 * others still give their rows.
 *
 *     if (!pg_pipeline_send(conn, a, 0, NULL) || !pg_pipeline_send(conn, b, 0, NULL))
 *         -> close the connection
 *     ra = pg_pipeline_read(conn);   NULL -> close the connection
 *     rb = pg_pipeline_read(conn);   NULL -> close the connection
 *     if (!pg_pipeline_leave(conn))  -> close the connection
 *     pg_result_ok(ra) ? ra's rows : ra's error
 *
 * or all of it at once with pg_pipeline_run.
 *
 * The one rule: when any of these returns false or NULL the connection's
 * state is unknown (a statement may sit in libpq's buffer without a sync
 * point, and its results would never come), so the caller stops using it
 * and closes it (pg_link_close; a part returns PGA_ERROR, which makes its
 * caller do so).  None of these helpers ever waits for results that were
 * not both sent and synced: a read blocks only for what the server owes,
 * which statement_timeout bounds.
 */
#ifndef PGSTATS_PG_PIPELINE_H
#define PGSTATS_PG_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

/*
 * pg_pipeline_send - queue `sql` with its `nparams` text parameters (NULL
 * when none; types inferred by the server) and a sync point, entering
 * pipeline mode first if the connection is not in it (which needs an idle
 * connection).  The sync point sends everything queued so far.  False when
 * anything failed: close the connection.
 */
bool pg_pipeline_send(PGconn *conn, const char *sql, int nparams, const char *const *params);

/*
 * pg_pipeline_read - the first result of the next statement sent (its rows
 * or its error); whatever else the statement produced, up to and including
 * its sync point, is read and dropped.  The caller PQclear()s the result.
 * NULL when the connection broke or the stream is not what was sent: close
 * the connection.  Call it once per pg_pipeline_send that returned true,
 * in the same order.
 */
PGresult *pg_pipeline_read(PGconn *conn);

/*
 * pg_pipeline_leave - leave pipeline mode once every statement sent was
 * read; true also when the connection was not in pipeline mode.  It never
 * reads: with results still due it fails, and the caller closes the
 * connection.
 */
bool pg_pipeline_leave(PGconn *conn);

/*
 * pg_pipeline_run - send the `n` statements (no parameters) in one round
 * trip, read their results into results[0..n) and leave pipeline mode.
 * True when each statement has its result (check each with pg_result_ok;
 * the caller PQclear()s them).  False when the connection failed: every
 * results[i] is NULL and the caller closes the connection.
 */
bool pg_pipeline_run(PGconn *conn, size_t n, const char *const sql[], PGresult *results[]);

/* pg_result_ok - true when `res` is a statement's rows (PGRES_TUPLES_OK); false for NULL. */
bool pg_result_ok(const PGresult *res);

#endif

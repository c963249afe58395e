/*
 * pg_pipeline.c - see pg_pipeline.h.  libpq's blocking mode is assumed
 * (the plugin's connections are never put in nonblocking mode), so
 * PQpipelineSync has flushed the statement and its sync point to the
 * server by the time it returns 1.
 */
#include "pg_pipeline.h"

bool pg_pipeline_send(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	if (PQpipelineStatus(conn) == PQ_PIPELINE_OFF && !PQenterPipelineMode(conn))
		return false;
	if (!PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0))
		return false;
	/*
	 * Without its sync point the statement may stay in libpq's buffer and
	 * the server would never answer it: the caller must close, not read.
	 */
	return PQpipelineSync(conn) == 1;
}

/* Read and drop the rest of one statement's results, up to the NULL that ends them. */
static bool drop_remaining_results(PGconn *conn)
{
	PGresult *res;

	while ((res = PQgetResult(conn))) {
		/* A sync point before the statement ended: the stream is not ours. */
		bool misaligned = PQresultStatus(res) == PGRES_PIPELINE_SYNC;

		PQclear(res);
		if (misaligned)
			return false;
	}
	return true;
}

/* Read the sync point that follows a statement's results. */
static bool read_sync_point(PGconn *conn)
{
	PGresult *res = PQgetResult(conn);
	bool synced = res && PQresultStatus(res) == PGRES_PIPELINE_SYNC;

	PQclear(res);
	return synced;
}

PGresult *pg_pipeline_read(PGconn *conn)
{
	PGresult *first;

	/* Outside pipeline mode there is nothing this function may wait for. */
	if (PQpipelineStatus(conn) == PQ_PIPELINE_OFF)
		return NULL;
	first = PQgetResult(conn);
	if (!first)
		return NULL;
	if (PQresultStatus(first) == PGRES_PIPELINE_SYNC || !drop_remaining_results(conn) ||
	    !read_sync_point(conn)) {
		PQclear(first);
		return NULL;
	}
	return first;
}

bool pg_pipeline_leave(PGconn *conn)
{
	/* PQexitPipelineMode refuses while results are due; it never waits for them. */
	return PQpipelineStatus(conn) == PQ_PIPELINE_OFF || PQexitPipelineMode(conn) == 1;
}

static void clear_results(size_t n, PGresult *results[])
{
	for (size_t i = 0; i < n; i++) {
		PQclear(results[i]);
		results[i] = NULL;
	}
}

bool pg_pipeline_run(PGconn *conn, size_t n, const char *const sql[], PGresult *results[])
{
	bool ok = true;

	for (size_t i = 0; i < n; i++)
		results[i] = NULL;
	for (size_t i = 0; i < n && ok; i++)
		ok = pg_pipeline_send(conn, sql[i], 0, NULL);
	for (size_t i = 0; i < n && ok; i++)
		ok = (results[i] = pg_pipeline_read(conn)) != NULL;
	ok = ok && pg_pipeline_leave(conn);
	if (!ok)
		clear_results(n, results);
	return ok;
}

bool pg_result_ok(const PGresult *res)
{
	return res && PQresultStatus(res) == PGRES_TUPLES_OK;
}

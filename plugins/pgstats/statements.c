/*
 * statements.c - the pg_stat_statements part of the pgstats plugin: one
 * `pg_stats` record (scope "statements") per cycle, read over the instance
 * connection (statements.h lists the files of the part).
 *
 * A cycle: find the extension and its version; read the busiest
 * statements_top entries by total_exec_time (with how many there are in
 * all) and pg_stat_statements_info (1.9+) in one pipelined round trip;
 * read the texts that are due with one more statement; emit the record.
 *
 * Bounds: the server applies the top-N limit and cuts texts to 64 KiB;
 * the rows and the texts of one record are kept within byte budgets below
 * the emitter's 16 MiB record limit (what does not fit waits for a later
 * cycle); texts are streamed, so only the texts sent are held; the set of
 * keys whose texts were sent keeps the entries of recent cycles only.
 *
 * Failures: statements_collect returns PGA_ERROR only when the connection
 * failed, and PGA_EDEADLINE; anything else (a refused statement, no
 * memory, a record the emitter refused) is logged or counted, and the
 * other parts of the plugin still run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_pipeline.h"
#include "statements.h"
#include "statements_texts.h"

/* What the rows of one record may take; with the texts' budget, below the emitter's 16 MiB. */
#define ROWS_BUDGET_BYTES (8u << 20)
/*
 * What a value costs in the record's JSON text besides its own bytes, at
 * most (a separator, quotes, escapes of short texts; a double written
 * longer than the server wrote it).
 */
#define VALUE_OVERHEAD 24

/* object_not_in_prerequisite_state: the library is not in shared_preload_libraries. */
#define SQLSTATE_NOT_LOADED "55000"

static const char extension_sql[] =
	QUERY_TAG "SELECT e.extversion, n.nspname FROM pg_catalog.pg_extension e "
	"JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
	"WHERE e.extname = 'pg_stat_statements'";

/* The installed extension, as found this cycle. */
struct extension {
	enum { EXTENSION_UNKNOWN, EXTENSION_ABSENT, EXTENSION_INSTALLED } state;
	int version;                /* see stmt_parse_extversion; 0: unreadable */
	char text[32];              /* extversion as the server writes it */
	char *schema;               /* unquoted; malloc'd */
};

/* The counters' round trip. */
struct counters {
	PGresult *rows;             /* the entries (and the entries column when bounded) */
	PGresult *info;             /* pg_stat_statements_info; NULL before 1.9 */
};

struct statements_state *statements_create(void)
{
	return calloc(1, sizeof(struct statements_state));
}

void statements_destroy(struct statements_state *ss)
{
	if (!ss)
		return;
	stmt_sql_free(&ss->sql);
	stmt_keys_free(&ss->keys);
	free(ss);
}

/* ---- logging ---- */

static const char *database_name(const struct pgstats *st)
{
	const char *name = PQdb(st->main.conn);

	return name ? name : "?";
}

void stmt_log_out_of_memory(struct pgstats *st, const char *what)
{
	st->host->log(st->ctx, PGA_LOG_ERROR, "pg_stat_statements: %s: out of memory", what);
}

/* A statement the server refused (not the connection's failure). */
static void log_refusal(struct pgstats *st, struct pg_log_once *once, const char *what,
			const PGresult *res)
{
	char message[512];

	pg_log_once(st->host, st->ctx, once, PGA_LOG_WARNING,
		    "pg_stat_statements: %s: %s (logged once until it succeeds)", what,
		    pg_result_error_line(res, message, sizeof(message)));
}

static void log_absent(struct pgstats *st)
{
	pg_log_once(st->host, st->ctx, &st->statements->absent, PGA_LOG_INFO,
		    "pg_stat_statements is not installed in database \"%s\"; to collect "
		    "statement statistics, add pg_stat_statements to shared_preload_libraries "
		    "(a restart), then run CREATE EXTENSION pg_stat_statements; in that database",
		    database_name(st));
}

static void log_not_loaded(struct pgstats *st)
{
	pg_log_once(st->host, st->ctx, &st->statements->not_loaded, PGA_LOG_WARNING,
		    "pg_stat_statements is installed in database \"%s\" but not loaded: add "
		    "pg_stat_statements to shared_preload_libraries in postgresql.conf and "
		    "restart the server",
		    database_name(st));
}

/* ---- the extension ---- */

/* Fill *ext from the row of extension_sql.  False when out of memory. */
static bool read_extension_row(struct pgstats *st, const PGresult *res, struct extension *ext)
{
	struct statements_state *ss = st->statements;
	const char *text = PQgetvalue(res, 0, 0);

	ext->state = EXTENSION_INSTALLED;
	ext->version = stmt_parse_extversion(text);
	snprintf(ext->text, sizeof(ext->text), "%s", text);
	ext->schema = strdup(PQgetvalue(res, 0, 1));
	/* -1: the unreadable version was logged (version_logged holds real versions otherwise). */
	if (ext->version == 0 && ss->version_logged != -1) {
		ss->version_logged = -1;
		st->host->log(st->ctx, PGA_LOG_WARNING,
			      "pg_stat_statements: cannot read its version \"%s\"", text);
	}
	return ext->schema != NULL;
}

/*
 * Look the extension up.  Returns PGA_OK with *ext filled, or PGA_ERROR
 * when the connection failed.  A refused query or no memory is logged and
 * leaves the extension's state unknown.
 */
static int find_extension(struct pgstats *st, struct extension *ext)
{
	struct statements_state *ss = st->statements;
	PGresult *res = PQexec(st->main.conn, extension_sql);
	bool ok = pg_result_ok(res);

	*ext = (struct extension){ .state = EXTENSION_UNKNOWN };
	if (!ok && PQstatus(st->main.conn) == CONNECTION_BAD) {
		st->host->log(st->ctx, PGA_LOG_ERROR, "pg_stat_statements: %s",
			      PQerrorMessage(st->main.conn));
		PQclear(res);
		return PGA_ERROR;
	}
	if (!ok) {
		log_refusal(st, &ss->lookup, "looking for the extension", res);
		PQclear(res);
		return PGA_OK;
	}
	pg_log_once_reset(&ss->lookup);
	if (PQntuples(res) == 0) {
		ext->state = EXTENSION_ABSENT;
	} else if (!read_extension_row(st, res, ext)) {
		stmt_log_out_of_memory(st, "looking for the extension");
		ext->state = EXTENSION_UNKNOWN;
	}
	PQclear(res);
	return PGA_OK;
}

/* Once per version: older than 1.8 is not read, newer than known is read as the newest. */
static bool version_usable(struct pgstats *st, int version)
{
	struct statements_state *ss = st->statements;
	bool usable = version >= STMT_V1_8;

	if (version == 0)
		return false;
	if ((usable && version <= STMT_NEWEST_KNOWN) || ss->version_logged == version)
		return usable;
	ss->version_logged = version;
	if (!usable)
		st->host->log(st->ctx, PGA_LOG_WARNING,
			      "pg_stat_statements %d.%d in database \"%s\" is older than 1.8 and "
			      "is not read; update it with "
			      "ALTER EXTENSION pg_stat_statements UPDATE;",
			      version / 100, version % 100, database_name(st));
	else
		st->host->log(st->ctx, PGA_LOG_INFO,
			      "pg_stat_statements %d.%d is newer than the newest known (1.%d); "
			      "reading the columns of 1.%d",
			      version / 100, version % 100, STMT_NEWEST_KNOWN % 100,
			      STMT_NEWEST_KNOWN % 100);
	return usable;
}

/* ---- the counters ---- */

static void clear_counters(struct counters *c)
{
	PQclear(c->rows);
	PQclear(c->info);
	*c = (struct counters){ .rows = NULL };
}

/*
 * The counters and pg_stat_statements_info (1.9+) in one round trip, each
 * with its own sync point so that a refusal of one leaves the other.
 * Returns PGA_OK with both results in *c (each may be a refusal), or
 * PGA_ERROR when the connection failed.
 */
static int read_counters(struct pgstats *st, struct counters *c)
{
	const struct stmt_sql *sql = &st->statements->sql;
	const char *statements[2] = { sql->counters, sql->info };
	PGresult *results[2];
	size_t n = sql->version >= STMT_V1_9 ? 2 : 1;

	*c = (struct counters){ .rows = NULL };
	if (!pg_pipeline_run(st->main.conn, n, statements, results)) {
		st->host->log(st->ctx, PGA_LOG_ERROR, "pg_stat_statements: reading the counters: %s",
			      PQerrorMessage(st->main.conn));
		return PGA_ERROR;
	}
	c->rows = results[0];
	c->info = n == 2 ? results[1] : NULL;
	return PGA_OK;
}

/* Log what the server refused; true when the rows are there to report. */
static bool counters_usable(struct pgstats *st, const struct counters *c)
{
	struct statements_state *ss = st->statements;

	if (!pg_result_ok(c->rows)) {
		const char *state = PQresultErrorField(c->rows, PG_DIAG_SQLSTATE);

		if (state && strcmp(state, SQLSTATE_NOT_LOADED) == 0)
			log_not_loaded(st);
		else
			log_refusal(st, &ss->counters, "reading the counters", c->rows);
		return false;
	}
	pg_log_once_reset(&ss->not_loaded);
	pg_log_once_reset(&ss->counters);
	if (c->info && !pg_result_ok(c->info))
		log_refusal(st, &ss->info, "reading pg_stat_statements_info", c->info);
	else
		pg_log_once_reset(&ss->info);
	return true;
}

/* What one row adds to the record's JSON text, at most. */
static size_t row_bytes(const PGresult *res, int row)
{
	size_t bytes = VALUE_OVERHEAD;

	for (int col = 0; col < PQnfields(res); col++)
		bytes += (size_t)PQgetlength(res, row, col) + VALUE_OVERHEAD;
	return bytes;
}

/* How many of the rows fit the record's budget (all, normally). */
static int rows_within_budget(struct pgstats *st, const PGresult *res)
{
	size_t bytes = 0;
	int rows = PQntuples(res);

	for (int row = 0; row < rows; row++) {
		bytes += row_bytes(res, row);
		if (bytes > ROWS_BUDGET_BYTES) {
			pg_log_once(st->host, st->ctx, &st->statements->budget, PGA_LOG_WARNING,
				    "pg_stat_statements: only the first %d of %d entries fit in "
				    "one record; lower statements_top",
				    row, rows);
			return row;
		}
	}
	pg_log_once_reset(&st->statements->budget);
	return rows;
}

/* How many entries the extension has: the entries column, or the rows when unbounded. */
static long long entries_total(const PGresult *res, int entries_col)
{
	if (entries_col < 0 || PQntuples(res) == 0)
		return PQntuples(res);
	return strtoll(PQgetvalue(res, 0, entries_col), NULL, 10);
}

/* ---- the record ---- */

static int emit_statements(const struct pga_host *h, struct pga_emitter *em, const PGresult *res,
			   int rows)
{
	int entries_col = PQfnumber(res, STMT_ENTRIES_COLUMN);
	int rc = h->object_begin(em, "statements");

	if (rc == PGA_OK)
		rc = pg_value_emit_columns_except(h, em, "columns", res, entries_col);
	if (rc == PGA_OK)
		rc = h->array_begin(em, "rows");
	for (int row = 0; row < rows && rc == PGA_OK; row++)
		rc = pg_value_emit_cells_except(h, em, res, row, entries_col);
	if (rc == PGA_OK)
		rc = h->array_end(em);
	if (rc == PGA_OK)
		rc = h->set_int64(em, "count", rows);
	if (rc == PGA_OK)
		rc = h->set_int64(em, "total", entries_total(res, entries_col));
	return rc == PGA_OK ? h->object_end(em) : rc;
}

static int emit_info(const struct pga_host *h, struct pga_emitter *em, const PGresult *info)
{
	int rc;

	if (!pg_result_ok(info) || PQntuples(info) != 1)
		return PGA_OK;
	rc = h->object_begin(em, "info");
	if (rc == PGA_OK)
		rc = pg_value_emit_row(h, em, info, 0);
	return rc == PGA_OK ? h->object_end(em) : rc;
}

/* Returns PGA_OK (*kept: whether the emitter kept it) or PGA_EDEADLINE. */
static int emit_record(struct pgstats *st, struct pga_emitter *em, const struct extension *ext,
		       const struct counters *c, int rows, const struct stmt_text_list *texts,
		       bool *kept)
{
	const struct pga_host *h = st->host;
	int rc = h->record_begin(em, "pg_stats");

	if (rc == PGA_OK)
		rc = h->set_string(em, "scope", "statements");
	if (rc == PGA_OK)
		rc = pg_value_set_text(h, em, "extversion", ext->text, strlen(ext->text));
	if (rc == PGA_OK)
		rc = emit_statements(h, em, c->rows, rows);
	if (rc == PGA_OK)
		rc = stmt_texts_emit(h, em, texts);
	if (rc == PGA_OK)
		rc = emit_info(h, em, c->info);
	return pg_record_end(h, em, rc, kept);
}

/* ---- the cycle ---- */

/*
 * The texts due among the first `rows` counters, read into `texts`.
 * Returns PGA_OK (no memory: logged, no texts this cycle) or PGA_ERROR
 * when the connection failed.
 */
static int read_due_texts(struct pgstats *st, const PGresult *counters, int rows,
			  struct stmt_text_list *texts)
{
	char *wanted = NULL;
	long due = stmt_texts_due(st, counters, rows, &wanted);
	int rc = PGA_OK;

	if (due < 0)
		stmt_log_out_of_memory(st, "choosing the query texts to send");
	else if (due > 0)
		rc = stmt_texts_read(st, wanted, texts);
	free(wanted);
	return rc;
}

/*
 * The counters were read: the texts, then the record.  A connection that
 * fails while the texts are read still gets the counters (and the texts
 * read so far) reported, and then PGA_ERROR.
 */
static int report(struct pgstats *st, struct pga_emitter *em, const struct extension *ext,
		  const struct counters *c)
{
	struct statements_state *ss = st->statements;
	struct stmt_text_list texts = { .items = NULL };
	int rows = rows_within_budget(st, c->rows);
	int texts_rc, rc;
	bool kept;

	ss->cycle++;
	texts_rc = read_due_texts(st, c->rows, rows, &texts);
	rc = emit_record(st, em, ext, c, rows, &texts, &kept);
	/* A record the emitter refused, or a late cycle's, did not carry its texts out. */
	if (kept && !st->host->deadline_exceeded(st->ctx))
		stmt_texts_mark_sent(&texts, pgstats_now_ns());
	stmt_texts_free(&texts);
	return rc == PGA_OK ? texts_rc : rc;
}

int statements_collect(struct pgstats *st, struct pga_emitter *em)
{
	struct extension ext;
	struct counters c = { .rows = NULL };
	int rc = find_extension(st, &ext);

	if (rc != PGA_OK || ext.state == EXTENSION_UNKNOWN)
		goto out;
	if (ext.state == EXTENSION_ABSENT) {
		log_absent(st);
		goto out;
	}
	pg_log_once_reset(&st->statements->absent);
	if (!version_usable(st, ext.version))
		goto out;
	if (!stmt_sql_prepare(&st->statements->sql, st->main.conn, ext.version, ext.schema,
			      st->cfg.statements_top)) {
		stmt_log_out_of_memory(st, "building the statements");
		goto out;
	}
	rc = read_counters(st, &c);
	if (rc == PGA_OK && counters_usable(st, &c))
		rc = report(st, em, &ext, &c);
out:
	clear_counters(&c);
	free(ext.schema);
	return rc;
}

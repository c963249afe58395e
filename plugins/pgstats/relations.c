/*
 * relations.c - the per-database records: every user table, index and
 * function of one database, and (every sizes_interval_s) their sizes; see
 * relations_sql.h for the statements and the lock guard.
 *
 * Each statement is read through a cursor, FETCH_ROWS at a time, into
 * records of at most CHUNK_ROWS rows in the columnar form, so that neither
 * libpq nor the plugin holds a whole result and no record nears the
 * emitter's size limit at 50,000 tables.  A summary record (scope "database") follows with
 * the counts, the bounds that cut rows, and the statements that failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_value.h"
#include "relations_sql.h"

#define CHUNK_ROWS 10000

enum section_kind {
	SECTION_TABLES, SECTION_INDEXES, SECTION_FUNCTIONS, SECTION_TABLE_SIZES,
	SECTION_INDEX_SIZES, N_SECTIONS
};

struct section_spec {
	const char *name;          /* the records' scope and the summary's member */
	const char *sql;           /* DECLARE of the cursor, $1 its parameter */
	const char *count_sql;     /* how many rows there are in all; NULL: not bounded */
	const char *oid_column;    /* remembered for the size statements; NULL: none */
	bool sizes;                /* a size statement: guarded, and only when due */
};

static const struct section_spec specs[N_SECTIONS] = {
	{ "tables", DECLARE_CURSOR(TABLES_SQL), COUNT_TABLES_SQL, "relid", false },
	{ "indexes", DECLARE_CURSOR(INDEXES_SQL), COUNT_INDEXES_SQL, "indexrelid", false },
	{ "functions", DECLARE_CURSOR(FUNCTIONS_SQL), COUNT_FUNCTIONS_SQL, NULL, false },
	{ "table_sizes", DECLARE_CURSOR(TABLE_SIZES_SQL), NULL, NULL, true },
	{ "index_sizes", DECLARE_CURSOR(INDEX_SIZES_SQL), NULL, NULL, true },
};

/* The oids one statement returned, as the text of an oid[] for the next. */
struct oid_list {
	char *text;
	size_t len;
	size_t cap;
};

struct section {
	const struct section_spec *spec;
	long long limit;            /* rows kept at most */
	long long rows;             /* rows emitted */
	long long size_skipped;     /* rows the lock guard kept from the size functions */
	int chunks;                 /* records emitted */
	bool ran;
	bool truncated;             /* more rows existed than limit */
	bool record_open;
	PGresult *error;            /* the statement's error, when it failed */
};

/* One database's visit. */
struct visit {
	struct pgstats *st;
	struct pga_emitter *em;
	struct pg_link *link;
	const char *datname;
	int emit_rc;                /* first emitter status of the open record that was not PGA_OK */
	bool deadline;              /* the emitter said the deadline has passed */
	bool oids_lost;             /* out of memory for an oid list: no sizes this cycle */
	struct oid_list oids[N_SECTIONS];
	struct section secs[N_SECTIONS];
};

static bool oid_list_add(struct oid_list *list, const char *oid)
{
	size_t len = strlen(oid);

	if (list->len + len + 3 > list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 4096;
		char *text;

		while (cap < list->len + len + 3)
			cap *= 2;
		if (!(text = realloc(list->text, cap)))
			return false;
		list->text = text;
		list->cap = cap;
	}
	char separator = list->len ? ',' : '{';

	list->text[list->len++] = separator;
	memcpy(list->text + list->len, oid, len);
	list->len += len;
	return true;
}

/* "{1,2,3}", or "{}" for none; the list must not grow afterwards. */
static const char *oid_list_text(struct oid_list *list)
{
	if (!list->len)
		return "{}";
	list->text[list->len] = '}';
	list->text[list->len + 1] = '\0';
	return list->text;
}

static bool emitting(const struct visit *v)
{
	return v->emit_rc == PGA_OK && !v->deadline;
}

static void emitted(struct visit *v, int rc)
{
	if (v->emit_rc == PGA_OK)
		v->emit_rc = rc;
}

static void open_chunk(struct visit *v, struct section *sec, const PGresult *res)
{
	const struct pga_host *host = v->st->host;
	int rc = host->record_begin(v->em, "pg_stats");

	if (rc != PGA_OK) {
		v->deadline = rc == PGA_EDEADLINE;
		return;
	}
	sec->record_open = true;
	rc = host->set_string(v->em, "scope", sec->spec->name);
	if (rc == PGA_OK)
		rc = pg_value_set_text(host, v->em, "database", v->datname, strlen(v->datname));
	if (rc == PGA_OK)
		rc = host->set_int64(v->em, "chunk", sec->chunks);
	if (rc == PGA_OK)
		rc = pg_value_emit_columns(host, v->em, "columns", res);
	if (rc == PGA_OK)
		rc = host->array_begin(v->em, "rows");
	emitted(v, rc);
}

/*
 * A chunk the emitter refused is still ended, so the emitter counts it;
 * the next chunk starts afresh.  Past the deadline nothing more is emitted.
 */
static void close_chunk(struct visit *v, struct section *sec)
{
	int rc = v->emit_rc;

	if (!sec->record_open)
		return;
	sec->record_open = false;
	sec->chunks++;
	if (rc == PGA_OK)
		rc = v->st->host->array_end(v->em);
	if (pg_record_end(v->st->host, v->em, rc, NULL) == PGA_EDEADLINE)
		v->deadline = true;
	v->emit_rc = PGA_OK;
}

/* Where the columns take_row looks at are, once per batch (PQfnumber copies and folds names). */
struct batch_columns {
	int skipped;      /* size_skipped; -1: none */
	int oid;          /* the spec's oid_column; -1: none */
};

static struct batch_columns find_columns(const struct section *sec, const PGresult *res)
{
	return (struct batch_columns){
		.skipped = PQfnumber(res, "size_skipped"),
		.oid = sec->spec->oid_column ? PQfnumber(res, sec->spec->oid_column) : -1,
	};
}

static void take_row(struct visit *v, struct section *sec, const PGresult *res, int row,
		     struct batch_columns cols)
{
	if (sec->rows >= sec->limit) {
		sec->truncated = true;
		return;
	}
	if (!sec->record_open && emitting(v))
		open_chunk(v, sec, res);
	if (emitting(v))
		emitted(v, pg_value_emit_cells(v->st->host, v->em, res, row));
	sec->rows++;
	if (cols.skipped >= 0 && PQgetvalue(res, row, cols.skipped)[0] == 't')
		sec->size_skipped++;
	if (cols.oid >= 0 && !oid_list_add(&v->oids[sec - v->secs], PQgetvalue(res, row, cols.oid)))
		v->oids_lost = true;
	if (sec->rows % CHUNK_ROWS == 0)
		close_chunk(v, sec);
}

/* A statement that must succeed for the section to go on; false keeps its error. */
static bool step(struct section *sec, PGresult *res, ExecStatusType expected)
{
	if (PQresultStatus(res) == expected) {
		PQclear(res);
		return true;
	}
	if (!sec->error)
		sec->error = res;
	else
		PQclear(res);
	return false;
}

/* Fetch the open cursor's rows until it is exhausted or a FETCH fails. */
static void fetch_rows(struct visit *v, struct section *sec)
{
	PGconn *conn = v->link->conn;
	int got;

	do {
		PGresult *res = PQexec(conn, FETCH_SQL);
		struct batch_columns cols;

		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			step(sec, res, PGRES_TUPLES_OK);
			return;
		}
		cols = find_columns(sec, res);
		got = PQntuples(res);
		for (int row = 0; row < got; row++)
			take_row(v, sec, res, row, cols);
		PQclear(res);
	} while (got == FETCH_ROWS);
}

/*
 * Run one section's statement and stream its rows.  The transaction ends
 * whatever happened, so the connection is ready for the next one.
 */
static void run_section(struct visit *v, struct section *sec, const char *param)
{
	PGconn *conn = v->link->conn;
	const char *params[1] = { param };

	sec->ran = true;
	if (step(sec, PQexec(conn, QUERY_TAG "BEGIN READ ONLY"), PGRES_COMMAND_OK) &&
	    step(sec, PQexecParams(conn, sec->spec->sql, 1, NULL, params, NULL, NULL, 0),
		 PGRES_COMMAND_OK))
		fetch_rows(v, sec);
	close_chunk(v, sec);
	/* COMMIT ends a failed transaction too (as a rollback). */
	PQclear(PQexec(conn, QUERY_TAG "COMMIT"));
}

static bool sizes_due(struct visit *v)
{
	uint64_t now = pgstats_now_ns();
	uint64_t every = (uint64_t)v->st->cfg.sizes_interval_s * 1000000000ull;

	if (v->link->sizes_at_ns && now - v->link->sizes_at_ns < every)
		return false;
	v->link->sizes_at_ns = now;
	return true;
}

static void run_sections(struct visit *v)
{
	char limit[N_SECTIONS][32];
	bool sizes = sizes_due(v);

	for (int i = 0; i < N_SECTIONS; i++) {
		/* One row more than kept tells whether the bound was hit. */
		snprintf(limit[i], sizeof(limit[i]), "%lld", v->secs[i].limit + 1);
		if (v->deadline || v->st->host->deadline_exceeded(v->st->ctx))
			break;
		if (!specs[i].sizes)
			run_section(v, &v->secs[i], limit[i]);
		else if (sizes && !v->oids_lost)
			run_section(v, &v->secs[i],
				    oid_list_text(&v->oids[i == SECTION_TABLE_SIZES ? SECTION_TABLES
										  : SECTION_INDEXES]));
	}
}

/* How many rows a bounded section had in all; -1 when that cannot be read. */
static long long count_rows(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	long long total = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return total;
}

static int emit_section_summary(struct visit *v, const struct section *sec)
{
	const struct pga_host *host = v->st->host;
	int rc = host->object_begin(v->em, sec->spec->name);

	if (rc == PGA_OK)
		rc = host->set_int64(v->em, "count", sec->rows);
	if (rc == PGA_OK)
		rc = host->set_int64(v->em, "records", sec->chunks);
	if (rc == PGA_OK && !sec->spec->sizes)
		rc = host->set_bool(v->em, "truncated", sec->truncated);
	if (rc == PGA_OK && sec->truncated)
		rc = host->set_int64(v->em, "total", count_rows(v->link->conn, sec->spec->count_sql));
	if (rc == PGA_OK && sec->spec->sizes)
		rc = host->set_int64(v->em, "size_skipped", sec->size_skipped);
	/* A statement that failed half way: the rows before are kept, and marked. */
	if (rc == PGA_OK)
		rc = host->set_bool(v->em, "complete", sec->error == NULL);
	return rc == PGA_OK ? host->object_end(v->em) : rc;
}

static int emit_errors(struct visit *v)
{
	int rc = PGA_OK;
	bool any = false;

	for (int i = 0; i < N_SECTIONS; i++)
		any |= v->secs[i].error != NULL;
	if (!any)
		return PGA_OK;
	rc = v->st->host->array_begin(v->em, "errors");
	for (int i = 0; i < N_SECTIONS && rc == PGA_OK; i++)
		if (v->secs[i].error)
			rc = pg_value_emit_error(v->st->host, v->em, v->secs[i].spec->name,
						 v->secs[i].error);
	return rc == PGA_OK ? v->st->host->array_end(v->em) : rc;
}

static int emit_summary_members(struct visit *v)
{
	const struct pga_host *host = v->st->host;
	int rc = host->set_string(v->em, "scope", "database");

	if (rc == PGA_OK)
		rc = pg_value_set_text(host, v->em, "database", v->datname, strlen(v->datname));
	for (int i = 0; i < N_SECTIONS && rc == PGA_OK; i++)
		if (v->secs[i].ran)
			rc = emit_section_summary(v, &v->secs[i]);
	return rc == PGA_OK ? emit_errors(v) : rc;
}

static void emit_summary(struct visit *v)
{
	int rc = v->st->host->record_begin(v->em, "pg_stats");

	if (rc == PGA_OK)
		rc = emit_summary_members(v);
	if (pg_record_end(v->st->host, v->em, rc, NULL) == PGA_EDEADLINE)
		v->deadline = true;
}

/*
 * A failing statement is logged when it starts failing and when the cut
 * by a bound starts, not every cycle: the summary record has them all.
 */
static void log_changes(struct visit *v)
{
	struct pg_link *link = v->link;

	for (int i = 0; i < N_SECTIONS; i++) {
		uint32_t bit = 1u << i;
		char message[512];

		if (!v->secs[i].ran)
			continue;
		if (v->secs[i].error && !(link->failing_sections & bit))
			v->st->host->log(v->st->ctx, PGA_LOG_WARNING, "database %s, %s: %s",
					 v->datname, specs[i].name,
					 pg_result_error_line(v->secs[i].error, message,
							      sizeof(message)));
		link->failing_sections = v->secs[i].error ? link->failing_sections | bit
							  : link->failing_sections & ~bit;
		if (v->secs[i].truncated && !(link->truncated_sections & bit))
			v->st->host->log(v->st->ctx, PGA_LOG_WARNING,
					 "database %s has more %s than the bound of %lld; the "
					 "busiest are reported", v->datname, specs[i].name,
					 v->secs[i].limit);
		link->truncated_sections = v->secs[i].truncated ? link->truncated_sections | bit
								: link->truncated_sections & ~bit;
	}
}

static void init_visit(struct visit *v, struct pgstats *st, struct pg_link *link,
		       struct pga_emitter *em)
{
	*v = (struct visit){ .st = st, .em = em, .link = link, .datname = PQdb(link->conn) };
	for (int i = 0; i < N_SECTIONS; i++)
		v->secs[i] = (struct section){ .spec = &specs[i], .limit = st->cfg.max_tables };
	v->secs[SECTION_INDEXES].limit = st->cfg.max_indexes;
	v->secs[SECTION_INDEX_SIZES].limit = st->cfg.max_indexes;
}

static void free_visit(struct visit *v)
{
	for (int i = 0; i < N_SECTIONS; i++) {
		PQclear(v->secs[i].error);
		free(v->oids[i].text);
	}
}

int relations_collect(struct pgstats *st, struct pg_link *link, struct pga_emitter *em)
{
	struct visit v;
	int rc;

	init_visit(&v, st, link, em);
	run_sections(&v);
	if (PQstatus(link->conn) == CONNECTION_BAD) {
		free_visit(&v);
		return PGA_ERROR;
	}
	emit_summary(&v);
	log_changes(&v);
	if (v.oids_lost)
		st->host->log(st->ctx, PGA_LOG_WARNING, "database %s: out of memory for the list of "
			      "relations to measure; no sizes this cycle", v.datname);
	rc = v.deadline ? PGA_EDEADLINE : PGA_OK;
	free_visit(&v);
	return rc;
}

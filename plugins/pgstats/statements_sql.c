/*
 * statements_sql.c - the statements that read pg_stat_statements.
 *
 * What is read depends on the installed extension's version (extversion),
 * not on the server's: an upgraded server can run an older extension.
 * The query column is never among the counters: pg_stat_statements(false)
 * skips reading the texts file, and the texts come from their own
 * statement, only for the entries whose texts are due.
 */
#include "statements_sql.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgstats.h"

/*
 * The counters, in pg_stat_statements()'s own order, with the extension
 * versions that have each: since `since`, up to `until` (0: still there).
 */
static const struct counter_column {
	const char *name;
	int since;
	int until;
} counter_columns[] = {
	{ "userid", STMT_V1_8, 0 },
	{ "dbid", STMT_V1_8, 0 },
	{ "toplevel", STMT_V1_9, 0 },
	{ "queryid", STMT_V1_8, 0 },
	{ "plans", STMT_V1_8, 0 },
	{ "total_plan_time", STMT_V1_8, 0 },
	{ "min_plan_time", STMT_V1_8, 0 },
	{ "max_plan_time", STMT_V1_8, 0 },
	{ "mean_plan_time", STMT_V1_8, 0 },
	{ "stddev_plan_time", STMT_V1_8, 0 },
	{ "calls", STMT_V1_8, 0 },
	{ "total_exec_time", STMT_V1_8, 0 },
	{ "min_exec_time", STMT_V1_8, 0 },
	{ "max_exec_time", STMT_V1_8, 0 },
	{ "mean_exec_time", STMT_V1_8, 0 },
	{ "stddev_exec_time", STMT_V1_8, 0 },
	{ "rows", STMT_V1_8, 0 },
	{ "shared_blks_hit", STMT_V1_8, 0 },
	{ "shared_blks_read", STMT_V1_8, 0 },
	{ "shared_blks_dirtied", STMT_V1_8, 0 },
	{ "shared_blks_written", STMT_V1_8, 0 },
	{ "local_blks_hit", STMT_V1_8, 0 },
	{ "local_blks_read", STMT_V1_8, 0 },
	{ "local_blks_dirtied", STMT_V1_8, 0 },
	{ "local_blks_written", STMT_V1_8, 0 },
	{ "temp_blks_read", STMT_V1_8, 0 },
	{ "temp_blks_written", STMT_V1_8, 0 },
	{ "blk_read_time", STMT_V1_8, STMT_V1_10 },
	{ "blk_write_time", STMT_V1_8, STMT_V1_10 },
	{ "shared_blk_read_time", STMT_V1_11, 0 },
	{ "shared_blk_write_time", STMT_V1_11, 0 },
	{ "local_blk_read_time", STMT_V1_11, 0 },
	{ "local_blk_write_time", STMT_V1_11, 0 },
	{ "temp_blk_read_time", STMT_V1_10, 0 },
	{ "temp_blk_write_time", STMT_V1_10, 0 },
	{ "wal_records", STMT_V1_8, 0 },
	{ "wal_fpi", STMT_V1_8, 0 },
	{ "wal_bytes", STMT_V1_8, 0 },
	{ "wal_buffers_full", STMT_V1_12, 0 },
	{ "jit_functions", STMT_V1_10, 0 },
	{ "jit_generation_time", STMT_V1_10, 0 },
	{ "jit_inlining_count", STMT_V1_10, 0 },
	{ "jit_inlining_time", STMT_V1_10, 0 },
	{ "jit_optimization_count", STMT_V1_10, 0 },
	{ "jit_optimization_time", STMT_V1_10, 0 },
	{ "jit_emission_count", STMT_V1_10, 0 },
	{ "jit_emission_time", STMT_V1_10, 0 },
	{ "jit_deform_count", STMT_V1_11, 0 },
	{ "jit_deform_time", STMT_V1_11, 0 },
	{ "parallel_workers_to_launch", STMT_V1_12, 0 },
	{ "parallel_workers_launched", STMT_V1_12, 0 },
	{ "stats_since", STMT_V1_11, 0 },
	{ "minmax_stats_since", STMT_V1_11, 0 },
};

#define N_COUNTER_COLUMNS (sizeof(counter_columns) / sizeof(counter_columns[0]))

/*
 * The query cut to STMT_TEXT_MAX_BYTES bytes of UTF-8 (what the record
 * carries), whatever the database's encoding: t.utf8 is the text as UTF-8
 * (bytea).  When it is longer, the cut steps back over up to three
 * continuation bytes (10xxxxxx) so that it falls between two characters,
 * and the bytes kept are converted back to text.  Cutting on the server
 * keeps a long text from crossing the network whole; left() would count
 * characters, up to four bytes each.
 */
#define STR_(x) #x
#define STR(x) STR_(x)
#define MAX_BYTES STR(STMT_TEXT_MAX_BYTES)
#define CUT_TEXT_SQL                                                                        \
	"CASE WHEN octet_length(t.utf8) <= " MAX_BYTES " THEN s.query "                     \
	"ELSE convert_from(substring(t.utf8 FROM 1 FOR " MAX_BYTES " - CASE "                \
	"WHEN get_byte(t.utf8, " MAX_BYTES ") & 192 <> 128 THEN 0 "                          \
	"WHEN get_byte(t.utf8, " MAX_BYTES " - 1) & 192 <> 128 THEN 1 "                      \
	"WHEN get_byte(t.utf8, " MAX_BYTES " - 2) & 192 <> 128 THEN 2 ELSE 3 END), 'UTF8') " \
	"END AS query, octet_length(t.utf8) > " MAX_BYTES " AS truncated "

int stmt_parse_extversion(const char *text)
{
	int major, minor, used = 0;

	if (sscanf(text, "%d.%d%n", &major, &minor, &used) != 2 || text[used] || major < 0 ||
	    minor < 0 || minor > 99 || major > 99)
		return 0;
	return major * 100 + minor;
}

/* A version newer than the newest known is read with the newest known columns. */
static bool column_applies(const struct counter_column *c, int version)
{
	if (version > STMT_NEWEST_KNOWN)
		version = STMT_NEWEST_KNOWN;
	return version >= c->since && (c->until == 0 || version <= c->until);
}

/* "s.userid, s.dbid, ..." for `version`; malloc'd. */
static char *counter_list(int version)
{
	size_t size = 1, used = 0;
	char *list;

	for (size_t i = 0; i < N_COUNTER_COLUMNS; i++)
		size += strlen(counter_columns[i].name) + 4;
	list = malloc(size);
	if (!list)
		return NULL;
	list[0] = '\0';
	for (size_t i = 0; i < N_COUNTER_COLUMNS; i++)
		if (column_applies(&counter_columns[i], version))
			used += (size_t)snprintf(list + used, size - used, "%ss.%s",
						 used ? ", " : "", counter_columns[i].name);
	return list;
}

static char *format_sql(const char *fmt, ...) PGA_PRINTF(1, 2);

static char *format_sql(const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : text;
}

/*
 * The busiest entries.  When bounded, count(*) OVER () is computed over
 * every entry before the LIMIT applies, so one call of the function gives
 * both the rows and how many entries there are.
 */
static char *counters_sql(const char *columns, const char *schema, int64_t top)
{
	if (top == 0)
		return format_sql(QUERY_TAG "SELECT %s FROM %s.pg_stat_statements(false) s "
					    "ORDER BY s.total_exec_time DESC",
				  columns, schema);
	return format_sql(QUERY_TAG "SELECT %s, count(*) OVER () AS " STMT_ENTRIES_COLUMN " "
				    "FROM %s.pg_stat_statements(false) s "
				    "ORDER BY s.total_exec_time DESC LIMIT %lld",
			  columns, schema, (long long)top);
}

/*
 * The texts of the queryids in $1.  OFFSET 0 keeps t a subquery of its
 * own, so the conversion runs once per row, not once per use.
 */
static char *texts_sql(int version, const char *schema)
{
	return format_sql(QUERY_TAG "SELECT s.userid, s.dbid, %s s.queryid, " CUT_TEXT_SQL
				    "FROM %s.pg_stat_statements(true) s CROSS JOIN LATERAL "
				    "(SELECT convert_to(s.query, 'UTF8') AS utf8 OFFSET 0) t "
				    "WHERE s.queryid = ANY ($1::int8[])",
			  version >= STMT_V1_9 ? "s.toplevel," : "", schema);
}

static bool built_for(const struct stmt_sql *sql, int version, const char *schema, int64_t top)
{
	return sql->version == version && sql->top == top && sql->schema &&
	       strcmp(sql->schema, schema) == 0;
}

static bool build(struct stmt_sql *sql, int version, const char *schema, int64_t top)
{
	char *columns = counter_list(version);

	sql->schema = strdup(schema);
	if (columns && sql->schema) {
		sql->counters = counters_sql(columns, schema, top);
		sql->info = format_sql(QUERY_TAG "SELECT dealloc, stats_reset "
						 "FROM %s.pg_stat_statements_info",
				       schema);
		sql->texts = texts_sql(version, schema);
	}
	free(columns);
	if (!sql->schema || !sql->counters || !sql->info || !sql->texts) {
		stmt_sql_free(sql);
		return false;
	}
	sql->version = version;
	sql->top = top;
	return true;
}

bool stmt_sql_prepare(struct stmt_sql *sql, PGconn *conn, int version, const char *nspname,
		      int64_t top)
{
	char *schema = PQescapeIdentifier(conn, nspname, strlen(nspname));
	bool ok;

	if (!schema)
		return false;
	ok = built_for(sql, version, schema, top);
	if (!ok) {
		stmt_sql_free(sql);
		ok = build(sql, version, schema, top);
	}
	PQfreemem(schema);
	return ok;
}

void stmt_sql_free(struct stmt_sql *sql)
{
	free(sql->schema);
	free(sql->counters);
	free(sql->info);
	free(sql->texts);
	*sql = (struct stmt_sql){ .version = 0 };
}

/*
 * relations_sql.h - the per-database statements of relations.c.
 *
 * The statistics statements touch no relation: they read the statistics
 * views only.  The size statements open every relation they measure, so
 * they run only for the relations the statistics statements returned
 * (passed back as an oid[]), and only every sizes_interval_s.
 *
 * Each runs as a cursor, fetched FETCH_ROWS at a time: libpq then holds
 * one batch, not the whole result, and builds one result per batch, not
 * one per row as single-row mode does (most of the client's CPU at 10,000
 * tables).  Each FETCH is its own statement for statement_timeout.
 *
 * Lock guard: a size function takes an AccessShareLock, which queues behind
 * a granted or waiting AccessExclusiveLock, and every session that comes
 * after the collector would queue behind it.  A table whose heap, toast
 * table, toast index or any index has such a lock is not measured; neither
 * are its indexes.
 */
#ifndef PGSTATS_RELATIONS_SQL_H
#define PGSTATS_RELATIONS_SQL_H

#include "pgstats.h"

/* Tables of this database whose relation, toast, toast index or index has an AccessExclusiveLock. */
#define LOCKED_TABLES_CTE \
	"WITH locked AS MATERIALIZED (SELECT DISTINCT relation FROM pg_locks " \
	"WHERE locktype = 'relation' AND mode = 'AccessExclusiveLock' " \
	"AND database = (SELECT oid FROM pg_database WHERE datname = current_database())), " \
	"locked_tables AS MATERIALIZED (" \
	"SELECT relation AS relid FROM locked " \
	"UNION SELECT i.indrelid FROM pg_index i JOIN locked l ON l.relation = i.indexrelid " \
	"UNION SELECT c.oid FROM pg_class c JOIN locked l ON l.relation = c.reltoastrelid " \
	"UNION SELECT c.oid FROM pg_class c JOIN pg_index i ON i.indrelid = c.reltoastrelid " \
	"JOIN locked l ON l.relation = i.indexrelid) "

#define UNLESS_SKIPPED(expr) "CASE WHEN NOT t.size_skipped THEN " expr " END"

/* Busiest first, so that a bound keeps the tables that matter. */
#define TABLES_SQL \
	"SELECT s.*, io.heap_blks_read, io.heap_blks_hit, io.idx_blks_read, " \
	"io.idx_blks_hit, io.toast_blks_read, io.toast_blks_hit, io.tidx_blks_read, " \
	"io.tidx_blks_hit FROM pg_stat_user_tables s JOIN pg_statio_user_tables io USING (relid) " \
	"ORDER BY coalesce(s.seq_scan, 0) + coalesce(s.idx_scan, 0) + s.n_tup_ins + s.n_tup_upd " \
	"+ s.n_tup_del DESC, s.relid LIMIT $1"

#define INDEXES_SQL \
	"SELECT s.*, io.idx_blks_read, io.idx_blks_hit, i.indisunique AS is_unique, " \
	"i.indisprimary AS is_primary, i.indisvalid AS is_valid, " \
	"(s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary) AS unused " \
	"FROM pg_stat_user_indexes s JOIN pg_statio_user_indexes io USING (indexrelid) " \
	"JOIN pg_index i ON i.indexrelid = s.indexrelid " \
	"ORDER BY s.idx_scan DESC, s.indexrelid LIMIT $1"

#define FUNCTIONS_SQL \
	"SELECT * FROM pg_stat_user_functions ORDER BY total_time DESC, funcid LIMIT $1"

/*
 * $1: the tables' oids.  total_bytes is the table (heap, maps, toast) plus
 * its indexes, from the two sizes already read rather than a third pass
 * over the same files.  OFFSET 0 keeps the planner from evaluating the
 * size functions before the guard's CASE.
 */
#define TABLE_SIZES_SQL \
	LOCKED_TABLES_CTE \
	"SELECT z.relid, z.size_skipped, z.heap_bytes, z.toast_bytes, z.indexes_bytes, " \
	"z.table_bytes + z.indexes_bytes AS total_bytes FROM (SELECT t.relid, t.size_skipped, " \
	UNLESS_SKIPPED("pg_relation_size(t.relid)") " AS heap_bytes, " \
	UNLESS_SKIPPED("CASE WHEN t.toast_relid <> 0 " \
		       "THEN pg_total_relation_size(t.toast_relid) ELSE 0 END") " AS toast_bytes, " \
	UNLESS_SKIPPED("pg_indexes_size(t.relid)") " AS indexes_bytes, " \
	UNLESS_SKIPPED("pg_table_size(t.relid)") " AS table_bytes " \
	"FROM (SELECT c.oid AS relid, c.reltoastrelid AS toast_relid, " \
	"k.relid IS NOT NULL AS size_skipped " \
	"FROM unnest($1::oid[]) WITH ORDINALITY AS r(relid, n) JOIN pg_class c ON c.oid = r.relid " \
	"LEFT JOIN locked_tables k ON k.relid = c.oid ORDER BY r.n OFFSET 0) t OFFSET 0) z"

/* $1: the indexes' oids; an index is skipped with its table. */
#define INDEX_SIZES_SQL \
	LOCKED_TABLES_CTE \
	"SELECT t.indexrelid, t.size_skipped, " \
	UNLESS_SKIPPED("pg_relation_size(t.indexrelid)") " AS size_bytes " \
	"FROM (SELECT i.indexrelid, k.relid IS NOT NULL AS size_skipped " \
	"FROM unnest($1::oid[]) WITH ORDINALITY AS r(indexrelid, n) " \
	"JOIN pg_index i ON i.indexrelid = r.indexrelid " \
	"LEFT JOIN locked_tables k ON k.relid = i.indrelid ORDER BY r.n OFFSET 0) t"

#define CURSOR_NAME "pganalytics_rows"
#define DECLARE_CURSOR(query) QUERY_TAG "DECLARE " CURSOR_NAME " NO SCROLL CURSOR FOR " query
#define FETCH_ROWS 2000
#define FETCH_SQL QUERY_TAG "FETCH 2000 FROM " CURSOR_NAME

#define COUNT_TABLES_SQL QUERY_TAG "SELECT count(*) FROM pg_stat_user_tables"
#define COUNT_INDEXES_SQL QUERY_TAG "SELECT count(*) FROM pg_stat_user_indexes"
#define COUNT_FUNCTIONS_SQL QUERY_TAG "SELECT count(*) FROM pg_stat_user_functions"

#endif

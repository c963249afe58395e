/*
 * statements_sql.h - the statements that read pg_stat_statements, built
 * for the installed extension's version (its columns), its schema and
 * statements_top.
 */
#ifndef PGSTATS_STATEMENTS_SQL_H
#define PGSTATS_STATEMENTS_SQL_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

/* Extension versions as major * 100 + minor: "1.10" is 110. */
#define STMT_V1_8 108
#define STMT_V1_9 109
#define STMT_V1_10 110
#define STMT_V1_11 111
#define STMT_V1_12 112
#define STMT_NEWEST_KNOWN STMT_V1_12

/* Query texts are cut by the server to this many UTF-8 bytes, at a character boundary. */
#define STMT_TEXT_MAX_BYTES 65536

/*
 * The counters statement's extra column: how many entries the extension
 * has in all (count(*) OVER ()), for "total".  Present only when the rows
 * are bounded (statements_top > 0); not a counter, so it is not emitted
 * as one.
 */
#define STMT_ENTRIES_COLUMN "pga_entries"

struct stmt_sql {
	/* What the statements were built for; version 0: nothing built. */
	int version;
	char *schema;             /* quoted */
	int64_t top;
	/* The statements (malloc'd). */
	char *counters;           /* the busiest `top` entries, without texts */
	char *info;               /* pg_stat_statements_info (1.9+) */
	char *texts;              /* the texts of the entries whose queryid is in $1 (int8[]) */
};

/* stmt_parse_extversion - "1.10" -> 110; 0 when it is not MAJOR.MINOR. */
int stmt_parse_extversion(const char *text);

/*
 * stmt_sql_prepare - build the statements for extension `version` in
 * schema `nspname` (quoted here, with conn's rules) and `top`, unless
 * they are built for those already.  False when out of memory (nothing
 * is left built).
 */
bool stmt_sql_prepare(struct stmt_sql *sql, PGconn *conn, int version, const char *nspname,
		      int64_t top);

/* stmt_sql_free - free the statements; the struct can be prepared again. */
void stmt_sql_free(struct stmt_sql *sql);

#endif

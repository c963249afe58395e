/*
 * pg_value.h - emit a libpq result row as typed values: the type of each
 * column (its OID) decides between integer, double, bool, string and null,
 * so that every column a server version has is reported without a list per
 * version.
 */
#ifndef PGSTATS_PG_VALUE_H
#define PGSTATS_PG_VALUE_H

#include <libpq-fe.h>
#include <pganalytics/plugin.h>

/*
 * pg_value_emit_row - one set_* call per column of `row`, keyed by the
 * column name, into the object the emitter has open.
 */
void pg_value_emit_row(const struct pga_host *host, struct pga_emitter *em, const PGresult *res,
		       int row);

#endif

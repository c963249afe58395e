/*
 * pg_value.h - emit libpq results as typed values, and what every part of
 * the plugin needs around its records.
 *
 * Values: the type of each column (its OID) decides between integer,
 * double, bool, string and null, so that every column a server version has
 * is reported without a list per version.
 *
 * UTF-8: the emitter refuses a string that is not valid UTF-8 and drops
 * the whole record for it.  The server does not guarantee valid UTF-8 even
 * with client_encoding UTF8: names in shared catalogs (pg_database) and
 * texts kept by other backends (pg_stat_activity) are passed on as the
 * bytes some other database's encoding wrote (SQL_ASCII lets any byte
 * in).  So every string these functions emit, values and keys alike, is
 * made valid first: valid text is passed as it is (no copy); otherwise
 * each byte that is not part of a valid UTF-8 character becomes
 * PG_VALUE_INVALID_BYTE in a copy of the same length.
 *
 * Return values: every emitting function returns PGA_OK or the first
 * emitter status that was not, so a record ends with pg_record_end.
 */
#ifndef PGSTATS_PG_VALUE_H
#define PGSTATS_PG_VALUE_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>
#include <pganalytics/plugin.h>

/* What stands for each byte that is not part of valid UTF-8 (one byte: lengths do not change). */
#define PG_VALUE_INVALID_BYTE '?'

/*
 * pg_value_emit_row - one set_* call per column of `row`, keyed by the
 * column name, into the object the emitter has open.
 */
int pg_value_emit_row(const struct pga_host *host, struct pga_emitter *em, const PGresult *res,
		      int row);

/*
 * pg_value_emit_cells - `row` as one array of unkeyed values, in column
 * order, appended to the array the emitter has open (the columnar form:
 * see pg_value_emit_columns).
 */
int pg_value_emit_cells(const struct pga_host *host, struct pga_emitter *em, const PGresult *res,
			int row);

/*
 * pg_value_emit_cells_except - pg_value_emit_cells without column
 * `skip_col` (none when negative): a column the statement computes for
 * the plugin itself, such as a count(*) OVER () total, stays out of the
 * rows.  Pair it with pg_value_emit_columns_except and the same skip_col.
 */
int pg_value_emit_cells_except(const struct pga_host *host, struct pga_emitter *em,
			       const PGresult *res, int row, int skip_col);

/* pg_value_emit_columns - the column names of `res` as an array of strings under `key`. */
int pg_value_emit_columns(const struct pga_host *host, struct pga_emitter *em, const char *key,
			  const PGresult *res);

/* pg_value_emit_columns_except - pg_value_emit_columns without column `skip_col`. */
int pg_value_emit_columns_except(const struct pga_host *host, struct pga_emitter *em,
				 const char *key, const PGresult *res, int skip_col);

/*
 * pg_value_set_text - set_stringn for text that may not be valid UTF-8
 * (see the top of this file): `key` (NULL inside an array) and the `len`
 * bytes of `text`.  The key is not checked: pass a literal.
 */
int pg_value_set_text(const struct pga_host *host, struct pga_emitter *em, const char *key,
		      const char *text, size_t len);

/*
 * pg_value_emit_error - the object {"part": part, "sqlstate": ...,
 * "message": the first line of the primary message} of a statement the
 * server refused, appended to the array the emitter has open (a record's
 * "errors").  A NULL `res` (no result at all) gives sqlstate "" and the
 * message "no result".
 */
int pg_value_emit_error(const struct pga_host *host, struct pga_emitter *em, const char *part,
			const PGresult *res);

/*
 * pg_record_end - end the open record after its emitter calls, `rc` being
 * the first of their statuses that was not PGA_OK (or PGA_OK):
 *   PGA_OK       record_end keeps the record;
 *   PGA_EINVAL,
 *   PGA_ENOMEM   the emitter has poisoned the record: record_end drops it
 *                and the host counts and logs it;
 *   PGA_EDEADLINE nothing is called (the cycle's records are lost anyway).
 * Returns PGA_OK, also for a dropped record, so that the plugin's other
 * parts and records still go out; or PGA_EDEADLINE, to be returned from
 * collect at once.  *kept (NULL: not wanted) says whether the record was
 * kept.  `rc` must come from emitter calls or these helpers: a record is
 * dropped only when the emitter poisoned it, so a part does its own work
 * that can fail (memory, queries) before record_begin.
 */
int pg_record_end(const struct pga_host *host, struct pga_emitter *em, int rc, bool *kept);

/*
 * Logging a failure once per streak.  A part that fails every cycle
 * (a refused statement, a missing extension) logs it once, at the level
 * the caller gives, with repeats at debug level, until pg_log_once_reset
 * records a success; the next failure is then logged at that level again.
 * Zero-initialised (or after a reset) nothing has been logged.
 */
struct pg_log_once {
	bool logged;   /* this streak's failure was logged at its level */
};

/* pg_log_once - log `fmt` at `level` if nothing was logged in this streak, else at debug level. */
void pg_log_once(const struct pga_host *host, struct pga_ctx *ctx, struct pg_log_once *once,
		 int level, const char *fmt, ...) PGA_PRINTF(5, 6);

/* pg_log_once_reset - the condition ended: its next failure is logged at its level. */
void pg_log_once_reset(struct pg_log_once *once);

#endif

/*
 * report.h - what one cycle's entries add up to: counts by severity,
 * SQLSTATE (and class), database, user and application; events; a sample
 * of error messages with their literals masked.  Emitted into the cycle's
 * pg_log record (docs/PAYLOAD.md) and then cleared.
 */
#ifndef PGLOG_REPORT_H
#define PGLOG_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pganalytics/plugin.h>

#include "entry.h"
#include "log_time.h"

struct report_options {
	int min_severity;                /* enum pglog_severity; entries below are not reported */
	const char *const *databases;    /* shell patterns; NULL-terminated */
	const char *const *exclude_databases;
	bool bind_parameters;            /* the DETAIL "parameters: ..." of slow statements */
	double slow_statement_ms;        /* durations below are counted, not listed */
	size_t max_events, max_errors, max_keys, max_text;
};

struct report;

/* report_new - an empty report; the options' arrays must outlive it.  NULL when out of memory. */
struct report *report_new(const struct report_options *opts);
void report_free(struct report *r);
/*
 * report_set_zone - the zone of log_timezone (log_time.h), which gives
 * events their Unix `time`; NULL: only UTC and numeric zones.  Borrowed:
 * it must stay valid until the next call or report_free.
 */
void report_set_zone(struct report *r, const struct log_zone *zone);
/* report_entry - count one complete entry (filters apply here). */
void report_entry(struct report *r, const struct pglog_entry *e);
/* report_emit - the report's members into the open record; then the report starts again. */
void report_emit(struct report *r, const struct pga_host *h, struct pga_emitter *em);

/*
 * emit_text - set_stringn with invalid UTF-8 (and NUL) replaced by U+FFFD,
 * so that bytes from a log file never make the emitter drop the record.
 */
int emit_text(const struct pga_host *h, struct pga_emitter *em, const char *key,
	      const char *text, size_t len);

#endif

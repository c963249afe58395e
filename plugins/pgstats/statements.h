/*
 * statements.h - what the files of the pg_stat_statements part share.
 *
 *   statements.c        a cycle: find the extension, read the counters,
 *                       have the due texts read, emit the record
 *   statements_sql.c    the statements, for the extension's version
 *   statements_keys.c   the entries seen, and when their texts were sent
 *   statements_texts.c  which texts are due; reading and emitting them
 */
#ifndef PGSTATS_STATEMENTS_H
#define PGSTATS_STATEMENTS_H

#include <stdint.h>

#include "pg_value.h"
#include "pgstats.h"
#include "statements_keys.h"
#include "statements_sql.h"

struct statements_state {
	struct stmt_key_set keys;
	uint64_t cycle;              /* counts the cycles that read the counters */
	struct stmt_sql sql;
	int version_logged;          /* the unsupported or untested version last logged about */
	/* Conditions logged once per streak (see pg_log_once). */
	struct pg_log_once absent;   /* the extension is not installed */
	struct pg_log_once not_loaded;
	struct pg_log_once lookup;   /* looking for the extension was refused */
	struct pg_log_once counters; /* reading the counters was refused */
	struct pg_log_once info;     /* pg_stat_statements_info was refused */
	struct pg_log_once texts;    /* reading the texts was refused */
	struct pg_log_once budget;   /* not every row fit in the record */
};

/* stmt_log_out_of_memory - log that the part gives up `what` for this cycle. */
void stmt_log_out_of_memory(struct pgstats *st, const char *what);

#endif

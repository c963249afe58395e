/*
 * events.h - what a log entry means: a slow statement, a checkpoint, an
 * autovacuum run, a lock wait, an authentication failure...  Recognised by
 * SQLSTATE where the server gives one, else by the English message text
 * (lc_messages = 'C' or 'en' on the server; see docs/PAYLOAD.md).
 */
#ifndef PGLOG_EVENTS_H
#define PGLOG_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "entry.h"

enum pglog_event_kind {
	EVENT_NONE = 0,
	EVENT_SLOW_STATEMENT,
	EVENT_CHECKPOINT_STARTING,
	EVENT_CHECKPOINT_COMPLETE,
	EVENT_AUTOVACUUM,
	EVENT_AUTOANALYZE,
	EVENT_LOCK_WAIT,
	EVENT_DEADLOCK,
	EVENT_AUTH_FAILURE,
	EVENT_CONNECTION_FAILURE,
	EVENT_TOO_MANY_CONNECTIONS,
	EVENT_TEMP_FILE,
	EVENT_SERVER_START,
	EVENT_SERVER_SHUTDOWN,
	EVENT_SERVER_CRASH,
	EVENT_ARCHIVE_FAILURE,
	EVENT_KIND_COUNT
};

/* Numbers read from the message; which ones are set depends on the kind. */
struct pglog_event_numbers {
	double duration_ms;          /* slow statement, lock wait */
	int64_t buffers;             /* checkpoint complete: buffers written */
	double buffers_pct;
	double write_s, sync_s, total_s;
	int64_t distance_kb, estimate_kb;
	double elapsed_s;            /* autovacuum, autoanalyze */
	int64_t tuples_removed;      /* autovacuum */
	int64_t size_bytes;          /* temp file */
	int64_t exit_code;           /* archive failure */
	bool has_duration, has_checkpoint, has_elapsed, has_tuples, has_size, has_exit_code;
	/* Where the text of interest is in the message (a statement, a table). */
	const char *text;
	size_t text_len;
	const char *text_name;       /* its key in the event: "statement", "table", "lock"... */
};

/* event_classify - the kind of event e is (EVENT_NONE for most entries) and its numbers. */
int event_classify(const struct pglog_entry *e, struct pglog_event_numbers *n);
/* event_kind_name - "slow_statement", "checkpoint_complete"... */
const char *event_kind_name(int kind);

#endif

/*
 * tail.h - following the server's log files without losing or repeating a
 * line: a file, every log file of a directory, or a glob.
 *
 * Files are known by device and inode, so a rename (rotation by logrotate,
 * or a file moved aside) keeps its position; a file that shrank was
 * truncated (copytruncate) and is read again from its start; a new name
 * (log_filename with a time stamp) is read from its start.  Older files are
 * read to their end before newer ones.  The position of each file is saved
 * after every cycle (positions.h) and only ever covers whole lines (whole
 * records for csvlog), so a restart resumes exactly.
 */
#ifndef PGLOG_TAIL_H
#define PGLOG_TAIL_H

#include <stdbool.h>
#include <stdint.h>

#include <pganalytics/plugin.h>

#include "parser.h"
#include "report.h"

struct tail_options {
	const char *target;          /* file, directory or glob (copied) */
	int format;                  /* enum pglog_format */
	const char *log_line_prefix; /* stderr only */
	bool start_at_end;           /* the first start skips what is already there */
	uint64_t max_bytes_per_cycle;
	size_t max_entry_bytes;
	const char *positions_file;
};

struct tail;

/* tail_new - NULL when out of memory.  Reads the saved positions (logging what it finds). */
struct tail *tail_new(const struct tail_options *opts, const struct pga_host *host,
		      struct pga_ctx *ctx, struct report *report);
void tail_free(struct tail *t);
/* tail_set_format - a new format or prefix (discovered from the server): the parser is rebuilt. */
bool tail_set_format(struct tail *t, int format, const char *log_line_prefix);
/*
 * tail_set_target - follow other files from the next cycle on (copied).
 * Files of the old target are still found by inode and read to their end.
 * False when out of memory (the old target stays).
 */
bool tail_set_target(struct tail *t, const char *target);
/* tail_first_run - no position was saved yet: start_at still applies to the files found. */
bool tail_first_run(const struct tail *t);
/* tail_cycle - read what the files have gained, handing entries to the report. */
void tail_cycle(struct tail *t);
/* tail_emit - the cycle's reading statistics and the files' state, into the open record. */
void tail_emit(struct tail *t, struct pga_emitter *em);
/* tail_save - persist the positions; false (after logging why) when that failed. */
bool tail_save(struct tail *t);

#endif

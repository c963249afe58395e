/*
 * parser.h - turns the lines of one log file into complete entries, in any
 * of PostgreSQL's three formats.
 *
 * Lines come in without their newline, in file order.  Entries come out
 * through a callback once nothing more can be added to them: for stderr a
 * message is complete when the next message of the same process starts, or
 * at parser_flush(); for csvlog when the record's quotes balance; for
 * jsonlog at once.  Problems (a line that matches no format, a csv record
 * cut short) are counted and reported through a second callback with the
 * line number, and never stop the parser.
 */
#ifndef PGLOG_PARSER_H
#define PGLOG_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "entry.h"

enum pglog_format { PGLOG_FORMAT_STDERR, PGLOG_FORMAT_CSV, PGLOG_FORMAT_JSON };

struct parser_counts {
	uint64_t lines;
	uint64_t entries;
	uint64_t unparsed_lines;   /* stderr lines that match no prefix (foreign output) */
	uint64_t orphan_lines;     /* DETAIL/HINT... with no message to attach to */
	uint64_t malformed;        /* csv or json records that could not be read */
	uint64_t truncated;        /* entries cut at the size cap */
};

struct parser_callbacks {
	void (*entry)(void *arg, const struct pglog_entry *e);
	/* problem - `what` about the line `line_no`; called for each problem, rate-limit in the callee. */
	void (*problem)(void *arg, uint64_t line_no, const char *what);
	void *arg;
};

struct pglog_parser;

/*
 * parser_new - a parser for `format`; log_line_prefix is used for stderr
 * only.  Each entry is capped at max_entry_bytes.  NULL when out of memory.
 */
struct pglog_parser *parser_new(int format, const char *log_line_prefix,
				size_t max_entry_bytes, const struct parser_callbacks *cb);
void parser_free(struct pglog_parser *p);

/* parser_line - one line, without its newline; line_no counts from 1 in its file. */
void parser_line(struct pglog_parser *p, const char *line, size_t len, uint64_t line_no);
/*
 * parser_idle - true when no record is half read (a csv record whose quote
 * is still open).  A reader may only remember a position where this holds.
 */
bool parser_idle(const struct pglog_parser *p);
/* parser_flush - hand out every pending complete entry (end of what is readable now). */
void parser_flush(struct pglog_parser *p);
/* parser_discard - forget a half-read record; the reader reads it again later. */
void parser_discard(struct pglog_parser *p);
/* parser_abandon - a half-read record that will never complete: count it malformed. */
void parser_abandon(struct pglog_parser *p);
const struct parser_counts *parser_counts(const struct pglog_parser *p);

/* parser_format_from_name - "stderr", "csvlog", "jsonlog"; -1 for anything else. */
int parser_format_from_name(const char *name);
const char *parser_format_name(int format);

#endif

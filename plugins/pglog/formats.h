/*
 * formats.h - the csvlog and jsonlog record readers behind parser.c.
 * Internal to the pglog plugin.
 */
#ifndef PGLOG_FORMATS_H
#define PGLOG_FORMATS_H

#include <stdbool.h>
#include <stddef.h>

#include "entry.h"

/*
 * csv_record_to_entry - split one complete csvlog record (its lines joined
 * with "\n"; unquoted in place, so the buffer is modified) into e.
 * Returns false, with *why set, when it has too few columns.
 */
bool csv_record_to_entry(char *record, size_t len, struct pglog_entry *e, const char **why);
/* csv_quote_state - whether a quoted field is still open after text, when it was `open` before. */
bool csv_quote_state(const char *text, size_t len, bool open);

/* json_line_to_entry - one jsonlog line into e; false, with *why set, when it is not a JSON object. */
bool json_line_to_entry(const char *line, size_t len, struct pglog_entry *e, const char **why);

#endif

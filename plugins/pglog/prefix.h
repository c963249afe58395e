/*
 * prefix.h - log_line_prefix compiled into a matcher for stderr-format lines.
 *
 * Every escape PostgreSQL documents is understood, with padding (%-10u,
 * %10p), %q (non-session processes stop the prefix there) and %%.  An
 * unknown escape prints nothing in PostgreSQL, so it matches nothing here.
 * A line matches when the prefix matches and is followed by a severity word
 * and ":  " (as "ERROR:  "), which is what tells a message line from a
 * continuation or from foreign output.
 */
#ifndef PGLOG_PREFIX_H
#define PGLOG_PREFIX_H

#include <stdbool.h>
#include <stddef.h>

#include "entry.h"

struct pglog_prefix;

/* prefix_compile - the matcher for `log_line_prefix`; NULL when out of memory. */
struct pglog_prefix *prefix_compile(const char *log_line_prefix);
void prefix_free(struct pglog_prefix *p);

/*
 * prefix_match - match line[0..len) (no newline).  On a match, fills the
 * entry's prefix parts (time, user, database, pid...), its severity word
 * and severity, and returns the offset of the message text after ":  ";
 * returns -1 when the line does not start with the prefix and a severity.
 * The entry is reset first.
 */
long prefix_match(const struct pglog_prefix *p, const char *line, size_t len,
		  struct pglog_entry *e);

#endif

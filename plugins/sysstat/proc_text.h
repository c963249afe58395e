/*
 * proc_text.h - bounded scanning of the text files under /proc: lines,
 * whitespace-separated fields and numbers.
 *
 * Nothing here trusts the input: a line may be any length (or lack its
 * final newline), hold any number of fields and any bytes (NUL included);
 * a number may overflow.  Every function reads only inside the span it is
 * given and reports what it could not parse instead of guessing.
 */
#ifndef SYSSTAT_PROC_TEXT_H
#define SYSSTAT_PROC_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A piece of a buffer: not NUL-terminated. */
struct text_span {
	const char *s;
	size_t len;
};

/* Walks the lines of a buffer; `line` is the 1-based number of the last line returned. */
struct text_cursor {
	const char *p, *end;
	unsigned line;
};

/*
 * The first problem a parser met, for a message naming the line and the
 * field: "line 3: field 5 \"12x\": not an unsigned integer".  line 0 means
 * no problem.
 */
struct parse_error {
	unsigned line;
	char text[160];
};

/* text_cursor_init - a cursor at the start of text[0..len). */
void text_cursor_init(struct text_cursor *c, const char *text, size_t len);

/* text_next_line - the next line without its newline; false at the end of the text. */
bool text_next_line(struct text_cursor *c, struct text_span *line);

/*
 * text_split - the whitespace-separated fields of `line` into fields[0..max).
 * Returns how many fields the line has, which may exceed max (the extra
 * ones are not stored).
 */
size_t text_split(struct text_span line, struct text_span *fields, size_t max);

/* text_u64 - a field made only of decimal digits, within uint64_t. */
bool text_u64(struct text_span field, uint64_t *out);

/* text_double - a finite decimal number such as "12.50" (no exponent, no sign). */
bool text_double(struct text_span field, double *out);

/* text_is - true when the field is exactly the NUL-terminated `word`. */
bool text_is(struct text_span field, const char *word);

/*
 * parse_error_set - record a problem at `line` unless one is already
 * recorded (the first is kept).  `field` (may be NULL) is quoted, cut to
 * 32 bytes, with bytes outside printable ASCII shown as '?'.
 */
void parse_error_set(struct parse_error *err, unsigned line, const struct text_span *field,
		     const char *what);

#endif

/*
 * json_pretty.h - re-indent compact JSON text for people to read, as it
 * streams past: what `--output -` prints.
 *
 * The layout is json-c's JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
 * (what standard output printed before payloads became text): two spaces
 * per level, one member or element per line, `"key": value`, and an empty
 * object or array as its brackets on two lines.  String contents are
 * copied as they are, escapes included.
 *
 * The input must be valid compact JSON (the collector's own text); the
 * printer only tracks strings and nesting, it does not validate.
 */
#ifndef PGA_CORE_JSON_PRETTY_H
#define PGA_CORE_JSON_PRETTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct json_pretty {
	FILE *out;
	size_t depth;          /* containers open */
	bool in_string;
	bool escaped;          /* the previous string byte was a backslash */
	bool need_indent;      /* a line was started: indent before the next token */
	bool failed;           /* a write to `out` failed */
};

/* json_pretty_init - print to `out` (borrowed). */
void json_pretty_init(struct json_pretty *pp, FILE *out);

/*
 * json_pretty_feed - the next `len` bytes of the compact text.  A json_sink_fn
 * (ctx is the struct json_pretty).  Returns 0, or -1 once a write failed.
 */
int json_pretty_feed(void *pp, const void *data, size_t len);

#endif

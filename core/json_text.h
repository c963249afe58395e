/*
 * json_text.h - compact JSON text in a growable byte buffer: the one place
 * that knows how strings, integers, doubles, booleans and null are spelled.
 *
 * The emitter writes records with it and the payload writes the envelope
 * with it, so that every byte of a payload is spelled the same way json-c
 * spelled it before (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE):
 * no whitespace; in strings `"` and `\` escaped, \b \f \n \r \t as such,
 * other bytes below 0x20 as \u00xx (lower-case hex), everything else
 * (including '/', DEL and UTF-8 sequences) as is.  Doubles as
 * json_number_format() writes them.
 *
 * The writer does not check structure or UTF-8: its callers do (the
 * emitter validates every plugin call before it writes).
 *
 * Functions that may grow the buffer return 0, or -1 when out of memory;
 * the text written before stays intact, the failed piece may be partly
 * written (truncate to undo it).
 */
#ifndef PGA_CORE_JSON_TEXT_H
#define PGA_CORE_JSON_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct json_text {
	char *data;    /* not NUL-terminated; NULL until something is written */
	size_t len;    /* bytes of text */
	size_t cap;    /* bytes allocated at data */
};

/*
 * A consumer of JSON text written in pieces: a file, a gzip stream, a
 * pretty printer.  Gets `len` bytes at `data` (borrowed for the call).
 * Returns 0 to go on, anything else to stop the writer, which returns it.
 */
typedef int (*json_sink_fn)(void *ctx, const void *data, size_t len);

/* json_text_free - free the buffer and leave `t` empty (reusable). */
void json_text_free(struct json_text *t);

/*
 * json_text_grow - enlarge the buffer for `extra` more bytes (doubling).
 * 0 or -1 (ENOMEM).  Use json_text_reserve, which calls it only when needed.
 */
int json_text_grow(struct json_text *t, size_t extra);

/*
 * The appends below run for every byte of every record: the common case
 * (room in the buffer) is inline, only growing is a call.
 */

/* json_text_reserve - make room for `extra` more bytes.  0 or -1 (ENOMEM). */
static inline int json_text_reserve(struct json_text *t, size_t extra)
{
	return extra <= t->cap - t->len ? 0 : json_text_grow(t, extra);
}

/*
 * json_text_shrink - give back the unused capacity (realloc to len).  The
 * text is unchanged; on failure the bigger buffer is kept.
 */
void json_text_shrink(struct json_text *t);

/* json_text_truncate - cut the text back to its first `len` bytes (len <= t->len). */
void json_text_truncate(struct json_text *t, size_t len);

/* json_text_append - append `n` raw bytes (already JSON). */
static inline int json_text_append(struct json_text *t, const void *bytes, size_t n)
{
	if (n == 0)
		return 0;
	if (json_text_reserve(t, n) != 0)
		return -1;
	memcpy(t->data + t->len, bytes, n);
	t->len += n;
	return 0;
}

/* json_text_append_char - append one raw byte. */
static inline int json_text_append_char(struct json_text *t, char c)
{
	if (t->len == t->cap && json_text_grow(t, 1) != 0)
		return -1;
	t->data[t->len++] = c;
	return 0;
}

/*
 * json_text_append_string - append `len` bytes of `s` as a quoted, escaped
 * JSON string.  `s` may be NULL when len is 0.  The caller guarantees
 * valid UTF-8 without NUL for the result to be valid JSON.
 */
int json_text_append_string(struct json_text *t, const char *s, size_t len);

/* json_text_append_int64, _uint64 - a decimal integer, e.g. -9223372036854775808. */
int json_text_append_int64(struct json_text *t, int64_t value);
int json_text_append_uint64(struct json_text *t, uint64_t value);

/* json_text_append_double - a finite double as json_number_format() spells it. */
int json_text_append_double(struct json_text *t, double value);

/* json_text_append_bool - `true` or `false`. */
int json_text_append_bool(struct json_text *t, bool value);

/* json_text_append_null - `null`. */
int json_text_append_null(struct json_text *t);

#endif

#include "json_text.h"

#include <stdlib.h>
#include <string.h>

#include "json_number.h"

/* The first allocation: enough for a small record without regrowing. */
#define MIN_CAPACITY 256
/*
 * Strings are escaped in blocks of this many input bytes, so that room is
 * reserved for the worst case (6 output bytes per input byte) of one block
 * only, not of a whole 1 MiB string.
 */
#define ESCAPE_BLOCK 4096
/* Longest escape of one byte: \u00xx. */
#define MAX_ESCAPE_LEN 6

/*
 * For each byte, 0 when it is written as is, else the letter of its escape:
 * "\X" for X in b f n r t " \, and 'u' for \u00xx.  Written out in full
 * rather than with range initializers, which are not standard C.
 */
static const char escape_letter[256] = {
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	0,   0,   '"', 0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
	0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
	0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
	0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   '\\', 0,  0,   0,
};

void json_text_free(struct json_text *t)
{
	free(t->data);
	t->data = NULL;
	t->len = 0;
	t->cap = 0;
}

int json_text_grow(struct json_text *t, size_t extra)
{
	size_t wanted, cap;
	char *grown;

	if (extra <= t->cap - t->len)
		return 0;
	if (extra > SIZE_MAX - t->len)
		return -1;
	wanted = t->len + extra;
	/* Doubling keeps appends amortised O(1) per byte. */
	cap = t->cap < MIN_CAPACITY ? MIN_CAPACITY : t->cap;
	while (cap < wanted)
		cap = cap > SIZE_MAX / 2 ? wanted : cap * 2;
	grown = realloc(t->data, cap);
	if (grown == NULL)
		return -1;
	t->data = grown;
	t->cap = cap;
	return 0;
}

void json_text_shrink(struct json_text *t)
{
	char *shrunk;

	if (t->len == t->cap)
		return;
	if (t->len == 0) {
		json_text_free(t);
		return;
	}
	shrunk = realloc(t->data, t->len);
	if (shrunk == NULL)
		return;
	t->data = shrunk;
	t->cap = t->len;
}

void json_text_truncate(struct json_text *t, size_t len)
{
	if (len < t->len)
		t->len = len;
}

/*
 * Whether any of the 8 bytes in `word` needs escaping: below 0x20, '"' or
 * '\\' (the classic has-zero-byte test, applied to word ^ the byte).
 */
static bool word_needs_escape(uint64_t word)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t quote = word ^ (ones * '"'), backslash = word ^ (ones * '\\');
	uint64_t control = (word - ones * 0x20) & ~word;
	uint64_t quote_zero = (quote - ones) & ~quote;
	uint64_t backslash_zero = (backslash - ones) & ~backslash;

	return ((control | quote_zero | backslash_zero) & high) != 0;
}

/* How many leading bytes of s[0..len) need no escaping, in 8-byte steps. */
static size_t plain_words(const unsigned char *s, size_t len)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t word;

		memcpy(&word, s + i, sizeof(word));
		if (word_needs_escape(word))
			break;
	}
	return i;
}

/*
 * Escape s[0..len) to out, which has room for MAX_ESCAPE_LEN * len bytes.
 * Runs of plain bytes are copied at once.  Returns the bytes written.
 */
static size_t escape_block(char *out, const unsigned char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char *start = out;
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		char letter;

		/* Skip whole words of plain text (most strings are all plain). */
		i += plain_words(s + i, len - i);
		if (i == len)
			break;
		letter = escape_letter[s[i]];
		if (letter == 0)
			continue;
		memcpy(out, s + run, i - run);
		out += i - run;
		run = i + 1;
		*out++ = '\\';
		*out++ = letter;
		if (letter == 'u') {
			*out++ = '0';
			*out++ = '0';
			*out++ = hex[s[i] >> 4];
			*out++ = hex[s[i] & 0xf];
		}
	}
	memcpy(out, s + run, len - run);
	out += len - run;
	return (size_t)(out - start);
}

int json_text_append_string(struct json_text *t, const char *s, size_t len)
{
	const unsigned char *next = (const unsigned char *)s;

	if (json_text_append_char(t, '"') != 0)
		return -1;
	while (len > 0) {
		size_t block = len < ESCAPE_BLOCK ? len : ESCAPE_BLOCK;

		if (json_text_reserve(t, block * MAX_ESCAPE_LEN) != 0)
			return -1;
		t->len += escape_block(t->data + t->len, next, block);
		next += block;
		len -= block;
	}
	return json_text_append_char(t, '"');
}

/* "00" "01" ... "99": two digits per division halves the chain of divisions. */
static const char digit_pairs[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

static size_t decimal_length(uint64_t v)
{
	size_t n = 1;

	for (; v >= 10000; v /= 10000)
		n += 4;
	if (v >= 1000)
		return n + 3;
	if (v >= 100)
		return n + 2;
	return v >= 10 ? n + 1 : n;
}

/*
 * Append the decimal digits of v (and a '-' first when `negative`),
 * written in place from the last digit backwards.
 */
static int append_decimal(struct json_text *t, uint64_t v, bool negative)
{
	size_t digits = decimal_length(v), len = digits + (negative ? 1 : 0);
	char *end;

	if (json_text_reserve(t, len) != 0)
		return -1;
	end = t->data + t->len + len;
	while (v >= 100) {
		const char *pair = digit_pairs + (v % 100) * 2;

		v /= 100;
		*--end = pair[1];
		*--end = pair[0];
	}
	if (v >= 10) {
		*--end = digit_pairs[v * 2 + 1];
		*--end = digit_pairs[v * 2];
	} else {
		*--end = (char)('0' + v);
	}
	if (negative)
		*--end = '-';
	t->len += len;
	return 0;
}

int json_text_append_uint64(struct json_text *t, uint64_t value)
{
	return append_decimal(t, value, false);
}

int json_text_append_int64(struct json_text *t, int64_t value)
{
	/* Negated in unsigned arithmetic, so that INT64_MIN does not overflow. */
	uint64_t magnitude = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;

	return append_decimal(t, magnitude, value < 0);
}

int json_text_append_double(struct json_text *t, double value)
{
	char text[JSON_NUMBER_MAX_LEN];
	size_t len = json_number_format(value, text);

	return json_text_append(t, text, len);
}

int json_text_append_bool(struct json_text *t, bool value)
{
	return value ? json_text_append(t, "true", 4) : json_text_append(t, "false", 5);
}

int json_text_append_null(struct json_text *t)
{
	return json_text_append(t, "null", 4);
}

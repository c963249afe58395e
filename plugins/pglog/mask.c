/*
 * mask.c - literal masking (see mask.h).  A lexer just good enough for
 * PostgreSQL's SQL and for the messages that quote it: it never needs to
 * understand the statement, only where constants start and end.
 */
#include <stdbool.h>
#include <string.h>

#include "mask.h"

static bool is_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c >= 0x80;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The bytes mask_literals may do more with than copy: most bytes of a message are not. */
static const bool may_start_literal[256] = {
	['\''] = true, ['$'] = true, [' '] = true, ['\t'] = true, ['\n'] = true, ['\r'] = true,
	['0'] = true, ['1'] = true, ['2'] = true, ['3'] = true, ['4'] = true,
	['5'] = true, ['6'] = true, ['7'] = true, ['8'] = true, ['9'] = true,
};

/* The end of a quoted string starting at in[i] == '\''; backslashes escape in E'' strings. */
static size_t skip_string(const char *in, size_t i, size_t len, bool backslash_escapes)
{
	for (i++; i < len; i++) {
		if (backslash_escapes && in[i] == '\\' && i + 1 < len) {
			i++;
		} else if (in[i] == '\'') {
			if (i + 1 < len && in[i + 1] == '\'') {
				i++;
				continue;
			}
			return i + 1;
		}
	}
	return len;
}

/* A dollar quote at in[i]: the end of its body, or 0 when it is not one ($1 is a parameter). */
static size_t skip_dollar_quote(const char *in, size_t i, size_t len)
{
	size_t tag_end = i + 1;

	while (tag_end < len && in[tag_end] != '$' && is_name_char((unsigned char)in[tag_end]) &&
	       !(tag_end == i + 1 && in[tag_end] >= '0' && in[tag_end] <= '9'))
		tag_end++;
	if (tag_end >= len || in[tag_end] != '$')
		return 0;
	size_t tag_len = tag_end + 1 - i;
	for (size_t j = tag_end + 1; j + tag_len <= len; j++)
		if (in[j] == '$' && memcmp(in + j, in + i, tag_len) == 0)
			return j + tag_len;
	return len;
}

static size_t skip_number(const char *in, size_t i, size_t len)
{
	while (i < len && ((in[i] >= '0' && in[i] <= '9') || in[i] == '.' ||
			   ((in[i] == 'e' || in[i] == 'E') && i + 1 < len &&
			    ((in[i + 1] >= '0' && in[i + 1] <= '9') || in[i + 1] == '-' || in[i + 1] == '+'))))
		i += (in[i] == 'e' || in[i] == 'E') ? 2 : 1;
	return i;
}

size_t mask_literals(const char *in, size_t len, char *out)
{
	size_t o = 0, i = 0;

	while (i < len) {
		char c = in[i];

		if (!may_start_literal[(unsigned char)c]) {
			do
				out[o++] = in[i++];
			while (i < len && !may_start_literal[(unsigned char)in[i]]);
			continue;
		}
		if (is_space(c)) {
			while (i < len && is_space(in[i]))
				i++;
			if (o > 0 && i < len)
				out[o++] = ' ';
			continue;
		}
		bool after_name = i > 0 && is_name_char((unsigned char)in[i - 1]);
		size_t end = 0;

		if (c == '\'') {
			bool e_string = i > 0 && (in[i - 1] == 'E' || in[i - 1] == 'e') &&
					!(i > 1 && is_name_char((unsigned char)in[i - 2]));
			if (e_string)
				o--;                    /* the E goes with the constant */
			end = skip_string(in, i, len, e_string);
		} else if (c == '$' && !after_name) {
			end = skip_dollar_quote(in, i, len);
		} else if (c >= '0' && c <= '9' && !after_name) {
			end = skip_number(in, i, len);
		}
		if (end > i) {
			out[o++] = '?';
			i = end;
		} else {
			out[o++] = c;
			i++;
		}
	}
	out[o] = '\0';
	return o;
}

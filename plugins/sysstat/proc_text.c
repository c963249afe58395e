#include "proc_text.h"

#include <stdio.h>
#include <string.h>

void text_cursor_init(struct text_cursor *c, const char *text, size_t len)
{
	c->p = text;
	c->end = text + len;
	c->line = 0;
}

bool text_next_line(struct text_cursor *c, struct text_span *line)
{
	const char *nl;

	if (c->p >= c->end)
		return false;
	nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	line->s = c->p;
	line->len = (size_t)((nl ? nl : c->end) - c->p);
	c->p = nl ? nl + 1 : c->end;
	c->line++;
	return true;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

size_t text_split(struct text_span line, struct text_span *fields, size_t max)
{
	size_t n = 0, i = 0;

	while (i < line.len) {
		size_t start;

		while (i < line.len && is_space(line.s[i]))
			i++;
		if (i == line.len)
			break;
		start = i;
		while (i < line.len && !is_space(line.s[i]))
			i++;
		if (n < max)
			fields[n] = (struct text_span){ line.s + start, i - start };
		n++;
	}
	return n;
}

bool text_u64(struct text_span field, uint64_t *out)
{
	uint64_t value = 0;

	if (field.len == 0)
		return false;
	for (size_t i = 0; i < field.len; i++) {
		unsigned digit = (unsigned)(unsigned char)field.s[i] - '0';

		if (digit > 9 || value > (UINT64_MAX - digit) / 10)
			return false;
		value = value * 10 + digit;
	}
	*out = value;
	return true;
}

/*
 * Digits with at most one '.', as the kernel prints loadavg and pressure
 * averages.  The digits are gathered as an integer and divided once, so
 * that "0.45" is the double nearest 0.45.
 */
bool text_double(struct text_span field, double *out)
{
	static const double powers_of_ten[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
						1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15 };
	uint64_t digits = 0;
	size_t n_digits = 0, decimals = 0;
	bool dot = false;

	for (size_t i = 0; i < field.len; i++) {
		char ch = field.s[i];

		if (ch == '.' && !dot) {
			dot = true;
			continue;
		}
		if (ch < '0' || ch > '9' || ++n_digits > 15)
			return false;   /* not a number, or more digits than a double keeps */
		digits = digits * 10 + (uint64_t)(ch - '0');
		decimals += dot;
	}
	if (n_digits == 0)
		return false;
	*out = (double)digits / powers_of_ten[decimals];
	return true;
}

bool text_is(struct text_span field, const char *word)
{
	size_t len = strlen(word);

	return field.len == len && memcmp(field.s, word, len) == 0;
}

void parse_error_set(struct parse_error *err, unsigned line, const struct text_span *field,
		     const char *what)
{
	char shown[33];
	size_t n = 0;

	if (err == NULL || err->line != 0)
		return;
	err->line = line ? line : 1;
	if (field == NULL) {
		snprintf(err->text, sizeof(err->text), "line %u: %s", err->line, what);
		return;
	}
	for (; n < field->len && n < sizeof(shown) - 1; n++) {
		unsigned char ch = (unsigned char)field->s[n];

		shown[n] = ch >= 0x20 && ch < 0x7f && ch != '"' ? (char)ch : '?';
	}
	shown[n] = '\0';
	snprintf(err->text, sizeof(err->text), "line %u: \"%s%s\": %s", err->line, shown,
		 field->len > n ? "..." : "", what);
}

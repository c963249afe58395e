#include "json_pretty.h"

#include <string.h>

#define INDENT_WIDTH 2

void json_pretty_init(struct json_pretty *pp, FILE *out)
{
	memset(pp, 0, sizeof(*pp));
	pp->out = out;
}

static void put_bytes(struct json_pretty *pp, const char *bytes, size_t len)
{
	if (len && fwrite(bytes, 1, len, pp->out) != len)
		pp->failed = true;
}

static void put_char(struct json_pretty *pp, char c)
{
	if (putc(c, pp->out) == EOF)
		pp->failed = true;
}

static void put_indent(struct json_pretty *pp, size_t level)
{
	static const char spaces[] = "                                ";

	for (size_t n = level * INDENT_WIDTH; n > 0;) {
		size_t piece = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		put_bytes(pp, spaces, piece);
		n -= piece;
	}
}

/* Indent the line that the previous '{', '[' or ',' started. */
static void start_token(struct json_pretty *pp)
{
	if (pp->need_indent) {
		put_indent(pp, pp->depth);
		pp->need_indent = false;
	}
}

/* A byte outside strings. */
static void structural(struct json_pretty *pp, char c)
{
	switch (c) {
	case '{':
	case '[':
		start_token(pp);
		put_char(pp, c);
		put_char(pp, '\n');
		pp->depth++;
		pp->need_indent = true;
		break;
	case '}':
	case ']':
		/* Still waiting for a first member: the container is empty. */
		if (!pp->need_indent)
			put_char(pp, '\n');
		pp->need_indent = false;
		if (pp->depth > 0)
			pp->depth--;
		put_indent(pp, pp->depth);
		put_char(pp, c);
		break;
	case ',':
		put_char(pp, ',');
		put_char(pp, '\n');
		pp->need_indent = true;
		break;
	case ':':
		put_bytes(pp, ": ", 2);
		break;
	case ' ':
	case '\t':
	case '\n':
	case '\r':
		break;
	default:
		start_token(pp);
		if (c == '"')
			pp->in_string = true;
		put_char(pp, c);
	}
}

/* Copy string bytes up to and including the closing quote; returns bytes used. */
static size_t string_run(struct json_pretty *pp, const char *text, size_t len)
{
	size_t i = 0;

	while (i < len) {
		char c = text[i++];

		if (pp->escaped) {
			pp->escaped = false;
		} else if (c == '\\') {
			pp->escaped = true;
		} else if (c == '"') {
			pp->in_string = false;
			break;
		}
	}
	put_bytes(pp, text, i);
	return i;
}

int json_pretty_feed(void *ctx, const void *data, size_t len)
{
	struct json_pretty *pp = ctx;
	const char *text = data;
	size_t i = 0;

	while (i < len && !pp->failed) {
		if (pp->in_string)
			i += string_run(pp, text + i, len - i);
		else
			structural(pp, text[i++]);
	}
	return pp->failed ? -1 : 0;
}

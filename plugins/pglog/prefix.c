/*
 * prefix.c - log_line_prefix matcher (see prefix.h).
 *
 * The prefix is compiled into items: literal text and one item per escape.
 * Escapes whose output has a fixed shape (timestamps, pids, SQLSTATE) are
 * matched exactly; free text (user, database, application, remote host,
 * backend type, command tag) can hold spaces or the prefix's own literals,
 * so it is matched lazily with backtracking: the shortest value after which
 * the rest of the prefix and a severity match.  A step budget bounds the
 * backtracking so that no line, however crafted, costs more than a few
 * hundred steps.
 */
#include <stdlib.h>
#include <string.h>

#include "prefix.h"

enum item_kind {
	ITEM_LITERAL,
	ITEM_TIMESTAMP_MS,  /* %m: 2024-01-31 12:00:00.123 UTC */
	ITEM_TIMESTAMP,     /* %t, %s: 2024-01-31 12:00:00 UTC */
	ITEM_EPOCH,         /* %n: 1706702400.123 */
	ITEM_DIGITS,        /* %p, %l, %x */
	ITEM_OPT_NUMBER,    /* %P (empty outside parallel workers), %Q (may be negative) */
	ITEM_SQLSTATE,      /* %e */
	ITEM_TOKEN,         /* %c, %v: letters, digits, . / - + : _, may be empty */
	ITEM_TEXT,          /* %u %d %a %r %h %b %i, and every padded escape */
	ITEM_QUIT           /* %q */
};

struct item {
	enum item_kind kind;
	int part;           /* entry part it fills, -1 for none */
	int min_width;      /* padding: the value takes at least this many bytes */
	size_t lit_off, lit_len;
};

struct pglog_prefix {
	struct item *items;
	size_t n;
	char *literals;
};

#define MAX_ITEMS 256
#define STEP_BUDGET 512
#define MAX_SEVERITY_WORD 32

static int part_of_escape(char c)
{
	switch (c) {
	case 'm': case 't': case 'n': return PGLOG_TIME;
	case 'u': return PGLOG_USER;
	case 'd': return PGLOG_DATABASE;
	case 'a': return PGLOG_APPLICATION;
	case 'p': return PGLOG_PID;
	case 'e': return PGLOG_SQLSTATE;
	case 'r': case 'h': return PGLOG_REMOTE;
	case 'c': return PGLOG_SESSION;
	case 'b': return PGLOG_BACKEND_TYPE;
	case 'Q': return PGLOG_QUERY_ID;
	default: return -1;
	}
}

/* The item kind of an escape letter; -1 for one PostgreSQL does not know (it prints nothing). */
static int kind_of_escape(char c)
{
	switch (c) {
	case 'm': return ITEM_TIMESTAMP_MS;
	case 't': case 's': return ITEM_TIMESTAMP;
	case 'n': return ITEM_EPOCH;
	case 'p': case 'l': case 'x': return ITEM_DIGITS;
	case 'P': case 'Q': return ITEM_OPT_NUMBER;
	case 'e': return ITEM_SQLSTATE;
	case 'c': case 'v': return ITEM_TOKEN;
	case 'u': case 'd': case 'a': case 'r': case 'h': case 'b': case 'i': return ITEM_TEXT;
	case 'q': return ITEM_QUIT;
	default: return -1;
	}
}

static void add_literal(struct pglog_prefix *p, size_t *lit_used, char c)
{
	struct item *last = p->n ? &p->items[p->n - 1] : NULL;

	if (last == NULL || last->kind != ITEM_LITERAL) {
		last = &p->items[p->n++];
		*last = (struct item){ ITEM_LITERAL, -1, 0, *lit_used, 0 };
	}
	p->literals[(*lit_used)++] = c;
	last->lit_len++;
}

/* Parse the optional padding of an escape ("-10" in %-10u); returns the width. */
static int parse_padding(const char **s)
{
	int width = 0;

	if (**s == '-')
		(*s)++;
	while (**s >= '0' && **s <= '9') {
		if (width < 10000)
			width = width * 10 + (**s - '0');
		(*s)++;
	}
	return width;
}

struct pglog_prefix *prefix_compile(const char *text)
{
	size_t len = strlen(text);
	struct pglog_prefix *p = calloc(1, sizeof(*p));
	size_t lit_used = 0;

	if (p == NULL)
		return NULL;
	p->items = calloc(len + 1, sizeof(*p->items));
	p->literals = malloc(len + 1);
	if (p->items == NULL || p->literals == NULL) {
		prefix_free(p);
		return NULL;
	}
	for (const char *s = text; *s && p->n < MAX_ITEMS;) {
		int width, kind;

		if (*s != '%') {
			add_literal(p, &lit_used, *s++);
			continue;
		}
		s++;
		if (*s == '\0')
			break;          /* a lone % at the end prints nothing */
		if (*s == '%') {
			add_literal(p, &lit_used, *s++);
			continue;
		}
		width = parse_padding(&s);
		if (*s == '\0')
			break;
		kind = kind_of_escape(*s);
		if (kind >= 0) {
			struct item *it = &p->items[p->n++];

			/* A padded value has spaces around it: match it as free text. */
			*it = (struct item){ width && kind != ITEM_QUIT ? ITEM_TEXT : (enum item_kind)kind,
					     part_of_escape(*s), width, 0, 0 };
		}
		s++;
	}
	return p;
}

void prefix_free(struct pglog_prefix *p)
{
	if (p == NULL)
		return;
	free(p->items);
	free(p->literals);
	free(p);
}

struct match {
	const struct pglog_prefix *p;
	const char *line;
	size_t len;
	size_t start[MAX_ITEMS], end[MAX_ITEMS];
	size_t severity_start, severity_end;
	int budget;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Zone abbreviations (UTC, CEST, +03), session ids (65b9a.1f), virtual xids (3/4). */
static bool is_token_char(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' ||
	       c == '-' || c == ':' || c == '.' || c == '/' || c == '_';
}

static size_t skip_digits(const char *s, size_t pos, size_t len)
{
	while (pos < len && is_digit(s[pos]))
		pos++;
	return pos;
}

/* "YYYY-MM-DD HH:MM:SS", then ".fff" when with_ms, then " ZONE"; returns the end or 0. */
static size_t match_timestamp(const char *s, size_t pos, size_t len, bool with_ms)
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd";
	size_t i;

	if (len - pos < sizeof(shape) - 1)
		return 0;
	for (i = 0; i < sizeof(shape) - 1; i++) {
		char want = shape[i], c = s[pos + i];

		if (want == 'd' ? !is_digit(c) : c != want)
			return 0;
	}
	pos += i;
	if (with_ms) {
		if (pos >= len || s[pos] != '.')
			return 0;
		size_t digits_end = skip_digits(s, pos + 1, len);
		if (digits_end == pos + 1)
			return 0;
		pos = digits_end;
	}
	if (pos >= len || s[pos] != ' ')
		return 0;
	pos++;
	size_t zone = pos;
	while (pos < len && is_token_char(s[pos]))
		pos++;
	return pos > zone ? pos : 0;
}

/* The end of a fixed-shape item starting at pos, or (size_t)-1 when it does not match. */
static size_t match_fixed(const struct item *it, const char *s, size_t pos, size_t len)
{
	const size_t no = (size_t)-1;
	size_t end;

	switch (it->kind) {
	case ITEM_TIMESTAMP_MS:
	case ITEM_TIMESTAMP:
		end = match_timestamp(s, pos, len, it->kind == ITEM_TIMESTAMP_MS);
		return end ? end : no;
	case ITEM_EPOCH:
		end = skip_digits(s, pos, len);
		if (end == pos || end >= len || s[end] != '.')
			return no;
		return skip_digits(s, end + 1, len);
	case ITEM_DIGITS:
		end = skip_digits(s, pos, len);
		return end > pos ? end : no;
	case ITEM_OPT_NUMBER:
		return skip_digits(s, pos < len && s[pos] == '-' ? pos + 1 : pos, len);
	case ITEM_SQLSTATE:
		if (len - pos < 5)
			return no;
		for (end = pos; end < pos + 5; end++)
			if (!is_digit(s[end]) && !(s[end] >= 'A' && s[end] <= 'Z'))
				return no;
		return end;
	case ITEM_TOKEN:
		for (end = pos; end < len && is_token_char(s[end]); end++)
			;
		return end;
	default:
		return no;
	}
}

/* A severity word then ":  " at pos: records where the word is and returns true. */
static bool match_severity(struct match *m, size_t pos)
{
	size_t end = pos;

	while (end < m->len && end - pos <= MAX_SEVERITY_WORD) {
		unsigned char c = (unsigned char)m->line[end];

		if (!((c >= 'A' && c <= 'Z') || is_digit((char)c) || c >= 0x80))
			break;
		end++;
	}
	if (end == pos || end - pos > MAX_SEVERITY_WORD || m->len - end < 3 ||
	    memcmp(m->line + end, ":  ", 3) != 0)
		return false;
	m->severity_start = pos;
	m->severity_end = end;
	return true;
}

static bool match_items(struct match *m, size_t idx, size_t pos);

/* Free text: the shortest value after which everything else matches. */
static bool match_text(struct match *m, size_t idx, size_t pos)
{
	const struct item *it = &m->p->items[idx];
	const struct item *next = idx + 1 < m->p->n ? &m->p->items[idx + 1] : NULL;
	size_t end = pos + (size_t)it->min_width;

	while (end <= m->len) {
		if (next && next->kind == ITEM_LITERAL) {
			const char *lit = m->p->literals + next->lit_off;
			const char *hit = end < m->len ?
				memchr(m->line + end, lit[0], m->len - end) : NULL;

			if (hit == NULL)
				return false;
			end = (size_t)(hit - m->line);
		}
		if (--m->budget <= 0)
			return false;
		m->start[idx] = pos;
		m->end[idx] = end;
		if (match_items(m, idx + 1, end))
			return true;
		end++;
	}
	return false;
}

static bool match_items(struct match *m, size_t idx, size_t pos)
{
	const struct item *it;

	if (idx == m->p->n)
		return match_severity(m, pos);
	it = &m->p->items[idx];
	m->start[idx] = m->end[idx] = pos;
	switch (it->kind) {
	case ITEM_LITERAL:
		if (m->len - pos < it->lit_len ||
		    memcmp(m->line + pos, m->p->literals + it->lit_off, it->lit_len) != 0)
			return false;
		return match_items(m, idx + 1, pos + it->lit_len);
	case ITEM_QUIT:
		/* A known severity right here is a non-session process: prefer stopping. */
		if (!(match_severity(m, pos) &&
		      severity_from_word(m->line + m->severity_start,
					 m->severity_end - m->severity_start) != 0) &&
		    match_items(m, idx + 1, pos))
			return true;
		for (size_t k = idx + 1; k < m->p->n; k++)
			m->start[k] = m->end[k] = pos;
		return match_severity(m, pos);
	case ITEM_TEXT:
		return match_text(m, idx, pos);
	default: {
		size_t end = match_fixed(it, m->line, pos, m->len);

		if (end == (size_t)-1)
			return false;
		m->end[idx] = end;
		return match_items(m, idx + 1, end);
	}
	}
}

static void trim(const char **s, size_t *len)
{
	while (*len && (*s)[0] == ' ') {
		(*s)++;
		(*len)--;
	}
	while (*len && (*s)[*len - 1] == ' ')
		(*len)--;
}

long prefix_match(const struct pglog_prefix *p, const char *line, size_t len,
		  struct pglog_entry *e)
{
	struct match local, *m = &local;

	m->p = p;
	m->line = line;
	m->len = len;
	m->budget = STEP_BUDGET;
	entry_reset(e);
	if (!match_items(m, 0, 0))
		return -1;
	for (size_t i = 0; i < p->n; i++) {
		const char *value = line + m->start[i];
		size_t value_len = m->end[i] - m->start[i];

		if (p->items[i].part < 0 || e->has[p->items[i].part])
			continue;
		trim(&value, &value_len);
		if (value_len)
			entry_set(e, p->items[i].part, value, value_len);
	}
	entry_set(e, PGLOG_SEVERITY, line + m->severity_start, m->severity_end - m->severity_start);
	e->severity = severity_from_word(line + m->severity_start,
					 m->severity_end - m->severity_start);
	return (long)(m->severity_end + 3);
}

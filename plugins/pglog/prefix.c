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
 *
 * Almost every line matches on the search's first path, so that path is
 * followed first without recursion (match_first_path); only when it fails
 * after a choice does the backtracking search run, from the start.
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

/* An item that fills an entry part, as prefix_match copies it out. */
struct part_item {
	size_t item;
	int part;
	bool trim;          /* free text: padding spaces around it are not the value */
	bool repeated;      /* an earlier item fills the same part, and wins when not empty */
};

struct pglog_prefix {
	struct item *items;
	size_t n;
	char *literals;
	struct part_item *part_items;   /* the items that fill an entry part, in order */
	size_t n_part_items;
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

static void add_part_item(struct pglog_prefix *p, size_t item)
{
	struct part_item *pi = &p->part_items[p->n_part_items];

	pi->item = item;
	pi->part = p->items[item].part;
	/* Only free text can have spaces around it (padding); the fixed shapes have none. */
	pi->trim = p->items[item].kind == ITEM_TEXT;
	pi->repeated = false;
	for (size_t k = 0; k < p->n_part_items; k++)
		if (p->part_items[k].part == pi->part)
			pi->repeated = true;
	p->n_part_items++;
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
	p->part_items = calloc(len + 1, sizeof(*p->part_items));
	if (p->items == NULL || p->literals == NULL || p->part_items == NULL) {
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
			if (it->part >= 0)
				add_part_item(p, p->n - 1);
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
	free(p->part_items);
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

/* Literals are a few bytes: a loop beats a call to memcmp. */
static bool same_bytes(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* The literal item `it` at pos; most literals are one byte (a space, "@"). */
static inline bool literal_at(const struct match *m, const struct item *it, size_t pos)
{
	const char *lit = m->p->literals + it->lit_off;

	if (it->lit_len == 1)
		return pos < m->len && m->line[pos] == lit[0];
	return m->len - pos >= it->lit_len && same_bytes(m->line + pos, lit, it->lit_len);
}

/* Zone abbreviations (UTC, CEST, +03), session ids (65b9a.1f), virtual xids (3/4). */
static const bool token_chars[256] = {
	['0'] = true, ['1'] = true, ['2'] = true, ['3'] = true, ['4'] = true,
	['5'] = true, ['6'] = true, ['7'] = true, ['8'] = true, ['9'] = true,
	['a'] = true, ['b'] = true, ['c'] = true, ['d'] = true, ['e'] = true, ['f'] = true,
	['g'] = true, ['h'] = true, ['i'] = true, ['j'] = true, ['k'] = true, ['l'] = true,
	['m'] = true, ['n'] = true, ['o'] = true, ['p'] = true, ['q'] = true, ['r'] = true,
	['s'] = true, ['t'] = true, ['u'] = true, ['v'] = true, ['w'] = true, ['x'] = true,
	['y'] = true, ['z'] = true,
	['A'] = true, ['B'] = true, ['C'] = true, ['D'] = true, ['E'] = true, ['F'] = true,
	['G'] = true, ['H'] = true, ['I'] = true, ['J'] = true, ['K'] = true, ['L'] = true,
	['M'] = true, ['N'] = true, ['O'] = true, ['P'] = true, ['Q'] = true, ['R'] = true,
	['S'] = true, ['T'] = true, ['U'] = true, ['V'] = true, ['W'] = true, ['X'] = true,
	['Y'] = true, ['Z'] = true,
	['+'] = true, ['-'] = true, [':'] = true, ['.'] = true, ['/'] = true, ['_'] = true,
};

static bool is_token_char(char c)
{
	return token_chars[(unsigned char)c];
}

/*
 * The first c in s[pos..len), or len.  A user or database name is a few
 * bytes: they are looked at here before memchr, whose call costs more.
 */
static size_t find_byte(const char *s, size_t pos, size_t len, char c)
{
	size_t near = len - pos < 16 ? len : pos + 16;
	const char *hit;

	for (; pos < near; pos++)
		if (s[pos] == c)
			return pos;
	if (pos == len)
		return len;
	hit = memchr(s + pos, c, len - pos);
	return hit ? (size_t)(hit - s) : len;
}

static size_t skip_digits(const char *s, size_t pos, size_t len)
{
	while (pos < len && is_digit(s[pos]))
		pos++;
	return pos;
}

static bool two_digits(const char *s)
{
	return is_digit(s[0]) && is_digit(s[1]);
}

/* "YYYY-MM-DD HH:MM:SS" at s (19 bytes there). */
static bool date_time_at(const char *s)
{
	return two_digits(s) && two_digits(s + 2) && s[4] == '-' && two_digits(s + 5) &&
	       s[7] == '-' && two_digits(s + 8) && s[10] == ' ' && two_digits(s + 11) &&
	       s[13] == ':' && two_digits(s + 14) && s[16] == ':' && two_digits(s + 17);
}

/* "YYYY-MM-DD HH:MM:SS", then ".fff" when with_ms, then " ZONE"; returns the end or 0. */
static size_t match_timestamp(const char *s, size_t pos, size_t len, bool with_ms)
{
	const size_t date_time_len = 19;

	if (len - pos < date_time_len || !date_time_at(s + pos))
		return 0;
	pos += date_time_len;
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

/* The bytes of a severity word: A-Z, digits, and any non-ASCII byte (translated words). */
static bool is_severity_char(unsigned char c)
{
	return (unsigned char)(c - 'A') <= 'Z' - 'A' || (unsigned char)(c - '0') <= 9 || c >= 0x80;
}

/* A severity word then ":  " at pos: records where the word is and returns true. */
static bool match_severity(struct match *m, size_t pos)
{
	size_t end = pos;

	while (end < m->len && end - pos <= MAX_SEVERITY_WORD &&
	       is_severity_char((unsigned char)m->line[end]))
		end++;
	if (end == pos || end - pos > MAX_SEVERITY_WORD || m->len - end < 3 ||
	    m->line[end] != ':' || m->line[end + 1] != ' ' || m->line[end + 2] != ' ')
		return false;
	m->severity_start = pos;
	m->severity_end = end;
	return true;
}

/* A severity right at pos that PostgreSQL knows: where %q stops the prefix. */
static bool known_severity_at(struct match *m, size_t pos)
{
	return match_severity(m, pos) &&
	       severity_from_word(m->line + m->severity_start,
				  m->severity_end - m->severity_start) != 0;
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
		if (!literal_at(m, it, pos))
			return false;
		return match_items(m, idx + 1, pos + it->lit_len);
	case ITEM_QUIT:
		/* A known severity right here is a non-session process: prefer stopping. */
		if (!known_severity_at(m, pos) && match_items(m, idx + 1, pos))
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

enum path_result { PATH_MATCHED, PATH_FAILED, PATH_UNDECIDED };

/*
 * Free text item idx, followed by a literal, from pos: the first end after
 * which that literal matches, as match_text tries them (and with the same
 * step budget).  Returns the end, or (size_t)-1 when the search would have
 * to go back to an earlier choice.
 */
static size_t first_text_end(struct match *m, size_t idx, size_t pos)
{
	const struct item *it = &m->p->items[idx], *next = &m->p->items[idx + 1];
	const char *lit = m->p->literals + next->lit_off;
	size_t end = pos + (size_t)it->min_width;

	while (end < m->len) {
		end = find_byte(m->line, end, m->len, lit[0]);
		if (end == m->len)
			break;
		if (--m->budget <= 0)
			break;
		if (literal_at(m, next, end))
			return end;
		end++;
	}
	return (size_t)-1;
}

/*
 * The backtracking search's first path, followed without recursion: each
 * free text takes the first end where the literal after it matches, %q
 * stops only before a known severity.  The search tries exactly this path
 * first, so a match here is its answer, and so is a failure before any
 * choice was made; any other failure leaves the answer to the search.
 */
static enum path_result match_first_path(struct match *m)
{
	const struct pglog_prefix *p = m->p;
	enum path_result failed = PATH_FAILED;
	size_t pos = 0;

	for (size_t idx = 0; idx < p->n; idx++) {
		const struct item *it = &p->items[idx];
		size_t end;

		m->start[idx] = m->end[idx] = pos;
		switch (it->kind) {
		case ITEM_LITERAL:
			if (!literal_at(m, it, pos))
				return failed;
			pos += it->lit_len;
			break;
		case ITEM_QUIT:
			if (known_severity_at(m, pos)) {
				for (size_t k = idx + 1; k < p->n; k++)
					m->start[k] = m->end[k] = pos;
				return PATH_MATCHED;
			}
			failed = PATH_UNDECIDED;
			break;
		case ITEM_TEXT:
			failed = PATH_UNDECIDED;
			if (idx + 1 == p->n || p->items[idx + 1].kind != ITEM_LITERAL)
				return failed;
			end = first_text_end(m, idx, pos);
			if (end == (size_t)-1)
				return failed;
			m->end[idx] = end;
			idx++;
			m->start[idx] = m->end[idx] = end;
			pos = end + p->items[idx].lit_len;
			break;
		default:
			end = match_fixed(it, m->line, pos, m->len);
			if (end == (size_t)-1)
				return failed;
			m->end[idx] = end;
			pos = end;
			break;
		}
	}
	return match_severity(m, pos) ? PATH_MATCHED : failed;
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
	switch (match_first_path(m)) {
	case PATH_MATCHED:
		break;
	case PATH_FAILED:
		return -1;
	case PATH_UNDECIDED:
		m->budget = STEP_BUDGET;
		if (!match_items(m, 0, 0))
			return -1;
		break;
	}
	for (size_t k = 0; k < p->n_part_items; k++) {
		const struct part_item *pi = &p->part_items[k];
		const char *value = line + m->start[pi->item];
		size_t value_len = m->end[pi->item] - m->start[pi->item];

		if (pi->repeated && e->has[pi->part])
			continue;
		if (pi->trim)
			trim(&value, &value_len);
		if (value_len)
			entry_set(e, pi->part, value, value_len);
	}
	entry_set(e, PGLOG_SEVERITY, line + m->severity_start, m->severity_end - m->severity_start);
	e->severity = severity_from_word(line + m->severity_start,
					 m->severity_end - m->severity_start);
	return (long)(m->severity_end + 3);
}

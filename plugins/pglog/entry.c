/*
 * entry.c - the bounded buffer behind one log entry (see entry.h).
 */
#include <stdlib.h>
#include <string.h>

#include "entry.h"

void entry_init(struct pglog_entry *e, size_t max_bytes)
{
	memset(e, 0, sizeof(*e));
	e->max = max_bytes;
	e->last_part = -1;
}

void entry_free(struct pglog_entry *e)
{
	free(e->buf);
	entry_init(e, e->max);
}

void entry_reset(struct pglog_entry *e)
{
	memset(e->has, 0, sizeof(e->has));
	e->severity = 0;
	e->used = 0;
	e->last_part = -1;
	e->truncated = false;
	e->first_line = 0;
}

/* Room for `want` more bytes, or as many as the cap leaves (possibly 0). */
static size_t reserve(struct pglog_entry *e, size_t want)
{
	size_t room = e->max > e->used ? e->max - e->used : 0;
	size_t take = want < room ? want : room;

	if (take < want)
		e->truncated = true;
	if (e->used + take > e->cap) {
		size_t cap = e->cap ? e->cap : 256;
		char *grown;

		while (cap < e->used + take)
			cap *= 2;
		if (cap > e->max)
			cap = e->max;
		grown = realloc(e->buf, cap);
		if (grown == NULL) {
			e->truncated = true;
			return 0;
		}
		e->buf = grown;
		e->cap = cap;
	}
	return take;
}

bool entry_set_growing(struct pglog_entry *e, int part, const char *text, size_t len)
{
	size_t take = reserve(e, len);

	if (take)
		memcpy(e->buf + e->used, text, take);
	e->off[part] = (uint32_t)e->used;
	e->len[part] = (uint32_t)take;
	e->has[part] = true;
	e->used += take;
	e->last_part = part;
	return take == len || e->used == e->max;
}

bool entry_append_line(struct pglog_entry *e, const char *text, size_t len)
{
	size_t take;

	if (e->last_part < 0)
		return entry_set(e, PGLOG_MESSAGE, text, len);
	/* Only the part written last ends the buffer, so only it can grow. */
	take = reserve(e, len + 1);
	if (take) {
		e->buf[e->used] = '\n';
		memcpy(e->buf + e->used + 1, text, take - 1);
	}
	e->used += take;
	e->len[e->last_part] += (uint32_t)take;
	return true;
}

bool entry_copy(struct pglog_entry *dst, const struct pglog_entry *src)
{
	entry_reset(dst);
	if (reserve(dst, src->used) < src->used)
		return false;
	if (src->used)
		memcpy(dst->buf, src->buf, src->used);
	dst->used = src->used;
	memcpy(dst->off, src->off, sizeof(dst->off));
	memcpy(dst->len, src->len, sizeof(dst->len));
	memcpy(dst->has, src->has, sizeof(dst->has));
	dst->severity = src->severity;
	dst->last_part = src->last_part;
	dst->truncated = src->truncated;
	dst->first_line = src->first_line;
	return true;
}

static const char *const severity_words[PGLOG_SEV_COUNT] = {
	[PGLOG_SEV_DEBUG5] = "DEBUG5", [PGLOG_SEV_DEBUG4] = "DEBUG4",
	[PGLOG_SEV_DEBUG3] = "DEBUG3", [PGLOG_SEV_DEBUG2] = "DEBUG2",
	[PGLOG_SEV_DEBUG1] = "DEBUG1", [PGLOG_SEV_INFO] = "INFO",
	[PGLOG_SEV_NOTICE] = "NOTICE", [PGLOG_SEV_WARNING] = "WARNING",
	[PGLOG_SEV_ERROR] = "ERROR", [PGLOG_SEV_LOG] = "LOG",
	[PGLOG_SEV_FATAL] = "FATAL", [PGLOG_SEV_PANIC] = "PANIC",
	[PGLOG_SEV_DETAIL] = "DETAIL", [PGLOG_SEV_HINT] = "HINT",
	[PGLOG_SEV_CONTEXT] = "CONTEXT", [PGLOG_SEV_STATEMENT] = "STATEMENT",
	[PGLOG_SEV_QUERY] = "QUERY", [PGLOG_SEV_LOCATION] = "LOCATION",
};

/* The severity among `candidates` (each NUL-terminated, all `len` long) that word is. */
static int severity_among(const char *word, size_t len, const int *candidates, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(severity_words[candidates[i]], word, len) == 0)
			return candidates[i];
	return PGLOG_SEV_UNKNOWN;
}

int severity_from_word(const char *word, size_t len)
{
	/* Called for every line: compare only against the words of this length. */
	static const int three[] = { PGLOG_SEV_LOG };
	static const int four[] = { PGLOG_SEV_INFO, PGLOG_SEV_HINT };
	static const int five[] = { PGLOG_SEV_ERROR, PGLOG_SEV_FATAL, PGLOG_SEV_PANIC, PGLOG_SEV_QUERY };
	static const int six[] = { PGLOG_SEV_DETAIL, PGLOG_SEV_NOTICE, PGLOG_SEV_DEBUG1, PGLOG_SEV_DEBUG2,
				   PGLOG_SEV_DEBUG3, PGLOG_SEV_DEBUG4, PGLOG_SEV_DEBUG5 };
	static const int seven[] = { PGLOG_SEV_WARNING, PGLOG_SEV_CONTEXT };
	static const int eight[] = { PGLOG_SEV_LOCATION };
	static const int nine[] = { PGLOG_SEV_STATEMENT };
#define AMONG(list) severity_among(word, len, list, sizeof(list) / sizeof(list[0]))

	switch (len) {
	case 3: return AMONG(three);
	case 4: return AMONG(four);
	case 5:
		/* jsonlog and csvlog write plain DEBUG for every debug level. */
		if (memcmp(word, "DEBUG", 5) == 0)
			return PGLOG_SEV_DEBUG1;
		return AMONG(five);
	case 6: return AMONG(six);
	case 7: return AMONG(seven);
	case 8: return AMONG(eight);
	case 9: return AMONG(nine);
	default: return PGLOG_SEV_UNKNOWN;
	}
#undef AMONG
}

const char *severity_name(int severity)
{
	return severity > 0 && severity < PGLOG_SEV_COUNT ? severity_words[severity] : NULL;
}

bool severity_is_attachment(int severity)
{
	return severity >= PGLOG_SEV_DETAIL && severity <= PGLOG_SEV_LOCATION;
}

int severity_part(int severity)
{
	switch (severity) {
	case PGLOG_SEV_DETAIL: return PGLOG_DETAIL;
	case PGLOG_SEV_HINT: return PGLOG_HINT;
	case PGLOG_SEV_CONTEXT: return PGLOG_CONTEXT;
	case PGLOG_SEV_STATEMENT: return PGLOG_STATEMENT;
	case PGLOG_SEV_QUERY: return PGLOG_QUERY;
	case PGLOG_SEV_LOCATION: return PGLOG_LOCATION;
	default: return PGLOG_MESSAGE;
	}
}

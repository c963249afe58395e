/*
 * entry.h - one PostgreSQL log entry (a message with its DETAIL, HINT,
 * CONTEXT, STATEMENT, QUERY and LOCATION lines), whatever the log format.
 *
 * The parts live in one buffer owned by the entry, bounded by a cap: an
 * entry longer than the cap keeps its first bytes and is marked truncated,
 * so one runaway message cannot take the collector's memory.
 */
#ifndef PGLOG_ENTRY_H
#define PGLOG_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum pglog_part {
	PGLOG_TIME,
	PGLOG_USER,
	PGLOG_DATABASE,
	PGLOG_APPLICATION,
	PGLOG_PID,
	PGLOG_SQLSTATE,
	PGLOG_REMOTE,
	PGLOG_SESSION,
	PGLOG_BACKEND_TYPE,
	PGLOG_QUERY_ID,
	PGLOG_SEVERITY,      /* the word as written, e.g. "ERROR" */
	PGLOG_MESSAGE,
	PGLOG_DETAIL,
	PGLOG_HINT,
	PGLOG_CONTEXT,
	PGLOG_STATEMENT,
	PGLOG_QUERY,         /* internal query */
	PGLOG_LOCATION,
	PGLOG_PART_COUNT
};

/* Severities in PostgreSQL's log_min_messages order (LOG between ERROR and FATAL). */
enum pglog_severity {
	PGLOG_SEV_UNKNOWN = 0,
	PGLOG_SEV_DEBUG5, PGLOG_SEV_DEBUG4, PGLOG_SEV_DEBUG3, PGLOG_SEV_DEBUG2,
	PGLOG_SEV_DEBUG1, PGLOG_SEV_INFO, PGLOG_SEV_NOTICE, PGLOG_SEV_WARNING,
	PGLOG_SEV_ERROR, PGLOG_SEV_LOG, PGLOG_SEV_FATAL, PGLOG_SEV_PANIC,
	/* Not severities: lines that belong to the preceding message. */
	PGLOG_SEV_DETAIL, PGLOG_SEV_HINT, PGLOG_SEV_CONTEXT, PGLOG_SEV_STATEMENT,
	PGLOG_SEV_QUERY, PGLOG_SEV_LOCATION,
	PGLOG_SEV_COUNT
};

struct pglog_entry {
	int severity;            /* enum pglog_severity */
	uint32_t off[PGLOG_PART_COUNT];
	uint32_t len[PGLOG_PART_COUNT];
	bool has[PGLOG_PART_COUNT];
	int last_part;           /* the only part that may still grow; -1 when none */
	char *buf;
	size_t used, cap, max;
	bool truncated;          /* some bytes were dropped at the cap */
	uint64_t first_line;     /* line number of the entry's first line in its file */
};

/* entry_init - an empty entry whose buffer never exceeds max_bytes. */
void entry_init(struct pglog_entry *e, size_t max_bytes);
/* entry_free - release the buffer; the entry may be initialised again. */
void entry_free(struct pglog_entry *e);
/* entry_reset - empty the entry for reuse, keeping its buffer. */
void entry_reset(struct pglog_entry *e);
/*
 * entry_set - set a part to text[0..len), replacing an earlier value of it.
 * Past the cap the text is cut and the entry marked truncated.  Returns
 * false only when memory ran out (the entry is then truncated too).
 * entry_set_growing is its path for a part that needs a bigger buffer.
 */
bool entry_set_growing(struct pglog_entry *e, int part, const char *text, size_t len);
/*
 * entry_copy_bytes - memcpy, with the short copies most parts are (a pid,
 * a user name) done in two overlapping fixed-size moves instead of a call.
 */
static inline void entry_copy_bytes(char *dst, const char *src, size_t len)
{
	if (len >= 8 && len <= 16) {
		memcpy(dst, src, 8);
		memcpy(dst + len - 8, src + len - 8, 8);
	} else if (len >= 4 && len < 8) {
		memcpy(dst, src, 4);
		memcpy(dst + len - 4, src + len - 4, 4);
	} else if (len < 4) {
		for (size_t i = 0; i < len; i++)
			dst[i] = src[i];
	} else {
		memcpy(dst, src, len);
	}
}
/* Inline for the usual case, a part that fits the buffer: several are set per line. */
static inline bool entry_set(struct pglog_entry *e, int part, const char *text, size_t len)
{
	if (e->used + len > e->cap)
		return entry_set_growing(e, part, text, len);
	if (len)
		entry_copy_bytes(e->buf + e->used, text, len);
	e->off[part] = (uint32_t)e->used;
	e->len[part] = (uint32_t)len;
	e->has[part] = true;
	e->used += len;
	e->last_part = part;
	return true;
}
/* entry_append - add "\n" and text to the part set last (a continuation line). */
bool entry_append_line(struct pglog_entry *e, const char *text, size_t len);
/*
 * entry_part - the part's text (not NUL-terminated) and its length; NULL
 * when unset.  Inline: it is asked several times for every entry.
 */
static inline const char *entry_part(const struct pglog_entry *e, int part, size_t *len)
{
	if (!e->has[part]) {
		*len = 0;
		return NULL;
	}
	*len = e->len[part];
	return e->buf ? e->buf + e->off[part] : "";
}
/* entry_copy - make dst hold what src holds (dst keeps its own cap). */
bool entry_copy(struct pglog_entry *dst, const struct pglog_entry *src);

/* severity_from_word - the severity named by an English word; UNKNOWN otherwise. */
int severity_from_word(const char *word, size_t len);
/* severity_name - the English word of a severity ("LOG"); NULL for UNKNOWN. */
const char *severity_name(int severity);
/* severity_is_attachment - DETAIL, HINT... : lines that extend the preceding message. */
bool severity_is_attachment(int severity);
/* severity_part - the entry part an attachment line fills (PGLOG_DETAIL...). */
int severity_part(int severity);

#endif

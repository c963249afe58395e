/*
 * events.c - entries to events (see events.h).  Each rule checks the cheap
 * thing first (SQLSTATE, the first bytes of the message), so that the
 * common entry that is no event costs a few comparisons.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"

#define HEAD_BYTES 1024
#define DURATION_HEAD 64

static const char *const kind_names[EVENT_KIND_COUNT] = {
	[EVENT_SLOW_STATEMENT] = "slow_statement",
	[EVENT_CHECKPOINT_STARTING] = "checkpoint_starting",
	[EVENT_CHECKPOINT_COMPLETE] = "checkpoint_complete",
	[EVENT_AUTOVACUUM] = "autovacuum",
	[EVENT_AUTOANALYZE] = "autoanalyze",
	[EVENT_LOCK_WAIT] = "lock_wait",
	[EVENT_DEADLOCK] = "deadlock",
	[EVENT_AUTH_FAILURE] = "auth_failure",
	[EVENT_CONNECTION_FAILURE] = "connection_failure",
	[EVENT_TOO_MANY_CONNECTIONS] = "too_many_connections",
	[EVENT_TEMP_FILE] = "temp_file",
	[EVENT_SERVER_START] = "server_start",
	[EVENT_SERVER_SHUTDOWN] = "server_shutdown",
	[EVENT_SERVER_CRASH] = "server_crash",
	[EVENT_ARCHIVE_FAILURE] = "archive_failure",
};

const char *event_kind_name(int kind)
{
	return kind > 0 && kind < EVENT_KIND_COUNT ? kind_names[kind] : "none";
}

/* A word with its length, so that comparing with it needs no strlen. */
struct word {
	const char *text;
	size_t len;
};

#define WORD(literal) { literal, sizeof(literal) - 1 }

/* Inline, so that a literal word's length and comparison are compiled in. */
static inline bool starts_with(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && memcmp(s, word, n) == 0;
}

static inline bool starts_with_word(const char *s, size_t len, const struct word *w)
{
	return len >= w->len && memcmp(s, w->text, w->len) == 0;
}

/*
 * The plain decimal number (digits, '.', digits) at s, as strtod reads it,
 * without strtod's cost.  A decimal of at most 19 digits whose digits make
 * an integer below 2^53, with at most 22 of them after the point, is that
 * integer divided by a power of ten, both exact doubles: one division,
 * correctly rounded, gives exactly what strtod gives.  Anything else (a
 * sign, leading space, an exponent, hex, more digits) goes to strtod.
 */
static double read_decimal(const char *s, char **end)
{
	static const double powers_of_ten[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
	};
	uint64_t digits = 0;
	size_t i = 0, count = 0, after_point = 0;

	for (; (unsigned char)(s[i] - '0') < 10; i++, count++)
		digits = digits * 10 + (uint64_t)(s[i] - '0');
	if (s[i] == '.') {
		for (i++; (unsigned char)(s[i] - '0') < 10; i++, count++, after_point++)
			digits = digits * 10 + (uint64_t)(s[i] - '0');
	}
	if (count == 0 || count > 19 || digits > (1ULL << 53) || after_point > 22 ||
	    s[i] == 'e' || s[i] == 'E' || s[i] == 'x' || s[i] == 'X')
		return strtod(s, end);
	*end = (char *)s + i;
	return (double)digits / powers_of_ten[after_point];
}

/* The number after `key` in the NUL-terminated head, as a double. */
static bool number_after(const char *head, const char *key, double *out)
{
	const char *at = strstr(head, key);
	char *end;

	if (at == NULL)
		return false;
	*out = read_decimal(at + strlen(key), &end);
	/* strtod also reads "nan" and "1e999": the emitter refuses those, so they are no value. */
	return end != at + strlen(key) && isfinite(*out);
}

static bool integer_after(const char *head, const char *key, int64_t *out)
{
	double value;

	/* Out of range (or NaN) is not a number the server wrote: no value rather than UB. */
	if (!number_after(head, key, &value) || !(value > -9.2e18 && value < 9.2e18))
		return false;
	*out = (int64_t)value;
	return true;
}

/*
 * The duration of "duration: 12.3 ms" (head starts with "duration: ") and
 * where " ms" is, or NULL.  When the number is plain, " ms" right after it
 * is the first " ms" of the head (only digits and a point come before).
 */
static const char *duration_ms(const char *head, struct pglog_event_numbers *n)
{
	const char *number = head + strlen("duration: ");
	char *end;

	n->duration_ms = read_decimal(number, &end);
	n->has_duration = end != number && isfinite(n->duration_ms);
	if ((unsigned char)(number[0] - '0') < 10 && end[0] == ' ' && end[1] == 'm' && end[2] == 's')
		return end;
	return strstr(head, " ms");
}

/* "duration: 12.3 ms  statement: SELECT" and its execute/parse/bind forms. */
static int slow_statement(const char *msg, size_t len, const char *head,
			  struct pglog_event_numbers *n)
{
	static const struct word phases[] = {
		WORD("statement: "), WORD("execute "), WORD("parse "), WORD("bind ")
	};
	const char *ms = duration_ms(head, n);

	if (!n->has_duration || ms == NULL)
		return EVENT_NONE;
	size_t pos = (size_t)(ms - head) + 3;
	while (pos < len && msg[pos] == ' ')
		pos++;
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
		if (!starts_with_word(msg + pos, len - pos, &phases[i]))
			continue;
		pos += phases[i].len;
		if (i > 0) {    /* execute NAME: the statement follows the name */
			const char *colon = memchr(msg + pos, ':', len - pos);
			pos = colon ? (size_t)(colon - msg) + 1 : len;
			while (pos < len && msg[pos] == ' ')
				pos++;
		}
		n->text = msg + pos;
		n->text_len = len - pos;
		n->text_name = "statement";
		break;
	}
	return EVENT_SLOW_STATEMENT;
}

static int checkpoint_complete(const char *head, struct pglog_event_numbers *n)
{
	n->has_checkpoint = integer_after(head, "wrote ", &n->buffers);
	number_after(head, "buffers (", &n->buffers_pct);
	number_after(head, "write=", &n->write_s);
	number_after(head, "sync=", &n->sync_s);
	number_after(head, "total=", &n->total_s);
	integer_after(head, "distance=", &n->distance_kb);
	integer_after(head, "estimate=", &n->estimate_kb);
	return EVENT_CHECKPOINT_COMPLETE;
}

/* "automatic vacuum of table "db.schema.t": ..." and "automatic analyze of table ..." */
static int maintenance(const char *msg, size_t len, const char *head,
		       struct pglog_event_numbers *n)
{
	const char *quote = memchr(msg, '"', len);
	const char *line_end = memchr(msg, '\n', len);
	int kind = strstr(head, "analyze of table") && (line_end == NULL ||
		   strstr(head, "analyze of table") < head + (line_end - msg)) ?
		   EVENT_AUTOANALYZE : EVENT_AUTOVACUUM;

	if (quote) {
		const char *close = memchr(quote + 1, '"', len - (size_t)(quote + 1 - msg));
		if (close) {
			n->text = quote + 1;
			n->text_len = (size_t)(close - quote - 1);
			n->text_name = "table";
		}
	}
	n->has_elapsed = number_after(head, "elapsed: ", &n->elapsed_s);
	n->has_tuples = integer_after(head, "tuples: ", &n->tuples_removed);
	return kind;
}

/* The SQLSTATE class decides first: it does not depend on lc_messages. */
static int by_sqlstate(const struct pglog_entry *e)
{
	size_t len;
	const char *code = entry_part(e, PGLOG_SQLSTATE, &len);

	if (code == NULL || len != 5)
		return EVENT_NONE;
	if (memcmp(code, "40P01", 5) == 0)
		return EVENT_DEADLOCK;
	if (memcmp(code, "53300", 5) == 0)
		return EVENT_TOO_MANY_CONNECTIONS;
	if (memcmp(code, "28", 2) == 0)
		return EVENT_AUTH_FAILURE;
	if (e->severity == PGLOG_SEV_FATAL && (memcmp(code, "08", 2) == 0 ||
					       memcmp(code, "3D000", 5) == 0))
		return EVENT_CONNECTION_FAILURE;
	return EVENT_NONE;
}

static int by_message(const struct pglog_entry *e, const char *msg, size_t len,
		      const char *head, struct pglog_event_numbers *n)
{
	if (starts_with(msg, len, "duration: "))
		return slow_statement(msg, len, head, n);
	if (starts_with(msg, len, "checkpoint starting:") || starts_with(msg, len, "restartpoint starting:"))
		return EVENT_CHECKPOINT_STARTING;
	if (starts_with(msg, len, "checkpoint complete:") || starts_with(msg, len, "restartpoint complete:"))
		return checkpoint_complete(head, n);
	if (starts_with(msg, len, "automatic ") && strstr(head, " of table "))
		return maintenance(msg, len, head, n);
	if (starts_with(msg, len, "process ") && strstr(head, " still waiting for ")) {
		const char *for_ = strstr(head, " still waiting for ") + strlen(" still waiting for ");
		const char *after = strstr(for_, " after ");
		n->text = msg + (for_ - head);
		n->text_len = after ? (size_t)(after - for_) : strlen(for_);
		n->text_name = "lock";
		n->has_duration = after && number_after(after, " after ", &n->duration_ms);
		return EVENT_LOCK_WAIT;
	}
	if (starts_with(msg, len, "deadlock detected"))
		return EVENT_DEADLOCK;
	if (starts_with(msg, len, "password authentication failed") ||
	    starts_with(msg, len, "no pg_hba.conf entry") ||
	    (starts_with(msg, len, "authentication failed")))
		return EVENT_AUTH_FAILURE;
	if (starts_with(msg, len, "sorry, too many clients") ||
	    starts_with(msg, len, "remaining connection slots are reserved"))
		return EVENT_TOO_MANY_CONNECTIONS;
	if (starts_with(msg, len, "temporary file: path \"")) {
		const char *path = msg + strlen("temporary file: path \"");
		const char *close = memchr(path, '"', len - (size_t)(path - msg));
		n->text = path;
		n->text_len = close ? (size_t)(close - path) : 0;
		n->text_name = "path";
		n->has_size = integer_after(head, ", size ", &n->size_bytes);
		return EVENT_TEMP_FILE;
	}
	if (starts_with(msg, len, "database system is ready to accept"))
		return EVENT_SERVER_START;
	if (starts_with(msg, len, "database system is shut down"))
		return EVENT_SERVER_SHUTDOWN;
	if (e->severity == PGLOG_SEV_PANIC || strstr(head, " was terminated by signal ") ||
	    strstr(head, " was terminated by exception ") ||
	    starts_with(msg, len, "all server processes terminated; reinitializing"))
		return strstr(head, "archive command") ? EVENT_ARCHIVE_FAILURE : EVENT_SERVER_CRASH;
	if (starts_with(msg, len, "archive command failed") ||
	    (starts_with(msg, len, "archiving write-ahead log file") && strstr(head, "failed")) ||
	    starts_with(msg, len, "archive command was terminated")) {
		n->has_exit_code = integer_after(head, "exit code ", &n->exit_code);
		return EVENT_ARCHIVE_FAILURE;
	}
	return EVENT_NONE;
}

/*
 * memmem(text, len, needle, needle_len) != NULL, looking with memchr for
 * needle[anchor] only: chosen rare in messages, it has few candidates.
 */
static bool contains(const char *text, size_t len, const struct word *needle, size_t anchor)
{
	const char *at, *stop;

	if (len < needle->len)
		return false;
	at = text + anchor;
	stop = text + (len - needle->len) + anchor + 1;   /* the anchor's last place */
	while (at < stop && (at = memchr(at, needle->text[anchor], (size_t)(stop - at))) != NULL) {
		if (memcmp(at - anchor, needle->text, needle->len) == 0)
			return true;
		at++;
	}
	return false;
}

/*
 * Whether the message opens like an event recognised by its text.  By its
 * first letter: most messages start with none of these, and for the rest
 * one or two comparisons decide.
 */
static bool opens_like_an_event(const char *msg, size_t len)
{
	switch (msg[0]) {
	case 'a':
		return starts_with(msg, len, "automatic ") || starts_with(msg, len, "authentication failed") ||
		       starts_with(msg, len, "archiv") ||
		       starts_with(msg, len, "all server processes terminated");
	case 'c':
		return starts_with(msg, len, "checkpoint ");
	case 'd':
		return starts_with(msg, len, "deadlock detected") ||
		       starts_with(msg, len, "database system is ");
	case 'n':
		return starts_with(msg, len, "no pg_hba.conf");
	case 'p':
		return starts_with(msg, len, "process ") || starts_with(msg, len, "password authentication");
	case 'r':
		return starts_with(msg, len, "restartpoint ") ||
		       starts_with(msg, len, "remaining connection slots");
	case 's':
		return starts_with(msg, len, "sorry, too many");
	case 't':
		return starts_with(msg, len, "temporary file: ");
	default:
		return false;
	}
}

/*
 * Whether the message can be an event recognised by its text: checked on
 * the message itself, so that the common entry costs no copy.  Returns how
 * much of it by_message needs to see, 0 for none.
 */
static size_t head_needed(const struct pglog_entry *e, const char *msg, size_t len)
{
	static const struct word pid = WORD("(PID "), terminated = WORD(" terminated by ");
	size_t near = len < 200 ? len : 200;

	if (starts_with(msg, len, "duration: "))
		return DURATION_HEAD;            /* the number and " ms" are right there */
	if (opens_like_an_event(msg, len) || e->severity == PGLOG_SEV_PANIC ||
	    contains(msg, near, &pid, 0) || contains(msg, near, &terminated, 12))   /* the b of "by" */
		return HEAD_BYTES - 1;
	return 0;
}

int event_classify(const struct pglog_entry *e, struct pglog_event_numbers *n)
{
	static const struct pglog_event_numbers none;
	char head[HEAD_BYTES];
	size_t len, head_len;
	const char *msg = entry_part(e, PGLOG_MESSAGE, &len);
	int kind;

	/* An assignment, not memset: gcc makes that memset a slow `rep stos`. */
	*n = none;
	if (e->severity >= PGLOG_SEV_DEBUG5 && e->severity <= PGLOG_SEV_NOTICE)
		return EVENT_NONE;
	kind = by_sqlstate(e);
	if (kind != EVENT_NONE || msg == NULL || len == 0)
		return kind;
	head_len = head_needed(e, msg, len);
	if (head_len == 0)
		return EVENT_NONE;
	/* The numbers are near the start; a NUL-terminated copy lets strtod and strstr read them. */
	if (head_len > len)
		head_len = len;
	if (memchr(msg, '\0', head_len))
		return EVENT_NONE;   /* binary garbage: no event */
	if (head_len == DURATION_HEAD)
		memcpy(head, msg, DURATION_HEAD);   /* a fixed size compiles to a few moves */
	else
		memcpy(head, msg, head_len);
	head[head_len] = '\0';
	return by_message(e, msg, len, head, n);
}

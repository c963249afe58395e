/*
 * parser.c - lines to entries (see parser.h): the stitching of stderr
 * messages, the assembly of csv records that span lines, and the dispatch
 * to the csvlog and jsonlog readers.
 *
 * stderr: a line that matches the prefix and a severity starts a message,
 * unless its severity is DETAIL, HINT, CONTEXT, STATEMENT, QUERY or
 * LOCATION: then it is attached to the latest pending message of the same
 * process.  A line starting with a tab continues the part written last
 * (PostgreSQL puts a tab after each newline of a message).  A few messages
 * stay pending at once, so that processes whose lines interleave (without
 * the logging collector) are still stitched right.  A message is complete
 * when its process starts the next one, but it is handed out only once
 * every older pending message is too (or the slots run out), so that
 * entries come out in log order.
 */
#include <stdlib.h>
#include <string.h>

#include "formats.h"
#include "parser.h"
#include "prefix.h"

#define PENDING_SLOTS 8

struct pglog_parser {
	int format;
	struct parser_callbacks cb;
	struct parser_counts counts;
	size_t max_entry;
	struct pglog_prefix *prefix;
	/* Entries move between these roles by pointer: no entry is copied. */
	struct pglog_entry entries[PENDING_SLOTS + 1];
	struct pglog_entry *scratch;               /* the line being matched */
	struct pglog_entry *pending[PENDING_SLOTS]; /* oldest first */
	uint64_t pending_pid[PENDING_SLOTS];       /* pid_key of each pending entry */
	bool pending_done[PENDING_SLOTS];          /* complete, waiting for older ones */
	uint64_t scratch_pid;
	int pending_n;
	int last_touched;                          /* pending index a tab line extends; -1 */
	/* csvlog: the record being assembled */
	char *record;
	size_t record_len, record_cap;
	bool record_open;                          /* inside a quoted field */
	bool record_started;
	bool record_cut;                           /* longer than the cap */
	uint64_t record_line;
};

int parser_format_from_name(const char *name)
{
	if (strcmp(name, "stderr") == 0)
		return PGLOG_FORMAT_STDERR;
	if (strcmp(name, "csvlog") == 0)
		return PGLOG_FORMAT_CSV;
	if (strcmp(name, "jsonlog") == 0)
		return PGLOG_FORMAT_JSON;
	return -1;
}

const char *parser_format_name(int format)
{
	return format == PGLOG_FORMAT_CSV ? "csvlog" : format == PGLOG_FORMAT_JSON ? "jsonlog" : "stderr";
}

struct pglog_parser *parser_new(int format, const char *log_line_prefix,
				size_t max_entry_bytes, const struct parser_callbacks *cb)
{
	struct pglog_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->format = format;
	p->cb = *cb;
	p->max_entry = max_entry_bytes;
	p->last_touched = -1;
	for (int i = 0; i <= PENDING_SLOTS; i++)
		entry_init(&p->entries[i], max_entry_bytes);
	p->scratch = &p->entries[PENDING_SLOTS];
	for (int i = 0; i < PENDING_SLOTS; i++)
		p->pending[i] = &p->entries[i];
	if (format == PGLOG_FORMAT_STDERR) {
		p->prefix = prefix_compile(log_line_prefix ? log_line_prefix : "");
		if (p->prefix == NULL) {
			parser_free(p);
			return NULL;
		}
	}
	return p;
}

void parser_free(struct pglog_parser *p)
{
	if (p == NULL)
		return;
	prefix_free(p->prefix);
	for (int i = 0; i <= PENDING_SLOTS; i++)
		entry_free(&p->entries[i]);
	free(p->record);
	free(p);
}

const struct parser_counts *parser_counts(const struct pglog_parser *p)
{
	return &p->counts;
}

static void hand_out(struct pglog_parser *p, const struct pglog_entry *e)
{
	p->counts.entries++;
	if (e->truncated)
		p->counts.truncated++;
	p->cb.entry(p->cb.arg, e);
}

static void problem(struct pglog_parser *p, uint64_t line_no, const char *what)
{
	if (p->cb.problem)
		p->cb.problem(p->cb.arg, line_no, what);
}

/* ---- stderr ---- */

/*
 * A message's pid as one number, so that finding the pending message of a
 * process (done for every line) compares numbers: the pid's bytes and
 * length when it has at most 7 bytes (a pid has at most 7 digits), else
 * LONG_PID and the bytes are compared.  NO_PID without %p.
 */
#define NO_PID 0
#define LONG_PID UINT64_MAX

static uint64_t pid_key(const struct pglog_entry *e)
{
	size_t len;
	const char *pid = entry_part(e, PGLOG_PID, &len);
	uint64_t key = 1ULL << 63 | (uint64_t)len << 56;

	if (pid == NULL)
		return NO_PID;
	if (len > 7)
		return LONG_PID;
	for (size_t i = 0; i < len; i++)
		key |= (uint64_t)(unsigned char)pid[i] << (8 * i);
	return key;
}

static bool same_pid_bytes(const struct pglog_entry *a, const struct pglog_entry *b)
{
	size_t la, lb;
	const char *pa = entry_part(a, PGLOG_PID, &la), *pb = entry_part(b, PGLOG_PID, &lb);

	return la == lb && memcmp(pa, pb, la) == 0;
}

/* pending[i] and the line in scratch are of the same process. */
static bool same_process(const struct pglog_parser *p, int i)
{
	uint64_t a = p->pending_pid[i], b = p->scratch_pid;

	if (a == NO_PID || b == NO_PID)
		return true;    /* without %p in the prefix every line is taken to be the same process's */
	return a == b && (a != LONG_PID || same_pid_bytes(p->pending[i], p->scratch));
}

/* Hand out pending[i] and close the gap, keeping the order. */
static void release_pending(struct pglog_parser *p, int i)
{
	struct pglog_entry *done = p->pending[i];

	hand_out(p, done);
	memmove(&p->pending[i], &p->pending[i + 1], (size_t)(p->pending_n - i - 1) * sizeof(done));
	memmove(&p->pending_pid[i], &p->pending_pid[i + 1],
		(size_t)(p->pending_n - i - 1) * sizeof(p->pending_pid[0]));
	memmove(&p->pending_done[i], &p->pending_done[i + 1],
		(size_t)(p->pending_n - i - 1) * sizeof(p->pending_done[0]));
	p->pending[--p->pending_n] = done;  /* its buffer is reused by the next message */
	if (p->last_touched == i)
		p->last_touched = -1;
	else if (p->last_touched > i)
		p->last_touched--;
}

/* The open (not complete) pending message of the process of the line in scratch, or -1. */
static int latest_pending_of(const struct pglog_parser *p)
{
	for (int i = p->pending_n - 1; i >= 0; i--)
		if (!p->pending_done[i] && same_process(p, i))
			return i;
	return -1;
}

/* Hand out the complete messages that no older open one holds back. */
static void release_done_front(struct pglog_parser *p)
{
	while (p->pending_n > 0 && p->pending_done[0])
		release_pending(p, 0);
}

static void start_message(struct pglog_parser *p, const char *text, size_t len, uint64_t line_no)
{
	struct pglog_entry *swap;
	int same;

	while ((same = latest_pending_of(p)) >= 0)
		p->pending_done[same] = true;
	release_done_front(p);
	if (p->pending_n == PENDING_SLOTS)
		release_pending(p, 0);
	entry_set(p->scratch, PGLOG_MESSAGE, text, len);
	p->scratch->first_line = line_no;
	/* Swap rather than copy: the slot's old entry becomes the next scratch. */
	swap = p->pending[p->pending_n];
	p->pending[p->pending_n] = p->scratch;
	p->pending_pid[p->pending_n] = p->scratch_pid;
	p->pending_done[p->pending_n] = false;
	p->scratch = swap;
	p->last_touched = p->pending_n++;
}

static void attach_line(struct pglog_parser *p, const char *text, size_t len, uint64_t line_no)
{
	int i = latest_pending_of(p);

	if (i < 0) {
		p->counts.orphan_lines++;
		problem(p, line_no, "a DETAIL/HINT/CONTEXT/STATEMENT line with no message before it");
		return;
	}
	entry_set(p->pending[i], severity_part(p->scratch->severity), text, len);
	p->last_touched = i;
}

static void stderr_line(struct pglog_parser *p, const char *line, size_t len, uint64_t line_no)
{
	long message;

	if (len > 0 && line[0] == '\t') {
		if (p->last_touched >= 0) {
			entry_append_line(p->pending[p->last_touched], line + 1, len - 1);
			return;
		}
		p->counts.orphan_lines++;
		problem(p, line_no, "a continuation line with no message before it");
		return;
	}
	message = prefix_match(p->prefix, line, len, p->scratch);
	if (message < 0) {
		p->counts.unparsed_lines++;
		problem(p, line_no, "does not start with log_line_prefix and a severity; not counted");
		return;
	}
	p->scratch_pid = pid_key(p->scratch);
	if (severity_is_attachment(p->scratch->severity))
		attach_line(p, line + message, len - (size_t)message, line_no);
	else
		start_message(p, line + message, len - (size_t)message, line_no);
}

/* ---- csvlog ---- */

/* The start of a csvlog record: "YYYY-MM-DD HH:MM:SS" at the start of a line. */
static bool looks_like_record_start(const char *line, size_t len)
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd";

	if (len < sizeof(shape))
		return false;
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? !(line[i] >= '0' && line[i] <= '9') : line[i] != shape[i])
			return false;
	return true;
}

static void record_add(struct pglog_parser *p, const char *text, size_t len)
{
	size_t limit = p->max_entry * 2 + 4096;  /* quoting can double a field */
	size_t take = len;

	if (p->record_len + take > limit) {
		take = limit > p->record_len ? limit - p->record_len : 0;
		p->record_cut = true;
	}
	if (take == 0)
		return;
	if (p->record_len + take > p->record_cap) {
		size_t cap = p->record_cap ? p->record_cap : 1024;
		char *grown;

		while (cap < p->record_len + take)
			cap *= 2;
		grown = realloc(p->record, cap);
		if (grown == NULL) {
			p->record_cut = true;
			return;
		}
		p->record = grown;
		p->record_cap = cap;
	}
	memcpy(p->record + p->record_len, text, take);
	p->record_len += take;
}

static void csv_finish_record(struct pglog_parser *p)
{
	const char *why = NULL;
	char empty[1] = "";

	if (csv_record_to_entry(p->record ? p->record : empty, p->record_len, p->scratch, &why)) {
		p->scratch->first_line = p->record_line;
		if (p->record_cut)
			p->scratch->truncated = true;
		hand_out(p, p->scratch);
	} else {
		p->counts.malformed++;
		problem(p, p->record_line, why);
	}
	p->record_len = 0;
	p->record_started = p->record_open = p->record_cut = false;
}

static void csv_line(struct pglog_parser *p, const char *line, size_t len, uint64_t line_no)
{
	if (p->record_started && looks_like_record_start(line, len)) {
		/* A quote never closed (a record cut by a crash): give up on it here. */
		p->counts.malformed++;
		problem(p, p->record_line, "csv record whose quoted field never closes; skipped");
		p->record_len = 0;
		p->record_started = p->record_open = p->record_cut = false;
	}
	if (p->record_started) {
		record_add(p, "\n", 1);
	} else {
		p->record_started = true;
		p->record_line = line_no;
	}
	record_add(p, line, len);
	p->record_open = csv_quote_state(line, len, p->record_open);
	if (!p->record_open)
		csv_finish_record(p);
}

/* ---- jsonlog ---- */

static void json_line(struct pglog_parser *p, const char *line, size_t len, uint64_t line_no)
{
	const char *why = NULL;

	if (len == 0)
		return;
	if (json_line_to_entry(line, len, p->scratch, &why)) {
		p->scratch->first_line = line_no;
		hand_out(p, p->scratch);
	} else {
		p->counts.malformed++;
		problem(p, line_no, why);
	}
}

/* ---- common ---- */

void parser_line(struct pglog_parser *p, const char *line, size_t len, uint64_t line_no)
{
	p->counts.lines++;
	if (p->format == PGLOG_FORMAT_CSV)
		csv_line(p, line, len, line_no);
	else if (p->format == PGLOG_FORMAT_JSON)
		json_line(p, line, len, line_no);
	else
		stderr_line(p, line, len, line_no);
}

bool parser_idle(const struct pglog_parser *p)
{
	return !p->record_started;
}

void parser_flush(struct pglog_parser *p)
{
	while (p->pending_n > 0)
		release_pending(p, 0);
}

void parser_discard(struct pglog_parser *p)
{
	p->record_len = 0;
	p->record_started = p->record_open = p->record_cut = false;
}

void parser_abandon(struct pglog_parser *p)
{
	if (!p->record_started)
		return;
	p->counts.malformed++;
	problem(p, p->record_line, "csv record cut short at the end of the file; skipped");
	parser_discard(p);
}

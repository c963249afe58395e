/*
 * tail.c - following log files (see tail.h).
 *
 * Each cycle: list the target's files; match them with the known ones by
 * device and inode; read every file from its position to its end, oldest
 * first, through one parser; remember, per file, the end of the last whole
 * line (or csv record).  Nothing is held open between cycles, so a log
 * directory with thousands of old files costs no descriptors.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "positions.h"
#include "tail.h"

#define READ_BUFFER (1024 * 1024)
#define SIGNATURE_BYTES 64
#define PROBLEMS_LOGGED_PER_FILE 5

struct tracked {
	struct position pos;         /* path, dev, ino, offset, line_no, signature */
	uint64_t size, last_size;
	int64_t mtime_ns;
	bool seen;                   /* listed by the target this cycle */
	bool detached;               /* found by its inode only: renamed out of the target */
	bool fresh;                  /* first listed this cycle: no signature to check yet */
	uint64_t cycle_bytes, cycle_lines;   /* how far the position moved this cycle */
};

struct tail {
	struct tail_options opts;
	const struct pga_host *h;
	struct pga_ctx *ctx;
	struct report *report;
	struct pglog_parser *parser;
	char *target;
	char *prefix;
	int format;
	struct tracked *files;
	size_t n_files;
	bool first_run;              /* no saved positions: start_at applies */
	char *buf;
	/* this cycle */
	const struct tracked *current;
	unsigned problems_logged;
	uint64_t problems;
	uint64_t fetched;            /* bytes read from files, re-reads included: the budget */
	uint64_t bytes_read, lines_read, truncations, files_lost, long_lines;
	uint64_t unparsed, orphans, malformed, truncated;
	bool budget_hit;
};

static void on_entry(void *arg, const struct pglog_entry *e)
{
	struct tail *t = arg;

	report_entry(t->report, e);
}

/* Log the first few problems of a file each cycle, naming file and line; count the rest. */
static void on_problem(void *arg, uint64_t line_no, const char *what)
{
	struct tail *t = arg;

	t->problems++;
	if (t->current == NULL || t->problems_logged >= PROBLEMS_LOGGED_PER_FILE)
		return;
	t->problems_logged++;
	t->h->log(t->ctx, PGA_LOG_WARNING, "%s:%llu: %s%s", t->current->pos.path,
		  (unsigned long long)line_no, what,
		  t->problems_logged == PROBLEMS_LOGGED_PER_FILE ?
		  " (further problems in this file are counted, not logged, until the next cycle)" : "");
}

bool tail_set_format(struct tail *t, int format, const char *log_line_prefix)
{
	struct parser_callbacks cb = { on_entry, on_problem, t };
	struct pglog_parser *p;
	char *prefix = strdup(log_line_prefix ? log_line_prefix : "");

	if (prefix == NULL)
		return false;
	p = parser_new(format, prefix, t->opts.max_entry_bytes, &cb);
	if (p == NULL) {
		free(prefix);
		return false;
	}
	parser_free(t->parser);
	free(t->prefix);
	t->parser = p;
	t->prefix = prefix;
	t->format = format;
	return true;
}

bool tail_set_target(struct tail *t, const char *target)
{
	char *copy = strdup(target);

	if (copy == NULL)
		return false;
	free(t->target);
	t->target = copy;
	return true;
}

bool tail_first_run(const struct tail *t)
{
	return t->first_run;
}

static bool add_tracked(struct tail *t, const struct position *pos)
{
	struct tracked *grown = realloc(t->files, (t->n_files + 1) * sizeof(*grown));

	if (grown == NULL)
		return false;
	t->files = grown;
	memset(&t->files[t->n_files], 0, sizeof(*grown));
	t->files[t->n_files].pos = *pos;
	t->files[t->n_files].pos.path = strdup(pos->path);
	if (t->files[t->n_files].pos.path == NULL)
		return false;
	t->n_files++;
	return true;
}

static void load_positions(struct tail *t)
{
	struct position *saved;
	const char *why = "";
	long n = positions_load(t->opts.positions_file, &saved, &why);

	if (n == -1)
		return;                  /* first start */
	t->first_run = false;
	if (n == -2) {
		t->h->log(t->ctx, PGA_LOG_WARNING,
			  "%s: cannot read the saved log positions (%s); the files are read from %s",
			  t->opts.positions_file, why, t->opts.start_at_end ? "their end" : "their start");
		t->first_run = true;
		return;
	}
	for (long i = 0; i < n; i++)
		add_tracked(t, &saved[i]);
	positions_free(saved, (size_t)n);
}

struct tail *tail_new(const struct tail_options *opts, const struct pga_host *host,
		      struct pga_ctx *ctx, struct report *report)
{
	struct tail *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->opts = *opts;
	t->h = host;
	t->ctx = ctx;
	t->report = report;
	t->first_run = true;
	t->buf = malloc(READ_BUFFER);
	if (t->buf == NULL || !tail_set_target(t, opts->target) ||
	    !tail_set_format(t, opts->format, opts->log_line_prefix)) {
		tail_free(t);
		return NULL;
	}
	load_positions(t);
	return t;
}

static void forget(struct tail *t, size_t i)
{
	free(t->files[i].pos.path);
	t->files[i] = t->files[--t->n_files];
}

void tail_free(struct tail *t)
{
	if (t == NULL)
		return;
	while (t->n_files)
		forget(t, 0);
	free(t->files);
	parser_free(t->parser);
	free(t->target);
	free(t->prefix);
	free(t->buf);
	free(t);
}

/* ---- listing the target ---- */

static bool has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n >= s && strcmp(name + n - s, suffix) == 0;
}

/* In a directory, the files of the configured format: log_filename's .log, or the .csv and .json PostgreSQL derives from it. */
static bool name_fits_format(const char *name, int format)
{
	static const char *const compressed[] = { ".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip" };

	if (name[0] == '.')
		return false;
	for (size_t i = 0; i < sizeof(compressed) / sizeof(compressed[0]); i++)
		if (has_suffix(name, compressed[i]))
			return false;
	/* Not postgresql.log.1: that is a rotated copy (copytruncate) or a renamed file, followed by inode. */
	if (format == PGLOG_FORMAT_CSV)
		return has_suffix(name, ".csv");
	if (format == PGLOG_FORMAT_JSON)
		return has_suffix(name, ".json");
	return has_suffix(name, ".log");
}

static struct tracked *find_by_inode(struct tail *t, const struct stat *st)
{
	for (size_t i = 0; i < t->n_files; i++)
		if (t->files[i].pos.dev == (uint64_t)st->st_dev && t->files[i].pos.ino == (uint64_t)st->st_ino)
			return &t->files[i];
	return NULL;
}

static void note_file(struct tracked *f, const char *path, const struct stat *st)
{
	if (strcmp(f->pos.path, path) != 0) {
		char *copy = strdup(path);
		if (copy) {
			free(f->pos.path);
			f->pos.path = copy;
		}
	}
	f->size = (uint64_t)st->st_size;
	f->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
	f->seen = true;
}

/* A listed file: a known one (perhaps under a new name) or a new one. */
static void list_file(struct tail *t, const char *path)
{
	struct stat st;
	struct tracked *f;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	f = find_by_inode(t, &st);
	if (f == NULL) {
		struct position pos = { (uint64_t)st.st_dev, (uint64_t)st.st_ino, 0, 0, 0, (char *)path };
		bool skip = t->first_run && t->opts.start_at_end;

		if (skip)
			pos.offset = (uint64_t)st.st_size;
		if (!add_tracked(t, &pos))
			return;
		f = &t->files[t->n_files - 1];
		f->last_size = (uint64_t)st.st_size;
		f->fresh = true;
		/* Lines skipped at the first start are not numbered: line numbers start after them. */
		t->h->log(t->ctx, PGA_LOG_INFO, "following %s from its %s", path,
			  skip ? "end (start_at = \"end\")" : "start");
	}
	note_file(f, path, &st);
}

static void list_directory(struct tail *t, const char *dir, bool all_formats_ok)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL) {
		t->h->log(t->ctx, PGA_LOG_WARNING, "%s: cannot list the log directory: %s", dir,
			  strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(dir) + strlen(de->d_name) + 2;
		char *path;

		if (!all_formats_ok && !name_fits_format(de->d_name, t->format))
			continue;
		path = malloc(len);
		if (path == NULL)
			break;
		snprintf(path, len, "%s/%s", dir, de->d_name);
		list_file(t, path);
		free(path);
	}
	closedir(d);
}

static void list_target(struct tail *t)
{
	const char *target = t->target;
	struct stat st;

	if (strpbrk(target, "*?[")) {
		glob_t g;

		if (glob(target, 0, NULL, &g) == 0)
			for (size_t i = 0; i < g.gl_pathc; i++)
				list_file(t, g.gl_pathv[i]);
		globfree(&g);
	} else if (stat(target, &st) == 0 && S_ISDIR(st.st_mode)) {
		list_directory(t, target, false);
	} else {
		list_file(t, target);
	}
}

/* A followed file renamed out of the target (postgresql.log -> postgresql.log.1): found by inode beside its old name. */
static void find_renamed(struct tracked *f)
{
	char *copy = strdup(f->pos.path);
	const char *dir = copy ? dirname(copy) : NULL;
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL) {
		if (de->d_ino != f->pos.ino)
			continue;
		size_t len = strlen(dir) + strlen(de->d_name) + 2;
		char *path = malloc(len);
		struct stat st;

		if (path == NULL)
			break;
		snprintf(path, len, "%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_dev == f->pos.dev &&
		    (uint64_t)st.st_ino == f->pos.ino) {
			note_file(f, path, &st);
			f->detached = true;
		}
		free(path);
		if (f->seen)
			break;
	}
	if (d)
		closedir(d);
	free(copy);
}

/* ---- reading ---- */

static uint64_t signature_of(const char *bytes, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)bytes[i]) * 1099511628211ULL;
	return h;
}

/* The hash of the bytes just before `offset` (0 at offset 0). */
static uint64_t signature_at(int fd, uint64_t offset)
{
	char bytes[SIGNATURE_BYTES];
	size_t want = offset < SIGNATURE_BYTES ? (size_t)offset : SIGNATURE_BYTES;
	ssize_t got;

	if (want == 0)
		return 0;
	got = pread(fd, bytes, want, (off_t)(offset - want));
	return got == (ssize_t)want ? signature_of(bytes, want) : 1;
}

/* The file shrank, or its bytes before our position changed: it was truncated and rewritten. */
static void check_rewritten(struct tail *t, struct tracked *f, int fd)
{
	bool shrank = f->size < f->pos.offset;

	if (!shrank && (f->pos.offset == 0 || signature_at(fd, f->pos.offset) == f->pos.signature))
		return;
	t->truncations++;
	t->h->log(t->ctx, PGA_LOG_INFO, "%s was truncated (copytruncate rotation?); reading it again from its start",
		  f->pos.path);
	f->pos.offset = 0;
	f->pos.line_no = 0;
}

struct read_state {
	uint64_t committed, committed_line;
	uint64_t line_no;
	bool skipping;           /* in the rest of a line longer than the buffer */
};

static bool out_of_time(struct tail *t)
{
	uint64_t deadline = t->h->deadline_ns(t->ctx);

	/* Leave half of the cycle's time for the report and the positions. */
	return t->h->deadline_exceeded(t->ctx) ||
	       (deadline && t->h->monotonic_ns(t->ctx) + (uint64_t)2e9 > deadline);
}

/* Feed the complete lines of buf[0..fill); returns the bytes consumed. */
static size_t feed_lines(struct tail *t, struct read_state *rs, const char *buf,
			 size_t fill, uint64_t buf_offset)
{
	size_t start = 0;
	const char *nl;

	while (start < fill && (nl = memchr(buf + start, '\n', fill - start)) != NULL) {
		size_t end = (size_t)(nl - buf);

		rs->line_no++;
		if (!rs->skipping) {
			size_t len = end - start;
			if (len && buf[end - 1] == '\r')
				len--;
			parser_line(t->parser, buf + start, len, rs->line_no);
		}
		rs->skipping = false;
		start = end + 1;
		if (parser_idle(t->parser)) {
			rs->committed = buf_offset + start;
			rs->committed_line = rs->line_no;
		}
	}
	return start;
}

/* Read f from its position to its end (or the cycle's budget). */
static void read_file(struct tail *t, struct tracked *f, int fd)
{
	struct read_state rs = { f->pos.offset, f->pos.line_no, f->pos.line_no, false };
	uint64_t pos = f->pos.offset;   /* file offset of buf[0] */
	size_t fill = 0;

	for (;;) {
		ssize_t got;

		if (t->fetched >= t->opts.max_bytes_per_cycle || out_of_time(t)) {
			t->budget_hit = true;
			break;
		}
		got = pread(fd, t->buf + fill, READ_BUFFER - fill, (off_t)(pos + fill));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got < 0)
				t->h->log(t->ctx, PGA_LOG_WARNING, "%s: read failed: %s", f->pos.path, strerror(errno));
			break;
		}
		t->fetched += (uint64_t)got;
		fill += (size_t)got;
		size_t used = feed_lines(t, &rs, t->buf, fill, pos);
		if (used == 0 && fill == READ_BUFFER) {
			/* A line longer than the buffer: its start is kept (capped), the rest skipped. */
			if (!rs.skipping) {
				parser_line(t->parser, t->buf, fill, rs.line_no + 1);
				t->long_lines++;
				rs.skipping = true;
			}
			used = fill;
		}
		memmove(t->buf, t->buf + used, fill - used);
		fill -= used;
		pos += used;
	}
	parser_flush(t->parser);
	if (!parser_idle(t->parser))
		parser_discard(t->parser);    /* read again from its start next cycle */
	f->pos.offset = rs.committed;
	f->pos.line_no = rs.committed_line;
}

/*
 * A file that no longer grows while a newer one does, and whose end is not
 * a whole line (a crash cut it): what is left will never complete.  Count it
 * and move past it, so the position reaches the end.
 */
static void finish_stale_tail(struct tail *t, struct tracked *f, bool newer_exists)
{
	if (!newer_exists || f->size != f->last_size || f->pos.offset >= f->size)
		return;
	t->h->log(t->ctx, PGA_LOG_WARNING,
		  "%s:%llu: the file ends in the middle of a line or record and a newer log file exists; "
		  "%llu byte(s) skipped", f->pos.path, (unsigned long long)f->pos.line_no + 1,
		  (unsigned long long)(f->size - f->pos.offset));
	t->malformed++;
	f->pos.offset = f->size;
}

static void read_tracked(struct tail *t, struct tracked *f, bool newer_exists)
{
	int fd = open(f->pos.path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	uint64_t offset, line_no;
	struct stat st;

	if (fd < 0) {
		t->h->log(t->ctx, PGA_LOG_WARNING, "%s: cannot open: %s", f->pos.path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_ino != f->pos.ino || (uint64_t)st.st_dev != f->pos.dev) {
		close(fd);              /* replaced between the listing and now: next cycle */
		return;
	}
	f->size = (uint64_t)st.st_size;
	if (!f->fresh)
		check_rewritten(t, f, fd);
	f->fresh = false;
	t->current = f;
	t->problems_logged = 0;
	offset = f->pos.offset;
	line_no = f->pos.line_no;
	if (f->pos.offset < f->size)
		read_file(t, f, fd);
	finish_stale_tail(t, f, newer_exists);
	/* What was read for good: a record cut at the end is read (and counted) again next cycle. */
	f->cycle_bytes += f->pos.offset - offset;
	f->cycle_lines += f->pos.line_no - line_no;
	t->bytes_read += f->pos.offset - offset;
	t->lines_read += f->pos.line_no - line_no;
	f->pos.signature = signature_at(fd, f->pos.offset);
	t->current = NULL;
	close(fd);
}

static int by_age(const void *a, const void *b)
{
	const struct tracked *x = a, *y = b;

	if (x->mtime_ns != y->mtime_ns)
		return x->mtime_ns < y->mtime_ns ? -1 : 1;
	return (x->pos.ino > y->pos.ino) - (x->pos.ino < y->pos.ino);
}

/* Files neither listed nor found: gone.  Say so if they were not read to their end. */
static void drop_vanished(struct tail *t)
{
	for (size_t i = t->n_files; i-- > 0;) {
		struct tracked *f = &t->files[i];

		if (f->seen)
			continue;
		if (f->pos.offset < f->last_size) {
			t->files_lost++;
			t->h->log(t->ctx, PGA_LOG_WARNING,
				  "%s was removed or renamed out of reach before it was read to its end; "
				  "%llu byte(s) not read", f->pos.path,
				  (unsigned long long)(f->last_size - f->pos.offset));
		}
		forget(t, i);
	}
}

static void start_cycle(struct tail *t)
{
	t->fetched = t->bytes_read = t->lines_read = t->truncations = t->files_lost = 0;
	t->long_lines = t->problems = 0;
	t->budget_hit = false;
	for (size_t i = 0; i < t->n_files; i++) {
		t->files[i].seen = t->files[i].detached = false;
		t->files[i].cycle_bytes = t->files[i].cycle_lines = 0;
	}
}

void tail_cycle(struct tail *t)
{
	struct parser_counts before = *parser_counts(t->parser);
	const struct parser_counts *after;

	start_cycle(t);
	list_target(t);
	for (size_t i = 0; i < t->n_files; i++)
		if (!t->files[i].seen)
			find_renamed(&t->files[i]);
	drop_vanished(t);
	if (t->n_files > 1)
		qsort(t->files, t->n_files, sizeof(*t->files), by_age);
	for (size_t i = 0; i < t->n_files; i++)
		read_tracked(t, &t->files[i], i + 1 < t->n_files);
	/* A renamed-away file read to its end that stopped growing is done with. */
	for (size_t i = t->n_files; i-- > 0;) {
		struct tracked *f = &t->files[i];
		bool done = f->detached && f->pos.offset >= f->size && f->size == f->last_size;

		f->last_size = f->size;
		if (done)
			forget(t, i);
	}
	t->first_run = false;
	after = parser_counts(t->parser);
	t->unparsed = after->unparsed_lines - before.unparsed_lines;
	t->orphans = after->orphan_lines - before.orphan_lines;
	t->malformed += after->malformed - before.malformed;
	t->truncated = after->truncated - before.truncated;
}

void tail_emit(struct tail *t, struct pga_emitter *em)
{
	const struct pga_host *h = t->h;

	h->set_string(em, "format", parser_format_name(t->format));
	h->set_uint64(em, "bytes_read", t->bytes_read);
	h->set_uint64(em, "lines", t->lines_read);
	h->set_uint64(em, "lines_unparsed", t->unparsed);
	h->set_uint64(em, "lines_orphaned", t->orphans);
	h->set_uint64(em, "lines_too_long", t->long_lines);
	h->set_uint64(em, "records_malformed", t->malformed);
	h->set_uint64(em, "entries_truncated", t->truncated);
	h->set_uint64(em, "truncations", t->truncations);
	h->set_uint64(em, "files_lost", t->files_lost);
	h->set_bool(em, "backlog", t->budget_hit);
	h->array_begin(em, "files");
	for (size_t i = 0; i < t->n_files; i++) {
		const struct tracked *f = &t->files[i];

		h->object_begin(em, NULL);
		emit_text(h, em, "path", f->pos.path, strlen(f->pos.path));
		h->set_uint64(em, "size", f->size);
		h->set_uint64(em, "offset", f->pos.offset);
		h->set_uint64(em, "line", f->pos.line_no);
		h->set_uint64(em, "bytes_read", f->cycle_bytes);
		h->set_uint64(em, "lines_read", f->cycle_lines);
		h->object_end(em);
	}
	h->array_end(em);
	t->malformed = 0;
}

bool tail_save(struct tail *t)
{
	struct position *list = calloc(t->n_files ? t->n_files : 1, sizeof(*list));

	if (list == NULL)
		return false;
	for (size_t i = 0; i < t->n_files; i++)
		list[i] = t->files[i].pos;
	int rc = positions_save(t->opts.positions_file, list, t->n_files);
	int saved = errno;
	free(list);
	if (rc != 0) {
		t->h->log(t->ctx, PGA_LOG_ERROR, "%s: cannot save the log positions: %s",
			  t->opts.positions_file, strerror(saved));
		return false;
	}
	return true;
}

#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "durable.h"
#include "error_text.h"
#include "log.h"

/* The on-disk format is described in spool.h; keep the two in step. */
#define HEADER_SIZE 32
#define MAGIC_SIZE 8
#define FORMAT_VERSION 1u
#define OFFSET_VERSION 8
#define OFFSET_BODY_CRC 12
#define OFFSET_SEQ 16
#define OFFSET_BODY_LEN 24
static const unsigned char batch_magic[MAGIC_SIZE] = { 'P', 'G', 'A', 'S', 'P', 'O', 'O', 'L' };

#define SEQ_DIGITS 20
#define BATCH_SUFFIX ".batch"
#define TEMPORARY_SUFFIX ".tmp"
#define REASON_SUFFIX ".reason"
#define REJECTED_SUBDIR "rejected"
#define CORRUPT_SUBDIR "corrupt"
/* Room for a batch name, a ".NNN" suffix that keeps it unique, ".reason" and ".tmp". */
#define NAME_SIZE 64
#define MAX_UNIQUE_SUFFIX 999
#define PROBLEM_SIZE 160

struct spool_entry {
	uint64_t seq;
	uint64_t file_bytes;   /* header included: what the size bound counts */
	int64_t mtime_s;       /* when it was written: what the age bound counts */
};

struct spool {
	char *dir;
	int dir_fd, rejected_fd, corrupt_fd;
	struct spool_limits limits;
	struct spool_entry *entries;   /* sorted by seq: the oldest first */
	size_t count, capacity;
	struct spool_stats stats;      /* batches and bytes follow `entries` */
	int64_t age_checked_s;         /* wall clock of the last pass of the age bound */
};

enum drop_reason { DROP_AGE, DROP_SIZE };

enum load_result { LOAD_OK, LOAD_CORRUPT, LOAD_MISSING, LOAD_IO_ERROR };


static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_le32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t body_crc(const void *body, size_t len)
{
	return (uint32_t)crc32_z(0, body, len);
}

static void encode_header(unsigned char *header, uint64_t seq, const void *body, size_t len)
{
	memcpy(header, batch_magic, MAGIC_SIZE);
	put_le32(header + OFFSET_VERSION, FORMAT_VERSION);
	put_le32(header + OFFSET_BODY_CRC, body_crc(body, len));
	put_le64(header + OFFSET_SEQ, seq);
	put_le64(header + OFFSET_BODY_LEN, len);
}

/*
 * Every field is checked against something outside itself (the file name,
 * the file size, the body), so no single damaged byte goes unnoticed.
 */
static bool verify_batch(const unsigned char *file, size_t file_len, uint64_t seq,
			 char *problem, size_t problem_len)
{
	uint64_t header_seq, body_len;
	uint32_t version, stored_crc, actual_crc;

	if (file_len < HEADER_SIZE) {
		snprintf(problem, problem_len, "%zu bytes, shorter than the %d-byte header",
			 file_len, HEADER_SIZE);
		return false;
	}
	if (memcmp(file, batch_magic, MAGIC_SIZE) != 0) {
		snprintf(problem, problem_len, "does not start with the PGASPOOL magic");
		return false;
	}
	version = get_le32(file + OFFSET_VERSION);
	if (version != FORMAT_VERSION) {
		snprintf(problem, problem_len, "format version %" PRIu32 ", expected %u",
			 version, FORMAT_VERSION);
		return false;
	}
	header_seq = get_le64(file + OFFSET_SEQ);
	if (header_seq != seq) {
		snprintf(problem, problem_len, "header seq %" PRIu64 " does not match the file name",
			 header_seq);
		return false;
	}
	body_len = get_le64(file + OFFSET_BODY_LEN);
	if (body_len != file_len - HEADER_SIZE) {
		snprintf(problem, problem_len,
			 "header says %" PRIu64 " body bytes, the file holds %zu (truncated or extended)",
			 body_len, file_len - HEADER_SIZE);
		return false;
	}
	stored_crc = get_le32(file + OFFSET_BODY_CRC);
	actual_crc = body_crc(file + HEADER_SIZE, (size_t)body_len);
	if (stored_crc != actual_crc) {
		snprintf(problem, problem_len,
			 "body CRC-32 %08" PRIx32 " does not match the header's %08" PRIx32,
			 actual_crc, stored_crc);
		return false;
	}
	return true;
}

static void batch_name(uint64_t seq, char *name)
{
	snprintf(name, NAME_SIZE, "%0*" PRIu64 BATCH_SUFFIX, SEQ_DIGITS, seq);
}

static void temporary_name(uint64_t seq, char *name)
{
	snprintf(name, NAME_SIZE, ".%" PRIu64 TEMPORARY_SUFFIX, seq);
}

static bool has_suffix(const char *name, const char *suffix)
{
	size_t len = strlen(name), suffix_len = strlen(suffix);

	return len >= suffix_len && strcmp(name + len - suffix_len, suffix) == 0;
}

/* Exactly SEQ_DIGITS digits, ".batch", a value from 1 to UINT64_MAX. */
static bool parse_batch_name(const char *name, uint64_t *seq)
{
	uint64_t value = 0;

	if (strlen(name) != SEQ_DIGITS + strlen(BATCH_SUFFIX) || !has_suffix(name, BATCH_SUFFIX))
		return false;
	for (int i = 0; i < SEQ_DIGITS; i++) {
		unsigned digit = (unsigned)(name[i] - '0');

		if (digit > 9 || value > (UINT64_MAX - digit) / 10)
			return false;
		value = value * 10 + digit;
	}
	*seq = value;
	return value != 0;
}

/* What this module writes before a rename: ".<seq>.tmp", ".<name>.reason.tmp". */
static bool is_temporary_name(const char *name)
{
	return name[0] == '.' && has_suffix(name, TEMPORARY_SUFFIX);
}

static int64_t wall_clock_s(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec;
}

/* ---- the in-memory index ---------------------------------------------- */

/* Position of the first entry whose seq is >= seq. */
static size_t index_lower_bound(const struct spool *sp, uint64_t seq)
{
	size_t lo = 0, hi = sp->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sp->entries[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool index_find(const struct spool *sp, uint64_t seq, size_t *pos)
{
	size_t at = index_lower_bound(sp, seq);

	*pos = at;
	return at < sp->count && sp->entries[at].seq == seq;
}

/* Room for `extra` more entries, so that adding one later cannot fail. */
static int index_reserve(struct spool *sp, size_t extra)
{
	size_t wanted = sp->count + extra, capacity = sp->capacity ? sp->capacity : 16;
	struct spool_entry *bigger;

	if (wanted <= sp->capacity)
		return 0;
	while (capacity < wanted)
		capacity *= 2;
	bigger = realloc(sp->entries, capacity * sizeof(*bigger));
	if (!bigger)
		return -1;
	sp->entries = bigger;
	sp->capacity = capacity;
	return 0;
}

/* Add an entry at its sorted place; room must have been reserved. */
static void index_insert(struct spool *sp, const struct spool_entry *entry)
{
	size_t at = index_lower_bound(sp, entry->seq);

	memmove(&sp->entries[at + 1], &sp->entries[at], (sp->count - at) * sizeof(*entry));
	sp->entries[at] = *entry;
	sp->count++;
	sp->stats.bytes += entry->file_bytes;
}

static void index_remove_at(struct spool *sp, size_t at)
{
	sp->stats.bytes -= sp->entries[at].file_bytes;
	memmove(&sp->entries[at], &sp->entries[at + 1], (sp->count - at - 1) * sizeof(*sp->entries));
	sp->count--;
}

static int compare_entries(const void *a, const void *b)
{
	uint64_t x = ((const struct spool_entry *)a)->seq, y = ((const struct spool_entry *)b)->seq;

	return x < y ? -1 : x > y;
}

/* ---- reading, setting aside ------------------------------------------- */

/*
 * Read the whole of dir/name.  On LOAD_OK *file (malloc'd, non-NULL) and
 * *file_len hold it; otherwise `problem` says why.
 */
static enum load_result read_file_at(int dir_fd, const char *name, unsigned char **file,
				     size_t *file_len, int64_t *mtime_s,
				     char *problem, size_t problem_len)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	enum load_result result = LOAD_IO_ERROR;
	unsigned char *buf = NULL;
	size_t got = 0;
	struct stat st;

	if (fd < 0) {
		int saved = errno;

		snprintf(problem, problem_len, "%s", saved == ELOOP ? "a symbolic link" : strerror(saved));
		return saved == ENOENT ? LOAD_MISSING : saved == ELOOP ? LOAD_CORRUPT : LOAD_IO_ERROR;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(problem, problem_len, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(problem, problem_len, "not a regular file");
		result = LOAD_CORRUPT;
		goto out;
	}
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (!buf) {
		snprintf(problem, problem_len, "out of memory for %lld bytes", (long long)st.st_size);
		goto out;
	}
	/* A file that shrinks meanwhile ends the loop early; verification catches it. */
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(problem, problem_len, "%s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*file = buf;
	*file_len = got;
	if (mtime_s)
		*mtime_s = (int64_t)st.st_mtim.tv_sec;
	buf = NULL;
	result = LOAD_OK;
out:
	free(buf);
	close(fd);
	return result;
}

/* Read batch `seq` and verify it; LOAD_OK hands over *file as read_file_at() does. */
static enum load_result load_batch(const struct spool *sp, uint64_t seq, unsigned char **file,
				   size_t *file_len, int64_t *mtime_s,
				   char *problem, size_t problem_len)
{
	char name[NAME_SIZE];
	enum load_result result;

	batch_name(seq, name);
	result = read_file_at(sp->dir_fd, name, file, file_len, mtime_s, problem, problem_len);
	if (result == LOAD_OK && !verify_batch(*file, *file_len, seq, problem, problem_len)) {
		free(*file);
		*file = NULL;
		result = LOAD_CORRUPT;
	}
	return result;
}

/*
 * A name in target_fd's directory not taken yet: `name`, else name.1,
 * name.2, ...; with_reason also requires NAME.reason to be free.  Never
 * overwrite: what is set aside is kept until an operator deletes it.
 */
static int pick_free_name(int target_fd, const char *name, bool with_reason, char *out)
{
	for (int k = 0; k <= MAX_UNIQUE_SUFFIX; k++) {
		char reason[NAME_SIZE + sizeof(REASON_SUFFIX)];
		struct stat st;

		if (k == 0)
			snprintf(out, NAME_SIZE, "%s", name);
		else
			snprintf(out, NAME_SIZE, "%s.%d", name, k);
		snprintf(reason, sizeof(reason), "%s" REASON_SUFFIX, out);
		if (fstatat(target_fd, out, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		    (with_reason && fstatat(target_fd, reason, &st, AT_SYMLINK_NOFOLLOW) == 0))
			continue;
		if (errno != ENOENT)
			return -1;
		return 0;
	}
	errno = EEXIST;
	return -1;
}

static void sync_dir_or_warn(const struct spool *sp, int fd, const char *subdir)
{
	if (fsync(fd) < 0)
		log_msg(LOG_LVL_WARNING, "spool %s%s%s: cannot sync the directory: %s",
			sp->dir, subdir ? "/" : "", subdir ? subdir : "", strerror(errno));
}

/*
 * Move a batch that failed verification out of the way.  It leaves the
 * index even when the move fails, so that it is not offered again in this
 * run; the next spool_open() finds and verifies it again.
 */
static void set_aside_corrupt(struct spool *sp, const char *name, const char *problem)
{
	char aside[NAME_SIZE];

	sp->stats.corrupt++;
	if (pick_free_name(sp->corrupt_fd, name, false, aside) < 0 ||
	    renameat(sp->dir_fd, name, sp->corrupt_fd, aside) < 0) {
		log_msg(LOG_LVL_ERROR,
			"spool %s: %s/%s is corrupt (%s) and cannot be moved to %s/" CORRUPT_SUBDIR
			"/: %s; it is not replayed",
			sp->dir, sp->dir, name, problem, sp->dir, strerror(errno));
		return;
	}
	sync_dir_or_warn(sp, sp->corrupt_fd, CORRUPT_SUBDIR);
	sync_dir_or_warn(sp, sp->dir_fd, NULL);
	log_msg(LOG_LVL_WARNING,
		"spool %s: %s/%s is corrupt (%s); moved to %s/" CORRUPT_SUBDIR "/%s, not replayed",
		sp->dir, sp->dir, name, problem, sp->dir, aside);
}

/* ---- the bounds ------------------------------------------------------- */

static uint64_t age_of(const struct spool_entry *entry, int64_t now)
{
	return now > entry->mtime_s ? (uint64_t)(now - entry->mtime_s) : 0;
}

static bool past_bound(const struct spool *sp, const struct spool_entry *entry,
		       enum drop_reason why, int64_t now)
{
	if (why == DROP_AGE)
		return sp->limits.max_age_s && age_of(entry, now) > sp->limits.max_age_s;
	return sp->limits.max_bytes && sp->stats.bytes > sp->limits.max_bytes;
}

/* Delete one batch past a bound and say so.  Returns 0, or -1 (logged): kept. */
static int delete_dropped_batch(struct spool *sp, const struct spool_entry *entry,
				enum drop_reason why, int64_t now)
{
	char name[NAME_SIZE], detail[PROBLEM_SIZE];

	batch_name(entry->seq, name);
	if (unlinkat(sp->dir_fd, name, 0) < 0 && errno != ENOENT) {
		log_msg(LOG_LVL_ERROR, "spool %s: cannot delete %s/%s past the %s bound: %s; it stays",
			sp->dir, sp->dir, name, why == DROP_AGE ? "age" : "size", strerror(errno));
		return -1;
	}
	if (why == DROP_AGE)
		snprintf(detail, sizeof(detail), "older than the age bound: %" PRIu64 " s > max_age_s %" PRIu64,
			 age_of(entry, now), sp->limits.max_age_s);
	else
		snprintf(detail, sizeof(detail),
			 "over the size bound: spool held %" PRIu64 " bytes > max_bytes %" PRIu64,
			 sp->stats.bytes, sp->limits.max_bytes);
	log_msg(LOG_LVL_WARNING, "spool %s: dropped batch seq %" PRIu64 " (%s, %" PRIu64 " bytes): %s",
		sp->dir, entry->seq, name, entry->file_bytes, detail);
	return 0;
}

/*
 * Delete, oldest first, every batch past the bound `why`, except
 * `exempt_seq` (0: none).  One pass that compacts the index, so that
 * dropping many batches stays linear; one directory sync at the end (a
 * dropped batch that a power loss brings back is merely offered again).
 */
static void drop_past_bound(struct spool *sp, enum drop_reason why, uint64_t exempt_seq)
{
	int64_t now = wall_clock_s();
	size_t kept = 0;
	bool dropped_any = false;

	if (why == DROP_AGE)
		sp->age_checked_s = now;

	for (size_t i = 0; i < sp->count; i++) {
		struct spool_entry entry = sp->entries[i];

		if (entry.seq != exempt_seq && past_bound(sp, &entry, why, now) &&
		    delete_dropped_batch(sp, &entry, why, now) == 0) {
			sp->stats.bytes -= entry.file_bytes;
			if (why == DROP_AGE)
				sp->stats.dropped_age++;
			else
				sp->stats.dropped_size++;
			dropped_any = true;
			continue;
		}
		sp->entries[kept++] = entry;
	}
	sp->count = kept;
	if (dropped_any)
		sync_dir_or_warn(sp, sp->dir_fd, NULL);
}

static void enforce_bounds(struct spool *sp, uint64_t exempt_seq)
{
	drop_past_bound(sp, DROP_AGE, exempt_seq);
	drop_past_bound(sp, DROP_SIZE, exempt_seq);
}

/* ---- opening ---------------------------------------------------------- */

struct name_list {
	char **names;
	size_t count, capacity;
};

static void free_name_list(struct name_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->names[i]);
	free(list->names);
}

static int append_name(struct name_list *list, const char *name)
{
	if (list->count == list->capacity) {
		size_t capacity = list->capacity ? list->capacity * 2 : 32;
		char **bigger = realloc(list->names, capacity * sizeof(*bigger));

		if (!bigger)
			return -1;
		list->names = bigger;
		list->capacity = capacity;
	}
	list->names[list->count] = strdup(name);
	if (!list->names[list->count])
		return -1;
	list->count++;
	return 0;
}

/*
 * Every name in the directory but "." and "..", read in full before anything
 * is renamed or deleted, so that changes do not disturb the listing.
 */
static int list_directory(int dir_fd, struct name_list *list)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;
	int rc = 0, saved;

	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	if (!d) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	for (errno = 0; rc == 0 && (de = readdir(d)) != NULL; errno = 0) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		rc = append_name(list, de->d_name);
	}
	if (errno != 0)
		rc = -1;
	saved = errno;
	closedir(d);
	errno = saved;
	return rc;
}

/* A temporary file is what a crash mid-write leaves: never a batch. */
static void remove_temporary_file(const struct spool *sp, int dir_fd, const char *subdir,
				  const char *name)
{
	const char *slash = subdir ? "/" : "";

	if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
		log_msg(LOG_LVL_WARNING, "spool %s: cannot remove the left-over temporary file %s%s%s/%s: %s",
			sp->dir, sp->dir, slash, subdir ? subdir : "", name, strerror(errno));
	else
		log_msg(LOG_LVL_INFO, "spool %s: removed %s%s%s/%s, left over from an interrupted write",
			sp->dir, sp->dir, slash, subdir ? subdir : "", name);
}

/* Returns 0, or -1 (no memory) when opening has to fail. */
static int adopt_batch_file(struct spool *sp, const char *name, uint64_t seq)
{
	char problem[PROBLEM_SIZE];
	struct spool_entry entry = { .seq = seq };
	unsigned char *file = NULL;
	size_t file_len = 0;

	switch (load_batch(sp, seq, &file, &file_len, &entry.mtime_s, problem, sizeof(problem))) {
	case LOAD_OK:
		free(file);
		entry.file_bytes = file_len;
		if (index_reserve(sp, 1) < 0)
			return -1;
		/* Appended unsorted; spool_open() sorts once at the end. */
		sp->entries[sp->count++] = entry;
		sp->stats.bytes += entry.file_bytes;
		return 0;
	case LOAD_CORRUPT:
		set_aside_corrupt(sp, name, problem);
		return 0;
	case LOAD_MISSING:
		return 0;
	case LOAD_IO_ERROR:
		break;
	}
	log_msg(LOG_LVL_ERROR, "spool %s: cannot read %s/%s: %s; left in place, not replayed until the next start",
		sp->dir, sp->dir, name, problem);
	return 0;
}

static int adopt_directory_entry(struct spool *sp, const char *name)
{
	uint64_t seq;

	if (strcmp(name, REJECTED_SUBDIR) == 0 || strcmp(name, CORRUPT_SUBDIR) == 0)
		return 0;
	if (is_temporary_name(name)) {
		remove_temporary_file(sp, sp->dir_fd, NULL, name);
		return 0;
	}
	if (parse_batch_name(name, &seq))
		return adopt_batch_file(sp, name, seq);
	log_msg(LOG_LVL_WARNING, "spool %s: %s/%s is not a spool file; left alone", sp->dir, sp->dir, name);
	return 0;
}

static int scan_spool_dir(struct spool *sp, char *err, size_t err_len)
{
	struct name_list list = { 0 };
	int rc = 0;

	if (list_directory(sp->dir_fd, &list) < 0) {
		error_set(err, err_len, "spool %s: cannot list the directory: %s", sp->dir, strerror(errno));
		free_name_list(&list);
		return -1;
	}
	for (size_t i = 0; rc == 0 && i < list.count; i++)
		rc = adopt_directory_entry(sp, list.names[i]);
	free_name_list(&list);
	if (rc < 0) {
		error_set(err, err_len, "spool %s: out of memory while reading the spool", sp->dir);
		return -1;
	}
	if (sp->count > 1)
		qsort(sp->entries, sp->count, sizeof(*sp->entries), compare_entries);
	return 0;
}

/* The reason file of a rejection may have been cut short by a crash too. */
static void sweep_rejected_dir(struct spool *sp)
{
	struct name_list list = { 0 };

	if (list_directory(sp->rejected_fd, &list) < 0)
		log_msg(LOG_LVL_WARNING, "spool %s: cannot list %s/" REJECTED_SUBDIR ": %s",
			sp->dir, sp->dir, strerror(errno));
	for (size_t i = 0; i < list.count; i++)
		if (is_temporary_name(list.names[i]))
			remove_temporary_file(sp, sp->rejected_fd, REJECTED_SUBDIR, list.names[i]);
	free_name_list(&list);
}

/* Create dir/subdir (subdir NULL: dir itself) 0700 and open it. */
static int open_private_dir(const struct spool *sp, const char *subdir, int *fd,
			    char *err, size_t err_len)
{
	char *path;

	if (asprintf(&path, "%s%s%s", sp->dir, subdir ? "/" : "", subdir ? subdir : "") < 0) {
		error_set(err, err_len, "spool %s: out of memory", sp->dir);
		return -1;
	}
	if (durable_make_private_dir(path) < 0)
		error_set(err, err_len, "spool directory %s: cannot create it (mode 0700): %s",
			  path, strerror(errno));
	else if ((*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		error_set(err, err_len, "spool directory %s: cannot open it: %s", path, strerror(errno));
	free(path);
	return *fd < 0 ? -1 : 0;
}

struct spool *spool_open(const char *dir, const struct spool_limits *limits, char *err,
			 size_t err_len)
{
	struct spool *sp;

	if (!dir || !*dir) {
		error_set(err, err_len, "spool: no directory given");
		return NULL;
	}
	sp = calloc(1, sizeof(*sp));
	if (!sp || !(sp->dir = strdup(dir))) {
		error_set(err, err_len, "spool %s: out of memory", dir);
		free(sp);
		return NULL;
	}
	sp->dir_fd = sp->rejected_fd = sp->corrupt_fd = -1;
	if (limits)
		sp->limits = *limits;
	if (open_private_dir(sp, NULL, &sp->dir_fd, err, err_len) < 0 ||
	    open_private_dir(sp, REJECTED_SUBDIR, &sp->rejected_fd, err, err_len) < 0 ||
	    open_private_dir(sp, CORRUPT_SUBDIR, &sp->corrupt_fd, err, err_len) < 0 ||
	    scan_spool_dir(sp, err, err_len) < 0) {
		spool_close(sp);
		return NULL;
	}
	sweep_rejected_dir(sp);
	sync_dir_or_warn(sp, sp->dir_fd, NULL);
	enforce_bounds(sp, 0);
	if (sp->count > 0)
		log_msg(LOG_LVL_INFO, "spool %s: %zu batches (%" PRIu64 " bytes) waiting, seq %" PRIu64
			" to %" PRIu64, sp->dir, sp->count, sp->stats.bytes, sp->entries[0].seq,
			sp->entries[sp->count - 1].seq);
	return sp;
}

/* ---- storing ---------------------------------------------------------- */

/*
 * temp file, fsync, rename, fsync of the directory: after a crash at any
 * point the batch either exists complete under its final name or not at all.
 */
static int write_batch_file(struct spool *sp, uint64_t seq, const void *body, size_t len,
			    struct spool_entry *entry, char *err, size_t err_len)
{
	char tmp[NAME_SIZE], name[NAME_SIZE];
	unsigned char header[HEADER_SIZE];
	struct iovec iov[2] = { { header, HEADER_SIZE }, { (void *)body, len } };
	struct stat st;
	const char *step = "create";
	int fd;

	temporary_name(seq, tmp);
	batch_name(seq, name);
	encode_header(header, seq, body, len);
	fd = openat(sp->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto tmp_failed;
	step = "write";
	if (durable_writev(fd, iov, 2) < 0)
		goto tmp_failed;
	step = "fsync";
	if (fsync(fd) < 0 || fstat(fd, &st) < 0)
		goto tmp_failed;
	step = "close";
	if (close(fd) < 0) {
		fd = -1;
		goto tmp_failed;
	}
	fd = -1;
	step = "rename";
	if (renameat(sp->dir_fd, tmp, sp->dir_fd, name) < 0)
		goto tmp_failed;
	if (fsync(sp->dir_fd) < 0) {
		/* Undone, so that "not stored" stays the truth for the caller. */
		error_set(err, err_len, "spool %s: cannot sync the directory after writing %s: %s; batch seq %"
			  PRIu64 " not stored", sp->dir, name, strerror(errno), seq);
		unlinkat(sp->dir_fd, name, 0);
		return -1;
	}
	entry->seq = seq;
	entry->file_bytes = (uint64_t)st.st_size;
	entry->mtime_s = (int64_t)st.st_mtim.tv_sec;
	return 0;

tmp_failed:
	error_set(err, err_len, "spool %s: cannot %s %s/%s: %s; batch seq %" PRIu64 " not stored",
		  sp->dir, step, sp->dir, tmp, strerror(errno), seq);
	if (fd >= 0)
		close(fd);
	unlinkat(sp->dir_fd, tmp, 0);
	return -1;
}

/* A batch that cannot fit even in an empty spool is lost: say so and count it. */
static int refuse_oversized(struct spool *sp, uint64_t seq, uint64_t file_bytes,
			    char *err, size_t err_len)
{
	sp->stats.dropped_size++;
	log_msg(LOG_LVL_WARNING, "spool %s: dropped batch seq %" PRIu64 " (%" PRIu64
		" bytes): alone larger than the size bound max_bytes %" PRIu64,
		sp->dir, seq, file_bytes, sp->limits.max_bytes);
	error_set(err, err_len, "spool %s: batch seq %" PRIu64 " needs %" PRIu64
		  " bytes, more than the spool's whole size bound (%" PRIu64 " bytes); not stored",
		  sp->dir, seq, file_bytes, sp->limits.max_bytes);
	return -2;
}

int spool_put(struct spool *sp, uint64_t seq, const void *body, size_t len, char *err,
	      size_t err_len)
{
	struct spool_entry entry;
	uint64_t file_bytes = (uint64_t)len + HEADER_SIZE;
	size_t at;

	if (seq == 0) {
		error_set(err, err_len, "spool %s: batch seq 0 is not valid; sequences start at 1", sp->dir);
		return -2;
	}
	if (index_find(sp, seq, &at)) {
		error_set(err, err_len, "spool %s: batch seq %" PRIu64 " is already in the spool; not stored again",
			  sp->dir, seq);
		return -2;
	}
	if (sp->limits.max_bytes && file_bytes > sp->limits.max_bytes)
		return refuse_oversized(sp, seq, file_bytes, err, err_len);
	if (index_reserve(sp, 1) < 0) {
		error_set(err, err_len, "spool %s: out of memory; batch seq %" PRIu64 " not stored",
			  sp->dir, seq);
		return -1;
	}
	if (write_batch_file(sp, seq, body, len, &entry, err, err_len) < 0)
		return -1;
	index_insert(sp, &entry);
	enforce_bounds(sp, seq);
	return 0;
}

/* ---- replaying -------------------------------------------------------- */

int spool_peek_oldest(struct spool *sp, uint64_t *seq, unsigned char **body, size_t *len)
{
	/* Ages change by the second: replaying a backlog need not rescan it per batch. */
	if (wall_clock_s() != sp->age_checked_s)
		drop_past_bound(sp, DROP_AGE, 0);
	while (sp->count > 0) {
		uint64_t oldest = sp->entries[0].seq;
		char name[NAME_SIZE], problem[PROBLEM_SIZE];
		unsigned char *file = NULL;
		size_t file_len = 0;

		batch_name(oldest, name);
		switch (load_batch(sp, oldest, &file, &file_len, NULL, problem, sizeof(problem))) {
		case LOAD_OK:
			memmove(file, file + HEADER_SIZE, file_len - HEADER_SIZE);
			*seq = oldest;
			*body = file;
			*len = file_len - HEADER_SIZE;
			return 0;
		case LOAD_CORRUPT:
			set_aside_corrupt(sp, name, problem);
			break;
		case LOAD_MISSING:
			log_msg(LOG_LVL_WARNING, "spool %s: %s/%s disappeared (deleted by someone else?); batch seq %"
				PRIu64 " skipped", sp->dir, sp->dir, name, oldest);
			break;
		case LOAD_IO_ERROR:
			log_msg(LOG_LVL_ERROR, "spool %s: cannot read %s/%s: %s", sp->dir, sp->dir, name, problem);
			return -1;
		}
		index_remove_at(sp, 0);
	}
	return 1;
}

/* Position of seq in the index, or -1 (logged, errno ENOENT) for `action`. */
static int find_for(const struct spool *sp, uint64_t seq, const char *action, size_t *at)
{
	if (index_find(sp, seq, at))
		return 0;
	log_msg(LOG_LVL_WARNING, "spool %s: cannot %s batch seq %" PRIu64 ": it is not in the spool"
		" (dropped at a bound or set aside since it was read?)", sp->dir, action, seq);
	errno = ENOENT;
	return -1;
}

int spool_remove(struct spool *sp, uint64_t seq)
{
	char name[NAME_SIZE];
	size_t at;

	if (find_for(sp, seq, "remove", &at) < 0)
		return -1;
	batch_name(seq, name);
	if (unlinkat(sp->dir_fd, name, 0) < 0 && errno != ENOENT) {
		int saved = errno;

		log_msg(LOG_LVL_ERROR, "spool %s: cannot delete delivered batch %s/%s: %s",
			sp->dir, sp->dir, name, strerror(saved));
		errno = saved;
		return -1;
	}
	index_remove_at(sp, at);
	sync_dir_or_warn(sp, sp->dir_fd, NULL);
	return 0;
}

/* rejected/NAME.reason, written atomically like a batch. */
static int write_reason_file(const struct spool *sp, const char *aside, const char *reason)
{
	char tmp[NAME_SIZE + 16], final[NAME_SIZE + 16];
	const char *text = reason ? reason : "(no reason given)";
	size_t len = strlen(text);
	int fd, rc, saved;

	snprintf(tmp, sizeof(tmp), ".%s" REASON_SUFFIX TEMPORARY_SUFFIX, aside);
	snprintf(final, sizeof(final), "%s" REASON_SUFFIX, aside);
	fd = openat(sp->rejected_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	rc = durable_write(fd, text, len);
	if (rc == 0 && (len == 0 || text[len - 1] != '\n'))
		rc = durable_write(fd, "\n", 1);
	if (rc == 0)
		rc = fsync(fd);
	saved = errno;
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		saved = errno;
	}
	if (rc == 0 && renameat(sp->rejected_fd, tmp, sp->rejected_fd, final) < 0) {
		rc = -1;
		saved = errno;
	}
	if (rc < 0)
		unlinkat(sp->rejected_fd, tmp, 0);
	errno = saved;
	return rc;
}

/*
 * The reason first, then the batch: a crash in between leaves the batch in
 * the spool, offered again, and a reason file that a later rejection does
 * not overwrite.  *step names what failed, for the caller's message.
 */
static int move_to_rejected(const struct spool *sp, const char *name, const char *reason,
			    char *aside, const char **step)
{
	char reason_name[NAME_SIZE + sizeof(REASON_SUFFIX)];
	int saved;

	*step = "find a free name in";
	if (pick_free_name(sp->rejected_fd, name, true, aside) < 0)
		return -1;
	*step = "write the reason into";
	if (write_reason_file(sp, aside, reason) < 0)
		return -1;
	*step = "move the batch into";
	if (renameat(sp->dir_fd, name, sp->rejected_fd, aside) < 0) {
		saved = errno;
		snprintf(reason_name, sizeof(reason_name), "%s" REASON_SUFFIX, aside);
		unlinkat(sp->rejected_fd, reason_name, 0);
		errno = saved;
		return -1;
	}
	sync_dir_or_warn(sp, sp->rejected_fd, REJECTED_SUBDIR);
	sync_dir_or_warn(sp, sp->dir_fd, NULL);
	return 0;
}

int spool_reject(struct spool *sp, uint64_t seq, const char *reason)
{
	char name[NAME_SIZE], aside[NAME_SIZE];
	const char *step;
	size_t at;

	if (find_for(sp, seq, "reject", &at) < 0)
		return -1;
	batch_name(seq, name);
	if (move_to_rejected(sp, name, reason, aside, &step) < 0) {
		int saved = errno;

		log_msg(LOG_LVL_ERROR, "spool %s: cannot %s %s/" REJECTED_SUBDIR " for batch seq %" PRIu64
			": %s; it stays in the spool", sp->dir, step, sp->dir, seq, strerror(saved));
		errno = saved;
		return -1;
	}
	index_remove_at(sp, at);
	sp->stats.rejected++;
	log_msg(LOG_LVL_WARNING, "spool %s: batch seq %" PRIu64 " rejected by the backend; kept as %s/"
		REJECTED_SUBDIR "/%s, the answer in %s" REASON_SUFFIX ", never retried",
		sp->dir, seq, sp->dir, aside, aside);
	return 0;
}

/* ---- the rest --------------------------------------------------------- */

void spool_get_stats(const struct spool *sp, struct spool_stats *out)
{
	*out = sp->stats;
	out->batches = sp->count;
}

uint64_t spool_max_seq(const struct spool *sp)
{
	return sp->count ? sp->entries[sp->count - 1].seq : 0;
}

void spool_close(struct spool *sp)
{
	if (!sp)
		return;
	if (sp->dir_fd >= 0)
		close(sp->dir_fd);
	if (sp->rejected_fd >= 0)
		close(sp->rejected_fd);
	if (sp->corrupt_fd >= 0)
		close(sp->corrupt_fd);
	free(sp->entries);
	free(sp->dir);
	free(sp);
}

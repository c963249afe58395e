/*
 * test_spool.c - the durable spool on real files under a temporary
 * directory: order across reopen, the documented file format, clean-up of
 * interrupted writes, detection of truncated and bit-flipped files, the size
 * and age bounds, rejection, and batches surviving a kill -9 mid-write.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "log.h"
#include "spool.h"
#include "stderr_capture.h"

/* From the format description in spool.h; test_file_format_is_as_documented pins it. */
#define DOCUMENTED_HEADER_SIZE 32
#define ERR_SIZE 512
#define HOUR 3600

struct fixture {
	char root[64];        /* mkdtemp directory, removed afterwards */
	char dir[128];        /* root/spool: the spool creates it */
};

static int capturing;

/* stderr_capture.h, remembering that a capture is on for teardown(). */
static void start_capture(void)
{
	capture_start();
	capturing = 1;
}

static char *end_capture(void)
{
	capturing = 0;
	return capture_end();
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/pga-spool-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(f->root)) {
		free(f);
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "%s/spool", f->root);
	log_set_level(LOG_LVL_INFO);
	*state = f;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int rc;

	/* A test that failed mid-capture: give stderr back, with what it logged. */
	if (capturing) {
		char *log = end_capture();

		fprintf(stderr, "# captured before the failure:\n%s", log ? log : "");
		free(log);
	}
	rc = nftw(f->root, remove_one, 16, FTW_DEPTH | FTW_PHYS);

	free(f);
	return rc;
}

/* ---- helpers ---------------------------------------------------------- */

/* Deterministic bytes that differ per seq, so a body read back can be checked. */
static void fill_body(uint64_t seq, unsigned char *buf, size_t len)
{
	uint64_t x = seq * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)(x >> 24);
	}
}

static struct spool *open_spool(const char *dir, uint64_t max_bytes, uint64_t max_age_s)
{
	struct spool_limits limits = { max_bytes, max_age_s };
	char err[ERR_SIZE] = "";
	struct spool *sp = spool_open(dir, &limits, err, sizeof(err));

	if (!sp)
		fail_msg("spool_open(%s): %s", dir, err);
	return sp;
}

static void put_batch(struct spool *sp, uint64_t seq, size_t len)
{
	unsigned char *body = malloc(len ? len : 1);
	char err[ERR_SIZE] = "";

	assert_non_null(body);
	fill_body(seq, body, len);
	if (spool_put(sp, seq, body, len, err, sizeof(err)) != 0)
		fail_msg("spool_put(%" PRIu64 "): %s", seq, err);
	free(body);
}

/* The oldest batch must be `seq`, with the body put_batch() wrote for it. */
static void expect_oldest(struct spool *sp, uint64_t seq, size_t len)
{
	unsigned char *body = NULL, *expected = malloc(len ? len : 1);
	uint64_t got_seq = 0;
	size_t got_len = 0;

	assert_non_null(expected);
	fill_body(seq, expected, len);
	assert_int_equal(spool_peek_oldest(sp, &got_seq, &body, &got_len), 0);
	assert_int_equal(got_seq, seq);
	assert_int_equal(got_len, len);
	assert_non_null(body);
	if (len)
		assert_memory_equal(body, expected, len);
	free(body);
	free(expected);
}

static void expect_empty(struct spool *sp)
{
	unsigned char *body = NULL;
	uint64_t seq = 0;
	size_t len = 0;

	assert_int_equal(spool_peek_oldest(sp, &seq, &body, &len), 1);
	assert_null(body);
}

static void batch_path(const char *dir, const char *subdir, uint64_t seq, char *out, size_t size)
{
	snprintf(out, size, "%s/%s%s%020" PRIu64 ".batch", dir, subdir ? subdir : "",
		 subdir ? "/" : "", seq);
}

static int path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void expect_batch_file(const char *dir, const char *subdir, uint64_t seq, int present)
{
	char path[256];

	batch_path(dir, subdir, seq, path, sizeof(path));
	if (path_exists(path) != present)
		fail_msg("%s should %s", path, present ? "exist" : "not exist");
}

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *data;
	long size;

	if (!fp)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	rewind(fp);
	data = malloc((size_t)size + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)size, fp), (size_t)size);
	fclose(fp);
	data[size] = '\0';
	*len = (size_t)size;
	return data;
}

static void xor_byte_at(const char *path, off_t offset, unsigned char mask)
{
	int fd = open(path, O_RDWR);
	unsigned char byte;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &byte, 1, offset), 1);
	byte ^= mask;
	assert_int_equal(pwrite(fd, &byte, 1, offset), 1);
	close(fd);
}

static void set_mtime_back(const char *dir, uint64_t seq, time_t seconds)
{
	char path[256];
	struct timespec times[2];

	batch_path(dir, NULL, seq, path, sizeof(path));
	clock_gettime(CLOCK_REALTIME, &times[0]);
	times[0].tv_sec -= seconds;
	times[1] = times[0];
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

/* Names in dir (subdir NULL) or dir/subdir that end in suffix. */
static int count_names_ending(const char *dir, const char *subdir, const char *suffix)
{
	char path[256];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s%s%s", dir, subdir ? "/" : "", subdir ? subdir : "");
	d = opendir(path);
	if (!d)
		fail_msg("cannot list %s: %s", path, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name), suffix_len = strlen(suffix);

		if (len >= suffix_len && strcmp(de->d_name + len - suffix_len, suffix) == 0)
			n++;
	}
	closedir(d);
	return n;
}

static struct spool_stats stats_of(const struct spool *sp)
{
	struct spool_stats st;

	spool_get_stats(sp, &st);
	return st;
}

/* ---- tests ------------------------------------------------------------ */

static void test_open_creates_private_directories(void **state)
{
	struct fixture *f = *state;
	static const char *const subdirs[] = { "", "/rejected", "/corrupt" };
	struct spool *sp = open_spool(f->dir, 0, 0);

	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		char path[256];
		struct stat st;

		snprintf(path, sizeof(path), "%s%s", f->dir, subdirs[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 0777, 0700);
	}
	expect_empty(sp);
	assert_int_equal(spool_max_seq(sp), 0);
	spool_close(sp);
}

static void test_open_failure_names_the_path(void **state)
{
	struct fixture *f = *state;
	char blocker[160], under[200], err[ERR_SIZE] = "";
	FILE *fp;

	snprintf(blocker, sizeof(blocker), "%s/plain-file", f->root);
	snprintf(under, sizeof(under), "%s/spool", blocker);
	fp = fopen(blocker, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_null(spool_open(under, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, under));
	assert_null(spool_open("", NULL, err, sizeof(err)));
}

static void test_order_is_kept_across_reopen(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f->dir, 0, 0);

	for (uint64_t seq = 1; seq <= 5; seq++)
		put_batch(sp, seq, 100 * seq);
	expect_oldest(sp, 1, 100);
	expect_oldest(sp, 1, 100);   /* peeking does not consume */
	spool_close(sp);

	sp = open_spool(f->dir, 0, 0);
	assert_int_equal(stats_of(sp).batches, 5);
	expect_oldest(sp, 1, 100);
	assert_int_equal(spool_remove(sp, 1), 0);
	expect_batch_file(f->dir, NULL, 1, 0);
	expect_oldest(sp, 2, 200);
	assert_int_equal(spool_remove(sp, 2), 0);
	spool_close(sp);

	sp = open_spool(f->dir, 0, 0);
	for (uint64_t seq = 3; seq <= 5; seq++) {
		expect_oldest(sp, seq, 100 * seq);
		assert_int_equal(spool_remove(sp, seq), 0);
	}
	expect_empty(sp);
	assert_int_equal(stats_of(sp).batches, 0);
	assert_int_equal(stats_of(sp).bytes, 0);
	spool_close(sp);
}

static void test_file_format_is_as_documented(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f->dir, 0, 0);
	static const unsigned char body[] = "hello, backend";
	size_t body_len = sizeof(body) - 1, file_len;
	char path[256], err[ERR_SIZE];
	unsigned char *file;
	struct stat st;

	assert_int_equal(spool_put(sp, 42, body, body_len, err, sizeof(err)), 0);
	batch_path(f->dir, NULL, 42, path, sizeof(path));
	assert_non_null(strstr(path, "/00000000000000000042.batch"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	file = read_file(path, &file_len);
	assert_int_equal(file_len, DOCUMENTED_HEADER_SIZE + body_len);
	assert_memory_equal(file, "PGASPOOL", 8);
	assert_memory_equal(file + 8, "\x01\x00\x00\x00", 4);
	assert_int_equal(file[12] | file[13] << 8 | file[14] << 16 | (uint32_t)file[15] << 24,
			 crc32(0, body, (uInt)body_len));
	assert_memory_equal(file + 16, "\x2a\0\0\0\0\0\0\0", 8);
	assert_int_equal(file[24], body_len);
	assert_memory_equal(file + 25, "\0\0\0\0\0\0\0", 7);
	assert_memory_equal(file + DOCUMENTED_HEADER_SIZE, body, body_len);
	assert_int_equal(stats_of(sp).bytes, file_len);
	free(file);
	spool_close(sp);
}

static void test_empty_body_round_trips(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f->dir, 0, 0);
	char err[ERR_SIZE];

	assert_int_equal(spool_put(sp, 1, NULL, 0, err, sizeof(err)), 0);
	spool_close(sp);
	sp = open_spool(f->dir, 0, 0);
	expect_oldest(sp, 1, 0);
	assert_int_equal(stats_of(sp).corrupt, 0);
	spool_close(sp);
}

static void test_leftover_temporary_files_are_removed_at_open(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f->dir, 0, 0);
	static const char *const leftovers[] = {
		"/.7.tmp", "/.8.tmp", "/rejected/.00000000000000000003.batch.reason.tmp"
	};
	char path[256], stranger[256];
	FILE *fp;

	put_batch(sp, 1, 10);
	spool_close(sp);
	for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", f->dir, leftovers[i]);
		fp = fopen(path, "w");
		assert_non_null(fp);
		fputs("half a batch", fp);
		fclose(fp);
	}
	snprintf(stranger, sizeof(stranger), "%s/README", f->dir);
	fp = fopen(stranger, "w");
	assert_non_null(fp);
	fclose(fp);

	start_capture();
	sp = open_spool(f->dir, 0, 0);
	char *log = end_capture();

	for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", f->dir, leftovers[i]);
		assert_false(path_exists(path));
	}
	assert_true(path_exists(stranger));   /* not ours: left alone, but reported */
	assert_non_null(strstr(log, "README is not a spool file"));
	assert_int_equal(stats_of(sp).batches, 1);
	assert_int_equal(stats_of(sp).corrupt, 0);
	expect_oldest(sp, 1, 10);
	assert_int_equal(spool_max_seq(sp), 1);
	free(log);
	spool_close(sp);
}

static void test_truncated_batches_are_set_aside_at_open(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f->dir, 0, 0);
	char path[256];

	for (uint64_t seq = 1; seq <= 4; seq++)
		put_batch(sp, seq, 500);
	spool_close(sp);
	batch_path(f->dir, NULL, 4, path, sizeof(path));
	assert_int_equal(truncate(path, (DOCUMENTED_HEADER_SIZE + 500) / 2), 0);
	batch_path(f->dir, NULL, 2, path, sizeof(path));
	assert_int_equal(truncate(path, 0), 0);

	start_capture();
	sp = open_spool(f->dir, 0, 0);
	char *log = end_capture();

	assert_int_equal(stats_of(sp).corrupt, 2);
	assert_int_equal(stats_of(sp).batches, 2);
	assert_non_null(strstr(log, "00000000000000000004.batch is corrupt"));
	assert_non_null(strstr(log, "00000000000000000002.batch is corrupt"));
	expect_batch_file(f->dir, "corrupt", 4, 1);
	expect_batch_file(f->dir, "corrupt", 2, 1);
	expect_batch_file(f->dir, NULL, 4, 0);
	expect_oldest(sp, 1, 500);
	assert_int_equal(spool_remove(sp, 1), 0);
	expect_oldest(sp, 3, 500);
	assert_int_equal(spool_remove(sp, 3), 0);
	expect_empty(sp);
	assert_int_equal(spool_max_seq(sp), 0);
	free(log);
	spool_close(sp);
}

/* One byte in each header field, and at the start, middle and end of the body. */
static void test_flipped_byte_anywhere_is_detected(void **state)
{
	struct fixture *f = *state;
	static const off_t offsets[] = { 0, 7, 9, 14, 17, 24, 31, DOCUMENTED_HEADER_SIZE,
					 DOCUMENTED_HEADER_SIZE + 150, DOCUMENTED_HEADER_SIZE + 299 };
	char path[256];

	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		uint64_t seq = i + 1;
		struct spool *sp = open_spool(f->dir, 0, 0);

		put_batch(sp, seq, 300);
		spool_close(sp);
		batch_path(f->dir, NULL, seq, path, sizeof(path));
		xor_byte_at(path, offsets[i], 0x10);

		start_capture();
		sp = open_spool(f->dir, 0, 0);
		free(end_capture());
		if (stats_of(sp).corrupt != 1)
			fail_msg("a flipped byte at offset %lld went unnoticed", (long long)offsets[i]);
		expect_empty(sp);
		expect_batch_file(f->dir, "corrupt", seq, 1);
		spool_close(sp);
	}
}

static void test_extended_file_is_detected(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f->dir, 0, 0);
	char path[256];
	FILE *fp;

	put_batch(sp, 1, 64);
	put_batch(sp, 2, 64);
	spool_close(sp);
	batch_path(f->dir, NULL, 1, path, sizeof(path));
	fp = fopen(path, "ab");
	assert_non_null(fp);
	fputc('x', fp);
	fclose(fp);

	start_capture();
	sp = open_spool(f->dir, 0, 0);
	free(end_capture());
	assert_int_equal(stats_of(sp).corrupt, 1);
	expect_oldest(sp, 2, 64);
	spool_close(sp);
}

static void test_corruption_found_at_peek_moves_on(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f->dir, 0, 0);
	char path[256];

	for (uint64_t seq = 1; seq <= 3; seq++)
		put_batch(sp, seq, 200);
	batch_path(f->dir, NULL, 1, path, sizeof(path));
	xor_byte_at(path, DOCUMENTED_HEADER_SIZE + 100, 0x01);

	start_capture();
	expect_oldest(sp, 2, 200);
	char *log = end_capture();

	assert_non_null(strstr(log, "00000000000000000001.batch is corrupt"));
	assert_int_equal(stats_of(sp).corrupt, 1);
	assert_int_equal(stats_of(sp).batches, 2);
	assert_int_equal(stats_of(sp).bytes, 2 * (DOCUMENTED_HEADER_SIZE + 200));
	expect_batch_file(f->dir, "corrupt", 1, 1);
	expect_batch_file(f->dir, NULL, 1, 0);
	free(log);
	spool_close(sp);
}

static void test_size_bound_drops_oldest_and_counts(void **state)
{
	struct fixture *f = *state;
	const uint64_t file_bytes = DOCUMENTED_HEADER_SIZE + 1000;
	struct spool *sp = open_spool(f->dir, 3 * file_bytes + file_bytes / 2, 0);

	start_capture();
	for (uint64_t seq = 1; seq <= 5; seq++)
		put_batch(sp, seq, 1000);
	char *log = end_capture();

	assert_int_equal(stats_of(sp).dropped_size, 2);
	assert_int_equal(stats_of(sp).dropped_age, 0);
	assert_int_equal(stats_of(sp).batches, 3);
	assert_int_equal(stats_of(sp).bytes, 3 * file_bytes);
	assert_int_equal(count_occurrences(log, "dropped batch seq"), 2);
	assert_non_null(strstr(log, "dropped batch seq 1 "));
	assert_non_null(strstr(log, "dropped batch seq 2 "));
	assert_non_null(strstr(log, "size bound"));
	expect_batch_file(f->dir, NULL, 1, 0);
	expect_batch_file(f->dir, NULL, 2, 0);
	expect_batch_file(f->dir, NULL, 5, 1);
	expect_oldest(sp, 3, 1000);
	free(log);

	/* The batch just written is never the one dropped, even when it has the lowest seq. */
	start_capture();
	put_batch(sp, 2, 1000);
	free(end_capture());
	assert_int_equal(stats_of(sp).dropped_size, 3);
	expect_batch_file(f->dir, NULL, 3, 0);
	expect_oldest(sp, 2, 1000);
	assert_int_equal(spool_remove(sp, 2), 0);
	put_batch(sp, 6, 1000);
	spool_close(sp);

	/* A tighter bound at the next start applies to what is already there. */
	start_capture();
	sp = open_spool(f->dir, file_bytes, 0);
	free(end_capture());
	assert_int_equal(stats_of(sp).dropped_size, 2);
	expect_oldest(sp, 6, 1000);
	spool_close(sp);
}

static void test_batch_larger_than_the_bound_is_refused(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f->dir, 2000, 0);
	unsigned char body[2000] = { 0 };
	char err[ERR_SIZE] = "";

	put_batch(sp, 1, 1000);
	start_capture();
	assert_int_equal(spool_put(sp, 2, body, 2000 - DOCUMENTED_HEADER_SIZE + 1, err, sizeof(err)), -2);
	char *log = end_capture();

	assert_non_null(strstr(err, "seq 2"));
	assert_non_null(strstr(err, "size bound"));
	assert_non_null(strstr(log, "dropped batch seq 2"));
	assert_int_equal(stats_of(sp).dropped_size, 1);
	expect_batch_file(f->dir, NULL, 2, 0);
	assert_int_equal(count_names_ending(f->dir, NULL, ".tmp"), 0);
	expect_oldest(sp, 1, 1000);

	/* Exactly at the bound fits, and only the older batch goes. */
	start_capture();
	put_batch(sp, 3, 2000 - DOCUMENTED_HEADER_SIZE);
	free(end_capture());
	assert_int_equal(stats_of(sp).dropped_size, 2);
	expect_oldest(sp, 3, 2000 - DOCUMENTED_HEADER_SIZE);
	free(log);
	spool_close(sp);
}

/*
 * The spool reads a batch's mtime when it writes the batch or finds it at
 * open, so an mtime set back by hand takes effect at the next open.
 */
static void test_age_bound_drops_old_batches_and_counts(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f->dir, 0, HOUR);

	for (uint64_t seq = 1; seq <= 4; seq++)
		put_batch(sp, seq, 50);
	assert_int_equal(stats_of(sp).dropped_age, 0);
	spool_close(sp);
	set_mtime_back(f->dir, 1, 2 * HOUR);
	set_mtime_back(f->dir, 3, 2 * HOUR);
	set_mtime_back(f->dir, 4, -2 * HOUR);   /* in the future (clock stepped back): age 0 */

	start_capture();
	sp = open_spool(f->dir, 0, HOUR);
	char *log = end_capture();

	assert_int_equal(stats_of(sp).dropped_age, 2);
	assert_int_equal(stats_of(sp).dropped_size, 0);
	assert_int_equal(stats_of(sp).batches, 2);
	assert_int_equal(count_occurrences(log, "dropped batch seq"), 2);
	assert_non_null(strstr(log, "dropped batch seq 1 "));
	assert_non_null(strstr(log, "dropped batch seq 3 "));
	assert_non_null(strstr(log, "age bound"));
	expect_batch_file(f->dir, NULL, 1, 0);
	expect_batch_file(f->dir, NULL, 3, 0);
	expect_oldest(sp, 2, 50);
	assert_int_equal(spool_remove(sp, 2), 0);
	expect_oldest(sp, 4, 50);
	free(log);
	spool_close(sp);

	/* Without an age bound, old batches stay. */
	sp = open_spool(f->dir, 0, HOUR);
	put_batch(sp, 5, 50);
	spool_close(sp);
	set_mtime_back(f->dir, 5, 100 * HOUR);
	sp = open_spool(f->dir, 0, 0);
	assert_int_equal(stats_of(sp).dropped_age, 0);
	assert_int_equal(stats_of(sp).batches, 2);
	spool_close(sp);
}

static void test_reject_moves_batch_and_keeps_the_reason(void **state)
{
	struct fixture *f = *state;
	static const char reason[] = "{\"code\":\"invalid_payload\",\"message\":\"metrics missing\"}";
	struct spool *sp = open_spool(f->dir, 0, 0);
	char path[256], reason_path[300];
	unsigned char *before, *after;
	size_t before_len, after_len;

	put_batch(sp, 1, 80);
	put_batch(sp, 2, 80);
	batch_path(f->dir, NULL, 1, path, sizeof(path));
	before = read_file(path, &before_len);

	start_capture();
	assert_int_equal(spool_reject(sp, 1, reason), 0);
	free(end_capture());
	expect_batch_file(f->dir, NULL, 1, 0);
	batch_path(f->dir, "rejected", 1, path, sizeof(path));
	after = read_file(path, &after_len);
	assert_int_equal(after_len, before_len);
	assert_memory_equal(after, before, before_len);
	free(after);
	snprintf(reason_path, sizeof(reason_path), "%s.reason", path);
	after = read_file(reason_path, &after_len);
	assert_string_equal((char *)after, "{\"code\":\"invalid_payload\",\"message\":\"metrics missing\"}\n");
	free(after);
	assert_int_equal(stats_of(sp).rejected, 1);
	assert_int_equal(stats_of(sp).batches, 1);
	expect_oldest(sp, 2, 80);
	spool_close(sp);

	/* Not replayed after a restart, and a later rejection never overwrites it. */
	sp = open_spool(f->dir, 0, 0);
	assert_int_equal(stats_of(sp).batches, 1);
	expect_oldest(sp, 2, 80);
	put_batch(sp, 1, 90);
	start_capture();
	assert_int_equal(spool_reject(sp, 1, NULL), 0);
	free(end_capture());
	after = read_file(path, &after_len);
	assert_memory_equal(after, before, before_len);
	free(after);
	snprintf(reason_path, sizeof(reason_path), "%s.1.reason", path);
	after = read_file(reason_path, &after_len);
	assert_string_equal((char *)after, "(no reason given)\n");
	free(after);
	free(before);
	spool_close(sp);
}

static void test_unknown_seq_cannot_be_removed_or_rejected(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f->dir, 0, 0);

	put_batch(sp, 1, 10);
	start_capture();
	errno = 0;
	assert_int_equal(spool_remove(sp, 99), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(spool_reject(sp, 99, "nope"), -1);
	char *log = end_capture();

	assert_non_null(strstr(log, "seq 99"));
	assert_int_equal(stats_of(sp).batches, 1);
	assert_int_equal(stats_of(sp).rejected, 0);
	free(log);
	spool_close(sp);
}

static void test_duplicate_and_zero_seq_are_refused(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f->dir, 0, 0);
	unsigned char other[40] = { 0 };
	char err[ERR_SIZE] = "";

	put_batch(sp, 5, 40);
	assert_int_equal(spool_put(sp, 5, other, sizeof(other), err, sizeof(err)), -2);
	assert_non_null(strstr(err, "seq 5"));
	assert_non_null(strstr(err, "already"));
	expect_oldest(sp, 5, 40);   /* the first body is untouched */
	spool_close(sp);

	sp = open_spool(f->dir, 0, 0);
	err[0] = '\0';
	assert_int_equal(spool_put(sp, 5, other, sizeof(other), err, sizeof(err)), -2);
	assert_non_null(strstr(err, "already"));
	err[0] = '\0';
	assert_int_equal(spool_put(sp, 0, other, sizeof(other), err, sizeof(err)), -2);
	assert_non_null(strstr(err, "seq 0"));
	assert_int_equal(stats_of(sp).batches, 1);
	expect_oldest(sp, 5, 40);
	spool_close(sp);
}

static void test_max_seq_follows_the_spool(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f->dir, 0, 0);

	assert_int_equal(spool_max_seq(sp), 0);
	put_batch(sp, 3, 10);
	put_batch(sp, 7, 10);
	put_batch(sp, 5, 10);
	assert_int_equal(spool_max_seq(sp), 7);
	expect_oldest(sp, 3, 10);
	assert_int_equal(spool_remove(sp, 7), 0);
	assert_int_equal(spool_max_seq(sp), 5);
	spool_close(sp);

	sp = open_spool(f->dir, 0, 0);
	assert_int_equal(spool_max_seq(sp), 5);
	assert_int_equal(spool_remove(sp, 3), 0);
	assert_int_equal(spool_remove(sp, 5), 0);
	assert_int_equal(spool_max_seq(sp), 0);
	spool_close(sp);
}

/* ---- a write cut short ------------------------------------------------ */

#define FILE_SIZE_LIMIT 1000
#define CUT_BODY_LEN 5000

/*
 * In a child limited to FILE_SIZE_LIMIT bytes per file, put a batch that
 * does not fit.  die_mid_write: SIGXFSZ keeps its default action, so the
 * child dies with half the batch written; otherwise it is ignored, the write
 * fails with EFBIG and spool_put() must say so.  Returns the wait status.
 */
static int put_beyond_file_size_limit(const char *dir, uint64_t seq, int die_mid_write)
{
	struct rlimit no_core = { 0, 0 }, fsize = { FILE_SIZE_LIMIT, FILE_SIZE_LIMIT };
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned char body[CUT_BODY_LEN] = { 0 };
		char err[ERR_SIZE] = "";
		struct spool *sp;

		log_set_level(LOG_LVL_ERROR);
		sp = spool_open(dir, NULL, err, sizeof(err));
		if (!sp || setrlimit(RLIMIT_CORE, &no_core) < 0 || setrlimit(RLIMIT_FSIZE, &fsize) < 0)
			_exit(2);
		signal(SIGXFSZ, die_mid_write ? SIG_DFL : SIG_IGN);
		if (spool_put(sp, seq, body, sizeof(body), err, sizeof(err)) == 0)
			_exit(3);
		/* The error names the file and the failed step. */
		if (!strstr(err, ".tmp") || !strstr(err, "write"))
			_exit(4);
		spool_close(sp);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void expect_only_batch_one(const char *dir, uint64_t missing_seq)
{
	struct spool *sp = open_spool(dir, 0, 0);

	assert_int_equal(stats_of(sp).corrupt, 0);
	assert_int_equal(stats_of(sp).batches, 1);
	assert_int_equal(count_names_ending(dir, NULL, ".tmp"), 0);
	expect_batch_file(dir, NULL, missing_seq, 0);
	expect_oldest(sp, 1, 10);
	spool_close(sp);
}

static void test_death_mid_write_leaves_no_batch(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f->dir, 0, 0);
	int status;

	put_batch(sp, 1, 10);
	spool_close(sp);
	status = put_beyond_file_size_limit(f->dir, 2, 1);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGXFSZ)
		fail_msg("the child was meant to die of SIGXFSZ mid-write; wait status %d", status);
	assert_int_equal(count_names_ending(f->dir, NULL, ".tmp"), 1);   /* the half-written batch */
	start_capture();
	expect_only_batch_one(f->dir, 2);
	free(end_capture());
}

static void test_failed_write_leaves_nothing_behind(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f->dir, 0, 0);
	int status;

	put_batch(sp, 1, 10);
	spool_close(sp);
	status = put_beyond_file_size_limit(f->dir, 2, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("spool_put past the file size limit: child wait status %d "
			 "(exit 3: it claimed success, 4: the error did not name the step and file)", status);
	assert_int_equal(count_names_ending(f->dir, NULL, ".tmp"), 0);
	expect_only_batch_one(f->dir, 2);
}

/* ---- kill -9 while writing ---------------------------------------------- */

#define CRASH_ROUNDS 20
#define CRASH_MAX_BODY 65536
#define CRASH_MAX_DELAY_US 4000

static size_t crash_body_len(uint64_t seq)
{
	return (size_t)(seq * 7919 % CRASH_MAX_BODY);
}

/* The child: put batches from first_seq on, reporting each stored one, until killed. */
static void put_until_killed(const char *dir, uint64_t max_bytes, uint64_t first_seq, int report_fd)
{
	struct spool_limits limits = { max_bytes, 0 };
	unsigned char *body = malloc(CRASH_MAX_BODY);
	char err[ERR_SIZE];
	struct spool *sp;

	log_set_level(LOG_LVL_ERROR);
	sp = spool_open(dir, &limits, err, sizeof(err));
	if (!sp || !body)
		_exit(2);
	for (uint64_t seq = first_seq;; seq++) {
		size_t len = crash_body_len(seq);

		fill_body(seq, body, len);
		if (spool_put(sp, seq, body, len, err, sizeof(err)) != 0)
			_exit(3);
		if (write(report_fd, &seq, sizeof(seq)) != (ssize_t)sizeof(seq))
			_exit(4);
	}
}

/* Kill a child putting batches at a pseudo-random moment; the last seq it reported stored. */
static uint64_t kill_a_putter(const char *dir, uint64_t max_bytes, uint64_t first_seq,
			      unsigned *random_state)
{
	struct timespec delay = { 0, (long)(rand_r(random_state) % CRASH_MAX_DELAY_US) * 1000 };
	uint64_t seq, last = 0;
	int fds[2], status;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		put_until_killed(dir, max_bytes, first_seq, fds[1]);
	}
	close(fds[1]);
	/* The first report proves the child is in its loop, past spool_open(). */
	assert_int_equal(read(fds[0], &last, sizeof(last)), sizeof(last));
	nanosleep(&delay, NULL);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("the putting child stopped on its own (status %d) instead of being killed", status);
	while (read(fds[0], &seq, sizeof(seq)) == (ssize_t)sizeof(seq))
		last = seq;
	close(fds[0]);
	return last;
}

/*
 * Replay everything after a kill: only whole batches with their own bodies,
 * strictly increasing seqs, every one reported stored still there (no bound)
 * or at least the newest (bound), and at most one more that was stored but
 * not yet reported.  Returns the highest seq seen.
 */
static uint64_t replay_after_kill(const char *dir, uint64_t max_bytes, uint64_t first_seq,
				  uint64_t last_reported)
{
	struct spool *sp = open_spool(dir, max_bytes, 0);
	uint64_t previous = 0, seq;
	unsigned char *body;
	size_t len;
	int rc;

	assert_int_equal(stats_of(sp).corrupt, 0);
	assert_int_equal(count_names_ending(dir, NULL, ".tmp"), 0);
	assert_int_equal(count_names_ending(dir, "corrupt", ".batch"), 0);
	while ((rc = spool_peek_oldest(sp, &seq, &body, &len)) == 0) {
		unsigned char *expected = malloc(CRASH_MAX_BODY);

		assert_non_null(expected);
		if (previous == 0 && max_bytes == 0)
			assert_int_equal(seq, first_seq);
		else if (previous != 0 && max_bytes == 0)
			assert_int_equal(seq, previous + 1);
		assert_true(seq > previous);
		assert_int_equal(len, crash_body_len(seq));
		fill_body(seq, expected, len);
		if (len)
			assert_memory_equal(body, expected, len);
		free(expected);
		free(body);
		assert_int_equal(spool_remove(sp, seq), 0);
		previous = seq;
	}
	assert_int_equal(rc, 1);
	if (previous != last_reported && previous != last_reported + 1)
		fail_msg("after the kill the newest batch is seq %" PRIu64 ", the child had stored %" PRIu64,
			 previous, last_reported);
	assert_int_equal(stats_of(sp).corrupt, 0);
	spool_close(sp);
	return previous;
}

static void test_kill_during_put_leaves_only_whole_batches(void **state)
{
	struct fixture *f = *state;
	unsigned random_state = 20240917;
	uint64_t next_seq = 1;

	/* Removing the interrupted write's .tmp is reported at info: expected here. */
	log_set_level(LOG_LVL_WARNING);

	for (int round = 0; round < CRASH_ROUNDS; round++) {
		/* Every other round bounds the spool, so that drops are interrupted too. */
		uint64_t max_bytes = round % 2 ? 4 * CRASH_MAX_BODY : 0;
		uint64_t last;

		last = kill_a_putter(f->dir, max_bytes, next_seq, &random_state);
		next_seq = replay_after_kill(f->dir, max_bytes, next_seq, last) + 1;
	}
}

int main(void)
{
#define SPOOL_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		SPOOL_TEST(test_open_creates_private_directories),
		SPOOL_TEST(test_open_failure_names_the_path),
		SPOOL_TEST(test_order_is_kept_across_reopen),
		SPOOL_TEST(test_file_format_is_as_documented),
		SPOOL_TEST(test_empty_body_round_trips),
		SPOOL_TEST(test_leftover_temporary_files_are_removed_at_open),
		SPOOL_TEST(test_truncated_batches_are_set_aside_at_open),
		SPOOL_TEST(test_flipped_byte_anywhere_is_detected),
		SPOOL_TEST(test_extended_file_is_detected),
		SPOOL_TEST(test_corruption_found_at_peek_moves_on),
		SPOOL_TEST(test_size_bound_drops_oldest_and_counts),
		SPOOL_TEST(test_batch_larger_than_the_bound_is_refused),
		SPOOL_TEST(test_age_bound_drops_old_batches_and_counts),
		SPOOL_TEST(test_reject_moves_batch_and_keeps_the_reason),
		SPOOL_TEST(test_unknown_seq_cannot_be_removed_or_rejected),
		SPOOL_TEST(test_duplicate_and_zero_seq_are_refused),
		SPOOL_TEST(test_max_seq_follows_the_spool),
		SPOOL_TEST(test_death_mid_write_leaves_no_batch),
		SPOOL_TEST(test_failed_write_leaves_nothing_behind),
		SPOOL_TEST(test_kill_during_put_leaves_only_whole_batches),
	};
#undef SPOOL_TEST

	return cmocka_run_group_tests(tests, NULL, NULL);
}

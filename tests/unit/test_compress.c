/*
 * test_compress.c - gzip framing: round trips, RFC 1952 header, rejection
 * of corrupt, truncated and over-long input, and agreement with gzip(1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "compress.h"

/* Deterministic bytes, so a failure reproduces. */
static void fill_pseudo_random(unsigned char *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed | 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)(x >> 24);
	}
}

static void check_round_trip(const unsigned char *data, size_t len, int level)
{
	unsigned char *packed = NULL, *unpacked = NULL;
	size_t packed_len = 0, unpacked_len = 0;

	assert_int_equal(gzip_compress(data, len, level, &packed, &packed_len), 0);
	assert_non_null(packed);
	assert_true(packed_len >= 18);        /* 10-byte header + 8-byte trailer */
	assert_int_equal(packed[0], 0x1f);    /* RFC 1952 magic */
	assert_int_equal(packed[1], 0x8b);
	assert_int_equal(packed[2], 8);       /* deflate */
	assert_int_equal(gzip_decompress(packed, packed_len, len, &unpacked, &unpacked_len), 0);
	assert_non_null(unpacked);
	assert_int_equal(unpacked_len, len);
	if (len > 0)
		assert_memory_equal(unpacked, data, len);
	free(packed);
	free(unpacked);
}

static void test_round_trip_random_data(void **state)
{
	static const size_t sizes[] = { 1, 17, 4096, 65537, 1024 * 1024 };
	static const int levels[] = { -1, 0, 1, 9 };
	(void)state;

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		unsigned char *data = malloc(sizes[s]);

		assert_non_null(data);
		fill_pseudo_random(data, sizes[s], sizes[s]);
		for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++)
			check_round_trip(data, sizes[s], levels[l]);
		free(data);
	}
}

static void test_round_trip_compressible_data(void **state)
{
	size_t len = 4 * 1024 * 1024;
	unsigned char *data = malloc(len);
	unsigned char *packed = NULL;
	size_t packed_len = 0;
	(void)state;

	assert_non_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)"{\"type\":\"pg_stats\"}\n"[i % 20];
	check_round_trip(data, len, 6);
	assert_int_equal(gzip_compress(data, len, 6, &packed, &packed_len), 0);
	assert_true(packed_len < len / 100);
	free(packed);
	free(data);
}

static void test_round_trip_empty(void **state)
{
	unsigned char *packed = NULL, *unpacked = NULL;
	size_t packed_len = 0, unpacked_len = 99;
	(void)state;

	check_round_trip((const unsigned char *)"", 0, -1);
	assert_int_equal(gzip_compress(NULL, 0, -1, &packed, &packed_len), 0);
	assert_int_equal(gzip_decompress(packed, packed_len, 0, &unpacked, &unpacked_len), 0);
	assert_non_null(unpacked);
	assert_int_equal(unpacked_len, 0);
	free(packed);
	free(unpacked);
}

/* ---- gzip_writer ---- */

/*
 * Compress `data` through a writer in pieces of `piece` bytes (0: one
 * piece) and check that the member is gzip and inflates back to `data`.
 */
static void check_writer_round_trip(const unsigned char *data, size_t len, size_t piece,
				    int level)
{
	struct gzip_writer *gz = gzip_writer_new(level);
	unsigned char *packed = NULL, *unpacked = NULL;
	size_t packed_len = 0, unpacked_len = 0;

	assert_non_null(gz);
	for (size_t at = 0; at < len;) {
		size_t n = piece == 0 || len - at < piece ? len - at : piece;

		assert_int_equal(gzip_writer_write(gz, data + at, n), 0);
		at += n;
	}
	assert_int_equal(gzip_writer_write(gz, NULL, 0), 0);
	assert_int_equal(gzip_writer_finish(gz, &packed, &packed_len), 0);
	assert_non_null(packed);
	assert_int_equal(packed[0], 0x1f);
	assert_int_equal(packed[1], 0x8b);
	assert_int_equal(gzip_decompress(packed, packed_len, len, &unpacked, &unpacked_len), 0);
	assert_int_equal(unpacked_len, len);
	if (len > 0)
		assert_memory_equal(unpacked, data, len);
	free(packed);
	free(unpacked);
}

static void test_writer_pieces_make_one_member(void **state)
{
	static const size_t pieces[] = { 0, 1, 3, 4096, 100000 };
	size_t len = 3 * 1024 * 1024 + 5;
	unsigned char *data = malloc(len);
	(void)state;

	assert_non_null(data);
	/* Half incompressible, half repetitive: the output outgrows its first buffer. */
	fill_pseudo_random(data, len / 2, 42);
	for (size_t i = len / 2; i < len; i++)
		data[i] = (unsigned char)"{\"n\":1},"[i % 8];
	for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++)
		check_writer_round_trip(data, pieces[p] == 1 ? 70000 : len, pieces[p], 6);
	check_writer_round_trip(data, len, 65536, 1);
	check_writer_round_trip(data, 0, 0, 6);
	free(data);
}

static void test_writer_refuses_bad_use(void **state)
{
	struct gzip_writer *gz;
	unsigned char *out = (unsigned char *)"not touched";
	size_t out_len = 99;
	(void)state;

	assert_null(gzip_writer_new(10));
	assert_null(gzip_writer_new(-2));
	gzip_writer_free(NULL);
	/* A NULL buffer with a length fails, and so does everything after it. */
	gz = gzip_writer_new(6);
	assert_non_null(gz);
	assert_int_equal(gzip_writer_write(gz, NULL, 1), -1);
	assert_int_equal(gzip_writer_write(gz, "abc", 3), -1);
	assert_int_equal(gzip_writer_finish(gz, &out, &out_len), -1);
	assert_null(out);
	assert_int_equal(out_len, 0);
	/* Abandoning a writer that has output frees it (ASan checks). */
	gz = gzip_writer_new(6);
	assert_non_null(gz);
	assert_int_equal(gzip_writer_write(gz, "abc", 3), 0);
	gzip_writer_free(gz);
}

static void test_peek_inflates_only_the_beginning(void **state)
{
	char text[100000];
	unsigned char *gz, head[32];
	size_t gz_len, got;

	(void)state;
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (char)('a' + (i * 7 + i / 13) % 26);
	memcpy(text, "{\"collector_id\":\"abc\"", 21);
	assert_int_equal(gzip_compress(text, sizeof(text), 6, &gz, &gz_len), 0);
	assert_int_equal(gzip_peek(gz, gz_len, head, sizeof(head), &got), 0);
	assert_int_equal(got, sizeof(head));
	assert_memory_equal(head, text, sizeof(head));
	/* Not gzip at all. */
	assert_int_equal(gzip_peek(text, sizeof(text), head, sizeof(head), &got), -1);
	free(gz);
}

static void test_bad_arguments_are_refused(void **state)
{
	unsigned char *out = (unsigned char *)"sentinel";
	size_t out_len = 5;
	(void)state;

	assert_int_equal(gzip_compress("abc", 3, 10, &out, &out_len), -1);
	assert_null(out);
	assert_int_equal(out_len, 0);
	assert_int_equal(gzip_compress(NULL, 3, -1, &out, &out_len), -1);
	assert_int_equal(gzip_decompress(NULL, 0, 100, &out, &out_len), -1);
	assert_null(out);
	assert_int_equal(gzip_decompress("", 0, 100, &out, &out_len), -1);
}

/* Compress `text` into a fresh buffer the caller frees. */
static unsigned char *pack(const char *text, size_t *packed_len)
{
	unsigned char *packed = NULL;

	assert_int_equal(gzip_compress(text, strlen(text), 6, &packed, packed_len), 0);
	return packed;
}

static int unpack(const unsigned char *packed, size_t len, size_t max_out)
{
	unsigned char *out = NULL;
	size_t out_len = 0;
	int rc = gzip_decompress(packed, len, max_out, &out, &out_len);

	if (rc != 0)
		assert_null(out);
	free(out);
	return rc;
}

static void test_corrupt_crc_and_length_are_rejected(void **state)
{
	size_t len;
	unsigned char *packed = pack("hello, pganalytics collector", &len);
	(void)state;

	assert_int_equal(unpack(packed, len, 1000), 0);
	packed[len - 8] ^= 0x01;           /* CRC32 */
	assert_int_equal(unpack(packed, len, 1000), -1);
	packed[len - 8] ^= 0x01;
	packed[len - 1] ^= 0x01;           /* ISIZE */
	assert_int_equal(unpack(packed, len, 1000), -1);
	packed[len - 1] ^= 0x01;
	packed[0] ^= 0xff;                 /* magic */
	assert_int_equal(unpack(packed, len, 1000), -1);
	free(packed);
}

static void test_truncated_input_is_rejected(void **state)
{
	size_t len;
	unsigned char *packed = pack("truncate me at every possible byte", &len);
	(void)state;

	for (size_t cut = 1; cut < len; cut++) {
		if (unpack(packed, cut, 1000) != -1)
			fail_msg("a member cut to %zu of %zu bytes was accepted", cut, len);
	}
	free(packed);
}

static void test_trailing_garbage_is_rejected(void **state)
{
	static const unsigned char tails[][3] = { { 'x' }, { 0 }, { 0x1f }, { 0x1f, 0x8b } };
	static const size_t tail_lens[] = { 1, 1, 1, 2 };
	size_t len;
	unsigned char *packed = pack("payload", &len);
	unsigned char *longer = malloc(len + 3);
	(void)state;

	assert_non_null(longer);
	memcpy(longer, packed, len);
	for (size_t i = 0; i < sizeof(tail_lens) / sizeof(tail_lens[0]); i++) {
		memcpy(longer + len, tails[i], tail_lens[i]);
		if (unpack(longer, len + tail_lens[i], 1000) != -1)
			fail_msg("trailing bytes case %zu were accepted", i);
	}
	free(longer);
	free(packed);
}

static void test_concatenated_members_are_joined(void **state)
{
	size_t first_len, second_len, out_len = 0;
	unsigned char *first = pack("{\"a\":1}\n", &first_len);
	unsigned char *second = pack("{\"b\":2}\n", &second_len);
	unsigned char *both = malloc(first_len + second_len);
	unsigned char *out = NULL;
	(void)state;

	assert_non_null(both);
	memcpy(both, first, first_len);
	memcpy(both + first_len, second, second_len);
	assert_int_equal(gzip_decompress(both, first_len + second_len, 100, &out, &out_len), 0);
	assert_int_equal(out_len, 16);
	assert_memory_equal(out, "{\"a\":1}\n{\"b\":2}\n", 16);
	free(out);
	free(both);
	free(second);
	free(first);
}

static void test_max_out_is_enforced(void **state)
{
	size_t len = 10 * 1024 * 1024;
	unsigned char *zeros = calloc(1, len);
	unsigned char *packed = NULL;
	size_t packed_len = 0;
	(void)state;

	assert_non_null(zeros);
	assert_int_equal(gzip_compress(zeros, 1000, 9, &packed, &packed_len), 0);
	assert_int_equal(unpack(packed, packed_len, 1000), 0);
	assert_int_equal(unpack(packed, packed_len, 999), -1);
	assert_int_equal(unpack(packed, packed_len, 0), -1);
	free(packed);

	/* A small input that inflates far beyond the limit. */
	assert_int_equal(gzip_compress(zeros, len, 9, &packed, &packed_len), 0);
	assert_true(packed_len < 64 * 1024);
	assert_int_equal(unpack(packed, packed_len, 1024 * 1024), -1);
	assert_int_equal(unpack(packed, packed_len, len), 0);
	free(packed);
	free(zeros);
}

/* Run argv with stdout to `out_path` (or inherited); its exit status, or -1. */
static int run_tool(char *const argv[], const char *out_path)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (out_path != NULL && freopen(out_path, "w", stdout) == NULL)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* A fresh directory under $TMPDIR (or /tmp). */
static void make_temp_dir(char *dir, size_t size)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || base[0] != '/')
		base = "/tmp";
	snprintf(dir, size, "%s/pga-compress-XXXXXX", base);
	assert_non_null(mkdtemp(dir));
}

static void test_gzip_tool_accepts_output(void **state)
{
	char dir[1024], gz_path[1100], plain_path[1100];
	char *test_argv[] = { "gzip", "-t", gz_path, NULL };
	char *cat_argv[] = { "gzip", "-dc", gz_path, NULL };
	size_t data_len = 300000, packed_len = 0;
	unsigned char *data = malloc(data_len), *packed = NULL, *back = malloc(data_len + 1);
	int rc;
	FILE *f;
	(void)state;

	assert_non_null(data);
	assert_non_null(back);
	make_temp_dir(dir, sizeof(dir));
	snprintf(gz_path, sizeof(gz_path), "%s/p.json.gz", dir);
	snprintf(plain_path, sizeof(plain_path), "%s/p.json", dir);

	fill_pseudo_random(data, data_len, 42);
	assert_int_equal(gzip_compress(data, data_len, 6, &packed, &packed_len), 0);
	f = fopen(gz_path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(packed, 1, packed_len, f), packed_len);
	assert_int_equal(fclose(f), 0);

	rc = run_tool(test_argv, NULL);
	if (rc != 127) {
		assert_int_equal(rc, 0);
		assert_int_equal(run_tool(cat_argv, plain_path), 0);
		f = fopen(plain_path, "rb");
		assert_non_null(f);
		assert_int_equal(fread(back, 1, data_len + 1, f), data_len);
		fclose(f);
		assert_memory_equal(back, data, data_len);
		assert_int_equal(unlink(plain_path), 0);
	}
	free(back);
	free(packed);
	free(data);
	assert_int_equal(unlink(gz_path), 0);
	assert_int_equal(rmdir(dir), 0);
	if (rc == 127)
		skip();   /* gzip(1) is not installed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_random_data),
		cmocka_unit_test(test_round_trip_compressible_data),
		cmocka_unit_test(test_round_trip_empty),
		cmocka_unit_test(test_writer_pieces_make_one_member),
		cmocka_unit_test(test_writer_refuses_bad_use),
		cmocka_unit_test(test_peek_inflates_only_the_beginning),
		cmocka_unit_test(test_bad_arguments_are_refused),
		cmocka_unit_test(test_corrupt_crc_and_length_are_rejected),
		cmocka_unit_test(test_truncated_input_is_rejected),
		cmocka_unit_test(test_trailing_garbage_is_rejected),
		cmocka_unit_test(test_concatenated_members_are_joined),
		cmocka_unit_test(test_max_out_is_enforced),
		cmocka_unit_test(test_gzip_tool_accepts_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_signature.c - the push body signature header (format, RFC 4231
 * vector, every byte covered) and secret_file_read(): permissions refused as
 * ssh refuses them, non-regular, empty and oversized files refused, line
 * endings stripped, and error messages that name the path but never carry
 * the secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "signature.h"

/* ---- signature_header_value ------------------------------------------------ */

static void test_value_format(void **state)
{
	char value[SIGNATURE_VALUE_LEN];
	(void)state;

	assert_int_equal(signature_header_value("k", 1, "\x1f\x8b\x08", 3, value), 0);
	assert_int_equal(strlen(value), SIGNATURE_VALUE_LEN - 1);
	assert_memory_equal(value, "sha256=", 7);
	assert_int_equal(strspn(value + 7, "0123456789abcdef"), 64);
	assert_string_equal(SIGNATURE_HEADER, "X-Pganalytics-Signature");
}

static void test_value_rfc4231_case_2(void **state)
{
	char value[SIGNATURE_VALUE_LEN];
	(void)state;

	assert_int_equal(signature_header_value("Jefe", 4, "what do ya want for nothing?", 28,
						value), 0);
	assert_string_equal(value,
			    "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_value_of_empty_body(void **state)
{
	char value[SIGNATURE_VALUE_LEN];
	(void)state;

	/* Python: hmac.new(b"key", b"", hashlib.sha256).hexdigest() */
	assert_int_equal(signature_header_value("key", 3, NULL, 0, value), 0);
	assert_string_equal(value,
			    "sha256=5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0");
}

static void test_value_covers_bytes_after_nul(void **state)
{
	char value[SIGNATURE_VALUE_LEN], other[SIGNATURE_VALUE_LEN];
	(void)state;

	/* A gzip body is binary: nothing may stop at its first NUL. */
	assert_int_equal(signature_header_value("key", 3, "a\0b", 3, value), 0);
	assert_string_equal(value,
			    "sha256=29c5f0eea2d0a51b661193b3a56191192b2861f543ea0499a7f9725f7e7062fc");
	assert_int_equal(signature_header_value("key", 3, "a\0c", 3, other), 0);
	assert_string_not_equal(value, other);
	assert_int_equal(signature_header_value("kez", 3, "a\0b", 3, other), 0);
	assert_string_not_equal(value, other);
}

static void test_value_refuses_bad_arguments(void **state)
{
	char value[SIGNATURE_VALUE_LEN];
	(void)state;

	memset(value, 'x', sizeof(value));
	assert_int_equal(signature_header_value(NULL, 3, "body", 4, value), -1);
	assert_string_equal(value, "");
	memset(value, 'x', sizeof(value));
	assert_int_equal(signature_header_value("key", 0, "body", 4, value), -1);
	assert_string_equal(value, "");
	assert_int_equal(signature_header_value("key", 3, NULL, 4, value), -1);
}

/* ---- secret_file_read ------------------------------------------------------- */

struct scratch {
	char dir[512];
	char path[600];
};

static int setup_scratch(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));
	const char *tmp = getenv("TMPDIR");

	if (s == NULL)
		return -1;
	snprintf(s->dir, sizeof(s->dir), "%s/pga-secret.XXXXXX",
		 tmp && *tmp && strlen(tmp) < 400 ? tmp : "/tmp");
	if (mkdtemp(s->dir) == NULL) {
		free(s);
		return -1;
	}
	snprintf(s->path, sizeof(s->path), "%s/collector.secret", s->dir);
	*state = s;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown_scratch(void **state)
{
	struct scratch *s = *state;
	int rc = nftw(s->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);

	free(s);
	return rc;
}

/* Write `len` bytes to `path` with exactly `mode`, whatever the umask. */
static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* Read `path`, expecting success with exactly `expected_len` bytes of `expected`. */
static void check_reads(const char *path, const void *expected, size_t expected_len)
{
	unsigned char *secret = NULL;
	size_t len = 0;
	char err[1024] = "";

	if (secret_file_read(path, &secret, &len, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	assert_non_null(secret);
	assert_int_equal(len, expected_len);
	assert_memory_equal(secret, expected, expected_len);
	assert_int_equal(secret[len], '\0');
	secret_free(secret, len);
}

/* Read `path`, expecting a refusal whose message is exactly `expected_err`. */
static void check_refused(const char *path, const char *expected_err)
{
	unsigned char *secret = (unsigned char *)"sentinel";
	size_t len = 9;
	char err[1024] = "";

	assert_int_equal(secret_file_read(path, &secret, &len, err, sizeof(err)), -1);
	assert_null(secret);
	assert_int_equal(len, 0);
	assert_string_equal(err, expected_err);
}

static char *message(const char *fmt, const char *path, unsigned mode)
{
	static char text[1024];

	snprintf(text, sizeof(text), fmt, path, mode);
	return text;
}

static void test_secret_mode_0600_is_read(void **state)
{
	struct scratch *s = *state;

	write_file(s->path, "s3cr3t-value", 12, 0600);
	check_reads(s->path, "s3cr3t-value", 12);
	write_file(s->path, "s3cr3t-value", 12, 0400);
	check_reads(s->path, "s3cr3t-value", 12);
}

static void test_secret_group_or_other_access_refused(void **state)
{
	static const unsigned readable[] = { 0640, 0604, 0644, 0660, 0666, 0440 };
	static const unsigned accessible[] = { 0620, 0602, 0610, 0601 };
	struct scratch *s = *state;
	const char *readable_fmt = "\"%s\" is readable by group or others (mode %04o); chmod 600 it";
	const char *accessible_fmt = "\"%s\" is accessible by group or others (mode %04o); chmod 600 it";

	for (size_t i = 0; i < sizeof(readable) / sizeof(readable[0]); i++) {
		write_file(s->path, "s3cr3t-value\n", 13, readable[i]);
		check_refused(s->path, message(readable_fmt, s->path, readable[i]));
	}
	for (size_t i = 0; i < sizeof(accessible) / sizeof(accessible[0]); i++) {
		write_file(s->path, "s3cr3t-value\n", 13, accessible[i]);
		check_refused(s->path, message(accessible_fmt, s->path, accessible[i]));
	}
}

static void test_secret_line_ending_stripped_once(void **state)
{
	struct scratch *s = *state;

	write_file(s->path, "abc\n", 4, 0600);
	check_reads(s->path, "abc", 3);
	write_file(s->path, "abc\r\n", 5, 0600);
	check_reads(s->path, "abc", 3);
	write_file(s->path, "abc\n\n", 5, 0600);
	check_reads(s->path, "abc\n", 4);
	write_file(s->path, "abc\r", 4, 0600);
	check_reads(s->path, "abc\r", 4);
	write_file(s->path, " a\nb \n", 6, 0600);
	check_reads(s->path, " a\nb ", 5);
}

static void test_secret_binary_kept_whole(void **state)
{
	struct scratch *s = *state;
	unsigned char key[32];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 37);   /* includes 0x00 */
	write_file(s->path, key, sizeof(key), 0600);
	check_reads(s->path, key, sizeof(key));
}

static void test_secret_empty_refused(void **state)
{
	struct scratch *s = *state;
	char expected[1024];

	snprintf(expected, sizeof(expected), "\"%s\" is empty; it must hold the secret", s->path);
	write_file(s->path, "", 0, 0600);
	check_refused(s->path, expected);
	write_file(s->path, "\n", 1, 0600);
	check_refused(s->path, expected);
	write_file(s->path, "\r\n", 2, 0600);
	check_refused(s->path, expected);
}

static void test_secret_size_limit(void **state)
{
	struct scratch *s = *state;
	size_t size = SECRET_FILE_MAX_BYTES + 1;
	unsigned char *big = malloc(size);
	char expected[1024];

	assert_non_null(big);
	memset(big, 'k', size);
	write_file(s->path, big, SECRET_FILE_MAX_BYTES, 0600);
	check_reads(s->path, big, SECRET_FILE_MAX_BYTES);
	write_file(s->path, big, size, 0600);
	snprintf(expected, sizeof(expected),
		 "\"%s\" is larger than 65536 bytes; is it the right file?", s->path);
	check_refused(s->path, expected);
	free(big);
}

static void test_secret_non_regular_refused(void **state)
{
	struct scratch *s = *state;
	char expected[1024];

	/* Modes 0700/0600, so that only the file type can be the reason. */
	assert_int_equal(mkdir(s->path, 0700), 0);
	snprintf(expected, sizeof(expected),
		 "\"%s\" is not a regular file; a secret must be a plain file", s->path);
	check_refused(s->path, expected);
	assert_int_equal(rmdir(s->path), 0);
	/* A FIFO must be refused, not waited on for a writer. */
	assert_int_equal(mkfifo(s->path, 0600), 0);
	check_refused(s->path, expected);
}

static void test_secret_missing_file_named(void **state)
{
	struct scratch *s = *state;
	char expected[1024];

	snprintf(expected, sizeof(expected), "cannot open \"%s\": No such file or directory",
		 s->path);
	check_refused(s->path, expected);
}

static void test_secret_error_never_holds_secret(void **state)
{
	struct scratch *s = *state;
	unsigned char *secret;
	size_t len;
	char err[1024];

	write_file(s->path, "TOP-SECRET-42\n", 14, 0644);
	memset(err, 0, sizeof(err));
	assert_int_equal(secret_file_read(s->path, &secret, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, s->path));
	assert_null(memmem(err, sizeof(err), "TOP-SECRET", 10));
	/* No room for a message at all is allowed. */
	assert_int_equal(secret_file_read(s->path, &secret, &len, NULL, 0), -1);
	secret_free(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_format),
		cmocka_unit_test(test_value_rfc4231_case_2),
		cmocka_unit_test(test_value_of_empty_body),
		cmocka_unit_test(test_value_covers_bytes_after_nul),
		cmocka_unit_test(test_value_refuses_bad_arguments),
		cmocka_unit_test_setup_teardown(test_secret_mode_0600_is_read, setup_scratch,
						teardown_scratch),
		cmocka_unit_test_setup_teardown(test_secret_group_or_other_access_refused,
						setup_scratch, teardown_scratch),
		cmocka_unit_test_setup_teardown(test_secret_line_ending_stripped_once, setup_scratch,
						teardown_scratch),
		cmocka_unit_test_setup_teardown(test_secret_binary_kept_whole, setup_scratch,
						teardown_scratch),
		cmocka_unit_test_setup_teardown(test_secret_empty_refused, setup_scratch,
						teardown_scratch),
		cmocka_unit_test_setup_teardown(test_secret_size_limit, setup_scratch,
						teardown_scratch),
		cmocka_unit_test_setup_teardown(test_secret_non_regular_refused, setup_scratch,
						teardown_scratch),
		cmocka_unit_test_setup_teardown(test_secret_missing_file_named, setup_scratch,
						teardown_scratch),
		cmocka_unit_test_setup_teardown(test_secret_error_never_holds_secret, setup_scratch,
						teardown_scratch),
	};

	return cmocka_run_group_tests_name("signature", tests, NULL, NULL);
}

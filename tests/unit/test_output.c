/*
 * test_output.c - the local payload sinks: JSON lines, gzip members, stdout,
 * rollback of a failed append, and the messages for bad destinations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <json.h>

#include "compress.h"
#include "output.h"
#include "payload.h"
#include "record_batch.h"

struct fixture {
	char dir[1024];
	char path[1100];
	char url[1200];
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	const char *base = getenv("TMPDIR");

	if (fx == NULL)
		return -1;
	if (base == NULL || base[0] != '/')
		base = "/tmp";
	snprintf(fx->dir, sizeof(fx->dir), "%s/pga-output-XXXXXX", base);
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char other[1100];

	/* The files a test may have made; the rmdir proves none is left. */
	unlink(fx->path);
	snprintf(other, sizeof(other), "%s/stdout.txt", fx->dir);
	unlink(other);
	snprintf(other, sizeof(other), "%s/plain.json", fx->dir);
	unlink(other);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Point fx->path and fx->url at file `name` in the test directory. */
static void use_file(struct fixture *fx, const char *name)
{
	snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->dir, name);
	snprintf(fx->url, sizeof(fx->url), "file://%s", fx->path);
}

/* A payload of `records` records, each in a chunk of its own after the first. */
static struct payload *make_payload(uint64_t seq, int records)
{
	static const char record[] = "{\"type\":\"sysstat\",\"line\":\"a\\nb\"}";
	struct payload_header h = {
		.collector_id = "c-1", .hostname = "db/1", .version = "0.1.0", .seq = seq,
		.created = { .tv_sec = 1795791845, .tv_nsec = 0 },
	};
	struct record_batch *metrics = record_batch_new();
	struct payload *p;

	assert_non_null(metrics);
	for (int i = 0; i < records; i++) {
		struct record_batch *one = record_batch_new();

		assert_non_null(one);
		assert_int_equal(record_batch_append(one, record, strlen(record)), 0);
		record_batch_move(metrics, one);
		record_batch_free(one);
	}
	p = payload_build(&h, metrics);
	assert_non_null(p);
	return p;
}

static void deliver_ok(struct output *out, uint64_t seq, int records)
{
	char err[512] = "";
	struct payload *p = make_payload(seq, records);

	if (output_deliver(out, p, err, sizeof(err)) != 0)
		fail_msg("output_deliver failed: %s", err);
	payload_free(p);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long size;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	buf[size] = '\0';
	fclose(f);
	*len = (size_t)size;
	return buf;
}

/*
 * Check that text[0..len) is exactly `count` newline-terminated lines, each
 * a whole envelope, with seq first_seq, first_seq + 1, ...
 */
static void assert_json_lines(const char *text, size_t len, int count, uint64_t first_seq)
{
	const char *line = text;
	int seen = 0;

	assert_true(len > 0);
	assert_int_equal(text[len - 1], '\n');
	while (line < text + len) {
		const char *end = memchr(line, '\n', (size_t)(text + len - line));
		char *copy;
		json_object *parsed, *seq, *metrics_count, *metrics;

		assert_non_null(end);
		copy = strndup(line, (size_t)(end - line));
		assert_non_null(copy);
		parsed = json_tokener_parse(copy);
		if (parsed == NULL)
			fail_msg("line %d is not JSON: %s", seen + 1, copy);
		assert_true(json_object_object_get_ex(parsed, "seq", &seq));
		assert_int_equal(json_object_get_int64(seq), (int64_t)(first_seq + (uint64_t)seen));
		assert_true(json_object_object_get_ex(parsed, "metrics_count", &metrics_count));
		assert_true(json_object_object_get_ex(parsed, "metrics", &metrics));
		assert_int_equal(json_object_get_int64(metrics_count), json_object_array_length(metrics));
		json_object_put(parsed);
		free(copy);
		seen++;
		line = end + 1;
	}
	assert_int_equal(seen, count);
}

static void test_file_gets_one_json_line_per_payload(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "";
	struct output *out;
	struct stat st;
	size_t len;
	char *text;
	mode_t old_umask = umask(022);

	use_file(fx, "payloads.json");
	out = output_open(fx->url, NULL, err, sizeof(err));
	if (out == NULL)
		fail_msg("output_open: %s", err);
	deliver_ok(out, 1, 2);
	deliver_ok(out, 2, 0);
	deliver_ok(out, 3, 5);
	output_close(out);
	umask(old_umask);

	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	text = read_file(fx->path, &len);
	assert_json_lines(text, len, 3, 1);
	/* Compact, and "/" is not escaped. */
	assert_null(strstr(text, "\n "));
	assert_non_null(strstr(text, "\"hostname\":\"db/1\""));
	free(text);

	/* Reopening appends. */
	out = output_open(fx->url, NULL, err, sizeof(err));
	assert_non_null(out);
	deliver_ok(out, 4, 1);
	output_close(out);
	text = read_file(fx->path, &len);
	assert_json_lines(text, len, 4, 1);
	free(text);
}

static int run_gzip(char *const argv[], const char *out_path)
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

static void test_gz_file_gets_one_gzip_member_per_payload(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "";
	char plain_path[1100];
	char *test_argv[] = { "gzip", "-t", fx->path, NULL };
	char *cat_argv[] = { "gzip", "-dc", fx->path, NULL };
	struct output *out;
	unsigned char *lines = NULL;
	char *packed, *plain;
	size_t packed_len, lines_len = 0, plain_len;
	int rc;

	use_file(fx, "payloads.json.gz");
	out = output_open(fx->url, NULL, err, sizeof(err));
	if (out == NULL)
		fail_msg("output_open: %s", err);
	deliver_ok(out, 10, 1);
	deliver_ok(out, 11, 3);
	output_close(out);
	out = output_open(fx->url, NULL, err, sizeof(err));
	assert_non_null(out);
	deliver_ok(out, 12, 0);
	output_close(out);

	packed = read_file(fx->path, &packed_len);
	assert_int_equal((unsigned char)packed[0], 0x1f);
	assert_int_equal((unsigned char)packed[1], 0x8b);
	assert_int_equal(gzip_decompress(packed, packed_len, 1 << 20, &lines, &lines_len), 0);
	assert_json_lines((const char *)lines, lines_len, 3, 10);

	rc = run_gzip(test_argv, NULL);
	if (rc != 127) {
		assert_int_equal(rc, 0);
		snprintf(plain_path, sizeof(plain_path), "%s/plain.json", fx->dir);
		assert_int_equal(run_gzip(cat_argv, plain_path), 0);
		plain = read_file(plain_path, &plain_len);
		assert_int_equal(plain_len, lines_len);
		assert_memory_equal(plain, lines, lines_len);
		free(plain);
	}
	free(lines);
	free(packed);
	if (rc == 127)
		skip();   /* gzip(1) is not installed */
}

/* Deliver with the file size limit just above the current size. */
static int deliver_with_size_limit(struct output *out, const struct payload *p,
				   off_t current_size, char *err, size_t err_len)
{
	struct rlimit saved, tight;
	int rc;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	tight = saved;
	tight.rlim_cur = (rlim_t)current_size + 16;   /* below any gzip member */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &tight), 0);
	rc = output_deliver(out, p, err, err_len);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	return rc;
}

static void check_failed_append_is_rolled_back(struct fixture *fx, const char *name)
{
	char err[512] = "";
	struct payload *p = make_payload(2, 50);
	struct output *out;
	struct stat before, after;
	void (*old_handler)(int);

	use_file(fx, name);
	out = output_open(fx->url, NULL, err, sizeof(err));
	assert_non_null(out);
	deliver_ok(out, 1, 1);
	assert_int_equal(stat(fx->path, &before), 0);

	/* Past RLIMIT_FSIZE a write is cut short, then fails with EFBIG. */
	old_handler = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(deliver_with_size_limit(out, p, before.st_size, err, sizeof(err)), -1);
	signal(SIGXFSZ, old_handler);

	if (strstr(err, fx->path) == NULL || strstr(err, "File too large") == NULL ||
	    strstr(err, "partial payload was removed") == NULL)
		fail_msg("unexpected message: %s", err);
	assert_int_equal(stat(fx->path, &after), 0);
	assert_int_equal(after.st_size, before.st_size);

	/*
	 * The file is still usable and holds only whole payloads; the payload
	 * that failed can be delivered again, as the collector retries it.
	 */
	if (output_deliver(out, p, err, sizeof(err)) != 0)
		fail_msg("delivering the failed payload again: %s", err);
	payload_free(p);
	output_close(out);
}

static void test_failed_append_is_rolled_back(void **state)
{
	struct fixture *fx = *state;
	size_t len;
	char *text;

	check_failed_append_is_rolled_back(fx, "rollback.json");
	text = read_file(fx->path, &len);
	assert_json_lines(text, len, 2, 1);
	free(text);
}

static void test_failed_gzip_append_is_rolled_back(void **state)
{
	struct fixture *fx = *state;
	unsigned char *lines = NULL;
	size_t packed_len, lines_len = 0;
	char *packed;

	check_failed_append_is_rolled_back(fx, "rollback.json.gz");
	packed = read_file(fx->path, &packed_len);
	assert_int_equal(gzip_decompress(packed, packed_len, 1 << 20, &lines, &lines_len), 0);
	assert_json_lines((const char *)lines, lines_len, 2, 1);
	free(lines);
	free(packed);
}

/* Deliver `p` to "-" with standard output captured in `path`. */
static void deliver_to_captured_stdout(const char *path, const struct payload *p)
{
	char err[512] = "";
	struct output *out = output_open("-", NULL, err, sizeof(err));
	int saved_stdout, capture, rc;

	assert_non_null(out);
	fflush(stdout);
	saved_stdout = dup(STDOUT_FILENO);
	capture = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(saved_stdout >= 0 && capture >= 0);
	assert_true(dup2(capture, STDOUT_FILENO) >= 0);
	rc = output_deliver(out, p, err, sizeof(err));
	output_close(out);
	fflush(stdout);
	dup2(saved_stdout, STDOUT_FILENO);
	close(saved_stdout);
	close(capture);
	if (rc != 0)
		fail_msg("output_deliver to stdout: %s", err);
}

/*
 * Standard output prints what json-c's pretty printer printed before
 * payloads became text, byte for byte, empty containers included.
 */
static void test_stdout_gets_pretty_json(void **state)
{
	struct fixture *fx = *state;
	char capture_path[1100];
	struct payload *payloads[] = { make_payload(5, 2), make_payload(6, 0) };
	size_t len;
	char *text, *compact;

	snprintf(capture_path, sizeof(capture_path), "%s/stdout.txt", fx->dir);
	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		json_object *parsed, *seq;

		deliver_to_captured_stdout(capture_path, payloads[i]);
		text = read_file(capture_path, &len);
		assert_true(len > 2);
		assert_int_equal(text[len - 1], '\n');
		assert_non_null(strstr(text, "{\n  \"collector_id\": \"c-1\""));
		assert_non_null(strstr(text, "\"db/1\""));
		compact = payload_text(payloads[i], NULL);
		parsed = json_tokener_parse(compact);
		assert_non_null(parsed);
		text[len - 1] = '\0';
		assert_string_equal(text, json_object_to_json_string_ext(
						  parsed, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_SPACED |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
		assert_true(json_object_object_get_ex(parsed, "seq", &seq));
		assert_int_equal(json_object_get_int64(seq), 5 + (int64_t)i);
		json_object_put(parsed);
		free(compact);
		free(text);
		payload_free(payloads[i]);
	}
}

/*
 * A payload in more pieces than one writev takes (IOV_MAX) is still one
 * whole line.
 */
static void test_json_line_of_many_chunks(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "";
	struct output *out;
	size_t len;
	char *text;

	use_file(fx, "chunks.json");
	out = output_open(fx->url, NULL, err, sizeof(err));
	assert_non_null(out);
	deliver_ok(out, 1, 1500);
	deliver_ok(out, 2, 3);
	output_close(out);
	text = read_file(fx->path, &len);
	assert_json_lines(text, len, 2, 1);
	assert_non_null(strstr(text, "\"metrics_count\":1500,"));
	free(text);
}

static void check_refused(const char *destination, const char *expected)
{
	char err[512] = "";
	struct output *out = output_open(destination, NULL, err, sizeof(err));

	if (out != NULL) {
		output_close(out);
		fail_msg("destination \"%s\" was accepted", destination ? destination : "(null)");
	}
	if (strstr(err, expected) == NULL)
		fail_msg("message for \"%s\" lacks \"%s\": %s",
			 destination ? destination : "(null)", expected, err);
}

static void test_bad_destinations_are_explained(void **state)
{
	(void)state;
	check_refused("https://pganalytics.example.com",
		      "output destination \"https://pganalytics.example.com\": no backend settings");
	check_refused("http://127.0.0.1:8080",
		      "output destination \"http://127.0.0.1:8080\": plain http is refused");
	check_refused(NULL, "output destination is empty; use \"https://backend\", \"-\"");
	check_refused("", "output destination is empty; use \"https://backend\", \"-\"");
	check_refused("payloads.json",
		      "output destination \"payloads.json\" is not supported; use \"https://backend\", "
		      "\"-\" (standard output), \"file:///absolute/path\"");
	check_refused("/var/tmp/p.json", "write it as \"file:///var/tmp/p.json\"");
	check_refused("file://host/p.json",
		      "output destination \"file://host/p.json\": a file URL needs an empty host");
	check_refused("file://", "output destination \"file://\": a file URL needs");
	check_refused("file:relative.json", "is not supported");
	check_refused("ftp://x/y", "output destination \"ftp://x/y\" is not supported");
}

static void test_unopenable_file_is_explained(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "";

	use_file(fx, "missing-dir/p.json");
	assert_null(output_open(fx->url, NULL, err, sizeof(err)));
	if (strstr(err, fx->path) == NULL || strstr(err, "No such file or directory") == NULL)
		fail_msg("unexpected message: %s", err);
	/* A directory is not a file either. */
	snprintf(fx->url, sizeof(fx->url), "file://%s", fx->dir);
	assert_null(output_open(fx->url, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "Is a directory"));
	/* A NULL err buffer is allowed. */
	assert_null(output_open("nope", NULL, NULL, 0));
}

static void test_deliver_without_payload_fails_cleanly(void **state)
{
	char err[512] = "";
	struct output *out = output_open("-", NULL, err, sizeof(err));
	(void)state;

	assert_non_null(out);
	assert_int_equal(output_deliver(out, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no payload"));
	assert_int_equal(output_deliver(NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no output"));
	output_close(out);
	output_close(NULL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_file_gets_one_json_line_per_payload),
		T(test_gz_file_gets_one_gzip_member_per_payload),
		T(test_failed_append_is_rolled_back),
		T(test_failed_gzip_append_is_rolled_back),
		T(test_stdout_gets_pretty_json),
		T(test_json_line_of_many_chunks),
		T(test_bad_destinations_are_explained),
		T(test_unopenable_file_is_explained),
		T(test_deliver_without_payload_fails_cleanly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

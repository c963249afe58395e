/*
 * test_record_batch.c - record batches: records in order across chunks,
 * writing in place and cancelling, moving without copying, dropping the
 * oldest, and the text a batch writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_text.h"
#include "record_batch.h"

static int append_to_text(void *ctx, const void *data, size_t len)
{
	return json_text_append(ctx, data, len);
}

/* Everything record_batch_write gives, as a NUL-terminated string (caller frees). */
static char *written(const struct record_batch *b)
{
	struct json_text text = { 0 };

	assert_int_equal(record_batch_write(b, append_to_text, &text), 0);
	assert_int_equal(text.len, record_batch_bytes(b));
	assert_int_equal(json_text_append_char(&text, '\0'), 0);
	return text.data;
}

/* Record i is `{"n":i}`. */
static size_t record_text(char *out, size_t size, size_t i)
{
	return (size_t)snprintf(out, size, "{\"n\":%zu}", i);
}

static void append_numbered(struct record_batch *b, size_t first, size_t count)
{
	for (size_t i = first; i < first + count; i++) {
		char text[32];
		size_t len = record_text(text, sizeof(text), i);

		assert_int_equal(record_batch_append(b, text, len), 0);
	}
}

/* The batch holds exactly records first .. first + count - 1, in order. */
static void assert_numbered(const struct record_batch *b, size_t first, size_t count)
{
	struct json_text expected = { 0 };
	char *text;

	assert_int_equal(record_batch_count(b), count);
	for (size_t i = 0; i < count; i++) {
		char want[32];
		size_t want_len = record_text(want, sizeof(want), first + i);
		const char *got;
		size_t got_len;

		assert_int_equal(record_batch_get(b, i, &got, &got_len), 0);
		assert_int_equal(got_len, want_len);
		assert_memory_equal(got, want, want_len);
		if (i > 0)
			assert_int_equal(json_text_append_char(&expected, ','), 0);
		assert_int_equal(json_text_append(&expected, want, want_len), 0);
	}
	assert_int_equal(record_batch_get(b, count, &(const char *){ NULL }, &(size_t){ 0 }), -1);
	assert_int_equal(json_text_append_char(&expected, '\0'), 0);
	text = written(b);
	assert_string_equal(text, expected.data);
	free(text);
	json_text_free(&expected);
}

static void test_empty_batch(void **state)
{
	struct record_batch *b = record_batch_new();
	const char *json;
	size_t len;
	(void)state;

	assert_non_null(b);
	assert_int_equal(record_batch_count(b), 0);
	assert_int_equal(record_batch_bytes(b), 0);
	assert_int_equal(record_batch_get(b, 0, &json, &len), -1);
	assert_int_equal(record_batch_drop_oldest(b, 5), 0);
	assert_numbered(b, 0, 0);
	record_batch_free(b);
	record_batch_free(NULL);
}

/* Enough records to fill several append chunks; order and text survive. */
static void test_append_many(void **state)
{
	struct record_batch *b = record_batch_new();
	(void)state;

	assert_non_null(b);
	append_numbered(b, 0, 100000);
	assert_numbered(b, 0, 100000);
	record_batch_free(b);
}

static void test_write_in_place_and_cancel(void **state)
{
	struct record_batch *b = record_batch_new();
	struct json_text *out;
	size_t start;
	(void)state;

	assert_non_null(b);
	append_numbered(b, 0, 1);
	out = record_batch_begin_record(b, &start);
	assert_non_null(out);
	assert_int_equal(json_text_append(out, "{\"n\":1}", 7), 0);
	assert_int_equal(start, out->len - 7);
	/* Open, not yet counted, and not written out. */
	assert_numbered(b, 0, 1);
	record_batch_end_record(b);
	assert_numbered(b, 0, 2);

	out = record_batch_begin_record(b, &start);
	assert_non_null(out);
	assert_int_equal(json_text_append(out, "{\"half", 6), 0);
	record_batch_cancel_record(b);
	assert_numbered(b, 0, 2);
	/* Cancelling again, or with nothing open, is harmless. */
	record_batch_cancel_record(b);
	record_batch_end_record(b);
	assert_numbered(b, 0, 2);

	out = record_batch_begin_record(b, &start);
	assert_non_null(out);
	assert_int_equal(json_text_append(out, "{\"n\":2}", 7), 0);
	record_batch_end_record(b);
	record_batch_trim(b);
	append_numbered(b, 3, 1);
	assert_numbered(b, 0, 4);
	record_batch_free(b);
}

/* Moving appends the chunks themselves: the text is not copied. */
static void test_move_keeps_order_without_copying(void **state)
{
	struct record_batch *dst = record_batch_new(), *src = record_batch_new();
	const char *before, *after;
	size_t len;
	(void)state;

	assert_non_null(dst);
	assert_non_null(src);
	append_numbered(dst, 0, 3);
	append_numbered(src, 3, 4);
	assert_int_equal(record_batch_get(src, 0, &before, &len), 0);
	record_batch_move(dst, src);
	assert_int_equal(record_batch_count(src), 0);
	assert_numbered(src, 0, 0);
	assert_numbered(dst, 0, 7);
	assert_int_equal(record_batch_get(dst, 3, &after, &len), 0);
	assert_ptr_equal(before, after);

	/* The emptied source can be used again, and moving nothing is a no-op. */
	append_numbered(src, 7, 2);
	record_batch_move(dst, src);
	record_batch_move(dst, src);
	assert_numbered(dst, 0, 9);
	record_batch_move(src, dst);
	assert_numbered(src, 0, 9);
	assert_numbered(dst, 0, 0);
	record_batch_free(dst);
	record_batch_free(src);
}

static void test_drop_oldest_across_chunks(void **state)
{
	struct record_batch *b = record_batch_new();
	(void)state;

	assert_non_null(b);
	for (size_t i = 0; i < 5; i++) {
		struct record_batch *part = record_batch_new();

		assert_non_null(part);
		append_numbered(part, i * 10, 10);
		record_batch_move(b, part);
		record_batch_free(part);
	}
	assert_numbered(b, 0, 50);
	assert_int_equal(record_batch_drop_oldest(b, 3), 3);
	assert_numbered(b, 3, 47);
	/* Through the rest of the first chunk and into the third. */
	assert_int_equal(record_batch_drop_oldest(b, 20), 20);
	assert_numbered(b, 23, 27);
	assert_int_equal(record_batch_drop_oldest(b, 0), 0);
	assert_numbered(b, 23, 27);
	/* New records go after the survivors. */
	append_numbered(b, 50, 2);
	assert_numbered(b, 23, 29);
	assert_int_equal(record_batch_drop_oldest(b, 1000), 29);
	assert_numbered(b, 0, 0);
	append_numbered(b, 0, 2);
	assert_numbered(b, 0, 2);
	record_batch_free(b);
}

struct failing_sink {
	int calls;
};

static int fail_second_call(void *ctx, const void *data, size_t len)
{
	struct failing_sink *sink = ctx;

	(void)data;
	(void)len;
	return ++sink->calls == 2 ? 5 : 0;
}

static void test_write_stops_at_a_failing_sink(void **state)
{
	struct record_batch *b = record_batch_new(), *more = record_batch_new();
	struct failing_sink sink = { 0 };
	(void)state;

	assert_non_null(b);
	assert_non_null(more);
	append_numbered(b, 0, 1);
	append_numbered(more, 1, 1);
	record_batch_move(b, more);
	assert_int_equal(record_batch_write(b, fail_second_call, &sink), 5);
	assert_int_equal(sink.calls, 2);
	record_batch_free(b);
	record_batch_free(more);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_batch),
		cmocka_unit_test(test_append_many),
		cmocka_unit_test(test_write_in_place_and_cancel),
		cmocka_unit_test(test_move_keeps_order_without_copying),
		cmocka_unit_test(test_drop_oldest_across_chunks),
		cmocka_unit_test(test_write_stops_at_a_failing_sink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

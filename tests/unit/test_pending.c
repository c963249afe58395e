/*
 * test_pending.c - the queue between plugin cycles and payloads: records in
 * order, bounded by a record count, the oldest dropped and counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pending.h"

/* A batch of records {"n":first} ... {"n":first+count-1}. */
static struct record_batch *numbered(size_t first, size_t count)
{
	struct record_batch *b = record_batch_new();

	assert_non_null(b);
	for (size_t i = first; i < first + count; i++) {
		char text[32];
		int len = snprintf(text, sizeof(text), "{\"n\":%zu}", i);

		assert_int_equal(record_batch_append(b, text, (size_t)len), 0);
	}
	return b;
}

/* Take everything; it must be records first .. first+count-1 and `dropped` drops. */
static void assert_take(struct pending_queue *q, size_t first, size_t count, uint64_t dropped)
{
	uint64_t got_dropped = 12345;
	struct record_batch *taken = pending_take(q, &got_dropped);

	assert_non_null(taken);
	assert_int_equal(got_dropped, dropped);
	assert_int_equal(record_batch_count(taken), count);
	for (size_t i = 0; i < count; i++) {
		char want[32];
		int want_len = snprintf(want, sizeof(want), "{\"n\":%zu}", first + i);
		const char *json;
		size_t len;

		assert_int_equal(record_batch_get(taken, i, &json, &len), 0);
		assert_int_equal(len, (size_t)want_len);
		assert_memory_equal(json, want, len);
	}
	record_batch_free(taken);
}

static void test_records_come_out_in_order(void **state)
{
	struct pending_queue *q = pending_create(100);
	(void)state;

	assert_non_null(q);
	assert_take(q, 0, 0, 0);
	assert_int_equal(pending_add(q, numbered(0, 3)), 0);
	assert_int_equal(pending_add(q, numbered(3, 0)), 0);
	assert_int_equal(pending_add(q, NULL), 0);
	assert_int_equal(pending_add(q, numbered(3, 4)), 0);
	assert_take(q, 0, 7, 0);
	/* Taking empties the queue. */
	assert_take(q, 0, 0, 0);
	pending_destroy(q);
	pending_destroy(NULL);
}

static void test_bound_drops_the_oldest_and_counts_them(void **state)
{
	struct pending_queue *q = pending_create(10);
	(void)state;

	assert_non_null(q);
	assert_int_equal(pending_add(q, numbered(0, 6)), 0);
	assert_int_equal(pending_add(q, numbered(6, 6)), 2);
	assert_int_equal(pending_add(q, numbered(12, 3)), 3);
	assert_take(q, 5, 10, 5);
	/* The count of drops starts again after a take. */
	assert_int_equal(pending_add(q, numbered(0, 1)), 0);
	assert_take(q, 0, 1, 0);
	pending_destroy(q);
}

static void test_batch_larger_than_the_bound_keeps_its_newest(void **state)
{
	struct pending_queue *q = pending_create(4);
	(void)state;

	assert_non_null(q);
	assert_int_equal(pending_add(q, numbered(0, 2)), 0);
	assert_int_equal(pending_add(q, numbered(100, 9)), 2 + 5);
	assert_take(q, 105, 4, 7);
	pending_destroy(q);
}

/* A queue holding records still frees them when destroyed (ASan checks). */
static void test_destroy_frees_queued_records(void **state)
{
	struct pending_queue *q = pending_create(0);   /* 0 means 1 */
	(void)state;

	assert_non_null(q);
	assert_int_equal(pending_add(q, numbered(0, 3)), 2);
	pending_destroy(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_come_out_in_order),
		cmocka_unit_test(test_bound_drops_the_oldest_and_counts_them),
		cmocka_unit_test(test_batch_larger_than_the_bound_keeps_its_newest),
		cmocka_unit_test(test_destroy_frees_queued_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

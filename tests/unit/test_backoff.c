/* Unit tests of the failure backoff: doubling, both caps, the floor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"

#define S 1000000000ULL

static void test_no_failure_waits_one_interval(void **state)
{
	(void)state;
	assert_int_equal(backoff_delay_ns(10 * S, 0), 10 * S);
}

static void test_doubles_per_failure(void **state)
{
	(void)state;
	assert_int_equal(backoff_delay_ns(1 * S, 1), 2 * S);
	assert_int_equal(backoff_delay_ns(1 * S, 2), 4 * S);
	assert_int_equal(backoff_delay_ns(1 * S, 3), 8 * S);
}

static void test_capped_at_eight_intervals(void **state)
{
	(void)state;
	assert_int_equal(backoff_delay_ns(1 * S, 4), 8 * S);
	assert_int_equal(backoff_delay_ns(1 * S, 1000), 8 * S);
	assert_int_equal(backoff_delay_ns(30 * S, 3), 240 * S);
}

static void test_capped_at_five_minutes(void **state)
{
	(void)state;
	assert_int_equal(backoff_delay_ns(60 * S, 3), 300 * S);
	assert_int_equal(backoff_delay_ns(60 * S, UINT64_MAX), 300 * S);
}

static void test_never_shorter_than_the_interval(void **state)
{
	(void)state;
	/* An interval above the cap is not shortened by failing. */
	assert_int_equal(backoff_delay_ns(600 * S, 5), 600 * S);
	assert_int_equal(backoff_delay_ns(7 * 24 * 3600 * S, 50), 7 * 24 * 3600 * S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_failure_waits_one_interval),
		cmocka_unit_test(test_doubles_per_failure),
		cmocka_unit_test(test_capped_at_eight_intervals),
		cmocka_unit_test(test_capped_at_five_minutes),
		cmocka_unit_test(test_never_shorter_than_the_interval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

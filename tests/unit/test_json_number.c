/* Unit tests of double formatting: exact round trip, shortest text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "json_number.h"

static const char *text_of(json_object *number)
{
	return json_object_to_json_string_ext(number, JSON_C_TO_STRING_PLAIN);
}

static void expect_text(double value, const char *expected)
{
	json_object *number = json_number_new_double(value);

	assert_non_null(number);
	assert_string_equal(text_of(number), expected);
	json_object_put(number);
}

static void test_short_decimals_stay_short(void **state)
{
	(void)state;
	expect_text(0.1, "0.1");
	expect_text(0.5, "0.5");
	expect_text(2.25, "2.25");
	expect_text(1e300, "1e+300");
}

static void test_integral_values_keep_a_decimal_point(void **state)
{
	(void)state;
	expect_text(3.0, "3.0");
	expect_text(0.0, "0.0");
	expect_text(-0.0, "-0.0");
}

static void test_values_needing_17_digits_are_exact(void **state)
{
	(void)state;
	/* 0.1 + 0.2 is not 0.3; 15 digits would say it is. */
	expect_text(0.1 + 0.2, "0.30000000000000004");
	/* 2^53 + 2 needs 16 digits. */
	expect_text(9007199254740994.0, "9007199254740994.0");
}

static void test_random_doubles_round_trip(void **state)
{
	unsigned seed = 12345;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		uint64_t bits = ((uint64_t)rand_r(&seed) << 33) ^ ((uint64_t)rand_r(&seed) << 11) ^
				(uint64_t)rand_r(&seed);
		double value;
		json_object *number, *parsed;

		memcpy(&value, &bits, sizeof(value));
		if (value != value || value - value != 0)   /* NaN or infinity */
			continue;
		number = json_number_new_double(value);
		parsed = json_tokener_parse(text_of(number));
		assert_non_null(parsed);
		if (json_object_get_double(parsed) != value)
			fail_msg("%.17g printed as %s", value, text_of(number));
		json_object_put(parsed);
		json_object_put(number);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_decimals_stay_short),
		cmocka_unit_test(test_integral_values_keep_a_decimal_point),
		cmocka_unit_test(test_values_needing_17_digits_are_exact),
		cmocka_unit_test(test_random_doubles_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_json_text.c - the JSON text writer: every value is spelled exactly
 * as json-c spelled it on the wire (JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE), which the tests check against json-c
 * itself; and the buffer's growth, truncation and shrinking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <json.h>

#include "json_number.h"
#include "json_text.h"

static const char *json_c_text(json_object *obj)
{
	return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* The text of `t` equals NUL-terminated `expected`. */
static void assert_text(const struct json_text *t, const char *expected)
{
	if (t->len != strlen(expected) || memcmp(t->data, expected, t->len) != 0)
		fail_msg("wrote \"%.*s\", expected \"%s\"", (int)t->len, t->data, expected);
}

/* json_text_append_string(s) writes what json-c writes for the same bytes. */
static void assert_string_like_json_c(const char *s, size_t len)
{
	struct json_text t = { 0 };
	json_object *str = json_object_new_string_len(s, (int)len);

	assert_non_null(str);
	assert_int_equal(json_text_append_string(&t, s, len), 0);
	assert_text(&t, json_c_text(str));
	json_object_put(str);
	json_text_free(&t);
}

static void test_every_single_byte_is_escaped_like_json_c(void **state)
{
	(void)state;
	/* Byte by byte, invalid UTF-8 included: the writer does not judge. */
	for (int c = 1; c < 256; c++) {
		char s[3] = { 'a', (char)c, 'z' };

		assert_string_like_json_c(s, sizeof(s));
	}
}

static void test_escapes_spelled_out(void **state)
{
	struct json_text t = { 0 };
	const char s[] = "\"\\/\b\f\n\r\t\x01\x1f\x7f h\xc3\xa9";
	(void)state;

	assert_int_equal(json_text_append_string(&t, s, sizeof(s) - 1), 0);
	assert_text(&t, "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f h\xc3\xa9\"");
	json_text_free(&t);

	assert_int_equal(json_text_append_string(&t, NULL, 0), 0);
	assert_text(&t, "\"\"");
	json_text_free(&t);
}

/*
 * Long strings are escaped in blocks: escapes on both sides of each block
 * boundary, and runs that are nothing but escapes, come out whole.
 */
static void test_long_strings_across_blocks(void **state)
{
	size_t len = 3 * 4096 + 77;
	char *s = malloc(len);
	unsigned seed = 7;
	(void)state;

	assert_non_null(s);
	for (size_t i = 0; i < len; i++)
		s[i] = (char)('a' + i % 26);
	for (size_t k = 1; k <= 3; k++) {
		s[k * 4096 - 1] = '"';
		s[k * 4096] = '\n';
	}
	assert_string_like_json_c(s, len);
	memset(s, '\x02', len);
	assert_string_like_json_c(s, len);
	for (size_t i = 0; i < len; i++)
		s[i] = (char)(1 + rand_r(&seed) % 255);
	assert_string_like_json_c(s, len);
	free(s);
}

static void test_integers_at_their_limits(void **state)
{
	static const int64_t signed_values[] = { INT64_MIN, INT64_MIN + 1, -10, -1, 0, 1, 9, 10,
						 99, 100, 1234567890123LL, INT64_MAX };
	static const uint64_t unsigned_values[] = { 0, 1, 9, 10, 4294967295u, 4294967296u,
						    UINT64_MAX - 1, UINT64_MAX };
	(void)state;

	for (size_t i = 0; i < sizeof(signed_values) / sizeof(signed_values[0]); i++) {
		struct json_text t = { 0 };
		json_object *n = json_object_new_int64(signed_values[i]);

		assert_int_equal(json_text_append_int64(&t, signed_values[i]), 0);
		assert_text(&t, json_c_text(n));
		json_object_put(n);
		json_text_free(&t);
	}
	for (size_t i = 0; i < sizeof(unsigned_values) / sizeof(unsigned_values[0]); i++) {
		struct json_text t = { 0 };
		json_object *n = json_object_new_uint64(unsigned_values[i]);

		assert_int_equal(json_text_append_uint64(&t, unsigned_values[i]), 0);
		assert_text(&t, json_c_text(n));
		json_object_put(n);
		json_text_free(&t);
	}
}

/* Every digit count, each side of each power of ten, and random values. */
static void test_integers_of_every_length(void **state)
{
	unsigned seed = 3;
	uint64_t power = 1;
	(void)state;

	for (int k = 0; k < 20 + 10000; k++) {
		uint64_t candidates[3];
		size_t n = 0;

		if (k < 20) {
			candidates[n++] = power - 1;
			candidates[n++] = power;
			candidates[n++] = power + 1;
			power = k < 19 ? power * 10 : power;
		} else {
			candidates[n++] = ((uint64_t)rand_r(&seed) << 42) ^ ((uint64_t)rand_r(&seed) << 21) ^
					  (uint64_t)rand_r(&seed);
		}
		for (size_t i = 0; i < n; i++) {
			struct json_text t = { 0 };
			json_object *u = json_object_new_uint64(candidates[i]);
			json_object *neg = json_object_new_int64(-(int64_t)(candidates[i] >> 1));

			assert_int_equal(json_text_append_uint64(&t, candidates[i]), 0);
			assert_text(&t, json_c_text(u));
			json_text_truncate(&t, 0);
			assert_int_equal(json_text_append_int64(&t, -(int64_t)(candidates[i] >> 1)), 0);
			assert_text(&t, json_c_text(neg));
			json_object_put(u);
			json_object_put(neg);
			json_text_free(&t);
		}
	}
}

static void test_doubles_like_json_number(void **state)
{
	static const double values[] = { 0.0, -0.0, 0.1, 0.25, 3.0, -1e300, 1e-320, 6.8752e-05,
					  0.1 + 0.2, 9007199254740994.0, 1.7976931348623157e308 };
	unsigned seed = 99;
	(void)state;

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]) + 20000; i++) {
		struct json_text t = { 0 };
		double value;
		json_object *n;

		if (i < sizeof(values) / sizeof(values[0])) {
			value = values[i];
		} else {
			uint64_t bits = ((uint64_t)rand_r(&seed) << 33) ^ ((uint64_t)rand_r(&seed) << 11) ^
					(uint64_t)rand_r(&seed);

			memcpy(&value, &bits, sizeof(value));
			if (value != value || value - value != 0)   /* NaN or infinity */
				continue;
		}
		n = json_number_new_double(value);
		assert_int_equal(json_text_append_double(&t, value), 0);
		assert_text(&t, json_c_text(n));
		json_object_put(n);
		json_text_free(&t);
	}
}

static void test_literals_and_raw_pieces(void **state)
{
	struct json_text t = { 0 };
	(void)state;

	assert_int_equal(json_text_append_char(&t, '['), 0);
	assert_int_equal(json_text_append_bool(&t, true), 0);
	assert_int_equal(json_text_append_char(&t, ','), 0);
	assert_int_equal(json_text_append_bool(&t, false), 0);
	assert_int_equal(json_text_append(&t, ",", 1), 0);
	assert_int_equal(json_text_append_null(&t), 0);
	assert_int_equal(json_text_append(&t, NULL, 0), 0);
	assert_int_equal(json_text_append_char(&t, ']'), 0);
	assert_text(&t, "[true,false,null]");
	json_text_free(&t);
	assert_null(t.data);
	assert_int_equal(t.len, 0);
}

static void test_growth_truncate_and_shrink(void **state)
{
	struct json_text t = { 0 };
	size_t n = 100000;
	(void)state;

	for (size_t i = 0; i < n; i++)
		assert_int_equal(json_text_append_char(&t, (char)('0' + i % 10)), 0);
	assert_int_equal(t.len, n);
	assert_true(t.cap >= n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(t.data[i], (char)('0' + i % 10));

	json_text_truncate(&t, 5);
	assert_text(&t, "01234");
	/* Truncating to more than the length changes nothing. */
	json_text_truncate(&t, 50);
	assert_int_equal(t.len, 5);
	json_text_shrink(&t);
	assert_int_equal(t.cap, 5);
	assert_text(&t, "01234");
	assert_int_equal(json_text_append_char(&t, '5'), 0);
	assert_text(&t, "012345");

	/* An impossible reservation fails and leaves the text intact. */
	assert_int_equal(json_text_reserve(&t, SIZE_MAX), -1);
	assert_text(&t, "012345");
	json_text_truncate(&t, 0);
	json_text_shrink(&t);
	assert_null(t.data);
	json_text_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_single_byte_is_escaped_like_json_c),
		cmocka_unit_test(test_escapes_spelled_out),
		cmocka_unit_test(test_long_strings_across_blocks),
		cmocka_unit_test(test_integers_at_their_limits),
		cmocka_unit_test(test_integers_of_every_length),
		cmocka_unit_test(test_doubles_like_json_number),
		cmocka_unit_test(test_literals_and_raw_pieces),
		cmocka_unit_test(test_growth_truncate_and_shrink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

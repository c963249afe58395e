/*
 * test_json_pretty.c - the re-indenting printer behind `--output -` prints
 * exactly what json-c's pretty printer printed, however the compact text
 * is cut into pieces.
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

#include "json_pretty.h"

/* Pretty-print `compact` fed in pieces of `piece` bytes; caller frees. */
static char *pretty(const char *compact, size_t piece)
{
	struct json_pretty pp;
	char *out = NULL;
	size_t out_len = 0, len = strlen(compact);
	FILE *f = open_memstream(&out, &out_len);

	assert_non_null(f);
	json_pretty_init(&pp, f);
	for (size_t at = 0; at < len; at += piece) {
		size_t n = len - at < piece ? len - at : piece;

		assert_int_equal(json_pretty_feed(&pp, compact + at, n), 0);
	}
	assert_int_equal(fclose(f), 0);
	return out;
}

/* The printer's output for `compact` equals json-c's, for several piece sizes. */
static void assert_like_json_c(const char *compact)
{
	static const size_t pieces[] = { 1, 2, 3, 7, 64, 1 << 20 };
	json_object *doc = json_tokener_parse(compact);
	const char *expected;

	if (doc == NULL)
		fail_msg("test document is not JSON: %s", compact);
	expected = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_SPACED |
							       JSON_C_TO_STRING_NOSLASHESCAPE);
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		char *got = pretty(compact, pieces[i]);

		if (strcmp(got, expected) != 0)
			fail_msg("pieces of %zu: printed\n%s\nexpected\n%s", pieces[i], got, expected);
		free(got);
	}
	json_object_put(doc);
}

static void test_scalars_and_flat_containers(void **state)
{
	(void)state;
	assert_like_json_c("{\"a\":1,\"b\":-2.5e-07,\"c\":true,\"d\":false,\"e\":null,\"f\":\"x\"}");
	assert_like_json_c("[1,2,3]");
	assert_like_json_c("{}");
	assert_like_json_c("[]");
}

static void test_nesting_and_empty_containers(void **state)
{
	char deep[2 * 30 + 2];
	(void)state;

	/* 30 arrays deep, a value at the bottom. */
	memset(deep, '[', 30);
	deep[30] = '1';
	memset(deep + 31, ']', 30);
	deep[61] = '\0';
	assert_like_json_c("{\"a\":[],\"b\":{},\"c\":[[],[{}],{\"x\":[1,[2,[3]]]}],"
			   "\"d\":{\"e\":{\"f\":{\"g\":{}}}}}");
	assert_like_json_c(deep);
}

/* Brackets, commas, colons and quotes inside strings are not structure. */
static void test_strings_are_copied_as_they_are(void **state)
{
	(void)state;
	assert_like_json_c("{\"k{[,:\":\"v}],:\\\"{\",\"q\\\\\":\"\\\\\",\"u\":\"\\u0001/\\n\"}");
	assert_like_json_c("[\"\\\\\\\"\",\"\\\\\",\"]\",\"\xc3\xa9\"]");
}

static void test_envelope_shape(void **state)
{
	(void)state;
	assert_like_json_c("{\"collector_id\":null,\"hostname\":\"db/1\",\"timestamp\":"
			   "\"2026-11-27T15:04:05.000Z\",\"version\":\"0.1.0\",\"seq\":5,"
			   "\"metrics_count\":2,\"metrics\":[{\"type\":\"t\",\"plugin\":\"p\","
			   "\"x\":{\"y\":[1,2]}},{\"type\":\"collector\",\"plugins\":[]}]}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars_and_flat_containers),
		cmocka_unit_test(test_nesting_and_empty_containers),
		cmocka_unit_test(test_strings_are_copied_as_they_are),
		cmocka_unit_test(test_envelope_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

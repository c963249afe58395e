/*
 * test_payload.c - the envelope (key order, counts, nulls) and the RFC 3339
 * timestamps it carries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "payload.h"

static json_object *make_records(int count)
{
	json_object *records = json_object_new_array();

	assert_non_null(records);
	for (int i = 0; i < count; i++) {
		json_object *rec = json_object_new_object();

		assert_non_null(rec);
		json_object_object_add(rec, "type", json_object_new_string("collector"));
		json_object_object_add(rec, "i", json_object_new_int(i));
		json_object_array_add(records, rec);
	}
	return records;
}

/* Serialize and parse back, so the test sees what a receiver sees. */
static json_object *round_trip(json_object *envelope)
{
	enum json_tokener_error jerr = json_tokener_success;
	const char *text = json_object_to_json_string_ext(envelope, JSON_C_TO_STRING_PLAIN);
	json_object *parsed;

	assert_non_null(text);
	parsed = json_tokener_parse_verbose(text, &jerr);
	assert_int_equal(jerr, json_tokener_success);
	assert_non_null(parsed);
	return parsed;
}

static json_object *member(json_object *obj, const char *key)
{
	json_object *value = NULL;

	if (!json_object_object_get_ex(obj, key, &value))
		fail_msg("envelope lacks \"%s\"", key);
	return value;
}

static void test_keys_in_contract_order(void **state)
{
	static const char *const expected[] = { "collector_id", "hostname", "timestamp", "version",
						"seq", "metrics_count", "metrics" };
	struct payload_header h = {
		.collector_id = "c-42", .hostname = "db1", .version = "0.1.0", .seq = 7,
		.created = { .tv_sec = 1795791845, .tv_nsec = 123456789 },
	};
	json_object *envelope = payload_build(&h, make_records(3));
	json_object *parsed;
	size_t i = 0;
	(void)state;

	assert_non_null(envelope);
	parsed = round_trip(envelope);
	json_object_object_foreach(parsed, key, value) {
		(void)value;
		assert_true(i < sizeof(expected) / sizeof(expected[0]));
		assert_string_equal(key, expected[i]);
		i++;
	}
	assert_int_equal(i, sizeof(expected) / sizeof(expected[0]));

	assert_string_equal(json_object_get_string(member(parsed, "collector_id")), "c-42");
	assert_string_equal(json_object_get_string(member(parsed, "hostname")), "db1");
	assert_string_equal(json_object_get_string(member(parsed, "timestamp")),
			    "2026-11-27T15:04:05.123Z");
	assert_string_equal(json_object_get_string(member(parsed, "version")), "0.1.0");
	assert_int_equal(json_object_get_int64(member(parsed, "seq")), 7);
	assert_int_equal(json_object_get_int64(member(parsed, "metrics_count")), 3);
	assert_int_equal(json_object_array_length(member(parsed, "metrics")), 3);
	assert_int_equal(json_object_get_int(member(json_object_array_get_idx(
				 member(parsed, "metrics"), 2), "i")),
			 2);
	json_object_put(parsed);
	json_object_put(envelope);
}

static void test_empty_batch_and_null_strings(void **state)
{
	struct payload_header h = { .seq = UINT64_MAX, .created = { 0, 0 } };
	json_object *envelope = payload_build(&h, make_records(0));
	json_object *parsed;
	const char *text;
	(void)state;

	assert_non_null(envelope);
	parsed = round_trip(envelope);
	assert_true(json_object_object_get_ex(parsed, "collector_id", NULL));
	assert_null(member(parsed, "collector_id"));
	assert_null(member(parsed, "hostname"));
	assert_null(member(parsed, "version"));
	assert_string_equal(json_object_get_string(member(parsed, "timestamp")),
			    "1970-01-01T00:00:00.000Z");
	assert_int_equal(json_object_get_int64(member(parsed, "metrics_count")), 0);
	assert_int_equal(json_object_array_length(member(parsed, "metrics")), 0);
	assert_true(json_object_get_uint64(member(parsed, "seq")) == UINT64_MAX);

	text = json_object_to_json_string_ext(envelope, JSON_C_TO_STRING_PLAIN);
	assert_non_null(strstr(text, "\"seq\":18446744073709551615"));
	assert_non_null(strstr(text, "{\"collector_id\":null,"));
	json_object_put(parsed);
	json_object_put(envelope);
}

static void test_strings_are_copied(void **state)
{
	char hostname[] = "before";
	struct payload_header h = { .hostname = hostname };
	json_object *envelope = payload_build(&h, make_records(1));
	(void)state;

	assert_non_null(envelope);
	memcpy(hostname, "after!", sizeof(hostname));
	assert_string_equal(json_object_get_string(member(envelope, "hostname")), "before");
	json_object_put(envelope);
}

static void test_non_array_metrics_is_refused_and_freed(void **state)
{
	struct payload_header h = { .hostname = "x" };
	(void)state;

	/* ASan would report the object if payload_build leaked it. */
	assert_null(payload_build(&h, json_object_new_object()));
	assert_null(payload_build(&h, NULL));
}

/* ---- clock_format_rfc3339 ---- */

static void check_format(time_t sec, long nsec, const char *expected)
{
	struct timespec ts = { .tv_sec = sec, .tv_nsec = nsec };
	char out[CLOCK_RFC3339_LEN];

	memset(out, 'X', sizeof(out));
	clock_format_rfc3339(&ts, out);
	assert_string_equal(out, expected);
	assert_int_equal(strlen(out), 24);
}

static void test_rfc3339_formatting(void **state)
{
	(void)state;
	check_format(1795791845, 123456789, "2026-11-27T15:04:05.123Z");
	check_format(951782400, 999999999, "2000-02-29T00:00:00.999Z");
	check_format(0, 0, "1970-01-01T00:00:00.000Z");
	check_format(253402300799, 1000000, "9999-12-31T23:59:59.001Z");
}

static void test_rfc3339_clamps_what_it_cannot_express(void **state)
{
	(void)state;
	check_format(253402300800, 0, "9999-12-31T23:59:59.999Z");
	check_format(-62167219201, 0, "0000-01-01T00:00:00.000Z");
	check_format(0, -5, "1970-01-01T00:00:00.000Z");
	check_format(0, 2000000000L, "1970-01-01T00:00:00.999Z");
}

static void test_monotonic_clock_does_not_go_back(void **state)
{
	uint64_t first = clock_monotonic_ns();
	uint64_t second = clock_monotonic_ns();
	(void)state;

	assert_true(first > 0);
	assert_true(second >= first);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_in_contract_order),
		cmocka_unit_test(test_empty_batch_and_null_strings),
		cmocka_unit_test(test_strings_are_copied),
		cmocka_unit_test(test_non_array_metrics_is_refused_and_freed),
		cmocka_unit_test(test_rfc3339_formatting),
		cmocka_unit_test(test_rfc3339_clamps_what_it_cannot_express),
		cmocka_unit_test(test_monotonic_clock_does_not_go_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_payload.c - the envelope (key order, counts, nulls, the very text
 * json-c wrote, streaming in pieces) and the RFC 3339 timestamps it carries.
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

#include "clock.h"
#include "payload.h"
#include "record_batch.h"

/* `count` records {"type":"collector","i":N} as a batch. */
static struct record_batch *make_records(int count)
{
	struct record_batch *records = record_batch_new();

	assert_non_null(records);
	for (int i = 0; i < count; i++) {
		char text[64];
		int len = snprintf(text, sizeof(text), "{\"type\":\"collector\",\"i\":%d}", i);

		assert_int_equal(record_batch_append(records, text, (size_t)len), 0);
	}
	return records;
}

/* Write the payload and parse it back, so the test sees what a receiver sees. */
static json_object *round_trip(const struct payload *p)
{
	enum json_tokener_error jerr = json_tokener_success;
	size_t len = 0;
	char *text = payload_text(p, &len);
	json_object *parsed;

	assert_non_null(text);
	assert_int_equal(len, strlen(text));
	assert_int_equal(len, payload_text_length(p));
	parsed = json_tokener_parse_verbose(text, &jerr);
	assert_int_equal(jerr, json_tokener_success);
	assert_non_null(parsed);
	free(text);
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
	struct payload *p = payload_build(&h, make_records(3));
	json_object *parsed;
	size_t i = 0;
	(void)state;

	assert_non_null(p);
	assert_int_equal(payload_seq(p), 7);
	assert_int_equal(payload_record_count(p), 3);
	parsed = round_trip(p);
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
	payload_free(p);
}

static void test_empty_batch_and_null_strings(void **state)
{
	struct payload_header h = { .seq = UINT64_MAX, .created = { 0, 0 } };
	struct payload *p = payload_build(&h, make_records(0));
	json_object *parsed;
	char *text;
	(void)state;

	assert_non_null(p);
	parsed = round_trip(p);
	assert_true(json_object_object_get_ex(parsed, "collector_id", NULL));
	assert_null(member(parsed, "collector_id"));
	assert_null(member(parsed, "hostname"));
	assert_null(member(parsed, "version"));
	assert_string_equal(json_object_get_string(member(parsed, "timestamp")),
			    "1970-01-01T00:00:00.000Z");
	assert_int_equal(json_object_get_int64(member(parsed, "metrics_count")), 0);
	assert_int_equal(json_object_array_length(member(parsed, "metrics")), 0);
	assert_true(json_object_get_uint64(member(parsed, "seq")) == UINT64_MAX);

	text = payload_text(p, NULL);
	assert_non_null(text);
	assert_string_equal(text, "{\"collector_id\":null,\"hostname\":null,"
				  "\"timestamp\":\"1970-01-01T00:00:00.000Z\",\"version\":null,"
				  "\"seq\":18446744073709551615,\"metrics_count\":0,\"metrics\":[]}");
	free(text);
	json_object_put(parsed);
	payload_free(p);
}

static void test_strings_are_copied(void **state)
{
	char hostname[] = "before";
	struct payload_header h = { .hostname = hostname };
	struct payload *p = payload_build(&h, make_records(1));
	json_object *parsed;
	(void)state;

	assert_non_null(p);
	memcpy(hostname, "after!", sizeof(hostname));
	parsed = round_trip(p);
	assert_string_equal(json_object_get_string(member(parsed, "hostname")), "before");
	json_object_put(parsed);
	payload_free(p);
}

static void test_missing_records_are_refused(void **state)
{
	struct payload_header h = { .hostname = "x" };
	(void)state;

	assert_null(payload_build(&h, NULL));
	payload_free(NULL);
}

/*
 * The envelope as payload.c built it with json-c before it wrote text:
 * the same calls, serialized the way output.c did.
 */
static json_object *json_c_envelope(const struct payload_header *h, json_object *metrics)
{
	json_object *envelope = json_object_new_object();
	char stamp[CLOCK_RFC3339_LEN];

	clock_format_rfc3339(&h->created, stamp);
	json_object_object_add(envelope, "collector_id",
			       h->collector_id ? json_object_new_string(h->collector_id) : NULL);
	json_object_object_add(envelope, "hostname",
			       h->hostname ? json_object_new_string(h->hostname) : NULL);
	json_object_object_add(envelope, "timestamp", json_object_new_string(stamp));
	json_object_object_add(envelope, "version",
			       h->version ? json_object_new_string(h->version) : NULL);
	json_object_object_add(envelope, "seq", json_object_new_uint64(h->seq));
	json_object_object_add(envelope, "metrics_count",
			       json_object_new_uint64(json_object_array_length(metrics)));
	json_object_object_add(envelope, "metrics", metrics);
	return envelope;
}

/* Byte for byte what json-c wrote, hostile header strings included. */
static void test_text_is_what_json_c_wrote(void **state)
{
	struct payload_header h = {
		.collector_id = "id \"quoted\" \\ back/slash",
		.hostname = "h\xc3\xa9te\n\t\x01\x1f\x7f",
		.version = "",
		.seq = 42,
		.created = { .tv_sec = 1795791845, .tv_nsec = 999999999 },
	};
	json_object *metrics = json_object_new_array(), *envelope;
	struct record_batch *records = record_batch_new();
	struct payload *p;
	char *text;
	(void)state;

	assert_non_null(records);
	for (int i = 0; i < 5; i++) {
		json_object *rec = json_object_new_object();
		const char *rec_text;

		json_object_object_add(rec, "type", json_object_new_string("t"));
		json_object_object_add(rec, "i", json_object_new_int(i));
		json_object_object_add(rec, "s", json_object_new_string("a/b\"c"));
		rec_text = json_object_to_json_string_ext(
			rec, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		assert_int_equal(record_batch_append(records, rec_text, strlen(rec_text)), 0);
		json_object_array_add(metrics, rec);
	}
	envelope = json_c_envelope(&h, metrics);
	p = payload_build(&h, records);
	assert_non_null(p);
	text = payload_text(p, NULL);
	assert_non_null(text);
	assert_string_equal(text, json_object_to_json_string_ext(
					  envelope, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
	free(text);
	json_object_put(envelope);
	payload_free(p);
}

struct pieces {
	char text[4096];
	size_t len;
	int calls;
	int fail_at;     /* the call that returns 7, or 0 */
};

static int collect_piece(void *ctx, const void *data, size_t len)
{
	struct pieces *pc = ctx;

	pc->calls++;
	if (pc->calls == pc->fail_at)
		return 7;
	assert_true(pc->len + len < sizeof(pc->text));
	memcpy(pc->text + pc->len, data, len);
	pc->len += len;
	return 0;
}

/* Records in several chunks come out in order, joined by ','. */
static void test_write_streams_every_chunk_in_order(void **state)
{
	struct payload_header h = { .collector_id = "c", .seq = 1 };
	struct record_batch *records = make_records(2);
	struct pieces pc = { .fail_at = 0 };
	struct payload *p;
	char *whole;
	(void)state;

	/* Three more chunks: moved batches keep their own buffers. */
	for (int i = 0; i < 3; i++) {
		struct record_batch *more = make_records(1);

		record_batch_move(records, more);
		record_batch_free(more);
	}
	p = payload_build(&h, records);
	assert_non_null(p);
	assert_int_equal(payload_record_count(p), 5);
	assert_int_equal(payload_write(p, collect_piece, &pc), 0);
	/* Opening, 4 chunks with a ',' between each two, closing. */
	assert_int_equal(pc.calls, 1 + 4 + 3 + 1);
	pc.text[pc.len] = '\0';
	whole = payload_text(p, NULL);
	assert_string_equal(pc.text, whole);
	assert_non_null(strstr(whole, "\"metrics_count\":5,\"metrics\":[{\"type\":\"collector\",\"i\":0},"
				      "{\"type\":\"collector\",\"i\":1},{\"type\":\"collector\",\"i\":0},"
				      "{\"type\":\"collector\",\"i\":0},{\"type\":\"collector\",\"i\":0}]}"));
	free(whole);

	/* A sink that fails stops the writer, which returns what it said. */
	pc = (struct pieces){ .fail_at = 2 };
	assert_int_equal(payload_write(p, collect_piece, &pc), 7);
	assert_int_equal(pc.calls, 2);
	payload_free(p);
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
		cmocka_unit_test(test_missing_records_are_refused),
		cmocka_unit_test(test_text_is_what_json_c_wrote),
		cmocka_unit_test(test_write_streams_every_chunk_in_order),
		cmocka_unit_test(test_rfc3339_formatting),
		cmocka_unit_test(test_rfc3339_clamps_what_it_cannot_express),
		cmocka_unit_test(test_monotonic_clock_does_not_go_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

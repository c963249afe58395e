/*
 * test_emitter.c - the host emitter: typed values, nesting, every misuse
 * rule (each must drop only its own record, keep the next valid one and
 * keep the JSON valid), deadlines and cycle bookkeeping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include <json.h>

#include "clock.h"
#include "emitter.h"
#include "json_text.h"
#include "record_batch.h"

struct fixture {
	struct pga_host host;
	struct pga_emitter *em;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	fx->host.struct_size = sizeof(fx->host);
	emitter_install(&fx->host);
	fx->em = emitter_create("testplug");
	if (fx->em == NULL) {
		free(fx);
		return -1;
	}
	emitter_begin_cycle(fx->em, 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	emitter_destroy(fx->em);
	free(fx);
	return 0;
}

static int append_to_text(void *ctx, const void *data, size_t len)
{
	return json_text_append(ctx, data, len);
}

/* The batch's records as the JSON array text "[r0,r1,...]" (NUL-terminated). */
static char *batch_as_array(const struct record_batch *batch, size_t *len)
{
	struct json_text text = { 0 };

	assert_int_equal(json_text_append_char(&text, '['), 0);
	assert_int_equal(record_batch_write(batch, append_to_text, &text), 0);
	assert_int_equal(json_text_append(&text, "]", 2), 0);
	assert_int_equal(text.len, record_batch_bytes(batch) + 3);
	*len = text.len - 1;
	return text.data;
}

/* What json-c writes for `obj` on the wire (output.c wrote this before). */
static const char *json_c_text(json_object *obj)
{
	return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE);
}

/*
 * Parse `len` bytes of JSON that must be exactly one valid document, deeper
 * than json-c's default limit (32) allows: array + record + 32 levels.
 */
static json_object *parse_exactly(const char *text, size_t len)
{
	json_tokener *tok = json_tokener_new_ex(EMITTER_MAX_DEPTH + 8);
	json_object *parsed;

	assert_non_null(tok);
	parsed = json_tokener_parse_ex(tok, text, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success)
		fail_msg("emitter output is not valid JSON: %s",
			 json_tokener_error_desc(json_tokener_get_error(tok)));
	assert_int_equal(json_tokener_get_parse_end(tok), len);
	json_tokener_free(tok);
	assert_non_null(parsed);
	return parsed;
}

/*
 * Check a cycle's batch and return its records parsed (a json array the
 * caller frees), so every test also proves that the text is valid JSON,
 * and the very text json-c writes for the same values (json-c keeps a
 * double's text when it parses it): the wire format did not change.
 */
static json_object *parse_batch(const struct record_batch *batch)
{
	size_t len, count = record_batch_count(batch);
	char *text = batch_as_array(batch, &len);
	json_object *parsed = parse_exactly(text, len);

	assert_true(json_object_is_type(parsed, json_type_array));
	assert_int_equal(json_object_array_length(parsed), count);
	assert_string_equal(json_c_text(parsed), text);
	for (size_t i = 0; i < count; i++) {
		const char *record;
		size_t record_len;

		assert_int_equal(record_batch_get(batch, i, &record, &record_len), 0);
		assert_int_equal(record_len, strlen(json_c_text(json_object_array_get_idx(parsed, i))));
		assert_memory_equal(record, json_c_text(json_object_array_get_idx(parsed, i)),
				    record_len);
	}
	free(text);
	return parsed;
}

/* End the cycle and return its records, checked and parsed by parse_batch. */
static json_object *end_cycle_parsed(struct fixture *fx, struct emitter_cycle_stats *stats)
{
	struct record_batch *records = emitter_end_cycle(fx->em, stats);
	json_object *parsed;

	assert_non_null(records);
	parsed = parse_batch(records);
	record_batch_free(records);
	return parsed;
}

static json_object *member(json_object *obj, const char *key)
{
	json_object *value = NULL;

	assert_true(json_object_object_get_ex(obj, key, &value));
	return value;
}

static void emit_good_record(struct fixture *fx, int64_t n)
{
	assert_int_equal(fx->host.record_begin(fx->em, "good"), PGA_OK);
	assert_int_equal(fx->host.set_int64(fx->em, "n", n), PGA_OK);
	assert_int_equal(fx->host.record_end(fx->em), PGA_OK);
}

/* Every record in `records` is a "good" one, numbered 0, 1, 2, ... */
static void assert_only_good_records(json_object *records, size_t count)
{
	assert_int_equal(json_object_array_length(records), count);
	for (size_t i = 0; i < count; i++) {
		json_object *rec = json_object_array_get_idx(records, i);

		assert_string_equal(json_object_get_string(member(rec, "type")), "good");
		assert_int_equal(json_object_get_int64(member(rec, "n")), (int64_t)i);
	}
}

/*
 * The shared shape of a misuse test: a record that had a valid value, then
 * the misuse, then a valid call that must be ignored, then record_end that
 * drops it; then a good record that must survive.
 */
typedef int (*misuse_fn)(struct fixture *fx);

static void check_misuse(void **state, misuse_fn misuse, const char *expected_error)
{
	struct fixture *fx = *state;
	struct emitter_cycle_stats stats;
	json_object *records;

	assert_int_equal(fx->host.record_begin(fx->em, "bad"), PGA_OK);
	assert_int_equal(fx->host.set_int64(fx->em, "before", 1), PGA_OK);
	assert_int_equal(misuse(fx), PGA_EINVAL);
	assert_int_equal(fx->host.set_int64(fx->em, "ignored", 2), PGA_EINVAL);
	assert_int_equal(fx->host.object_begin(fx->em, "ignored_too"), PGA_EINVAL);
	assert_int_equal(fx->host.record_end(fx->em), PGA_EINVAL);
	emit_good_record(fx, 0);

	records = end_cycle_parsed(fx, &stats);
	assert_only_good_records(records, 1);
	assert_int_equal(stats.records_emitted, 1);
	assert_int_equal(stats.records_invalid, 1);
	if (strstr(stats.first_error, expected_error) == NULL)
		fail_msg("first_error \"%s\" lacks \"%s\"", stats.first_error, expected_error);
	json_object_put(records);
}

/* ---- valid output ---- */

static void assert_rfc3339_ms(const char *text)
{
	assert_non_null(text);
	assert_int_equal(strlen(text), 24);
	for (int i = 0; i < 24; i++) {
		char c = text[i];
		switch (i) {
		case 4: case 7: assert_int_equal(c, '-'); break;
		case 10: assert_int_equal(c, 'T'); break;
		case 13: case 16: assert_int_equal(c, ':'); break;
		case 19: assert_int_equal(c, '.'); break;
		case 23: assert_int_equal(c, 'Z'); break;
		default: assert_true(c >= '0' && c <= '9');
		}
	}
}

static void test_host_members_come_first(void **state)
{
	struct fixture *fx = *state;
	struct emitter_cycle_stats stats;
	json_object *records, *rec;
	const char *expected_keys[] = { "type", "plugin", "timestamp", "value" };
	size_t i = 0;

	assert_int_equal(fx->host.record_begin(fx->em, "pg_stats"), PGA_OK);
	assert_int_equal(fx->host.set_int64(fx->em, "value", 7), PGA_OK);
	assert_int_equal(fx->host.record_end(fx->em), PGA_OK);
	records = end_cycle_parsed(fx, &stats);

	assert_int_equal(json_object_array_length(records), 1);
	rec = json_object_array_get_idx(records, 0);
	json_object_object_foreach(rec, key, value) {
		(void)value;
		assert_true(i < 4);
		assert_string_equal(key, expected_keys[i]);
		i++;
	}
	assert_int_equal(i, 4);
	assert_string_equal(json_object_get_string(member(rec, "type")), "pg_stats");
	assert_string_equal(json_object_get_string(member(rec, "plugin")), "testplug");
	assert_rfc3339_ms(json_object_get_string(member(rec, "timestamp")));
	assert_int_equal(stats.records_emitted, 1);
	assert_int_equal(stats.records_invalid, 0);
	assert_string_equal(stats.first_error, "");
	json_object_put(records);
}

static void test_typed_scalars_keep_their_values(void **state)
{
	struct fixture *fx = *state;
	struct pga_host *h = &fx->host;
	struct pga_emitter *em = fx->em;
	json_object *records, *rec;
	const char *text;

	assert_int_equal(h->record_begin(em, "scalars"), PGA_OK);
	assert_int_equal(h->set_int64(em, "i64_min", INT64_MIN), PGA_OK);
	assert_int_equal(h->set_int64(em, "i64_max", INT64_MAX), PGA_OK);
	assert_int_equal(h->set_uint64(em, "u64_max", UINT64_MAX), PGA_OK);
	assert_int_equal(h->set_uint64(em, "u64_zero", 0), PGA_OK);
	assert_int_equal(h->set_double(em, "dbl", 0.25), PGA_OK);
	assert_int_equal(h->set_double(em, "dbl_big", -1e300), PGA_OK);
	assert_int_equal(h->set_bool(em, "yes", 2), PGA_OK);
	assert_int_equal(h->set_bool(em, "no", 0), PGA_OK);
	assert_int_equal(h->set_null(em, "nothing"), PGA_OK);
	assert_int_equal(h->set_string(em, "text", "h\xc3\xa9llo \"q\" \\ /\n\t\x01"), PGA_OK);
	assert_int_equal(h->set_stringn(em, "prefix", "abcdef", 3), PGA_OK);
	assert_int_equal(h->set_stringn(em, "empty", NULL, 0), PGA_OK);
	assert_int_equal(h->set_string(em, "max_code_point", "\xf4\x8f\xbf\xbf"), PGA_OK);
	assert_int_equal(h->set_string(em, "bmp_edges", "\xc2\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"),
			 PGA_OK);
	assert_int_equal(h->record_end(em), PGA_OK);
	records = end_cycle_parsed(fx, NULL);

	rec = json_object_array_get_idx(records, 0);
	assert_int_equal(json_object_get_int64(member(rec, "i64_min")), INT64_MIN);
	assert_int_equal(json_object_get_int64(member(rec, "i64_max")), INT64_MAX);
	assert_true(json_object_get_uint64(member(rec, "u64_max")) == UINT64_MAX);
	assert_true(json_object_get_uint64(member(rec, "u64_zero")) == 0);
	assert_true(json_object_get_double(member(rec, "dbl")) == 0.25);
	assert_true(json_object_get_double(member(rec, "dbl_big")) == -1e300);
	assert_true(json_object_is_type(member(rec, "yes"), json_type_boolean));
	assert_true(json_object_get_boolean(member(rec, "yes")));
	assert_false(json_object_get_boolean(member(rec, "no")));
	assert_null(member(rec, "nothing"));
	assert_string_equal(json_object_get_string(member(rec, "text")),
			    "h\xc3\xa9llo \"q\" \\ /\n\t\x01");
	assert_string_equal(json_object_get_string(member(rec, "prefix")), "abc");
	assert_string_equal(json_object_get_string(member(rec, "empty")), "");
	assert_string_equal(json_object_get_string(member(rec, "max_code_point")),
			    "\xf4\x8f\xbf\xbf");

	text = json_object_to_json_string_ext(records, JSON_C_TO_STRING_PLAIN);
	assert_non_null(strstr(text, "\"u64_max\":18446744073709551615"));
	assert_non_null(strstr(text, "\"i64_min\":-9223372036854775808"));
	assert_non_null(strstr(text, "\"nothing\":null"));
	json_object_put(records);
}

static void test_nested_objects_and_arrays(void **state)
{
	struct fixture *fx = *state;
	struct pga_host *h = &fx->host;
	struct pga_emitter *em = fx->em;
	json_object *records, *rec, *dbs, *matrix;

	/* The example from plugin.h, plus arrays of scalars and of arrays. */
	assert_int_equal(h->record_begin(em, "pg_stats"), PGA_OK);
	assert_int_equal(h->set_int64(em, "connections", 12), PGA_OK);
	assert_int_equal(h->object_begin(em, "wal"), PGA_OK);
	assert_int_equal(h->set_uint64(em, "bytes", 4096), PGA_OK);
	/* Reserved names are only reserved at the record's top level. */
	assert_int_equal(h->set_string(em, "type", "inner"), PGA_OK);
	assert_int_equal(h->object_end(em), PGA_OK);
	assert_int_equal(h->array_begin(em, "databases"), PGA_OK);
	for (int i = 0; i < 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "db%d", i);
		assert_int_equal(h->object_begin(em, NULL), PGA_OK);
		assert_int_equal(h->set_string(em, "name", name), PGA_OK);
		/* The same key in sibling objects is not a duplicate. */
		assert_int_equal(h->set_int64(em, "size", i * 10), PGA_OK);
		assert_int_equal(h->object_end(em), PGA_OK);
	}
	assert_int_equal(h->array_end(em), PGA_OK);
	assert_int_equal(h->array_begin(em, "matrix"), PGA_OK);
	assert_int_equal(h->array_begin(em, NULL), PGA_OK);
	assert_int_equal(h->set_int64(em, NULL, 1), PGA_OK);
	assert_int_equal(h->set_null(em, NULL), PGA_OK);
	assert_int_equal(h->array_end(em), PGA_OK);
	assert_int_equal(h->array_begin(em, NULL), PGA_OK);
	assert_int_equal(h->array_end(em), PGA_OK);
	assert_int_equal(h->array_end(em), PGA_OK);
	assert_int_equal(h->object_begin(em, "empty"), PGA_OK);
	assert_int_equal(h->object_end(em), PGA_OK);
	assert_int_equal(h->record_end(em), PGA_OK);
	records = end_cycle_parsed(fx, NULL);

	rec = json_object_array_get_idx(records, 0);
	assert_int_equal(json_object_get_int64(member(member(rec, "wal"), "bytes")), 4096);
	assert_string_equal(json_object_get_string(member(member(rec, "wal"), "type")), "inner");
	dbs = member(rec, "databases");
	assert_int_equal(json_object_array_length(dbs), 3);
	assert_string_equal(json_object_get_string(member(json_object_array_get_idx(dbs, 2), "name")),
			    "db2");
	assert_int_equal(json_object_get_int64(member(json_object_array_get_idx(dbs, 1), "size")), 10);
	matrix = member(rec, "matrix");
	assert_int_equal(json_object_array_length(matrix), 2);
	assert_int_equal(json_object_array_length(json_object_array_get_idx(matrix, 0)), 2);
	assert_null(json_object_array_get_idx(json_object_array_get_idx(matrix, 0), 1));
	assert_int_equal(json_object_array_length(json_object_array_get_idx(matrix, 1)), 0);
	assert_int_equal(json_object_object_length(member(rec, "empty")), 0);
	json_object_put(records);
}

static void test_depth_limit_is_exactly_32(void **state)
{
	struct fixture *fx = *state;
	struct pga_host *h = &fx->host;
	struct emitter_cycle_stats stats;
	json_object *records, *node;
	int depth = 0;

	assert_int_equal(h->record_begin(fx->em, "deep"), PGA_OK);
	for (int i = 0; i < EMITTER_MAX_DEPTH; i++)
		assert_int_equal(h->object_begin(fx->em, "d"), PGA_OK);
	assert_int_equal(h->set_int64(fx->em, "leaf", 1), PGA_OK);
	for (int i = 0; i < EMITTER_MAX_DEPTH; i++)
		assert_int_equal(h->object_end(fx->em), PGA_OK);
	assert_int_equal(h->record_end(fx->em), PGA_OK);

	assert_int_equal(h->record_begin(fx->em, "too_deep"), PGA_OK);
	for (int i = 0; i < EMITTER_MAX_DEPTH; i++)
		assert_int_equal(h->array_begin(fx->em, i == 0 ? "a" : NULL), PGA_OK);
	assert_int_equal(h->array_begin(fx->em, NULL), PGA_EINVAL);
	assert_int_equal(h->record_end(fx->em), PGA_EINVAL);
	records = end_cycle_parsed(fx, &stats);

	assert_int_equal(json_object_array_length(records), 1);
	node = json_object_array_get_idx(records, 0);
	while (json_object_object_get_ex(node, "d", &node))
		depth++;
	assert_int_equal(depth, EMITTER_MAX_DEPTH);
	assert_int_equal(stats.records_invalid, 1);
	assert_non_null(strstr(stats.first_error, "deeper than 32"));
	json_object_put(records);
}

static void test_longest_string_is_accepted(void **state)
{
	struct fixture *fx = *state;
	char *big = malloc(EMITTER_MAX_STRING);
	json_object *records;

	assert_non_null(big);
	memset(big, 'x', EMITTER_MAX_STRING);
	assert_int_equal(fx->host.record_begin(fx->em, "big"), PGA_OK);
	assert_int_equal(fx->host.set_stringn(fx->em, "s", big, EMITTER_MAX_STRING), PGA_OK);
	assert_int_equal(fx->host.record_end(fx->em), PGA_OK);
	free(big);
	records = end_cycle_parsed(fx, NULL);
	assert_int_equal(json_object_get_string_len(member(json_object_array_get_idx(records, 0), "s")),
			 EMITTER_MAX_STRING);
	json_object_put(records);
}

static void test_longest_type_is_accepted(void **state)
{
	struct fixture *fx = *state;
	char type[EMITTER_MAX_TYPE_LEN + 1];
	json_object *records;

	memset(type, 'a', EMITTER_MAX_TYPE_LEN);
	type[EMITTER_MAX_TYPE_LEN] = '\0';
	assert_int_equal(fx->host.record_begin(fx->em, type), PGA_OK);
	assert_int_equal(fx->host.record_end(fx->em), PGA_OK);
	assert_int_equal(fx->host.record_begin(fx->em, "az_09"), PGA_OK);
	assert_int_equal(fx->host.record_end(fx->em), PGA_OK);
	records = end_cycle_parsed(fx, NULL);
	assert_int_equal(json_object_array_length(records), 2);
	assert_string_equal(json_object_get_string(member(json_object_array_get_idx(records, 0), "type")),
			    type);
	json_object_put(records);
}

/* ---- misuse inside a record: one test per rule ---- */

static int misuse_reserved_type(struct fixture *fx)
{
	return fx->host.set_string(fx->em, "type", "x");
}

static int misuse_reserved_plugin(struct fixture *fx)
{
	return fx->host.set_int64(fx->em, "plugin", 1);
}

static int misuse_reserved_timestamp(struct fixture *fx)
{
	return fx->host.object_begin(fx->em, "timestamp");
}

static int misuse_null_key(struct fixture *fx)
{
	return fx->host.set_int64(fx->em, NULL, 1);
}

static int misuse_empty_key(struct fixture *fx)
{
	return fx->host.set_bool(fx->em, "", 1);
}

static int misuse_invalid_utf8_key(struct fixture *fx)
{
	return fx->host.set_null(fx->em, "bad\xff");
}

static int misuse_duplicate_key(struct fixture *fx)
{
	return fx->host.set_int64(fx->em, "before", 3);
}

static int misuse_duplicate_key_nested(struct fixture *fx)
{
	assert_int_equal(fx->host.object_begin(fx->em, "wal"), PGA_OK);
	assert_int_equal(fx->host.set_uint64(fx->em, "x", 1), PGA_OK);
	return fx->host.set_double(fx->em, "x", 2.0);
}

static int misuse_duplicate_container_key(struct fixture *fx)
{
	return fx->host.array_begin(fx->em, "before");
}

static int misuse_key_in_array(struct fixture *fx)
{
	assert_int_equal(fx->host.array_begin(fx->em, "list"), PGA_OK);
	return fx->host.set_int64(fx->em, "k", 1);
}

static int misuse_container_key_in_array(struct fixture *fx)
{
	assert_int_equal(fx->host.array_begin(fx->em, "list"), PGA_OK);
	return fx->host.object_begin(fx->em, "k");
}

static int misuse_null_container_key_in_object(struct fixture *fx)
{
	return fx->host.array_begin(fx->em, NULL);
}

static int misuse_nan(struct fixture *fx)
{
	return fx->host.set_double(fx->em, "d", NAN);
}

static int misuse_infinity(struct fixture *fx)
{
	return fx->host.set_double(fx->em, "d", INFINITY);
}

static int misuse_negative_infinity(struct fixture *fx)
{
	return fx->host.set_double(fx->em, "d", -INFINITY);
}

static int misuse_null_string(struct fixture *fx)
{
	return fx->host.set_string(fx->em, "s", NULL);
}

static int misuse_null_stringn(struct fixture *fx)
{
	return fx->host.set_stringn(fx->em, "s", NULL, 3);
}

static int misuse_embedded_nul(struct fixture *fx)
{
	return fx->host.set_stringn(fx->em, "s", "a\0b", 3);
}

static int misuse_object_end_without_begin(struct fixture *fx)
{
	return fx->host.object_end(fx->em);
}

static int misuse_array_end_without_begin(struct fixture *fx)
{
	return fx->host.array_end(fx->em);
}

static int misuse_array_end_closes_object(struct fixture *fx)
{
	assert_int_equal(fx->host.object_begin(fx->em, "obj"), PGA_OK);
	return fx->host.array_end(fx->em);
}

static int misuse_object_end_closes_array(struct fixture *fx)
{
	assert_int_equal(fx->host.array_begin(fx->em, "arr"), PGA_OK);
	return fx->host.object_end(fx->em);
}

static int misuse_string_too_long(struct fixture *fx)
{
	static const char byte = 'x';

	/* The length is checked before the bytes, so one byte of buffer is enough. */
	return fx->host.set_stringn(fx->em, "s", &byte, EMITTER_MAX_STRING + 1);
}

static int misuse_nul_terminated_string_too_long(struct fixture *fx)
{
	char *big = malloc(EMITTER_MAX_STRING + 2);
	int rc;

	assert_non_null(big);
	memset(big, 'y', EMITTER_MAX_STRING + 1);
	big[EMITTER_MAX_STRING + 1] = '\0';
	rc = fx->host.set_string(fx->em, "s", big);
	free(big);
	return rc;
}

static int misuse_record_too_large(struct fixture *fx)
{
	char *chunk = malloc(EMITTER_MAX_STRING);
	int rc = PGA_OK;

	assert_non_null(chunk);
	memset(chunk, 'z', EMITTER_MAX_STRING);
	for (int i = 0; i < 32 && rc == PGA_OK; i++) {
		char key[16];

		snprintf(key, sizeof(key), "k%d", i);
		rc = fx->host.set_stringn(fx->em, key, chunk, EMITTER_MAX_STRING);
	}
	free(chunk);
	return rc;
}

#define MISUSE_TEST(name, expected)                                        \
	static void test_##name(void **state)                              \
	{                                                                  \
		check_misuse(state, name, expected);                       \
	}

MISUSE_TEST(misuse_reserved_type, "record \"bad\": reserved key \"type\" at top level")
MISUSE_TEST(misuse_reserved_plugin, "reserved key \"plugin\"")
MISUSE_TEST(misuse_reserved_timestamp, "reserved key \"timestamp\"")
MISUSE_TEST(misuse_null_key, "NULL key at top level")
MISUSE_TEST(misuse_empty_key, "empty key")
MISUSE_TEST(misuse_invalid_utf8_key, "key \"bad\\xff\" is not valid UTF-8")
MISUSE_TEST(misuse_duplicate_key, "record \"bad\": duplicate key \"before\" at top level")
MISUSE_TEST(misuse_duplicate_key_nested, "record \"bad\": duplicate key \"x\" in object \"wal\"")
MISUSE_TEST(misuse_duplicate_container_key, "duplicate key \"before\"")
MISUSE_TEST(misuse_key_in_array, "key \"k\" given (array elements take a NULL key) in array \"list\"")
MISUSE_TEST(misuse_container_key_in_array, "in array \"list\"")
MISUSE_TEST(misuse_null_container_key_in_object, "NULL key")
MISUSE_TEST(misuse_nan, "non-finite value (NaN)")
MISUSE_TEST(misuse_infinity, "non-finite value (infinity)")
MISUSE_TEST(misuse_negative_infinity, "non-finite value (infinity)")
MISUSE_TEST(misuse_null_string, "NULL value")
MISUSE_TEST(misuse_null_stringn, "NULL value")
MISUSE_TEST(misuse_embedded_nul, "contains NUL (byte 1)")
MISUSE_TEST(misuse_object_end_without_begin, "object_end with no object open")
MISUSE_TEST(misuse_array_end_without_begin, "array_end with no array open")
MISUSE_TEST(misuse_array_end_closes_object, "array_end while object \"obj\"")
MISUSE_TEST(misuse_object_end_closes_array, "object_end while array \"arr\"")
MISUSE_TEST(misuse_string_too_long, "longer than 1048576 bytes")
MISUSE_TEST(misuse_nul_terminated_string_too_long, "longer than 1048576 bytes")
MISUSE_TEST(misuse_record_too_large, "record larger than")

/* Each malformed UTF-8 form in its own record; all dropped, none leaks. */
static void test_invalid_utf8_strings_are_rejected(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
	} bad[] = {
		{ "\xc0\xaf", 2 },             /* overlong '/' (2 bytes) */
		{ "\xc1\xbf", 2 },             /* overlong (2 bytes) */
		{ "\xe0\x80\xaf", 3 },         /* overlong (3 bytes) */
		{ "\xf0\x80\x80\xaf", 4 },     /* overlong (4 bytes) */
		{ "\xed\xa0\x80", 3 },         /* surrogate U+D800 */
		{ "\xed\xbf\xbf", 3 },         /* surrogate U+DFFF */
		{ "\xf4\x90\x80\x80", 4 },     /* U+110000 */
		{ "\xf5\x80\x80\x80", 4 },     /* lead byte beyond Unicode */
		{ "\xff", 1 },
		{ "\x80", 1 },                 /* lone continuation */
		{ "ok\xe2\x82", 4 },           /* truncated at the end */
		{ "\xe2\x82x", 3 },            /* truncated in the middle */
		{ "\xc3", 1 },
		{ "\xf0\x9f\x98", 3 },
	};
	struct fixture *fx = *state;
	size_t n = sizeof(bad) / sizeof(bad[0]);
	struct emitter_cycle_stats stats;
	json_object *records;

	for (size_t i = 0; i < n; i++) {
		assert_int_equal(fx->host.record_begin(fx->em, "bad"), PGA_OK);
		if (fx->host.set_stringn(fx->em, "s", bad[i].bytes, bad[i].len) != PGA_EINVAL)
			fail_msg("malformed UTF-8 case %zu was accepted", i);
		assert_int_equal(fx->host.record_end(fx->em), PGA_EINVAL);
		emit_good_record(fx, (int64_t)i);
	}
	records = end_cycle_parsed(fx, &stats);
	assert_only_good_records(records, n);
	assert_int_equal(stats.records_invalid, n);
	assert_int_equal(stats.records_emitted, n);
	assert_non_null(strstr(stats.first_error, "not valid UTF-8"));
	json_object_put(records);
}

static void test_invalid_record_types_are_rejected(void **state)
{
	char too_long[EMITTER_MAX_TYPE_LEN + 2];
	const char *bad[] = { NULL, "", "Upper", "has-dash", "sp ace", "\xc3\xa9", too_long };
	struct fixture *fx = *state;
	size_t n = sizeof(bad) / sizeof(bad[0]);
	struct emitter_cycle_stats stats;
	json_object *records;

	memset(too_long, 'a', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (fx->host.record_begin(fx->em, bad[i]) != PGA_EINVAL)
			fail_msg("record type case %zu was accepted", i);
		assert_int_equal(fx->host.set_int64(fx->em, "x", 1), PGA_EINVAL);
		assert_int_equal(fx->host.record_end(fx->em), PGA_EINVAL);
		emit_good_record(fx, (int64_t)i);
	}
	records = end_cycle_parsed(fx, &stats);
	assert_only_good_records(records, n);
	assert_int_equal(stats.records_invalid, n);
	assert_string_equal(stats.first_error,
			    "record \"(null)\": invalid record type (want [a-z0-9_]{1,63})");
	json_object_put(records);
}

static void test_collector_record_type_is_reserved(void **state)
{
	struct fixture *fx = *state;
	struct emitter_cycle_stats stats;
	json_object *records;

	assert_int_equal(fx->host.record_begin(fx->em, "collector"), PGA_EINVAL);
	assert_int_equal(fx->host.record_end(fx->em), PGA_EINVAL);
	emit_good_record(fx, 0);
	records = end_cycle_parsed(fx, &stats);
	assert_only_good_records(records, 1);
	assert_int_equal(stats.records_invalid, 1);
	assert_non_null(strstr(stats.first_error, "reserved for the host"));
	json_object_put(records);
}

static void test_record_timestamp_sets_the_event_time(void **state)
{
	struct fixture *fx = *state;
	json_object *records;

	/* 2021-03-04T05:06:07.089Z */
	assert_int_equal(fx->host.record_begin(fx->em, "event"), PGA_OK);
	assert_int_equal(fx->host.record_timestamp(fx->em, 1614834367089123456LL), PGA_OK);
	assert_int_equal(fx->host.record_end(fx->em), PGA_OK);
	records = end_cycle_parsed(fx, NULL);
	assert_string_equal(json_object_get_string(member(json_object_array_get_idx(records, 0),
							  "timestamp")),
			    "2021-03-04T05:06:07.089Z");
	json_object_put(records);
}

static int misuse_negative_timestamp(struct fixture *fx)
{
	return fx->host.record_timestamp(fx->em, -1);
}

static void test_record_timestamp_before_1970_is_misuse(void **state)
{
	check_misuse(state, misuse_negative_timestamp, "record \"bad\": record_timestamp(-1): before 1970");
}

/* ---- misuse at record boundaries ---- */

static void test_record_end_with_open_container_drops_record(void **state)
{
	struct fixture *fx = *state;
	struct emitter_cycle_stats stats;
	json_object *records;

	assert_int_equal(fx->host.record_begin(fx->em, "bad"), PGA_OK);
	assert_int_equal(fx->host.array_begin(fx->em, "dbs"), PGA_OK);
	assert_int_equal(fx->host.object_begin(fx->em, NULL), PGA_OK);
	assert_int_equal(fx->host.record_end(fx->em), PGA_EINVAL);
	/* The record is gone, not still open. */
	assert_int_equal(fx->host.object_end(fx->em), PGA_EINVAL);
	emit_good_record(fx, 0);
	records = end_cycle_parsed(fx, &stats);
	assert_only_good_records(records, 1);
	/* One dropped record plus one stray object_end. */
	assert_int_equal(stats.records_invalid, 2);
	assert_string_equal(stats.first_error,
			    "record \"bad\": record_end with object \"dbs[0]\" still open");
	json_object_put(records);
}

static void test_record_begin_while_open_drops_both(void **state)
{
	struct fixture *fx = *state;
	struct emitter_cycle_stats stats;
	json_object *records;

	emit_good_record(fx, 0);
	assert_int_equal(fx->host.record_begin(fx->em, "first"), PGA_OK);
	assert_int_equal(fx->host.set_int64(fx->em, "a", 1), PGA_OK);
	assert_int_equal(fx->host.record_begin(fx->em, "second"), PGA_EINVAL);
	assert_int_equal(fx->host.set_int64(fx->em, "b", 2), PGA_EINVAL);
	assert_int_equal(fx->host.record_end(fx->em), PGA_EINVAL);
	emit_good_record(fx, 1);
	records = end_cycle_parsed(fx, &stats);
	assert_only_good_records(records, 2);
	assert_int_equal(stats.records_emitted, 2);
	assert_int_equal(stats.records_invalid, 2);
	assert_non_null(strstr(stats.first_error, "record \"first\": record_begin(\"second\")"));
	json_object_put(records);
}

static void test_record_begin_while_poisoned_counts_each_record(void **state)
{
	struct fixture *fx = *state;
	struct emitter_cycle_stats stats;
	json_object *records;

	assert_int_equal(fx->host.record_begin(fx->em, "first"), PGA_OK);
	assert_int_equal(fx->host.set_double(fx->em, "d", NAN), PGA_EINVAL);
	assert_int_equal(fx->host.record_begin(fx->em, "second"), PGA_EINVAL);
	assert_int_equal(fx->host.record_end(fx->em), PGA_EINVAL);
	emit_good_record(fx, 0);
	records = end_cycle_parsed(fx, &stats);
	assert_only_good_records(records, 1);
	assert_int_equal(stats.records_invalid, 2);
	/* The first reason of the cycle is kept. */
	assert_non_null(strstr(stats.first_error, "record \"first\": set_double(\"d\")"));
	json_object_put(records);
}

static void test_calls_without_open_record_are_counted_each(void **state)
{
	struct fixture *fx = *state;
	struct pga_host *h = &fx->host;
	struct emitter_cycle_stats stats;
	json_object *records;

	assert_int_equal(h->set_int64(fx->em, "x", 1), PGA_EINVAL);
	assert_int_equal(h->set_uint64(fx->em, "x", 1), PGA_EINVAL);
	assert_int_equal(h->set_double(fx->em, "x", 1.0), PGA_EINVAL);
	assert_int_equal(h->set_bool(fx->em, "x", 1), PGA_EINVAL);
	assert_int_equal(h->set_string(fx->em, "x", "v"), PGA_EINVAL);
	assert_int_equal(h->set_stringn(fx->em, "x", "v", 1), PGA_EINVAL);
	assert_int_equal(h->set_null(fx->em, "x"), PGA_EINVAL);
	assert_int_equal(h->object_begin(fx->em, "o"), PGA_EINVAL);
	assert_int_equal(h->object_end(fx->em), PGA_EINVAL);
	assert_int_equal(h->array_begin(fx->em, "a"), PGA_EINVAL);
	assert_int_equal(h->array_end(fx->em), PGA_EINVAL);
	assert_int_equal(h->record_end(fx->em), PGA_EINVAL);
	emit_good_record(fx, 0);
	records = end_cycle_parsed(fx, &stats);
	assert_only_good_records(records, 1);
	assert_int_equal(stats.records_invalid, 12);
	assert_string_equal(stats.first_error, "set_int64(\"x\") called with no record open");
	json_object_put(records);
}

static void test_open_record_at_cycle_end_is_dropped(void **state)
{
	struct fixture *fx = *state;
	struct emitter_cycle_stats stats;
	json_object *records;

	emit_good_record(fx, 0);
	assert_int_equal(fx->host.record_begin(fx->em, "unfinished"), PGA_OK);
	assert_int_equal(fx->host.object_begin(fx->em, "o"), PGA_OK);
	assert_int_equal(fx->host.set_int64(fx->em, "x", 1), PGA_OK);
	records = end_cycle_parsed(fx, &stats);
	assert_only_good_records(records, 1);
	assert_int_equal(stats.records_emitted, 1);
	assert_int_equal(stats.records_invalid, 1);
	assert_string_equal(stats.first_error,
			    "record \"unfinished\": still open when collect returned "
			    "(missing record_end)");
	json_object_put(records);

	/* The next cycle starts clean. */
	emitter_begin_cycle(fx->em, 0);
	emit_good_record(fx, 0);
	records = end_cycle_parsed(fx, &stats);
	assert_only_good_records(records, 1);
	assert_int_equal(stats.records_invalid, 0);
	assert_string_equal(stats.first_error, "");
	json_object_put(records);
}

static void test_hostile_key_is_escaped_in_message(void **state)
{
	struct fixture *fx = *state;
	struct emitter_cycle_stats stats;
	json_object *records;

	assert_int_equal(fx->host.record_begin(fx->em, "bad"), PGA_OK);
	assert_int_equal(fx->host.array_begin(fx->em, "a\"b\nc"), PGA_OK);
	assert_int_equal(fx->host.set_int64(fx->em, "x", 1), PGA_EINVAL);
	assert_int_equal(fx->host.record_end(fx->em), PGA_EINVAL);
	records = end_cycle_parsed(fx, &stats);
	assert_int_equal(json_object_array_length(records), 0);
	assert_non_null(strstr(stats.first_error, "in array \"a\\x22b\\x0ac\""));
	assert_null(strchr(stats.first_error, '\n'));
	json_object_put(records);
}

/* ---- deadlines and cycles ---- */

static void test_deadline_in_the_past(void **state)
{
	struct fixture *fx = *state;
	struct emitter_cycle_stats stats;
	json_object *records;

	/* 1 ns after boot has long passed. */
	emitter_begin_cycle(fx->em, 1);
	assert_int_equal(fx->host.record_begin(fx->em, "late"), PGA_EDEADLINE);
	assert_int_equal(fx->host.set_int64(fx->em, "x", 1), PGA_EDEADLINE);
	assert_int_equal(fx->host.object_begin(fx->em, "o"), PGA_EDEADLINE);
	assert_int_equal(fx->host.object_end(fx->em), PGA_EDEADLINE);
	assert_int_equal(fx->host.record_end(fx->em), PGA_EDEADLINE);
	records = end_cycle_parsed(fx, &stats);
	assert_int_equal(json_object_array_length(records), 0);
	assert_int_equal(stats.records_emitted, 0);
	json_object_put(records);

	/* No deadline again in the next cycle. */
	emitter_begin_cycle(fx->em, 0);
	emit_good_record(fx, 0);
	records = end_cycle_parsed(fx, &stats);
	assert_only_good_records(records, 1);
	json_object_put(records);
}

static void test_deadline_passing_inside_a_record(void **state)
{
	struct fixture *fx = *state;
	struct emitter_cycle_stats stats;
	json_object *records;
	uint64_t deadline = clock_monotonic_ns() + UINT64_C(200000000);

	emitter_begin_cycle(fx->em, deadline);
	if (fx->host.record_begin(fx->em, "good") != PGA_OK)
		skip();   /* this machine stalled 200 ms; nothing to learn */
	assert_int_equal(fx->host.set_int64(fx->em, "n", 0), PGA_OK);
	if (fx->host.record_end(fx->em) != PGA_OK)
		skip();
	assert_int_equal(fx->host.record_begin(fx->em, "cut"), PGA_OK);
	assert_int_equal(fx->host.set_int64(fx->em, "x", 1), PGA_OK);
	/* Wait for the clock, not for a duration. */
	while (clock_monotonic_ns() <= deadline)
		;
	/* Scalars do not read the clock; record boundaries do. */
	assert_int_equal(fx->host.set_int64(fx->em, "y", 2), PGA_OK);
	assert_int_equal(fx->host.record_end(fx->em), PGA_EDEADLINE);
	assert_int_equal(fx->host.set_int64(fx->em, "z", 3), PGA_EDEADLINE);
	assert_int_equal(fx->host.record_begin(fx->em, "more"), PGA_EDEADLINE);
	records = end_cycle_parsed(fx, &stats);
	/* Records ended in time are returned; the scheduler decides. */
	assert_only_good_records(records, 1);
	assert_int_equal(stats.records_emitted, 1);
	json_object_put(records);
}

static void test_cycles_do_not_share_records(void **state)
{
	struct fixture *fx = *state;
	struct emitter_cycle_stats stats;
	json_object *records;

	emit_good_record(fx, 0);
	emit_good_record(fx, 1);
	records = end_cycle_parsed(fx, &stats);
	assert_only_good_records(records, 2);
	assert_int_equal(stats.records_emitted, 2);
	json_object_put(records);

	emitter_begin_cycle(fx->em, 0);
	records = end_cycle_parsed(fx, &stats);
	assert_int_equal(json_object_array_length(records), 0);
	assert_int_equal(stats.records_emitted, 0);
	json_object_put(records);
}

static void test_begin_cycle_discards_unended_cycle(void **state)
{
	struct fixture *fx = *state;
	struct emitter_cycle_stats stats;
	json_object *records;

	emit_good_record(fx, 5);
	assert_int_equal(fx->host.record_begin(fx->em, "open"), PGA_OK);
	assert_int_equal(fx->host.set_int64(fx->em, "x", 1), PGA_OK);
	emitter_begin_cycle(fx->em, 0);
	emit_good_record(fx, 0);
	records = end_cycle_parsed(fx, &stats);
	assert_only_good_records(records, 1);
	assert_int_equal(stats.records_emitted, 1);
	json_object_put(records);
}

/* ---- the text itself ---- */

/* End the cycle, check the batch, and return record `index`'s exact text. */
static char *end_cycle_record_text(struct fixture *fx, size_t index)
{
	struct record_batch *records = emitter_end_cycle(fx->em, NULL);
	json_object *parsed;
	const char *json;
	size_t len;
	char *copy;

	assert_non_null(records);
	parsed = parse_batch(records);
	json_object_put(parsed);
	assert_int_equal(record_batch_get(records, index, &json, &len), 0);
	copy = strndup(json, len);
	assert_non_null(copy);
	record_batch_free(records);
	return copy;
}

static void test_record_text_is_exact(void **state)
{
	struct fixture *fx = *state;
	struct pga_host *h = &fx->host;
	struct pga_emitter *em = fx->em;
	char *text;

	assert_int_equal(h->record_begin(em, "pg_stats"), PGA_OK);
	assert_int_equal(h->set_int64(em, "a", -5), PGA_OK);
	assert_int_equal(h->set_uint64(em, "b", UINT64_MAX), PGA_OK);
	assert_int_equal(h->set_double(em, "c", 0.1), PGA_OK);
	assert_int_equal(h->set_double(em, "d", 3.0), PGA_OK);
	assert_int_equal(h->set_bool(em, "e", 7), PGA_OK);
	assert_int_equal(h->set_null(em, "f"), PGA_OK);
	assert_int_equal(h->set_string(em, "g", "q\"\\/\n\x01\xc3\xa9"), PGA_OK);
	assert_int_equal(h->object_begin(em, "h"), PGA_OK);
	assert_int_equal(h->array_begin(em, "i"), PGA_OK);
	assert_int_equal(h->set_int64(em, NULL, 1), PGA_OK);
	assert_int_equal(h->object_begin(em, NULL), PGA_OK);
	/* Set at any depth, the event time keeps its place among the first keys. */
	assert_int_equal(h->record_timestamp(em, 1614834367089123456LL), PGA_OK);
	assert_int_equal(h->object_end(em), PGA_OK);
	assert_int_equal(h->array_begin(em, NULL), PGA_OK);
	assert_int_equal(h->array_end(em), PGA_OK);
	assert_int_equal(h->array_end(em), PGA_OK);
	assert_int_equal(h->object_end(em), PGA_OK);
	assert_int_equal(h->set_string(em, "k\t\"", ""), PGA_OK);
	assert_int_equal(h->object_begin(em, "j"), PGA_OK);
	assert_int_equal(h->object_end(em), PGA_OK);
	assert_int_equal(h->record_end(em), PGA_OK);
	text = end_cycle_record_text(fx, 0);
	assert_string_equal(text,
			    "{\"type\":\"pg_stats\",\"plugin\":\"testplug\","
			    "\"timestamp\":\"2021-03-04T05:06:07.089Z\",\"a\":-5,"
			    "\"b\":18446744073709551615,\"c\":0.1,\"d\":3.0,\"e\":true,\"f\":null,"
			    "\"g\":\"q\\\"\\\\/\\n\\u0001\xc3\xa9\",\"h\":{\"i\":[1,{},[]]},"
			    "\"k\\t\\\"\":\"\",\"j\":{}}");
	free(text);
}

/* Every byte a string may hold (all but NUL) comes back as it went in. */
static void test_every_allowed_byte_round_trips(void **state)
{
	struct fixture *fx = *state;
	char all[128 + 2];
	size_t n = 0;
	json_object *records, *rec;

	for (int c = 1; c < 128; c++)
		all[n++] = (char)c;
	all[n++] = '\xc3';   /* and a two-byte sequence */
	all[n++] = '\xa9';
	assert_int_equal(fx->host.record_begin(fx->em, "bytes"), PGA_OK);
	assert_int_equal(fx->host.set_stringn(fx->em, "s", all, n), PGA_OK);
	assert_int_equal(fx->host.set_stringn(fx->em, "\x1f key \\ \"", all, 31), PGA_OK);
	assert_int_equal(fx->host.record_end(fx->em), PGA_OK);
	records = end_cycle_parsed(fx, NULL);
	rec = json_object_array_get_idx(records, 0);
	assert_int_equal(json_object_get_string_len(member(rec, "s")), (int)n);
	assert_memory_equal(json_object_get_string(member(rec, "s")), all, n);
	assert_int_equal(json_object_get_string_len(member(rec, "\x1f key \\ \"")), 31);
	json_object_put(records);
}

static void test_arrays_nest_exactly_32_deep(void **state)
{
	struct fixture *fx = *state;
	char expected[256];
	size_t used = 0;
	char *text;

	assert_int_equal(fx->host.record_begin(fx->em, "deep"), PGA_OK);
	assert_int_equal(fx->host.record_timestamp(fx->em, 0), PGA_OK);
	for (int i = 0; i < EMITTER_MAX_DEPTH; i++)
		assert_int_equal(fx->host.array_begin(fx->em, i == 0 ? "a" : NULL), PGA_OK);
	assert_int_equal(fx->host.set_int64(fx->em, NULL, 1), PGA_OK);
	for (int i = 0; i < EMITTER_MAX_DEPTH; i++)
		assert_int_equal(fx->host.array_end(fx->em), PGA_OK);
	assert_int_equal(fx->host.record_end(fx->em), PGA_OK);
	text = end_cycle_record_text(fx, 0);

	used += (size_t)snprintf(expected, sizeof(expected),
				 "{\"type\":\"deep\",\"plugin\":\"testplug\","
				 "\"timestamp\":\"1970-01-01T00:00:00.000Z\",\"a\":");
	memset(expected + used, '[', EMITTER_MAX_DEPTH);
	used += EMITTER_MAX_DEPTH;
	expected[used++] = '1';
	memset(expected + used, ']', EMITTER_MAX_DEPTH);
	used += EMITTER_MAX_DEPTH;
	expected[used++] = '}';
	expected[used] = '\0';
	assert_string_equal(text, expected);
	free(text);
}

/* Emit `count` members k0 .. k<count-1> into the innermost object. */
static void emit_keys(struct fixture *fx, int count)
{
	for (int i = 0; i < count; i++) {
		char key[16];

		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(fx->host.set_int64(fx->em, key, i), PGA_OK);
	}
}

/* In an object of 1000 keys, a repeat of any one of them is found. */
static void test_duplicate_in_a_large_object(void **state)
{
	static const char *const repeats[] = { "k0", "k500", "k999" };
	struct fixture *fx = *state;
	struct emitter_cycle_stats stats;
	json_object *records;

	for (size_t r = 0; r < sizeof(repeats) / sizeof(repeats[0]); r++) {
		assert_int_equal(fx->host.record_begin(fx->em, "wide"), PGA_OK);
		assert_int_equal(fx->host.object_begin(fx->em, "o"), PGA_OK);
		emit_keys(fx, 1000);
		assert_int_equal(fx->host.set_null(fx->em, repeats[r]), PGA_EINVAL);
		assert_int_equal(fx->host.record_end(fx->em), PGA_EINVAL);
	}
	/* The same 1000 keys, no repeat, at the top level: kept. */
	assert_int_equal(fx->host.record_begin(fx->em, "wide"), PGA_OK);
	emit_keys(fx, 1000);
	assert_int_equal(fx->host.record_end(fx->em), PGA_OK);
	records = end_cycle_parsed(fx, &stats);
	assert_int_equal(stats.records_invalid, 3);
	assert_int_equal(stats.records_emitted, 1);
	assert_string_equal(stats.first_error, "record \"wide\": duplicate key \"k0\" in object \"o\"");
	assert_int_equal(json_object_object_length(json_object_array_get_idx(records, 0)), 1003);
	json_object_put(records);
}

/*
 * Each object has its own keys: siblings, parents and children may share
 * keys, a parent's keys survive its children, and a big object's keys do
 * not linger in the next object at the same depth.
 */
static void test_keys_belong_to_their_object(void **state)
{
	struct fixture *fx = *state;
	struct pga_host *h = &fx->host;
	struct emitter_cycle_stats stats;
	json_object *records;

	assert_int_equal(h->record_begin(fx->em, "tree"), PGA_OK);
	assert_int_equal(h->array_begin(fx->em, "rows"), PGA_OK);
	assert_int_equal(h->object_begin(fx->em, NULL), PGA_OK);
	emit_keys(fx, 1000);
	assert_int_equal(h->object_end(fx->em), PGA_OK);
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(h->object_begin(fx->em, NULL), PGA_OK);
		emit_keys(fx, 2);
		assert_int_equal(h->object_end(fx->em), PGA_OK);
	}
	assert_int_equal(h->array_end(fx->em), PGA_OK);
	assert_int_equal(h->set_int64(fx->em, "k0", 0), PGA_OK);
	assert_int_equal(h->object_begin(fx->em, "child"), PGA_OK);
	assert_int_equal(h->set_int64(fx->em, "k0", 1), PGA_OK);
	/* Keys that differ only in escaping, or as prefixes, are different. */
	assert_int_equal(h->set_int64(fx->em, "a\n", 1), PGA_OK);
	assert_int_equal(h->set_int64(fx->em, "a\\n", 1), PGA_OK);
	assert_int_equal(h->set_int64(fx->em, "a", 1), PGA_OK);
	assert_int_equal(h->set_int64(fx->em, "ab", 1), PGA_OK);
	assert_int_equal(h->object_end(fx->em), PGA_OK);
	/* Back in the record: its own k0 is still known. */
	assert_int_equal(h->set_int64(fx->em, "k0", 2), PGA_EINVAL);
	assert_int_equal(h->record_end(fx->em), PGA_EINVAL);
	emit_good_record(fx, 0);
	records = end_cycle_parsed(fx, &stats);
	assert_only_good_records(records, 1);
	assert_int_equal(stats.records_invalid, 1);
	assert_string_equal(stats.first_error, "record \"tree\": duplicate key \"k0\" at top level");
	json_object_put(records);
}

static void test_array_of_100k_values(void **state)
{
	struct fixture *fx = *state;
	const size_t n = 100000;
	json_object *records, *values, *names;

	assert_int_equal(fx->host.record_begin(fx->em, "big"), PGA_OK);
	assert_int_equal(fx->host.array_begin(fx->em, "values"), PGA_OK);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(fx->host.set_int64(fx->em, NULL, (int64_t)(i * i) - 7), PGA_OK);
	assert_int_equal(fx->host.array_end(fx->em), PGA_OK);
	assert_int_equal(fx->host.array_begin(fx->em, "names"), PGA_OK);
	for (size_t i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "t_%zu", i);
		assert_int_equal(fx->host.set_string(fx->em, NULL, name), PGA_OK);
	}
	assert_int_equal(fx->host.array_end(fx->em), PGA_OK);
	assert_int_equal(fx->host.record_end(fx->em), PGA_OK);
	records = end_cycle_parsed(fx, NULL);
	values = member(json_object_array_get_idx(records, 0), "values");
	names = member(json_object_array_get_idx(records, 0), "names");
	assert_int_equal(json_object_array_length(values), n);
	assert_int_equal(json_object_array_length(names), n);
	for (size_t i = 0; i < n; i += 9973)
		assert_int_equal(json_object_get_int64(json_object_array_get_idx(values, i)),
				 (int64_t)(i * i) - 7);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(names, n - 1)),
			    "t_99999");
	json_object_put(records);
}

/*
 * A record of 16 string members: all 1 MiB but the last, which is
 * `last_len` bytes.  In an object "o" when `nested`.  Returns what the last
 * set_stringn returned; the record is ended if that was PGA_OK.
 */
static int emit_sixteen_strings(struct fixture *fx, bool nested, size_t last_len,
				const char *chunk)
{
	int rc = PGA_OK;

	assert_int_equal(fx->host.record_begin(fx->em, "sized"), PGA_OK);
	assert_int_equal(fx->host.record_timestamp(fx->em, 0), PGA_OK);
	if (nested)
		assert_int_equal(fx->host.object_begin(fx->em, "o"), PGA_OK);
	for (int i = 0; i < 16; i++) {
		char key[8];

		snprintf(key, sizeof(key), "s%02d", i);
		rc = fx->host.set_stringn(fx->em, key, chunk, i < 15 ? EMITTER_MAX_STRING : last_len);
		if (i < 15)
			assert_int_equal(rc, PGA_OK);
	}
	if (rc != PGA_OK) {
		assert_int_equal(fx->host.record_end(fx->em), rc);
		return rc;
	}
	if (nested)
		assert_int_equal(fx->host.object_end(fx->em), PGA_OK);
	assert_int_equal(fx->host.record_end(fx->em), PGA_OK);
	return rc;
}

/*
 * A record of exactly EMITTER_MAX_RECORD bytes is kept; one byte more is
 * refused at the value that makes it too big, counting the brackets still
 * to close, and leaves no trace in the batch.
 */
static void check_size_limit(struct fixture *fx, bool nested)
{
	char *chunk = malloc(EMITTER_MAX_STRING);
	struct emitter_cycle_stats stats;
	struct record_batch *records;
	const char *json;
	size_t overhead, len, fill;

	assert_non_null(chunk);
	memset(chunk, 'z', EMITTER_MAX_STRING);
	/* The record's bytes besides the strings' contents. */
	emitter_begin_cycle(fx->em, 0);
	assert_int_equal(fx->host.record_begin(fx->em, "sized"), PGA_OK);
	assert_int_equal(fx->host.record_timestamp(fx->em, 0), PGA_OK);
	if (nested)
		assert_int_equal(fx->host.object_begin(fx->em, "o"), PGA_OK);
	for (int i = 0; i < 16; i++) {
		char key[8];

		snprintf(key, sizeof(key), "s%02d", i);
		assert_int_equal(fx->host.set_stringn(fx->em, key, "", 0), PGA_OK);
	}
	if (nested)
		assert_int_equal(fx->host.object_end(fx->em), PGA_OK);
	assert_int_equal(fx->host.record_end(fx->em), PGA_OK);
	records = emitter_end_cycle(fx->em, NULL);
	assert_int_equal(record_batch_get(records, 0, &json, &overhead), 0);
	record_batch_free(records);
	fill = EMITTER_MAX_RECORD - overhead - 15 * (size_t)EMITTER_MAX_STRING;

	emitter_begin_cycle(fx->em, 0);
	assert_int_equal(emit_sixteen_strings(fx, nested, fill, chunk), PGA_OK);
	assert_int_equal(emit_sixteen_strings(fx, nested, fill + 1, chunk), PGA_EINVAL);
	emit_good_record(fx, 0);
	records = emitter_end_cycle(fx->em, &stats);
	assert_non_null(records);
	assert_int_equal(record_batch_count(records), 2);
	assert_int_equal(record_batch_get(records, 0, &json, &len), 0);
	assert_int_equal(len, EMITTER_MAX_RECORD);
	assert_int_equal(json[len - 1], '}');
	assert_int_equal(record_batch_get(records, 1, &json, &len), 0);
	assert_memory_equal(json, "{\"type\":\"good\"", 14);
	assert_int_equal(record_batch_bytes(records), EMITTER_MAX_RECORD + 1 + len);
	assert_int_equal(stats.records_invalid, 1);
	assert_string_equal(stats.first_error, "record \"sized\": record larger than 16777216 bytes");
	record_batch_free(records);
	free(chunk);
}

static void test_record_size_limit_is_exact(void **state)
{
	check_size_limit(*state, false);
}

static void test_record_size_limit_counts_open_brackets(void **state)
{
	check_size_limit(*state, true);
}

static void test_timestamp_is_replaced_in_place(void **state)
{
	struct fixture *fx = *state;
	struct pga_host *h = &fx->host;
	char *text;

	assert_int_equal(h->record_begin(fx->em, "event"), PGA_OK);
	assert_int_equal(h->set_string(fx->em, "x", "timestamp"), PGA_OK);
	assert_int_equal(h->record_timestamp(fx->em, 1614834367089123456LL), PGA_OK);
	assert_int_equal(h->object_begin(fx->em, "o"), PGA_OK);
	/* A later call wins; the nested "timestamp" key is the plugin's own. */
	assert_int_equal(h->record_timestamp(fx->em, INT64_MAX), PGA_OK);
	assert_int_equal(h->set_int64(fx->em, "timestamp", 5), PGA_OK);
	assert_int_equal(h->object_end(fx->em), PGA_OK);
	assert_int_equal(h->record_end(fx->em), PGA_OK);
	text = end_cycle_record_text(fx, 0);
	/* INT64_MAX ns is in 2262. */
	assert_string_equal(text, "{\"type\":\"event\",\"plugin\":\"testplug\","
				  "\"timestamp\":\"2262-04-11T23:47:16.854Z\",\"x\":\"timestamp\","
				  "\"o\":{\"timestamp\":5}}");
	free(text);
}

/* A plugin name that needs escaping is escaped in every record. */
static void test_plugin_name_is_escaped(void **state)
{
	struct pga_host host = { .struct_size = sizeof(host) };
	struct pga_emitter *em = emitter_create("we\"ird\\");
	struct record_batch *records;
	const char *json;
	size_t len;
	(void)state;

	assert_non_null(em);
	emitter_install(&host);
	emitter_begin_cycle(em, 0);
	assert_int_equal(host.record_begin(em, "r"), PGA_OK);
	assert_int_equal(host.record_timestamp(em, 0), PGA_OK);
	assert_int_equal(host.record_end(em), PGA_OK);
	records = emitter_end_cycle(em, NULL);
	assert_int_equal(record_batch_get(records, 0, &json, &len), 0);
	assert_int_equal(len, strlen("{\"type\":\"r\",\"plugin\":\"we\\\"ird\\\\\","
				     "\"timestamp\":\"1970-01-01T00:00:00.000Z\"}"));
	assert_memory_equal(json, "{\"type\":\"r\",\"plugin\":\"we\\\"ird\\\\\","
				  "\"timestamp\":\"1970-01-01T00:00:00.000Z\"}", len);
	record_batch_free(records);
	emitter_destroy(em);
}

/* ---- lifecycle ---- */

static void test_create_and_destroy_edge_cases(void **state)
{
	struct pga_emitter *em;
	struct pga_host host;
	(void)state;

	assert_null(emitter_create(NULL));
	emitter_destroy(NULL);

	/* Destroying with an open record and an unended cycle frees all. */
	memset(&host, 0, sizeof(host));
	emitter_install(&host);
	em = emitter_create("p");
	assert_non_null(em);
	emitter_begin_cycle(em, 0);
	assert_int_equal(host.record_begin(em, "r"), PGA_OK);
	assert_int_equal(host.record_end(em), PGA_OK);
	assert_int_equal(host.record_begin(em, "r"), PGA_OK);
	assert_int_equal(host.object_begin(em, "o"), PGA_OK);
	emitter_destroy(em);
}

static void dummy_log(struct pga_ctx *ctx, int level, const char *fmt, ...)
{
	(void)ctx;
	(void)level;
	(void)fmt;
}

static void test_install_sets_only_emitter_members(void **state)
{
	struct pga_host host;
	(void)state;

	memset(&host, 0, sizeof(host));
	host.log = dummy_log;
	emitter_install(&host);
	assert_ptr_equal(host.log, dummy_log);
	assert_null(host.config_string);
	assert_null(host.monotonic_ns);
	assert_non_null(host.record_begin);
	assert_non_null(host.record_end);
	assert_non_null(host.record_timestamp);
	assert_non_null(host.object_begin);
	assert_non_null(host.object_end);
	assert_non_null(host.array_begin);
	assert_non_null(host.array_end);
	assert_non_null(host.set_int64);
	assert_non_null(host.set_uint64);
	assert_non_null(host.set_double);
	assert_non_null(host.set_bool);
	assert_non_null(host.set_string);
	assert_non_null(host.set_stringn);
	assert_non_null(host.set_null);
}

static void test_end_cycle_without_stats(void **state)
{
	struct fixture *fx = *state;
	struct record_batch *records;

	emit_good_record(fx, 0);
	records = emitter_end_cycle(fx->em, NULL);
	assert_non_null(records);
	assert_int_equal(record_batch_count(records), 1);
	record_batch_free(records);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_host_members_come_first),
		T(test_typed_scalars_keep_their_values),
		T(test_nested_objects_and_arrays),
		T(test_depth_limit_is_exactly_32),
		T(test_longest_string_is_accepted),
		T(test_longest_type_is_accepted),
		T(test_misuse_reserved_type),
		T(test_misuse_reserved_plugin),
		T(test_misuse_reserved_timestamp),
		T(test_misuse_null_key),
		T(test_misuse_empty_key),
		T(test_misuse_invalid_utf8_key),
		T(test_misuse_duplicate_key),
		T(test_misuse_duplicate_key_nested),
		T(test_misuse_duplicate_container_key),
		T(test_misuse_key_in_array),
		T(test_misuse_container_key_in_array),
		T(test_misuse_null_container_key_in_object),
		T(test_misuse_nan),
		T(test_misuse_infinity),
		T(test_misuse_negative_infinity),
		T(test_misuse_null_string),
		T(test_misuse_null_stringn),
		T(test_misuse_embedded_nul),
		T(test_misuse_object_end_without_begin),
		T(test_misuse_array_end_without_begin),
		T(test_misuse_array_end_closes_object),
		T(test_misuse_object_end_closes_array),
		T(test_misuse_string_too_long),
		T(test_misuse_nul_terminated_string_too_long),
		T(test_misuse_record_too_large),
		T(test_invalid_utf8_strings_are_rejected),
		T(test_invalid_record_types_are_rejected),
		T(test_record_end_with_open_container_drops_record),
		T(test_record_begin_while_open_drops_both),
		T(test_record_begin_while_poisoned_counts_each_record),
		T(test_calls_without_open_record_are_counted_each),
		T(test_open_record_at_cycle_end_is_dropped),
		T(test_hostile_key_is_escaped_in_message),
		T(test_deadline_in_the_past),
		T(test_deadline_passing_inside_a_record),
		T(test_cycles_do_not_share_records),
		T(test_begin_cycle_discards_unended_cycle),
		T(test_end_cycle_without_stats),
		T(test_record_text_is_exact),
		T(test_every_allowed_byte_round_trips),
		T(test_arrays_nest_exactly_32_deep),
		T(test_duplicate_in_a_large_object),
		T(test_keys_belong_to_their_object),
		T(test_array_of_100k_values),
		T(test_record_size_limit_is_exact),
		T(test_record_size_limit_counts_open_brackets),
		T(test_timestamp_is_replaced_in_place),
		cmocka_unit_test(test_plugin_name_is_escaped),
		cmocka_unit_test_setup_teardown(test_collector_record_type_is_reserved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_timestamp_sets_the_event_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_timestamp_before_1970_is_misuse, setup, teardown),
		cmocka_unit_test(test_create_and_destroy_edge_cases),
		cmocka_unit_test(test_install_sets_only_emitter_members),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

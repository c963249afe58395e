/*
 * test_wire.c - the worker framing (wire.c) and its replay (replay.c):
 * operations encoded as a worker encodes them replay into the same record
 * text as direct emitter calls; every truncation and a sample of
 * corruptions of a frame is refused without reading past it (run under
 * ASan by make check SANITIZE=1); frames survive being cut anywhere on
 * the way through a socket; a worker's log lines are escaped and capped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "stderr_capture.h"

#include "emitter.h"
#include "log.h"
#include "record_batch.h"
#include "replay.h"
#include "wire.h"
#include "worker_proto.h"

static const struct timespec WHEN = { 1700000000, 123456789 };

/* One record with a value of every kind, as the worker's encoder writes it. */
static void encode_record(struct wire_buf *b)
{
	wire_put_u8(b, WOP_RECORD_BEGIN);
	wire_put_i64(b, WHEN.tv_sec);
	wire_put_i64(b, WHEN.tv_nsec);
	wire_put_string(b, "wide");
	wire_put_u8(b, WOP_SET_INT64);
	wire_put_string(b, "i");
	wire_put_i64(b, -42);
	wire_put_u8(b, WOP_SET_UINT64);
	wire_put_string(b, "u");
	wire_put_u64(b, UINT64_MAX);
	wire_put_u8(b, WOP_SET_DOUBLE);
	wire_put_string(b, "d");
	wire_put_f64(b, 0.1);
	wire_put_u8(b, WOP_SET_BOOL);
	wire_put_string(b, "b");
	wire_put_u8(b, 1);
	wire_put_u8(b, WOP_SET_NULL);
	wire_put_string(b, "n");
	wire_put_u8(b, WOP_OBJECT_BEGIN);
	wire_put_string(b, "o");
	wire_put_u8(b, WOP_SET_STRING);
	wire_put_string(b, "s");
	wire_put_string(b, "h\xc3\xa9llo");
	wire_put_u8(b, WOP_OBJECT_END);
	wire_put_u8(b, WOP_ARRAY_BEGIN);
	wire_put_string(b, "a");
	wire_put_u8(b, WOP_SET_STRINGN);
	wire_put_bytes(b, NULL, 0);
	wire_put_u64(b, 3);
	wire_put_bytes(b, "xyz", 3);
	wire_put_u8(b, WOP_ARRAY_END);
	wire_put_u8(b, WOP_RECORD_END);
}

static void emit_record(struct pga_emitter *em)
{
	emitter_record_begin_at(em, "wide", &WHEN);
	emitter_set_int64(em, "i", -42);
	emitter_set_uint64(em, "u", UINT64_MAX);
	emitter_set_double(em, "d", 0.1);
	emitter_set_bool(em, "b", 1);
	emitter_set_null(em, "n");
	emitter_object_begin(em, "o");
	emitter_set_string(em, "s", "h\xc3\xa9llo");
	emitter_object_end(em);
	emitter_array_begin(em, "a");
	emitter_set_stringn(em, NULL, "xyz", 3);
	emitter_array_end(em);
	emitter_record_end(em);
}

static void encode_reply(struct wire_buf *b, int status)
{
	wire_put_u8(b, WOP_REPLY);
	wire_put_u8(b, WOP_COLLECT);
	wire_put_u32(b, (uint32_t)status);
	wire_put_u64(b, 777);
}

/* The text of the only record of a finished cycle (caller frees). */
static char *only_record(struct pga_emitter *em)
{
	struct record_batch *batch = emitter_end_cycle(em, NULL);
	const char *json;
	size_t len;
	char *copy;

	assert_int_equal(record_batch_count(batch), 1);
	assert_int_equal(record_batch_get(batch, 0, &json, &len), 0);
	copy = strndup(json, len);
	record_batch_free(batch);
	return copy;
}

static void test_replay_matches_direct_calls(void **state)
{
	struct pga_emitter *direct = emitter_create("p"), *replayed = emitter_create("p");
	struct replay_reply reply = { 0 };
	struct wire_buf b;
	char *want, *got;

	(void)state;
	wire_buf_init(&b);
	encode_record(&b);
	encode_reply(&b, PGA_ERROR);
	emitter_begin_cycle(direct, 0);
	emit_record(direct);
	emitter_begin_cycle(replayed, 0);
	assert_int_equal(replay_frame(b.data + 4, wire_body_len(&b), replayed, "p", &reply),
			 REPLAY_REPLIED);
	assert_int_equal(reply.request, WOP_COLLECT);
	assert_int_equal(reply.status, PGA_ERROR);
	assert_int_equal(reply.cpu_ns, 777);
	want = only_record(direct);
	got = only_record(replayed);
	assert_string_equal(got, want);
	free(want);
	free(got);
	wire_buf_free(&b);
	emitter_destroy(direct);
	emitter_destroy(replayed);
}

/* Every prefix of a valid body is refused or incomplete, never trusted past its end. */
static void test_truncated_frames_are_refused(void **state)
{
	struct pga_emitter *em = emitter_create("p");
	struct replay_reply reply = { 0 };
	struct wire_buf b;
	size_t len;

	(void)state;
	wire_buf_init(&b);
	encode_record(&b);
	encode_reply(&b, PGA_OK);
	len = wire_body_len(&b);
	for (size_t cut = 0; cut < len; cut++) {
		/* A copy of exactly `cut` bytes, so that ASan sees any read past it. */
		unsigned char *body = malloc(cut ? cut : 1);

		memcpy(body, b.data + 4, cut);
		emitter_begin_cycle(em, 0);
		assert_int_not_equal(replay_frame(body, cut, em, "p", &reply), REPLAY_REPLIED);
		record_batch_free(emitter_end_cycle(em, NULL));
		free(body);
	}
	wire_buf_free(&b);
	emitter_destroy(em);
}

static void test_corrupt_frames_are_refused(void **state)
{
	struct pga_emitter *em = emitter_create("p");
	struct replay_reply reply = { 0 };
	struct wire_buf b;
	unsigned char bad_op[] = { 0xee };
	unsigned char huge_string[] = { WOP_SET_NULL, 0xf0, 0xff, 0xff, 0x7f };

	(void)state;
	emitter_begin_cycle(em, 0);
	assert_int_equal(replay_frame(bad_op, sizeof(bad_op), em, "p", &reply), REPLAY_BAD);
	assert_int_equal(replay_frame(huge_string, sizeof(huge_string), em, "p", &reply),
			 REPLAY_BAD);
	/* An emitter operation outside collect. */
	wire_buf_init(&b);
	encode_record(&b);
	assert_int_equal(replay_frame(b.data + 4, wire_body_len(&b), NULL, "p", &reply), REPLAY_BAD);
	/* A string whose NUL terminator is missing. */
	b.data[4 + 1 + 16 + 4 + 4] = 'X';
	assert_int_equal(replay_frame(b.data + 4, wire_body_len(&b), em, "p", &reply), REPLAY_BAD);
	record_batch_free(emitter_end_cycle(em, NULL));
	wire_buf_free(&b);
	emitter_destroy(em);
}

/* Replay one frame of `lines` WOP_LOG operations of `text` into *reply. */
static void replay_log_lines(const char *text, int lines, struct replay_reply *reply)
{
	struct wire_buf b;

	wire_buf_init(&b);
	for (int i = 0; i < lines; i++) {
		wire_put_u8(&b, WOP_LOG);
		wire_put_u8(&b, LOG_LVL_WARNING);
		wire_put_string(&b, text);
	}
	assert_int_equal(replay_frame(b.data + 4, wire_body_len(&b), NULL, "p", reply),
			 REPLAY_MORE);
	wire_buf_free(&b);
}

/* A worker cannot start a line of the collector's log: control bytes are escaped. */
static void test_log_lines_cannot_forge_lines(void **state)
{
	struct replay_reply reply = { 0 };
	char *logged;

	(void)state;
	capture_start();
	replay_log_lines("ok\n2026-01-01T00:00:00.000Z error: forged\r\x1b[2J\x7f", 1, &reply);
	logged = capture_end();
	assert_non_null(strstr(logged, "plugin p: ok\\x0a2026-01-01T00:00:00.000Z error: "
				       "forged\\x0d\\x1b[2J\\x7f\n"));
	assert_int_equal(count_occurrences(logged, "\n"), 1);
	free(logged);
}

/* Past REPLAY_MAX_LOG_LINES in one call, lines are counted, not logged. */
static void test_log_lines_are_capped_per_call(void **state)
{
	struct replay_reply reply = { 0 };
	char *logged;

	(void)state;
	capture_start();
	replay_log_lines("again", REPLAY_MAX_LOG_LINES - 10, &reply);
	replay_log_lines("again", 25, &reply);
	logged = capture_end();
	assert_int_equal(count_occurrences(logged, "plugin p: again\n"), REPLAY_MAX_LOG_LINES);
	assert_int_equal(reply.log_lines, REPLAY_MAX_LOG_LINES);
	assert_int_equal(reply.log_suppressed, 15);
	free(logged);
}

/* Frames written whole come out whole, however the reads cut the stream. */
static void test_inbox_reassembles_frames(void **state)
{
	struct wire_inbox in = { 0 };
	const unsigned char *body;
	struct wire_buf b;
	size_t len, frames = 0;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	wire_buf_init(&b);
	for (int i = 0; i < 3; i++) {
		for (int j = 0; j < 200; j++)
			encode_record(&b);
		assert_int_equal(wire_flush(&b, sv[0]), 0);
	}
	close(sv[0]);
	for (;;) {
		int got = wire_inbox_next(&in, &body, &len);

		if (got == 1) {
			assert_true(len > 200 * 50);
			assert_int_equal(body[0], WOP_RECORD_BEGIN);
			frames++;
			continue;
		}
		assert_int_equal(got, 0);
		if (wire_inbox_read(&in, sv[1]) <= 0)
			break;
	}
	assert_int_equal(frames, 3);
	close(sv[1]);
	wire_inbox_free(&in);
	wire_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_matches_direct_calls),
		cmocka_unit_test(test_truncated_frames_are_refused),
		cmocka_unit_test(test_corrupt_frames_are_refused),
		cmocka_unit_test(test_inbox_reassembles_frames),
		cmocka_unit_test(test_log_lines_cannot_forge_lines),
		cmocka_unit_test(test_log_lines_are_capped_per_call),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

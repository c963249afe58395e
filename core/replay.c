#include "replay.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "emitter.h"
#include "log.h"
#include "wire.h"
#include "worker_proto.h"

/* A key or string value: NULL stays NULL, as the plugin passed it. */
static const char *text(struct wire_reader *r)
{
	size_t len;

	return wire_get_bytes(r, &len);
}

/* record_begin with the time the worker saw the call (see emitter_record_begin_at). */
static void replay_record_begin(struct wire_reader *r, struct pga_emitter *em)
{
	struct timespec when;
	const char *type;

	when.tv_sec = (time_t)wire_get_i64(r);
	when.tv_nsec = (long)wire_get_i64(r);
	type = text(r);
	if (!r->bad)
		emitter_record_begin_at(em, type, &when);
}

/* set_stringn: the length claimed must be the length sent, unless the value is NULL. */
static void replay_set_stringn(struct wire_reader *r, struct pga_emitter *em)
{
	const char *key = text(r);
	uint64_t len = wire_get_u64(r);
	size_t sent;
	const char *value = wire_get_bytes(r, &sent);

	/* A value carries its own length; a NULL one only the length claimed. */
	if (!r->bad && (value == NULL || sent == len))
		emitter_set_stringn(em, key, value, (size_t)len);
	else
		r->bad = true;
}

/* One emitter operation; false when `op` is not one. */
static bool replay_emitter_op(struct wire_reader *r, uint8_t op, struct pga_emitter *em)
{
	const char *key;

	switch (op) {
	case WOP_RECORD_BEGIN: replay_record_begin(r, em); return true;
	case WOP_RECORD_END: emitter_record_end(em); return true;
	case WOP_RECORD_TIMESTAMP: {
		int64_t ns = wire_get_i64(r);

		if (!r->bad)
			emitter_record_timestamp(em, ns);
		return true;
	}
	case WOP_OBJECT_END: emitter_object_end(em); return true;
	case WOP_ARRAY_END: emitter_array_end(em); return true;
	case WOP_SET_STRINGN: replay_set_stringn(r, em); return true;
	default: break;
	}
	key = text(r);
	switch (op) {
	case WOP_OBJECT_BEGIN: if (!r->bad) emitter_object_begin(em, key); return true;
	case WOP_ARRAY_BEGIN: if (!r->bad) emitter_array_begin(em, key); return true;
	case WOP_SET_NULL: if (!r->bad) emitter_set_null(em, key); return true;
	case WOP_SET_INT64: {
		int64_t v = wire_get_i64(r);

		if (!r->bad)
			emitter_set_int64(em, key, v);
		return true;
	}
	case WOP_SET_UINT64: {
		uint64_t v = wire_get_u64(r);

		if (!r->bad)
			emitter_set_uint64(em, key, v);
		return true;
	}
	case WOP_SET_DOUBLE: {
		double v = wire_get_f64(r);

		if (!r->bad)
			emitter_set_double(em, key, v);
		return true;
	}
	case WOP_SET_BOOL: {
		uint8_t v = wire_get_u8(r);

		if (!r->bad)
			emitter_set_bool(em, key, v);
		return true;
	}
	case WOP_SET_STRING: {
		const char *value = text(r);

		if (!r->bad)
			emitter_set_string(em, key, value);
		return true;
	}
	default:
		return false;
	}
}

/*
 * A line as the log may show it: a control byte (a newline would start a
 * line the worker wrote in the collector's name) becomes \xNN.  Cut at
 * out_size, as the log cuts lines anyway.
 */
static void escape_controls(const char *line, char *out, size_t out_size)
{
	static const char hex[] = "0123456789abcdef";
	size_t used = 0;

	for (const unsigned char *p = (const unsigned char *)line; *p; p++) {
		bool control = *p < 0x20 || *p == 0x7f;

		if (used + (control ? 4 : 1) >= out_size)
			break;
		if (!control) {
			out[used++] = (char)*p;
			continue;
		}
		out[used++] = '\\';
		out[used++] = 'x';
		out[used++] = hex[*p >> 4];
		out[used++] = hex[*p & 0xf];
	}
	out[used] = '\0';
}

/*
 * A log line the worker formatted.  The collector, not the worker, decides
 * whose line it is: one that does not start with this plugin's own prefix
 * gets it, so that a worker cannot pass its lines off as the collector's
 * or another plugin's.
 */
static void replay_log(struct wire_reader *r, const char *plugin_name,
		       struct replay_reply *call)
{
	uint8_t level = wire_get_u8(r);
	const char *raw = text(r);
	size_t name_len = strlen(plugin_name);
	char line[LOG_MAX_LINE];

	if (r->bad || !raw || level > LOG_LVL_DEBUG) {
		r->bad = true;
		return;
	}
	if (call->log_lines >= REPLAY_MAX_LOG_LINES) {
		call->log_suppressed++;
		return;
	}
	call->log_lines++;
	escape_controls(raw, line, sizeof(line));
	if (strncmp(line, "plugin ", 7) == 0 && strncmp(line + 7, plugin_name, name_len) == 0 &&
	    strncmp(line + 7 + name_len, ": ", 2) == 0)
		log_msg((enum log_level)level, "%s", line);
	else
		log_msg((enum log_level)level, "plugin %s: %s", plugin_name, line);
}

/* The fields of a WOP_REPLY; the caller checks r->bad. */
static void read_reply(struct wire_reader *r, struct replay_reply *reply)
{
	reply->request = wire_get_u8(r);
	reply->status = (int)(int32_t)wire_get_u32(r);
	reply->cpu_ns = wire_get_u64(r);
}

enum replay_result replay_frame(const unsigned char *body, size_t len, struct pga_emitter *em,
				const char *plugin_name, struct replay_reply *reply)
{
	struct wire_reader r;

	wire_reader_init(&r, body, len);
	while (!wire_reader_done(&r)) {
		uint8_t op = wire_get_u8(&r);

		if (op == WOP_LOG) {
			replay_log(&r, plugin_name, reply);
		} else if (op == WOP_REPLY) {
			read_reply(&r, reply);
			return !r.bad && wire_reader_done(&r) ? REPLAY_REPLIED : REPLAY_BAD;
		} else if (!em || !replay_emitter_op(&r, op, em)) {
			return REPLAY_BAD;
		}
	}
	return r.bad ? REPLAY_BAD : REPLAY_MORE;
}

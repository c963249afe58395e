#include "emitter.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "json_number.h"
#include "log.h"

/* Bytes of a key kept per open container, only to name it in messages. */
#define FRAME_KEY_KEEP 48
/* Rough per-value JSON overhead (quotes, colon, comma, number digits). */
#define VALUE_OVERHEAD 24
/* Room for untrusted text escaped by describe_text (\xNN per byte). */
#define SHOWN_LEN (FRAME_KEY_KEEP * 4 + 4)

enum record_state {
	RECORD_NONE,      /* between records */
	RECORD_OPEN,      /* record_begin succeeded; values are being added */
	RECORD_POISONED   /* misuse seen: ignore calls until record_end */
};

/* One open container; frames[0] is the record object itself. */
struct frame {
	json_object *container;  /* borrowed: its parent (or the record) owns it */
	bool is_array;
	long index;              /* position in the parent array, or -1 */
	char key[FRAME_KEY_KEEP]; /* key in the parent object, maybe truncated */
	size_t key_len;
};

struct pga_emitter {
	char *plugin_name;
	size_t plugin_name_len;
	json_object *records;      /* complete records of this cycle; made lazily */
	enum record_state state;
	int poison_status;         /* what a poisoned record's calls return */
	uint64_t deadline_ns;      /* 0: none */
	bool deadline_passed;      /* latched once seen, so later calls are cheap */
	char type[EMITTER_MAX_TYPE_LEN + 1];
	size_t type_len;
	size_t record_bytes;       /* estimated serialized size of the open record */
	unsigned depth;            /* frames in use; 0 when no record data exists */
	struct frame frames[EMITTER_MAX_DEPTH + 1];
	struct emitter_cycle_stats stats;
};

static const char *const reserved_keys[] = { "type", "plugin", "timestamp" };

/* ---- describing plugin-supplied text safely in messages ---- */

/*
 * snprintf for diagnostics, where cutting a long message short is the
 * intended outcome (vsnprintf, so the compiler does not flag it).
 */
__attribute__((format(printf, 3, 4)))
static void format_text(char *out, size_t out_size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, out_size, fmt, ap);
	va_end(ap);
}

/*
 * Copy `len` bytes of untrusted text into `out` for a log line: printable
 * ASCII as is, anything else as \xNN, cut with "..." when it does not fit.
 */
static void describe_text(char *out, size_t out_size, const char *text, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t used = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		bool plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
		size_t need = plain ? 1 : 4;

		if (used + need + 4 > out_size) {
			memcpy(out + used, "...", 3);
			used += 3;
			break;
		}
		if (plain) {
			out[used++] = (char)c;
		} else {
			out[used++] = '\\';
			out[used++] = 'x';
			out[used++] = hex[c >> 4];
			out[used++] = hex[c & 0xf];
		}
	}
	out[used] = '\0';
}

/* describe_text for a NUL-terminated string; NULL reads as "(null)". */
static void describe_string(char *out, size_t out_size, const char *text)
{
	if (text == NULL)
		snprintf(out, out_size, "(null)");
	else
		describe_text(out, out_size, text, strnlen(text, out_size));
}

/*
 * The path of the innermost open container, e.g. "databases[3].wal", so a
 * message points at the exact spot.  Empty at the record's top level.
 */
static void describe_path(const struct pga_emitter *em, char *out, size_t out_size)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned i = 1; i < em->depth && used < out_size; i++) {
		const struct frame *f = &em->frames[i];
		char part[SHOWN_LEN];
		int n;

		if (f->index >= 0) {
			n = snprintf(out + used, out_size - used, "[%ld]", f->index);
		} else {
			describe_text(part, sizeof(part), f->key, f->key_len);
			n = snprintf(out + used, out_size - used, "%s%s", used ? "." : "", part);
		}
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* `object "wal"` or `array "databases"`: the innermost open container. */
static void describe_container(const struct pga_emitter *em, char *out, size_t out_size)
{
	char path[160];

	describe_path(em, path, sizeof(path));
	format_text(out, out_size, "%s \"%s\"",
		    em->frames[em->depth - 1].is_array ? "array" : "object", path);
}

/* "at top level", `in object "wal"` or `in array "databases"`. */
static void describe_location(const struct pga_emitter *em, char *out, size_t out_size)
{
	char container[200];

	if (em->depth <= 1) {
		format_text(out, out_size, "at top level");
		return;
	}
	describe_container(em, container, sizeof(container));
	format_text(out, out_size, "in %s", container);
}

/* ---- misuse bookkeeping ---- */

/* Keep the first reason of the cycle and log every one at debug level. */
static void note_error(struct pga_emitter *em, const char *message)
{
	if (em->stats.first_error[0] == '\0')
		format_text(em->stats.first_error, sizeof(em->stats.first_error), "%s", message);
	log_msg(LOG_LVL_DEBUG, "plugin %s: emitter: %s", em->plugin_name, message);
}

/* Free the open record's data; the caller decides what state follows. */
static void discard_record(struct pga_emitter *em)
{
	if (em->depth > 0)
		json_object_put(em->frames[0].container);
	em->depth = 0;
	em->record_bytes = 0;
}

/*
 * Poison the open record with `status`: drop its data now, note why
 * (prefixed with the record type) and make every later call of this record
 * return `status` until record_end counts it.  Returns `status`.
 */
static int poison(struct pga_emitter *em, int status, const char *reason)
{
	char type[SHOWN_LEN];
	char message[sizeof(em->stats.first_error)];

	describe_text(type, sizeof(type), em->type, em->type_len);
	format_text(message, sizeof(message), "record \"%s\": %s", type, reason);
	note_error(em, message);

	discard_record(em);
	em->state = RECORD_POISONED;
	em->poison_status = status;
	return status;
}

/* poison() with a formatted reason that needs no location. */
__attribute__((format(printf, 3, 4)))
static int poisonf(struct pga_emitter *em, int status, const char *fmt, ...)
{
	char reason[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return poison(em, status, reason);
}

/*
 * Misuse at the current spot: the formatted reason is followed by where in
 * the record it happened ("at top level", `in object "wal"`).  Poisons the
 * record and returns PGA_EINVAL.
 */
__attribute__((format(printf, 2, 3)))
static int misuse(struct pga_emitter *em, const char *fmt, ...)
{
	char what[200];
	char where[200];
	char reason[sizeof(em->stats.first_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	describe_location(em, where, sizeof(where));
	format_text(reason, sizeof(reason), "%s %s", what, where);
	return poison(em, PGA_EINVAL, reason);
}

/* A call that needs an open record came while none was: count it alone. */
static int stray_call(struct pga_emitter *em, const char *function, const char *key)
{
	char shown_key[SHOWN_LEN];
	char message[sizeof(em->stats.first_error)];

	em->stats.records_invalid++;
	if (key) {
		describe_string(shown_key, sizeof(shown_key), key);
		format_text(message, sizeof(message), "%s(\"%s\") called with no record open",
			    function, shown_key);
	} else {
		format_text(message, sizeof(message), "%s called with no record open", function);
	}
	note_error(em, message);
	return PGA_EINVAL;
}

/* Close a record that will not be kept; a poisoned one counts as invalid. */
static void abandon_record(struct pga_emitter *em)
{
	if (em->state == RECORD_POISONED)
		em->stats.records_invalid++;
	discard_record(em);
	em->state = RECORD_NONE;
}

/*
 * The deadline is read only at record boundaries: reading the clock on
 * every scalar would cost more than the scalar.  Once passed, it stays
 * passed for the cycle and the open record (if any) is abandoned.
 */
static bool deadline_overrun(struct pga_emitter *em)
{
	if (em->deadline_passed)
		return true;
	if (em->deadline_ns == 0 || clock_monotonic_ns() <= em->deadline_ns)
		return false;
	em->deadline_passed = true;
	abandon_record(em);
	return true;
}

/* ---- validation ---- */

/*
 * Length of the valid UTF-8 prefix of text[0..len): equals len when it is
 * all valid.  Rejects NUL (JSON consumers stop at it), overlong forms,
 * surrogates, code points above U+10FFFF and truncated sequences, following
 * Unicode table 3-7.
 */
static size_t utf8_valid_prefix(const unsigned char *text, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = text[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t tail;

		if (c >= 0x01 && c <= 0x7f) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			tail = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			tail = 2;
			if (c == 0xe0)
				lo = 0xa0;       /* overlong below U+0800 */
			else if (c == 0xed)
				hi = 0x9f;       /* surrogates U+D800..DFFF */
		} else if (c >= 0xf0 && c <= 0xf4) {
			tail = 3;
			if (c == 0xf0)
				lo = 0x90;       /* overlong below U+10000 */
			else if (c == 0xf4)
				hi = 0x8f;       /* above U+10FFFF */
		} else {
			return i;                /* NUL, stray continuation, C0/C1, F5..FF */
		}
		if (len - i <= tail)
			return i;
		if (text[i + 1] < lo || text[i + 1] > hi)
			return i;
		for (size_t k = 2; k <= tail; k++) {
			if (text[i + k] < 0x80 || text[i + k] > 0xbf)
				return i;
		}
		i += tail + 1;
	}
	return len;
}

static bool is_reserved_key(const char *key)
{
	for (size_t i = 0; i < sizeof(reserved_keys) / sizeof(reserved_keys[0]); i++) {
		if (strcmp(key, reserved_keys[i]) == 0)
			return true;
	}
	return false;
}

/*
 * Check that `key` fits the innermost open container and store its length
 * in *key_len.  Returns PGA_OK, or poisons the record and returns PGA_EINVAL.
 */
static int check_key(struct pga_emitter *em, const char *key, size_t *key_len)
{
	const struct frame *top = &em->frames[em->depth - 1];
	char shown[SHOWN_LEN];
	size_t len, valid;

	*key_len = 0;
	if (top->is_array) {
		if (key == NULL)
			return PGA_OK;
		describe_string(shown, sizeof(shown), key);
		return misuse(em, "key \"%s\" given (array elements take a NULL key)", shown);
	}
	if (key == NULL)
		return misuse(em, "NULL key");
	len = strnlen(key, EMITTER_MAX_STRING + 1);
	if (len == 0)
		return misuse(em, "empty key");
	if (len > EMITTER_MAX_STRING)
		return misuse(em, "key longer than %u bytes", EMITTER_MAX_STRING);
	valid = utf8_valid_prefix((const unsigned char *)key, len);
	if (valid != len) {
		describe_text(shown, sizeof(shown), key, len);
		return misuse(em, "key \"%s\" is not valid UTF-8 (byte %zu)", shown, valid);
	}
	if (em->depth == 1 && is_reserved_key(key))
		return misuse(em, "reserved key \"%s\"", key);
	if (json_object_object_get_ex(top->container, key, NULL)) {
		describe_text(shown, sizeof(shown), key, len);
		return misuse(em, "duplicate key \"%s\"", shown);
	}
	*key_len = len;
	return PGA_OK;
}

/*
 * The common gate of every call that adds a value: the deadline, an open
 * and healthy record, a key that fits.  Returns PGA_OK or the status the
 * call must return.
 */
static int admit_value(struct pga_emitter *em, const char *function, const char *key,
		       size_t *key_len)
{
	*key_len = 0;
	if (em->deadline_passed)
		return PGA_EDEADLINE;
	if (em->state == RECORD_NONE)
		return stray_call(em, function, key);
	if (em->state == RECORD_POISONED)
		return em->poison_status;
	return check_key(em, key, key_len);
}

/*
 * Add `value` (owned; may be NULL only when `is_null`, since json-c
 * represents JSON null as a NULL member) under `key` to the innermost
 * container.  Returns PGA_OK, or poisons the record.
 */
static int attach_value(struct pga_emitter *em, const char *key, size_t key_len,
			json_object *value, bool is_null, size_t value_bytes)
{
	struct frame *top = &em->frames[em->depth - 1];
	int rc;

	if (value == NULL && !is_null)
		return poison(em, PGA_ENOMEM, "out of memory");
	em->record_bytes += key_len + value_bytes + VALUE_OVERHEAD;
	if (em->record_bytes > EMITTER_MAX_RECORD) {
		json_object_put(value);
		return poisonf(em, PGA_EINVAL, "record larger than %u bytes (estimated)",
			       EMITTER_MAX_RECORD);
	}
	if (top->is_array)
		rc = json_object_array_add(top->container, value);
	else
		rc = json_object_object_add_ex(top->container, key, value,
					       JSON_C_OBJECT_ADD_KEY_IS_NEW);
	if (rc != 0) {
		json_object_put(value);
		return poison(em, PGA_ENOMEM, "out of memory");
	}
	return PGA_OK;
}

/* ---- records ---- */

static bool is_valid_type(const char *type)
{
	size_t len = type ? strnlen(type, EMITTER_MAX_TYPE_LEN + 1) : 0;

	if (len == 0 || len > EMITTER_MAX_TYPE_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = type[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/* Remember the type for messages, even an invalid one (then truncated). */
static void remember_type(struct pga_emitter *em, const char *type)
{
	if (type == NULL)
		type = "(null)";
	em->type_len = strnlen(type, EMITTER_MAX_TYPE_LEN);
	memcpy(em->type, type, em->type_len);
	em->type[em->type_len] = '\0';
}

/* Add one host-owned member; its key is a string literal json-c may keep. */
static int add_host_member(json_object *record, const char *key, json_object *value)
{
	const unsigned flags = JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY;

	if (value == NULL || json_object_object_add_ex(record, key, value, flags) != 0) {
		json_object_put(value);
		return PGA_ENOMEM;
	}
	return PGA_OK;
}

/* The members the host puts first in every record: type, plugin, timestamp. */
static int add_host_members(struct pga_emitter *em, json_object *record)
{
	struct timespec now;
	char stamp[CLOCK_RFC3339_LEN];

	clock_gettime(CLOCK_REALTIME, &now);
	clock_format_rfc3339(&now, stamp);
	if (add_host_member(record, "type",
			    json_object_new_string_len(em->type, (int)em->type_len)) != PGA_OK ||
	    add_host_member(record, "plugin",
			    json_object_new_string_len(em->plugin_name,
						       (int)em->plugin_name_len)) != PGA_OK ||
	    add_host_member(record, "timestamp", json_object_new_string(stamp)) != PGA_OK)
		return PGA_ENOMEM;
	return PGA_OK;
}

/*
 * record_begin while a record is open: the open record is lost (it is
 * counted now) and the new one starts poisoned (counted at its record_end),
 * so each record the plugin meant to emit is counted once.
 */
static int begin_over_open_record(struct pga_emitter *em, const char *next_type)
{
	char next[SHOWN_LEN];

	if (em->state == RECORD_OPEN) {
		describe_string(next, sizeof(next), next_type);
		poisonf(em, PGA_EINVAL,
			"record_begin(\"%s\") while this record was open (missing record_end); "
			"both records dropped",
			next);
	}
	abandon_record(em);
	remember_type(em, next_type);
	em->state = RECORD_POISONED;
	em->poison_status = PGA_EINVAL;
	return PGA_EINVAL;
}

int emitter_record_begin(struct pga_emitter *em, const char *type)
{
	json_object *record;

	if (deadline_overrun(em))
		return PGA_EDEADLINE;
	if (em->state != RECORD_NONE)
		return begin_over_open_record(em, type);

	remember_type(em, type);
	if (!is_valid_type(type))
		return poisonf(em, PGA_EINVAL, "invalid record type (want [a-z0-9_]{1,%d})",
			       EMITTER_MAX_TYPE_LEN);
	/* The collector's own health record must not be forged by a plugin. */
	if (strcmp(type, "collector") == 0)
		return poison(em, PGA_EINVAL, "record type \"collector\" is reserved for the host");
	em->state = RECORD_OPEN;
	record = json_object_new_object();
	if (record == NULL)
		return poison(em, PGA_ENOMEM, "out of memory");
	em->frames[0] = (struct frame){ .container = record, .is_array = false, .index = -1 };
	em->depth = 1;
	em->record_bytes = em->plugin_name_len + em->type_len + CLOCK_RFC3339_LEN +
			   3 * VALUE_OVERHEAD;
	if (add_host_members(em, record) != PGA_OK)
		return poison(em, PGA_ENOMEM, "out of memory");
	return PGA_OK;
}

int emitter_record_timestamp(struct pga_emitter *em, int64_t unix_ns)
{
	struct timespec when = { (time_t)(unix_ns / 1000000000LL), (long)(unix_ns % 1000000000LL) };
	char stamp[CLOCK_RFC3339_LEN];
	json_object *value;

	if (deadline_overrun(em))
		return PGA_EDEADLINE;
	if (em->state == RECORD_NONE)
		return stray_call(em, "record_timestamp", NULL);
	if (em->state == RECORD_POISONED)
		return em->poison_status;
	if (unix_ns < 0)
		return misuse(em, "record_timestamp(%lld): before 1970", (long long)unix_ns);
	clock_format_rfc3339(&when, stamp);
	value = json_object_new_string(stamp);
	if (value == NULL ||
	    json_object_object_add_ex(em->frames[0].container, "timestamp", value,
				      JSON_C_OBJECT_ADD_CONSTANT_KEY) != 0) {
		json_object_put(value);
		return poison(em, PGA_ENOMEM, "out of memory");
	}
	return PGA_OK;
}

/* Move the finished record into this cycle's array. */
static int keep_record(struct pga_emitter *em)
{
	json_object *record = em->frames[0].container;
	int status;

	if (em->records == NULL)
		em->records = json_object_new_array();
	if (em->records == NULL || json_object_array_add(em->records, record) != 0) {
		status = poison(em, PGA_ENOMEM, "out of memory");
		abandon_record(em);
		return status;
	}
	em->depth = 0;
	em->state = RECORD_NONE;
	em->stats.records_emitted++;
	return PGA_OK;
}

int emitter_record_end(struct pga_emitter *em)
{
	char open_container[200];
	int status;

	if (deadline_overrun(em))
		return PGA_EDEADLINE;
	if (em->state == RECORD_NONE)
		return stray_call(em, "record_end", NULL);
	if (em->state == RECORD_OPEN && em->depth > 1) {
		describe_container(em, open_container, sizeof(open_container));
		poisonf(em, PGA_EINVAL, "record_end with %s still open", open_container);
	}
	if (em->state == RECORD_POISONED) {
		status = em->poison_status;
		abandon_record(em);
		return status;
	}
	return keep_record(em);
}

/* ---- containers ---- */

/* Describe the container about to be opened, for later messages. */
static void fill_frame(const struct pga_emitter *em, struct frame *f, json_object *container,
		       bool is_array, const char *key, size_t key_len)
{
	const struct frame *parent = &em->frames[em->depth - 1];

	f->container = container;
	f->is_array = is_array;
	if (parent->is_array) {
		f->index = (long)json_object_array_length(parent->container);
		f->key_len = 0;
	} else {
		f->index = -1;
		f->key_len = key_len < FRAME_KEY_KEEP ? key_len : FRAME_KEY_KEEP;
		memcpy(f->key, key, f->key_len);
	}
}

static int begin_container(struct pga_emitter *em, const char *function, const char *key,
			   bool is_array)
{
	json_object *container;
	struct frame frame;
	size_t key_len;
	int status = admit_value(em, function, key, &key_len);

	if (status != PGA_OK)
		return status;
	if (em->depth > EMITTER_MAX_DEPTH)
		return misuse(em, "%s nests deeper than %d levels", function, EMITTER_MAX_DEPTH);
	container = is_array ? json_object_new_array() : json_object_new_object();
	if (container == NULL)
		return poison(em, PGA_ENOMEM, "out of memory");
	fill_frame(em, &frame, container, is_array, key, key_len);
	status = attach_value(em, key, key_len, container, false, 0);
	if (status != PGA_OK)
		return status;
	em->frames[em->depth++] = frame;
	return PGA_OK;
}

static int end_container(struct pga_emitter *em, const char *function, bool is_array)
{
	char open_container[200];

	if (em->deadline_passed)
		return PGA_EDEADLINE;
	if (em->state == RECORD_NONE)
		return stray_call(em, function, NULL);
	if (em->state == RECORD_POISONED)
		return em->poison_status;
	if (em->depth <= 1)
		return poisonf(em, PGA_EINVAL, "%s with no %s open", function,
			       is_array ? "array" : "object");
	if (em->frames[em->depth - 1].is_array != is_array) {
		describe_container(em, open_container, sizeof(open_container));
		return poisonf(em, PGA_EINVAL, "%s while %s is the innermost open container",
			       function, open_container);
	}
	em->depth--;
	return PGA_OK;
}

int emitter_object_begin(struct pga_emitter *em, const char *key)
{
	return begin_container(em, "object_begin", key, false);
}

int emitter_object_end(struct pga_emitter *em)
{
	return end_container(em, "object_end", false);
}

int emitter_array_begin(struct pga_emitter *em, const char *key)
{
	return begin_container(em, "array_begin", key, true);
}

int emitter_array_end(struct pga_emitter *em)
{
	return end_container(em, "array_end", true);
}

/* ---- scalars ---- */

/*
 * Each setter admits the key first and builds the json-c value only then,
 * so a poisoned record costs no allocation.
 */
int emitter_set_int64(struct pga_emitter *em, const char *key, int64_t value)
{
	size_t key_len;
	int status = admit_value(em, "set_int64", key, &key_len);

	if (status != PGA_OK)
		return status;
	return attach_value(em, key, key_len, json_object_new_int64(value), false, 0);
}

int emitter_set_uint64(struct pga_emitter *em, const char *key, uint64_t value)
{
	size_t key_len;
	int status = admit_value(em, "set_uint64", key, &key_len);

	if (status != PGA_OK)
		return status;
	return attach_value(em, key, key_len, json_object_new_uint64(value), false, 0);
}

int emitter_set_bool(struct pga_emitter *em, const char *key, int value)
{
	size_t key_len;
	int status = admit_value(em, "set_bool", key, &key_len);

	if (status != PGA_OK)
		return status;
	return attach_value(em, key, key_len, json_object_new_boolean(value != 0), false, 0);
}

int emitter_set_null(struct pga_emitter *em, const char *key)
{
	size_t key_len;
	int status = admit_value(em, "set_null", key, &key_len);

	if (status != PGA_OK)
		return status;
	return attach_value(em, key, key_len, NULL, true, 0);
}

int emitter_set_double(struct pga_emitter *em, const char *key, double value)
{
	size_t key_len;
	char shown[SHOWN_LEN];
	int status = admit_value(em, "set_double", key, &key_len);

	if (status != PGA_OK)
		return status;
	if (!isfinite(value)) {
		describe_string(shown, sizeof(shown), key);
		return misuse(em, "set_double(\"%s\") with a non-finite value (%s)", shown,
			      isnan(value) ? "NaN" : "infinity");
	}
	return attach_value(em, key, key_len, json_number_new_double(value), false, 0);
}

/* Validate and attach `len` bytes of string value (not NUL-terminated). */
static int attach_string(struct pga_emitter *em, const char *function, const char *key,
			 size_t key_len, const char *value, size_t len)
{
	char shown[SHOWN_LEN];
	size_t valid;

	if (len > EMITTER_MAX_STRING) {
		describe_string(shown, sizeof(shown), key);
		return misuse(em, "%s(\"%s\") value longer than %u bytes", function, shown,
			      EMITTER_MAX_STRING);
	}
	if (value == NULL && len > 0) {
		describe_string(shown, sizeof(shown), key);
		return misuse(em, "%s(\"%s\") with a NULL value", function, shown);
	}
	if (len == 0)
		value = "";
	valid = utf8_valid_prefix((const unsigned char *)value, len);
	if (valid != len) {
		describe_string(shown, sizeof(shown), key);
		return misuse(em, "%s(\"%s\") value is not valid UTF-8 or contains NUL (byte %zu)",
			      function, shown, valid);
	}
	return attach_value(em, key, key_len, json_object_new_string_len(value, (int)len),
			    false, len);
}

int emitter_set_string(struct pga_emitter *em, const char *key, const char *value)
{
	size_t key_len;
	char shown[SHOWN_LEN];
	int status = admit_value(em, "set_string", key, &key_len);

	if (status != PGA_OK)
		return status;
	if (value == NULL) {
		describe_string(shown, sizeof(shown), key);
		return misuse(em, "set_string(\"%s\") with a NULL value (use set_null)", shown);
	}
	/* Bounded scan: an over-long string is refused without reading all of it. */
	return attach_string(em, "set_string", key, key_len, value,
			     strnlen(value, EMITTER_MAX_STRING + 1));
}

/* (NULL, 0) is accepted as the empty string, as memcpy-style APIs allow. */
int emitter_set_stringn(struct pga_emitter *em, const char *key, const char *value,
			    size_t len)
{
	size_t key_len;
	int status = admit_value(em, "set_stringn", key, &key_len);

	if (status != PGA_OK)
		return status;
	return attach_string(em, "set_stringn", key, key_len, value, len);
}

/* ---- lifecycle ---- */

struct pga_emitter *emitter_create(const char *plugin_name)
{
	struct pga_emitter *em;

	if (plugin_name == NULL)
		return NULL;
	em = calloc(1, sizeof(*em));
	if (em == NULL)
		return NULL;
	em->plugin_name = strdup(plugin_name);
	if (em->plugin_name == NULL) {
		free(em);
		return NULL;
	}
	em->plugin_name_len = strlen(plugin_name);
	return em;
}

void emitter_destroy(struct pga_emitter *em)
{
	if (em == NULL)
		return;
	discard_record(em);
	json_object_put(em->records);
	free(em->plugin_name);
	free(em);
}

void emitter_begin_cycle(struct pga_emitter *em, uint64_t deadline_ns)
{
	discard_record(em);
	json_object_put(em->records);
	em->records = NULL;
	em->state = RECORD_NONE;
	em->deadline_ns = deadline_ns;
	em->deadline_passed = false;
	memset(&em->stats, 0, sizeof(em->stats));
}

json_object *emitter_end_cycle(struct pga_emitter *em, struct emitter_cycle_stats *stats)
{
	json_object *records;

	if (em->state == RECORD_OPEN)
		poison(em, PGA_EINVAL, "still open when collect returned (missing record_end)");
	abandon_record(em);

	records = em->records ? em->records : json_object_new_array();
	em->records = NULL;
	if (stats)
		*stats = em->stats;
	memset(&em->stats, 0, sizeof(em->stats));
	em->deadline_ns = 0;
	em->deadline_passed = false;
	return records;
}

void emitter_install(struct pga_host *host)
{
	host->record_begin = emitter_record_begin;
	host->record_end = emitter_record_end;
	host->record_timestamp = emitter_record_timestamp;
	host->object_begin = emitter_object_begin;
	host->object_end = emitter_object_end;
	host->array_begin = emitter_array_begin;
	host->array_end = emitter_array_end;
	host->set_int64 = emitter_set_int64;
	host->set_uint64 = emitter_set_uint64;
	host->set_double = emitter_set_double;
	host->set_bool = emitter_set_bool;
	host->set_string = emitter_set_string;
	host->set_stringn = emitter_set_stringn;
	host->set_null = emitter_set_null;
}

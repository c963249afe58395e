#include "emitter.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pganalytics/utf8.h>

#include "clock.h"
#include "json_text.h"
#include "log.h"

/* Bytes of a key kept per open container, only to name it in messages. */
#define FRAME_KEY_KEEP 48
/* Room for untrusted text escaped by describe_text (\xNN per byte). */
#define SHOWN_LEN (FRAME_KEY_KEEP * 4 + 4)
/* "2026-11-27T15:09:29.271Z": clock_format_rfc3339 always writes 24 characters. */
#define STAMP_LEN 24
/* 10000-01-01T00:00:00Z: from here on clock_format_rfc3339 clamps. */
#define LAST_RFC3339_SECOND ((time_t)253402300800LL)
/* Slots of a key set's first hash table; it doubles when half full. */
#define KEY_SET_MIN_SLOTS 16u

enum record_state {
	RECORD_NONE,      /* between records */
	RECORD_OPEN,      /* record_begin succeeded; values are being added */
	RECORD_POISONED   /* misuse seen: ignore calls until record_end */
};

/* One open container; frames[0] is the record object itself. */
struct frame {
	bool is_array;
	long index;              /* position in the parent array, or -1 */
	char key[FRAME_KEY_KEEP]; /* key in the parent object, maybe truncated */
	size_t key_len;
	size_t count;            /* members or elements written so far */
};

/*
 * The keys of one open object, to refuse a duplicate in O(1): an
 * open-addressing hash table of the keys' escaped text, which stays in the
 * record itself (slots hold its offset from the record's start, so that
 * the buffer may move).  Slots whose generation differs from the set's are
 * empty, so forgetting every key (the next object at this depth) costs one
 * increment, however many keys the previous object had.
 */
struct key_slot {
	uint32_t generation;
	uint32_t hash;
	uint32_t offset;         /* of the escaped key, from the record's first byte */
	uint32_t len;            /* of the escaped key */
};

struct key_set {
	struct key_slot *slots;  /* NULL until the first key */
	uint32_t mask;           /* slots - 1 (a power of two minus one) */
	uint32_t count;
	uint32_t generation;     /* of the object using the set now; never 0 */
};

struct pga_emitter {
	char *plugin_name;
	size_t plugin_name_len;
	/* `","plugin":"NAME","timestamp":"`: the same in every record, made once. */
	struct json_text host_members;
	struct record_batch *cycle;   /* this cycle's records; made lazily */
	struct json_text *out;        /* where the open record is written (in cycle) */
	/* The last record_begin time formatted, so that a second is formatted once. */
	time_t stamp_second;
	char stamp[CLOCK_RFC3339_LEN];
	size_t record_start;          /* offset of the open record's '{' in *out */
	size_t stamp_at;              /* offset of its timestamp's text, from record_start */
	enum record_state state;
	int poison_status;            /* what a poisoned record's calls return */
	uint64_t deadline_ns;         /* 0: none */
	bool deadline_passed;         /* latched once seen, so later calls are cheap */
	char type[EMITTER_MAX_TYPE_LEN + 1];
	size_t type_len;
	unsigned depth;               /* frames in use; 0 when no record data exists */
	struct frame frames[EMITTER_MAX_DEPTH + 1];
	struct key_set keys[EMITTER_MAX_DEPTH + 1];   /* keys[i] serves frames[i] */
	struct emitter_cycle_stats stats;
};

/* The host's own members at a record's top level, with their lengths. */
static const struct {
	const char *name;
	size_t len;
} reserved_keys[] = { { "type", 4 }, { "plugin", 6 }, { "timestamp", 9 } };

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

/* Forget the open record's text; the caller decides what state follows. */
static void discard_record(struct pga_emitter *em)
{
	if (em->depth > 0)
		record_batch_cancel_record(em->cycle);
	em->out = NULL;
	em->depth = 0;
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

/* ---- validation (UTF-8: sdk/include/pganalytics/utf8.h, shared with plugins) ---- */

/* Compares only keys of a reserved key's length: most top-level keys are not. */
static bool is_reserved_key(const char *key, size_t len)
{
	for (size_t i = 0; i < sizeof(reserved_keys) / sizeof(reserved_keys[0]); i++) {
		if (len == reserved_keys[i].len && memcmp(key, reserved_keys[i].name, len) == 0)
			return true;
	}
	return false;
}

/*
 * Check that `key` fits the innermost open container and store its length
 * in *key_len.  Duplicates are found later, once the key is written (see
 * place_key).  Returns PGA_OK, or poisons the record and returns PGA_EINVAL.
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
	valid = pga_utf8_valid_prefix((const unsigned char *)key, len);
	if (valid != len) {
		describe_text(shown, sizeof(shown), key, len);
		return misuse(em, "key \"%s\" is not valid UTF-8 (byte %zu)", shown, valid);
	}
	if (em->depth == 1 && is_reserved_key(key, len))
		return misuse(em, "reserved key \"%s\"", key);
	*key_len = len;
	return PGA_OK;
}

/* ---- duplicate keys ---- */

/*
 * Hash a key eight bytes at a time (a multiply and a shift per word, the
 * tail zero-padded, the length mixed in): every member's key is hashed, and
 * a byte-at-a-time hash is a chain of dependent multiplies.  The result
 * comes from the well-mixed high half; the table uses its low bits.
 */
static uint32_t hash_bytes(const char *bytes, size_t len)
{
	const uint64_t k = 0x9e3779b97f4a7c15ULL;
	uint64_t hash = len * k;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t word;

		memcpy(&word, bytes + i, sizeof(word));
		hash = ((hash ^ word) * k);
		hash ^= hash >> 29;
	}
	if (i < len) {
		uint64_t word = 0;

		/* Byte by byte: a variable-length memcpy would be a call and a stall. */
		for (unsigned shift = 0; i < len; i++, shift += 8)
			word |= (uint64_t)(unsigned char)bytes[i] << shift;
		hash = ((hash ^ word) * k);
	}
	hash ^= hash >> 32;
	hash *= k;
	return (uint32_t)(hash >> 32);
}

/* Forget every key: a new object starts using the set. */
static void key_set_reset(struct key_set *set)
{
	set->count = 0;
	if (++set->generation == 0) {
		/* After 2^32 objects at this depth old slots could look current. */
		if (set->slots)
			memset(set->slots, 0, ((size_t)set->mask + 1) * sizeof(*set->slots));
		set->generation = 1;
	}
}

static void key_set_free(struct key_set *set)
{
	free(set->slots);
	memset(set, 0, sizeof(*set));
}

/* Place `slot` in the first free slot of its probe sequence. */
static void key_set_put(struct key_set *set, struct key_slot slot)
{
	uint32_t i = slot.hash & set->mask;

	while (set->slots[i].generation == set->generation)
		i = (i + 1) & set->mask;
	set->slots[i] = slot;
	set->count++;
}

/* Double the table (or make the first one), keeping the current keys. */
static int key_set_grow(struct key_set *set)
{
	struct key_slot *old = set->slots;
	uint32_t old_size = old ? set->mask + 1 : 0;
	uint32_t size = old ? old_size * 2 : KEY_SET_MIN_SLOTS;
	struct key_slot *slots;

	if (size == 0 || (slots = calloc(size, sizeof(*slots))) == NULL)
		return -1;
	set->slots = slots;
	set->mask = size - 1;
	set->count = 0;
	for (uint32_t i = 0; i < old_size; i++) {
		if (old[i].generation == set->generation)
			key_set_put(set, old[i]);
	}
	free(old);
	return 0;
}

/*
 * Add the escaped key at record[offset..offset+len) to `set`.  Returns 0
 * when it is new, 1 when the object already has it, -1 when out of memory.
 * Escaping is one-to-one, so equal escaped text means equal keys.
 */
static int key_set_add(struct key_set *set, const char *record, uint32_t offset, uint32_t len)
{
	struct key_slot slot = { set->generation, hash_bytes(record + offset, len), offset, len };
	uint32_t i;

	/* At most half full, so that probe sequences stay short. */
	if ((set->slots == NULL || (set->count + 1) * 2 > set->mask + 1) && key_set_grow(set) != 0)
		return -1;
	for (i = slot.hash & set->mask; set->slots[i].generation == set->generation;
	     i = (i + 1) & set->mask) {
		const struct key_slot *seen = &set->slots[i];

		if (seen->hash == slot.hash && seen->len == len &&
		    memcmp(record + seen->offset, record + offset, len) == 0)
			return 1;
	}
	set->slots[i] = slot;
	set->count++;
	return 0;
}

/* ---- writing the open record ---- */

static int out_of_memory(struct pga_emitter *em)
{
	return poison(em, PGA_ENOMEM, "out of memory");
}

/* Bytes of the open record so far. */
static size_t record_len(const struct pga_emitter *em)
{
	return em->out->len - em->record_start;
}

/*
 * The record's size once every open container is closed (one byte each)
 * must stay within EMITTER_MAX_RECORD; checked after each value, so that a
 * record is refused as soon as it cannot fit.  Returns PGA_OK or poisons.
 */
static int check_record_size(struct pga_emitter *em)
{
	if (record_len(em) + em->depth > EMITTER_MAX_RECORD)
		return poisonf(em, PGA_EINVAL, "record larger than %u bytes", EMITTER_MAX_RECORD);
	return PGA_OK;
}

/* After a value's text was written (write_rc from json_text): ENOMEM, size. */
static int finish_value(struct pga_emitter *em, int write_rc)
{
	if (write_rc != 0)
		return out_of_memory(em);
	return check_record_size(em);
}

/*
 * Write `"key":` (escaped) into the innermost object and refuse it if the
 * object already has that key.
 */
static int place_key(struct pga_emitter *em, const char *key, size_t key_len)
{
	struct json_text *out = em->out;
	char shown[SHOWN_LEN];
	size_t at = out->len;
	int seen;

	if (json_text_append_string(out, key, key_len) != 0 || json_text_append_char(out, ':') != 0)
		return out_of_memory(em);
	/* The escaped key lies between the quotes: at + 1 .. len - 2. */
	seen = key_set_add(&em->keys[em->depth - 1], out->data + em->record_start,
			   (uint32_t)(at + 1 - em->record_start), (uint32_t)(out->len - at - 3));
	if (seen < 0)
		return out_of_memory(em);
	if (seen > 0) {
		describe_text(shown, sizeof(shown), key, key_len);
		return misuse(em, "duplicate key \"%s\"", shown);
	}
	return PGA_OK;
}

/*
 * Start a value in the innermost container: the ',' after an earlier one,
 * and `"key":` in an object.  Returns PGA_OK or poisons the record.
 */
static int place_value(struct pga_emitter *em, const char *key)
{
	struct frame *top = &em->frames[em->depth - 1];
	size_t key_len;
	int status = check_key(em, key, &key_len);

	if (status != PGA_OK)
		return status;
	if (top->count > 0 && json_text_append_char(em->out, ',') != 0)
		return out_of_memory(em);
	if (!top->is_array && (status = place_key(em, key, key_len)) != PGA_OK)
		return status;
	top->count++;
	return PGA_OK;
}

/*
 * The common gate of every call that adds a value: the deadline, an open
 * and healthy record, a key that fits.  On PGA_OK the value's place (the
 * separator and key) is written and the caller writes the value; otherwise
 * returns the status the call must return.
 */
static int admit_value(struct pga_emitter *em, const char *function, const char *key)
{
	if (em->deadline_passed)
		return PGA_EDEADLINE;
	if (em->state == RECORD_NONE)
		return stray_call(em, function, key);
	if (em->state == RECORD_POISONED)
		return em->poison_status;
	return place_value(em, key);
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

/*
 * Write the members the host puts first in every record: type, plugin and
 * the time of record_begin, which record_timestamp may overwrite in place.
 * The type needs no escaping: it is [a-z0-9_]+.
 */
/*
 * `when` as RFC 3339, in em->stamp.  Records come thousands per second:
 * within the second last formatted only the milliseconds change, which
 * saves a gmtime_r and an snprintf per record.
 */
static const char *stamp_of(struct pga_emitter *em, const struct timespec *when)
{
	struct timespec now = *when;
	long millis;

	/* Clamped times (see clock.h) keep their own milliseconds: not cached. */
	if (em->stamp[0] == '\0' || now.tv_sec != em->stamp_second || now.tv_sec < 0 ||
	    now.tv_sec >= LAST_RFC3339_SECOND || now.tv_nsec < 0 || now.tv_nsec > 999999999L) {
		clock_format_rfc3339(&now, em->stamp);
		em->stamp_second = now.tv_sec;
		return em->stamp;
	}
	/* "YYYY-MM-DDTHH:MM:SS.mmmZ": the milliseconds are characters 20..22. */
	millis = now.tv_nsec / 1000000L;
	em->stamp[20] = (char)('0' + millis / 100);
	em->stamp[21] = (char)('0' + millis / 10 % 10);
	em->stamp[22] = (char)('0' + millis % 10);
	return em->stamp;
}

static int write_host_members(struct pga_emitter *em, const struct timespec *when)
{
	struct json_text *out = em->out;
	const char *stamp = stamp_of(em, when);

	if (json_text_append(out, "{\"type\":\"", 9) != 0 ||
	    json_text_append(out, em->type, em->type_len) != 0 ||
	    json_text_append(out, em->host_members.data, em->host_members.len) != 0)
		return -1;
	em->stamp_at = record_len(em);
	if (json_text_append(out, stamp, STAMP_LEN) != 0 || json_text_append_char(out, '"') != 0)
		return -1;
	return 0;
}

/* Open the record's text in this cycle's batch, with the host members. */
static int open_record(struct pga_emitter *em, const struct timespec *when)
{
	if (em->cycle == NULL && (em->cycle = record_batch_new()) == NULL)
		return out_of_memory(em);
	em->out = record_batch_begin_record(em->cycle, &em->record_start);
	if (em->out == NULL)
		return out_of_memory(em);
	em->frames[0] = (struct frame){ .is_array = false, .index = -1 };
	key_set_reset(&em->keys[0]);
	em->depth = 1;
	if (write_host_members(em, when) != 0)
		return out_of_memory(em);
	em->frames[0].count = 3;
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
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return emitter_record_begin_at(em, type, &now);
}

int emitter_record_begin_at(struct pga_emitter *em, const char *type, const struct timespec *when)
{
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
	return open_record(em, when);
}

int emitter_record_timestamp(struct pga_emitter *em, int64_t unix_ns)
{
	struct timespec when = { (time_t)(unix_ns / 1000000000LL), (long)(unix_ns % 1000000000LL) };
	char stamp[CLOCK_RFC3339_LEN];

	if (deadline_overrun(em))
		return PGA_EDEADLINE;
	if (em->state == RECORD_NONE)
		return stray_call(em, "record_timestamp", NULL);
	if (em->state == RECORD_POISONED)
		return em->poison_status;
	if (unix_ns < 0)
		return misuse(em, "record_timestamp(%lld): before 1970", (long long)unix_ns);
	clock_format_rfc3339(&when, stamp);
	/* Same length, same place: the timestamp keeps its place among the first keys. */
	memcpy(em->out->data + em->record_start + em->stamp_at, stamp, STAMP_LEN);
	return PGA_OK;
}

/*
 * Close the finished record and count it in this cycle's batch.  Its size
 * was checked with this '}' counted, after its last value.
 */
static int keep_record(struct pga_emitter *em)
{
	int status;

	if (json_text_append_char(em->out, '}') != 0) {
		status = out_of_memory(em);
		abandon_record(em);
		return status;
	}
	record_batch_end_record(em->cycle);
	em->out = NULL;
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

/*
 * Describe the container being opened, for later messages.  Its place in
 * the parent is already taken (place_value counted it).
 */
static void fill_frame(const struct pga_emitter *em, struct frame *f, bool is_array,
		       const char *key)
{
	const struct frame *parent = &em->frames[em->depth - 1];

	*f = (struct frame){ .is_array = is_array, .index = -1 };
	if (parent->is_array) {
		f->index = (long)parent->count - 1;
	} else {
		size_t key_len = strnlen(key, FRAME_KEY_KEEP);

		f->key_len = key_len;
		memcpy(f->key, key, key_len);
	}
}

static int begin_container(struct pga_emitter *em, const char *function, const char *key,
			   bool is_array)
{
	struct frame frame;
	int status = admit_value(em, function, key);

	if (status != PGA_OK)
		return status;
	if (em->depth > EMITTER_MAX_DEPTH)
		return misuse(em, "%s nests deeper than %d levels", function, EMITTER_MAX_DEPTH);
	fill_frame(em, &frame, is_array, key);
	if (json_text_append_char(em->out, is_array ? '[' : '{') != 0)
		return out_of_memory(em);
	em->frames[em->depth] = frame;
	if (!is_array)
		key_set_reset(&em->keys[em->depth]);
	em->depth++;
	return check_record_size(em);
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
	/* The closing byte was counted in the size since the container opened. */
	if (json_text_append_char(em->out, is_array ? ']' : '}') != 0)
		return out_of_memory(em);
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
 * Each setter admits the key (writing it) first and the value after: a
 * poisoned record costs no formatting.
 */
int emitter_set_int64(struct pga_emitter *em, const char *key, int64_t value)
{
	int status = admit_value(em, "set_int64", key);

	if (status != PGA_OK)
		return status;
	return finish_value(em, json_text_append_int64(em->out, value));
}

int emitter_set_uint64(struct pga_emitter *em, const char *key, uint64_t value)
{
	int status = admit_value(em, "set_uint64", key);

	if (status != PGA_OK)
		return status;
	return finish_value(em, json_text_append_uint64(em->out, value));
}

int emitter_set_bool(struct pga_emitter *em, const char *key, int value)
{
	int status = admit_value(em, "set_bool", key);

	if (status != PGA_OK)
		return status;
	return finish_value(em, json_text_append_bool(em->out, value != 0));
}

int emitter_set_null(struct pga_emitter *em, const char *key)
{
	int status = admit_value(em, "set_null", key);

	if (status != PGA_OK)
		return status;
	return finish_value(em, json_text_append_null(em->out));
}

int emitter_set_double(struct pga_emitter *em, const char *key, double value)
{
	char shown[SHOWN_LEN];
	int status = admit_value(em, "set_double", key);

	if (status != PGA_OK)
		return status;
	if (!isfinite(value)) {
		describe_string(shown, sizeof(shown), key);
		return misuse(em, "set_double(\"%s\") with a non-finite value (%s)", shown,
			      isnan(value) ? "NaN" : "infinity");
	}
	return finish_value(em, json_text_append_double(em->out, value));
}

/* Validate and write `len` bytes of string value (not NUL-terminated). */
static int write_string(struct pga_emitter *em, const char *function, const char *key,
			const char *value, size_t len)
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
	valid = len ? pga_utf8_valid_prefix((const unsigned char *)value, len) : 0;
	if (valid != len) {
		describe_string(shown, sizeof(shown), key);
		return misuse(em, "%s(\"%s\") value is not valid UTF-8 or contains NUL (byte %zu)",
			      function, shown, valid);
	}
	return finish_value(em, json_text_append_string(em->out, value, len));
}

int emitter_set_string(struct pga_emitter *em, const char *key, const char *value)
{
	char shown[SHOWN_LEN];
	int status = admit_value(em, "set_string", key);

	if (status != PGA_OK)
		return status;
	if (value == NULL) {
		describe_string(shown, sizeof(shown), key);
		return misuse(em, "set_string(\"%s\") with a NULL value (use set_null)", shown);
	}
	/* Bounded scan: an over-long string is refused without reading all of it. */
	return write_string(em, "set_string", key, value, strnlen(value, EMITTER_MAX_STRING + 1));
}

/* (NULL, 0) is accepted as the empty string, as memcpy-style APIs allow. */
int emitter_set_stringn(struct pga_emitter *em, const char *key, const char *value,
			    size_t len)
{
	int status = admit_value(em, "set_stringn", key);

	if (status != PGA_OK)
		return status;
	return write_string(em, "set_stringn", key, value, len);
}

/* ---- lifecycle ---- */

/*
 * `","plugin":"NAME","timestamp":"` (closing the type's string), escaped
 * once for every record.
 */
static int make_host_members(struct pga_emitter *em)
{
	struct json_text *t = &em->host_members;

	if (json_text_append(t, "\",\"plugin\":", 11) != 0 ||
	    json_text_append_string(t, em->plugin_name, em->plugin_name_len) != 0 ||
	    json_text_append(t, ",\"timestamp\":\"", 14) != 0)
		return -1;
	return 0;
}

struct pga_emitter *emitter_create(const char *plugin_name)
{
	struct pga_emitter *em;

	if (plugin_name == NULL)
		return NULL;
	em = calloc(1, sizeof(*em));
	if (em == NULL)
		return NULL;
	em->plugin_name = strdup(plugin_name);
	em->plugin_name_len = strlen(plugin_name);
	if (em->plugin_name == NULL || make_host_members(em) != 0) {
		emitter_destroy(em);
		return NULL;
	}
	return em;
}

void emitter_destroy(struct pga_emitter *em)
{
	if (em == NULL)
		return;
	discard_record(em);
	record_batch_free(em->cycle);
	for (size_t i = 0; i < sizeof(em->keys) / sizeof(em->keys[0]); i++)
		key_set_free(&em->keys[i]);
	json_text_free(&em->host_members);
	free(em->plugin_name);
	free(em);
}

void emitter_begin_cycle(struct pga_emitter *em, uint64_t deadline_ns)
{
	discard_record(em);
	record_batch_free(em->cycle);
	em->cycle = NULL;
	em->state = RECORD_NONE;
	em->deadline_ns = deadline_ns;
	em->deadline_passed = false;
	memset(&em->stats, 0, sizeof(em->stats));
}

struct record_batch *emitter_end_cycle(struct pga_emitter *em, struct emitter_cycle_stats *stats)
{
	struct record_batch *records;

	if (em->state == RECORD_OPEN)
		poison(em, PGA_EINVAL, "still open when collect returned (missing record_end)");
	abandon_record(em);

	records = em->cycle ? em->cycle : record_batch_new();
	em->cycle = NULL;
	/* No more records go into it: give back what doubling reserved. */
	if (records)
		record_batch_trim(records);
	if (stats)
		*stats = em->stats;
	memset(&em->stats, 0, sizeof(em->stats));
	em->deadline_ns = 0;
	em->deadline_passed = false;
	return records;
}

size_t emitter_cycle_bytes(const struct pga_emitter *em)
{
	return em->cycle ? record_batch_bytes(em->cycle) : 0;
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

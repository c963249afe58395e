/*
 * emitter.h - the host side of the plugin emitter: the record_begin ...
 * set_null functions of struct pga_host.  A plugin streams records through
 * them; the emitter validates every call and writes each record as compact
 * JSON text (json_text.h) straight into this cycle's record batch, text
 * that can never be invalid JSON, whatever the plugin does.
 *
 * One emitter belongs to one plugin instance and is used by one thread at a
 * time (the plugin's collect thread).  A cycle is one collect call:
 *
 *     emitter_begin_cycle(em, deadline);
 *     plugin->collect(state, em);        // calls the host->record_* etc.
 *     records = emitter_end_cycle(em, &stats);
 *
 * Misuse (see plugin.h and the rules below) returns PGA_EINVAL and poisons
 * the open record: later calls return the same status and do nothing until
 * record_end, which drops the record, counts it in records_invalid and
 * returns PGA_EINVAL.  record_begin while a record is open drops the open
 * record (counted) and poisons the new one, so each lost record is counted
 * once.  A call while no record is open is counted on its own.
 *
 * Limits: record type [a-z0-9_]{1,63}; containers nest at most
 * EMITTER_MAX_DEPTH levels below the record; a string value (or key) is at
 * most EMITTER_MAX_STRING bytes; a record's text (compact JSON, the host
 * members included) is at most EMITTER_MAX_RECORD bytes, checked after
 * every value.
 *
 * Duplicate keys are found per object in O(1) amortised per key, whatever
 * the number of keys.
 */
#ifndef PGA_CORE_EMITTER_H
#define PGA_CORE_EMITTER_H

#include <stdint.h>
#include <time.h>

#include <pganalytics/plugin.h>

#include "record_batch.h"

#define EMITTER_MAX_TYPE_LEN 63
#define EMITTER_MAX_DEPTH 32
#define EMITTER_MAX_STRING (1024u * 1024u)
#define EMITTER_MAX_RECORD (16u * 1024u * 1024u)

struct emitter_cycle_stats {
	uint64_t records_emitted;   /* complete, valid records this cycle */
	uint64_t records_invalid;   /* dropped for misuse (incl. an open record at cycle end) */
	char first_error[256];      /* "" or e.g. `record "pg_stats": duplicate key "x" in object "wal"` */
};

/*
 * emitter_create - a new emitter for the plugin called `plugin_name`
 * (copied; it becomes the "plugin" member of every record).  Returns NULL
 * when out of memory or when plugin_name is NULL.  Free with
 * emitter_destroy().
 */
struct pga_emitter *emitter_create(const char *plugin_name);

/*
 * emitter_destroy - free `em` and every record it still holds (those of a
 * cycle that was never ended).  NULL is allowed.
 */
void emitter_destroy(struct pga_emitter *em);

/*
 * emitter_begin_cycle - start a collect cycle: forget the records and
 * statistics of a cycle that was not ended, and remember the deadline.
 * deadline_ns is a clock_monotonic_ns() value; once it has passed,
 * record_begin and record_end return PGA_EDEADLINE (and from then on every
 * emitter call does, without effect).  0 means no deadline.
 */
void emitter_begin_cycle(struct pga_emitter *em, uint64_t deadline_ns);

/*
 * emitter_end_cycle - finish the cycle.  A record still open is dropped and
 * counted as invalid.  Fills *stats (which may be NULL) with the cycle's
 * counts and first error.  Returns the complete records in emission order,
 * as a batch of compact JSON text owned by the caller (free it with
 * record_batch_free; possibly empty; NULL only when out of memory).
 * Records ended before a deadline overrun are returned too: the caller
 * decides whether an overrun cycle counts.
 */
struct record_batch *emitter_end_cycle(struct pga_emitter *em,
				       struct emitter_cycle_stats *stats);

/*
 * emitter_cycle_bytes - the size of this cycle's complete records so far
 * (their JSON text, as record_batch_bytes counts it), so that a caller can
 * bound what a cycle may cost it.
 */
size_t emitter_cycle_bytes(const struct pga_emitter *em);

/*
 * The emitter members of struct pga_host (see plugin.h for what each does
 * and returns).  host.c puts them in the vtable plugins receive.
 */
int emitter_record_begin(struct pga_emitter *em, const char *type);
int emitter_record_end(struct pga_emitter *em);
int emitter_record_timestamp(struct pga_emitter *em, int64_t unix_ns);
int emitter_object_begin(struct pga_emitter *em, const char *key);
int emitter_object_end(struct pga_emitter *em);
int emitter_array_begin(struct pga_emitter *em, const char *key);
int emitter_array_end(struct pga_emitter *em);
int emitter_set_int64(struct pga_emitter *em, const char *key, int64_t value);
int emitter_set_uint64(struct pga_emitter *em, const char *key, uint64_t value);
int emitter_set_double(struct pga_emitter *em, const char *key, double value);
int emitter_set_bool(struct pga_emitter *em, const char *key, int value);
int emitter_set_string(struct pga_emitter *em, const char *key, const char *value);
int emitter_set_stringn(struct pga_emitter *em, const char *key, const char *value, size_t len);
int emitter_set_null(struct pga_emitter *em, const char *key);

/*
 * emitter_record_begin_at - record_begin with the record's default
 * timestamp given instead of read from the clock: the time a worker
 * process saw the call (docs/ISOLATION.md), so that a replayed record
 * carries the same timestamp it would have had on a thread.
 */
int emitter_record_begin_at(struct pga_emitter *em, const char *type, const struct timespec *when);

/*
 * emitter_install - point the 14 emitter members of `host` (record_begin
 * through set_null) at this implementation.  Leaves every other member as
 * it is.
 */
void emitter_install(struct pga_host *host);

#endif

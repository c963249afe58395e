/*
 * payload.h - the envelope around one batch of records: what the backend's
 * push endpoint receives and what the local outputs write (DESIGN.md,
 * "Envelope"; docs/PAYLOAD.md is the schema).
 *
 * A payload is kept as the envelope's opening text plus the record batch
 * itself: the records are never copied into one big document.  Writers
 * stream it (payload_write) into wherever it goes: a gzip stream, a file,
 * the pretty printer.
 */
#ifndef PGA_CORE_PAYLOAD_H
#define PGA_CORE_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "json_text.h"
#include "record_batch.h"

struct payload_header {
	const char *collector_id;  /* NULL -> JSON null (not registered yet) */
	const char *hostname;      /* NULL -> JSON null */
	const char *version;       /* collector version; NULL -> JSON null */
	uint64_t seq;              /* batch sequence, so the backend can drop replays */
	struct timespec created;   /* CLOCK_REALTIME when the batch was made */
};

struct payload;

/*
 * payload_build - wrap `records` in the envelope
 *     {collector_id, hostname, timestamp, version, seq, metrics_count, metrics}
 * with the keys in exactly that order, compact; timestamp is `created` in
 * RFC 3339 UTC with milliseconds, metrics_count the number of records,
 * metrics the records in batch order.
 *
 * h        read only; its strings are copied (escaped) into the payload.
 * records  ownership passes to the payload, also on failure (then it is
 *          freed).  It must have no record open.
 * Returns the payload (free it with payload_free), or NULL when out of
 * memory or when `records` is NULL.
 */
struct payload *payload_build(const struct payload_header *h, struct record_batch *records);

/* payload_free - free the payload and its records.  NULL is allowed. */
void payload_free(struct payload *p);

/* payload_seq - the header's seq. */
uint64_t payload_seq(const struct payload *p);

/* payload_record_count - metrics_count: the records the payload carries. */
size_t payload_record_count(const struct payload *p);

/* payload_text_length - the bytes payload_write() gives its sink in all. */
size_t payload_text_length(const struct payload *p);

/*
 * payload_write - give `sink` the payload as compact JSON text, in pieces
 * (the envelope's opening, the records chunk by chunk, the closing "]}"),
 * payload_text_length() bytes in all, no trailing newline.  The pieces
 * point into the payload or into constant memory: a sink may keep the
 * pointers as long as the payload lives.  Returns 0, or the first nonzero
 * value the sink returned (then it stops).
 */
int payload_write(const struct payload *p, json_sink_fn sink, void *ctx);

/*
 * payload_text - the whole payload as one NUL-terminated compact JSON
 * string (malloc'd, caller frees), its length in *len (may be NULL).  A
 * copy of every record: for tests and tools; the outputs stream instead.
 * NULL when out of memory.
 */
char *payload_text(const struct payload *p, size_t *len);

#endif

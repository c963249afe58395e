/*
 * payload.h - the envelope around one batch of records: what the backend's
 * push endpoint receives and what the local outputs write (DESIGN.md,
 * "Envelope"; docs/PAYLOAD.md is the schema).
 */
#ifndef PGA_CORE_PAYLOAD_H
#define PGA_CORE_PAYLOAD_H

#include <stdint.h>
#include <time.h>

#include <json.h>

struct payload_header {
	const char *collector_id;  /* NULL -> JSON null (not registered yet) */
	const char *hostname;      /* NULL -> JSON null */
	const char *version;       /* collector version; NULL -> JSON null */
	uint64_t seq;              /* batch sequence, so the backend can drop replays */
	struct timespec created;   /* CLOCK_REALTIME when the batch was made */
};

/*
 * payload_build - wrap `metrics` in the envelope
 *     {collector_id, hostname, timestamp, version, seq, metrics_count, metrics}
 * with the keys in exactly that order; timestamp is `created` in RFC 3339
 * UTC with milliseconds, metrics_count the length of `metrics`.
 *
 * h        read only; its strings are copied.
 * metrics  a JSON array of records; ownership passes to the envelope, also
 *          on failure (then it is freed).
 * Returns the envelope (the caller owns it and frees it with
 * json_object_put), or NULL when out of memory or when `metrics` is not an
 * array.
 */
json_object *payload_build(const struct payload_header *h, json_object *metrics);

#endif

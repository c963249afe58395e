/*
 * delivery.h - getting payloads to the backend without losing one.
 *
 * delivery_submit() writes the gzip body to the spool (durably) and returns;
 * a thread of its own sends spooled batches oldest first:
 *   2xx          removed from the spool;
 *   401          token refreshed (or re-signed), sent once more;
 *   other 4xx    moved to spool/rejected/ with the backend's answer, logged;
 *   5xx, network retried with exponential backoff and jitter, capped.
 * Registration happens on that thread too when no credentials are stored,
 * so an unreachable backend at start-up only delays delivery; so does the
 * configuration pull (GET /api/v1/config/{id}) every config_pull_interval.
 */
#ifndef PGA_CORE_DELIVERY_H
#define PGA_CORE_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json.h>

#include "config.h"

struct delivery_settings {
	const struct backend_settings *backend;
	const char *state_dir;
	const char *hostname;
	const char *configured_id;   /* collector.id; "" when unset */
	long push_interval_s;        /* the retry backoff is capped near it */
	long config_pull_interval_s; /* 0: never pull the configuration */
};

/*
 * A configuration pulled from the backend is written to state_dir as
 * DELIVERY_PULLED_CONFIG (with its version in DELIVERY_PULLED_VERSION) and
 * the process gets a SIGHUP; the reload validates it and either renames it
 * to CONFIG_REMOTE_FILE (version: DELIVERY_APPLIED_VERSION) or deletes it.
 */
#define DELIVERY_PULLED_CONFIG "remote.conf.new"
#define DELIVERY_PULLED_VERSION "remote.version.new"
#define DELIVERY_APPLIED_VERSION "remote.version"

struct delivery;

/*
 * delivery_start - check the client certificate (refused: missing,
 * unreadable, key mismatch, expired; warned: fewer than 14 days left), read
 * secrets, open the spool and start the sending thread.  Returns NULL with
 * err filled.
 */
struct delivery *delivery_start(const struct delivery_settings *settings, char *err,
				size_t err_len);

/*
 * delivery_submit - spool one payload (its gzip body) under `seq`.  Returns
 * 0 once it is on disk; -1 with err filled when a later try may succeed;
 * -2 when it never can (see spool_put()).
 */
int delivery_submit(struct delivery *d, uint64_t seq, const void *body, size_t len,
		    char *err, size_t err_len);

/*
 * delivery_drain - wait until the spool is empty, a push fails, or
 * timeout_ns has passed.  Returns true when everything was delivered.
 */
bool delivery_drain(struct delivery *d, uint64_t timeout_ns);

/* delivery_max_seq - the highest seq in the spool (0: empty). */
uint64_t delivery_max_seq(struct delivery *d);

/*
 * delivery_collector_id - the registered collector id (malloc'd copy), or
 * NULL before registration.
 */
char *delivery_collector_id(struct delivery *d);

/* delivery_health - add a "delivery" object with counters to `record`. */
void delivery_health(struct delivery *d, json_object *record);

/*
 * delivery_stop - stop the thread (a request in flight finishes or times
 * out) and free everything.  What is still spooled is sent after the next
 * start.  NULL is fine.
 */
void delivery_stop(struct delivery *d);

/*
 * delivery_register - register now, in the calling thread, and store the
 * credentials (--register).  Returns 0, or -1 with err filled.
 */
int delivery_register(const struct delivery_settings *settings, char *err, size_t err_len);

#endif

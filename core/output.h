/*
 * output.h - where finished payloads go: the backend, standard output or a
 * local file.
 *
 * Destinations:
 *   "https://host[:port]" the pgAnalytics backend: each payload is gzipped,
 *                        spooled durably and sent by delivery.c's thread;
 *                        delivering means "safely spooled";
 *   "-"                  readable (pretty) JSON on standard output, one
 *                        payload followed by a newline, flushed each time;
 *   "file:///abs/path"   one compact JSON payload per line, appended; each
 *                        payload is fsync'ed, and a failed write is cut back
 *                        so that no half line stays in the file;
 *   "file:///abs/p.gz"   the same lines, each written as its own gzip member
 *                        appended to the file (`gzip -dc` yields the lines).
 * The path of a file URL is used as written (no %-decoding).  The file is
 * created with mode 0640 (before umask).  "http://" is refused: payloads
 * and credentials never travel in clear text.
 *
 * An output is used by one thread at a time.
 */
#ifndef PGA_CORE_OUTPUT_H
#define PGA_CORE_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json.h>

#include "delivery.h"
#include "payload.h"

struct output;

/*
 * output_open - parse `destination` and open it (a file is opened or
 * created now, so a bad path is reported at startup, not at the first push).
 * Returns the output, or NULL with a message naming the destination (and
 * the accepted forms when it is not one of them) in err[0..err_len); err
 * may be NULL.  `backend` is needed for https:// (NULL refuses it).  Close
 * with output_close().
 */
struct output *output_open(const char *destination, const struct delivery_settings *backend,
			   char *err, size_t err_len);

/*
 * output_min_next_seq - the lowest seq the next payload may carry: one more
 * than any batch still spooled (1 for local outputs).
 */
uint64_t output_min_next_seq(struct output *out);

/* output_collector_id - the id registration gave (malloc'd), or NULL. */
char *output_collector_id(struct output *out);

/*
 * output_finish - before exiting: give the backend up to timeout_ns to
 * take what is spooled.  True when nothing is left undelivered (always for
 * local outputs).
 */
bool output_finish(struct output *out, uint64_t timeout_ns);

/* output_health - add the output's own counters to the collector record. */
void output_health(struct output *out, json_object *record);

/*
 * output_deliver - write one payload (borrowed: it can be delivered again
 * after a failure).  It is streamed: pretty-printed to standard output,
 * written to a file as iovecs of its own pieces, or compressed as it is
 * written for a .gz file and for the backend, never assembled as one text
 * first.  Returns 0 once the payload is written (and, for files, on disk),
 * or -1 with a message naming the destination and the system error in
 * err[0..err_len); after a failure a regular file is cut back to the size
 * it had before the call (the message says so if even that failed).  -2
 * (instead of -1) means the payload can never be taken (the spool refuses
 * it for good): do not retry.
 */
int output_deliver(struct output *out, const struct payload *payload, char *err,
		   size_t err_len);

/* output_close - flush and close `out` and free it.  NULL is allowed. */
void output_close(struct output *out);

#endif

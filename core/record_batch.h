/*
 * record_batch.h - complete records as compact JSON text, in order: what a
 * plugin's cycle produced, what waits for the next payload, what a payload
 * carries.
 *
 * A batch is a list of chunks.  Each chunk is one buffer holding records
 * joined by ',' (exactly as they appear inside the payload's "metrics"
 * array) and the offset where each record starts.  So:
 *   - the emitter writes a record straight into the last chunk
 *     (record_batch_begin_record ... _end_record), with no copy afterwards;
 *   - moving records from one batch to another moves chunks, not text;
 *   - writing a batch out is one piece per chunk.
 * Dropping the oldest records only moves a chunk's first live record; a
 * chunk is freed once all its records are dropped.
 *
 * A batch is not thread-safe: one thread at a time (pending.c locks).
 */
#ifndef PGA_CORE_RECORD_BATCH_H
#define PGA_CORE_RECORD_BATCH_H

#include <stddef.h>

#include "json_text.h"

struct record_batch;

/* record_batch_new - an empty batch, or NULL when out of memory. */
struct record_batch *record_batch_new(void);

/* record_batch_free - free the batch and all its records.  NULL is allowed. */
void record_batch_free(struct record_batch *b);

/* record_batch_count - complete records in the batch (an open one is not counted). */
size_t record_batch_count(const struct record_batch *b);

/*
 * record_batch_bytes - the length of the batch's JSON text as
 * record_batch_write() writes it: every complete record, with one ','
 * between two records.  0 for an empty batch.
 */
size_t record_batch_bytes(const struct record_batch *b);

/*
 * record_batch_append - copy one complete record (`len` bytes of compact
 * JSON at `json`, not checked) to the end of the batch.  It goes into the
 * last chunk when that has room, else into a new chunk, so that appending
 * never moves a large buffer.  Returns 0, or -1 when out of memory (the
 * batch is unchanged).  Not while a record is open.
 */
int record_batch_append(struct record_batch *b, const char *json, size_t len);

/*
 * record_batch_begin_record - open a record at the end of the batch, for
 * a writer that produces it in place.  Returns the buffer to append the
 * record's text to (it already holds earlier records: write only at its
 * end, and keep no pointer into its data across appends) and stores in
 * *start the offset of the record's first byte in it.  NULL when out of
 * memory.  The buffer belongs to the batch and is valid until the record
 * is ended or cancelled.  One record at a time.
 */
struct json_text *record_batch_begin_record(struct record_batch *b, size_t *start);

/*
 * record_batch_end_record - the open record is complete: count it.  Cannot
 * fail (begin_record reserved what it needs).
 */
void record_batch_end_record(struct record_batch *b);

/* record_batch_cancel_record - forget the open record (if any) and its text. */
void record_batch_cancel_record(struct record_batch *b);

/*
 * record_batch_trim - give back the unused capacity of the last chunk, once
 * no more records will be written into it (the emitter does this at the
 * end of a cycle).  Never fails; the records are unchanged.
 */
void record_batch_trim(struct record_batch *b);

/*
 * record_batch_move - move every record of `src` to the end of `dst`, in
 * order, without copying their text.  `src` is left empty and can be
 * reused or freed.  Neither batch may have a record open.
 */
void record_batch_move(struct record_batch *dst, struct record_batch *src);

/*
 * record_batch_drop_oldest - drop the first `n` records (all of them when
 * n >= count).  Returns the number dropped.  Not while a record is open.
 */
size_t record_batch_drop_oldest(struct record_batch *b, size_t n);

/*
 * record_batch_get - the text of record `index` (0 is the oldest): its
 * first byte in *json (borrowed; valid until the batch changes) and its
 * length in *len.  Returns 0, or -1 when index >= count.  Walks the chunk
 * list: meant for tests and tools, not for writing a whole batch.
 */
int record_batch_get(const struct record_batch *b, size_t index, const char **json,
		     size_t *len);

/*
 * record_batch_write - give `sink` the batch's text (record_batch_bytes()
 * bytes: the records joined by ','), in one piece per chunk plus the ','
 * between chunks.  Nothing for an empty batch.  Returns 0, or the first
 * nonzero value the sink returned (then it stops).
 */
int record_batch_write(const struct record_batch *b, json_sink_fn sink, void *ctx);

#endif

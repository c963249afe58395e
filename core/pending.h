/*
 * pending.h - records that plugins have finished and the next payload has
 * not taken yet.  Plugin threads add, the push takes; bounded so that a
 * backend outage cannot exhaust memory, and every record dropped at the
 * bound is counted.  Records stay the text the emitter wrote: adding and
 * taking move chunks of it, never copy it.
 */
#ifndef PGA_CORE_PENDING_H
#define PGA_CORE_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "record_batch.h"

struct pending_queue;

/* pending_create - an empty queue holding at most max_records; NULL on ENOMEM. */
struct pending_queue *pending_create(size_t max_records);

/* pending_destroy - free the queue and every record in it; NULL is fine. */
void pending_destroy(struct pending_queue *queue);

/*
 * pending_add - append every record of `records` (ownership taken, also of
 * an empty batch; NULL is allowed and adds nothing).  When the bound is
 * reached the oldest records are dropped, queued ones first; a batch larger
 * than the whole bound keeps only its newest records.  Returns the number
 * dropped by this call.
 */
size_t pending_add(struct pending_queue *queue, struct record_batch *records);

/*
 * pending_take - all queued records, oldest first (caller owns; an empty
 * batch when none; NULL on ENOMEM, the records then stay queued).
 * *dropped receives the records dropped at the bound since the last take.
 */
struct record_batch *pending_take(struct pending_queue *queue, uint64_t *dropped);

#endif

#include "pending.h"

#include <pthread.h>
#include <stdlib.h>

struct pending_queue {
	pthread_mutex_t lock;
	struct record_batch *records;   /* oldest first */
	size_t max_records;
	uint64_t dropped;
};

struct pending_queue *pending_create(size_t max_records)
{
	struct pending_queue *queue = calloc(1, sizeof(*queue));

	if (!queue)
		return NULL;
	queue->records = record_batch_new();
	if (!queue->records) {
		free(queue);
		return NULL;
	}
	pthread_mutex_init(&queue->lock, NULL);
	queue->max_records = max_records ? max_records : 1;
	return queue;
}

void pending_destroy(struct pending_queue *queue)
{
	if (!queue)
		return;
	record_batch_free(queue->records);
	pthread_mutex_destroy(&queue->lock);
	free(queue);
}

/* Drop the oldest queued records so that `incoming` more fit; returns how many. */
static size_t make_room(struct pending_queue *queue, size_t incoming)
{
	size_t queued = record_batch_count(queue->records);

	if (queued + incoming <= queue->max_records)
		return 0;
	return record_batch_drop_oldest(queue->records, queued + incoming - queue->max_records);
}

size_t pending_add(struct pending_queue *queue, struct record_batch *records)
{
	size_t n, dropped = 0;

	if (!records)
		return 0;
	n = record_batch_count(records);
	/* A batch larger than the whole bound keeps only its newest part. */
	if (n > queue->max_records)
		dropped = record_batch_drop_oldest(records, n - queue->max_records);
	pthread_mutex_lock(&queue->lock);
	dropped += make_room(queue, record_batch_count(records));
	record_batch_move(queue->records, records);
	queue->dropped += dropped;
	pthread_mutex_unlock(&queue->lock);
	record_batch_free(records);
	return dropped;
}

struct record_batch *pending_take(struct pending_queue *queue, uint64_t *dropped)
{
	struct record_batch *fresh = record_batch_new();
	struct record_batch *taken;

	if (!fresh)
		return NULL;
	pthread_mutex_lock(&queue->lock);
	taken = queue->records;
	queue->records = fresh;
	*dropped = queue->dropped;
	queue->dropped = 0;
	pthread_mutex_unlock(&queue->lock);
	return taken;
}

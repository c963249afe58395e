#include "pending.h"

#include <pthread.h>
#include <stdlib.h>

struct pending_queue {
	pthread_mutex_t lock;
	json_object *records;      /* json array, oldest first */
	size_t max_records;
	uint64_t dropped;
};

struct pending_queue *pending_create(size_t max_records)
{
	struct pending_queue *queue = calloc(1, sizeof(*queue));

	if (!queue)
		return NULL;
	queue->records = json_object_new_array();
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
	json_object_put(queue->records);
	pthread_mutex_destroy(&queue->lock);
	free(queue);
}

/* Drop the oldest records so that `incoming` more fit; returns how many. */
static size_t make_room(struct pending_queue *queue, size_t incoming)
{
	size_t queued = json_object_array_length(queue->records);
	size_t excess;

	if (queued + incoming <= queue->max_records)
		return 0;
	excess = queued + incoming - queue->max_records;
	if (excess > queued)
		excess = queued;
	if (excess)
		json_object_array_del_idx(queue->records, 0, excess);
	return excess;
}

size_t pending_add(struct pending_queue *queue, json_object *records)
{
	size_t n = json_object_array_length(records), first = 0, dropped;

	/* A batch larger than the whole bound keeps only its newest part. */
	if (n > queue->max_records)
		first = n - queue->max_records;
	pthread_mutex_lock(&queue->lock);
	dropped = make_room(queue, n - first) + first;
	for (size_t i = first; i < n; i++) {
		json_object *record = json_object_array_get_idx(records, i);

		if (json_object_array_add(queue->records, json_object_get(record)) < 0) {
			json_object_put(record);
			dropped++;
		}
	}
	queue->dropped += dropped;
	pthread_mutex_unlock(&queue->lock);
	json_object_put(records);
	return dropped;
}

json_object *pending_take(struct pending_queue *queue, uint64_t *dropped)
{
	json_object *fresh = json_object_new_array();
	json_object *taken;

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

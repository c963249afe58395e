#include "record_batch.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*
 * Chunks made by record_batch_append start at APPEND_CHUNK_MIN bytes and
 * double up to APPEND_CHUNK_MAX, so that copying many small records makes
 * few chunks, and one small record (the collector's) costs little.
 */
#define APPEND_CHUNK_MIN ((size_t)4096)
#define APPEND_CHUNK_MAX ((size_t)256 * 1024)
#define MIN_STARTS 16

struct chunk {
	struct json_text text;   /* records joined by ','; an open record may follow */
	size_t complete_len;     /* bytes of text through the last complete record */
	size_t *starts;          /* where each record begins in text */
	size_t n_starts;
	size_t starts_cap;
	size_t first;            /* first live record: the ones before were dropped */
	struct chunk *next;
};

struct record_batch {
	struct chunk *head;
	struct chunk *tail;
	size_t count;            /* live, complete records */
	bool open;               /* a record is being written at the end of tail */
	size_t append_cap;       /* capacity of the next chunk record_batch_append makes */
};

/* ---- chunks ---- */

static struct chunk *chunk_new(size_t capacity)
{
	struct chunk *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if (capacity && json_text_reserve(&c->text, capacity) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

static void chunk_free(struct chunk *c)
{
	json_text_free(&c->text);
	free(c->starts);
	free(c);
}

static size_t chunk_live(const struct chunk *c)
{
	return c->n_starts - c->first;
}

/* Where the live text of the chunk begins (its first live record). */
static size_t chunk_live_start(const struct chunk *c)
{
	return c->starts[c->first];
}

/* Make room for one more record start; 0 or -1. */
static int chunk_reserve_start(struct chunk *c)
{
	size_t cap;
	size_t *grown;

	if (c->n_starts < c->starts_cap)
		return 0;
	cap = c->starts_cap ? c->starts_cap * 2 : MIN_STARTS;
	grown = realloc(c->starts, cap * sizeof(*grown));
	if (grown == NULL)
		return -1;
	c->starts = grown;
	c->starts_cap = cap;
	return 0;
}

static void append_chunk(struct record_batch *b, struct chunk *c)
{
	if (b->tail)
		b->tail->next = c;
	else
		b->head = c;
	b->tail = c;
}

/* ---- the batch ---- */

struct record_batch *record_batch_new(void)
{
	struct record_batch *b = calloc(1, sizeof(*b));

	if (b)
		b->append_cap = APPEND_CHUNK_MIN;
	return b;
}

void record_batch_free(struct record_batch *b)
{
	struct chunk *c, *next;

	if (b == NULL)
		return;
	for (c = b->head; c; c = next) {
		next = c->next;
		chunk_free(c);
	}
	free(b);
}

size_t record_batch_count(const struct record_batch *b)
{
	return b->count;
}

size_t record_batch_bytes(const struct record_batch *b)
{
	size_t bytes = 0, pieces = 0;

	for (const struct chunk *c = b->head; c; c = c->next) {
		if (chunk_live(c) == 0)
			continue;
		bytes += c->complete_len - chunk_live_start(c);
		pieces++;
	}
	/* One ',' between the pieces of consecutive chunks. */
	return pieces ? bytes + pieces - 1 : 0;
}

struct json_text *record_batch_begin_record(struct record_batch *b, size_t *start)
{
	struct chunk *c = b->tail;

	record_batch_cancel_record(b);
	if (c == NULL) {
		c = chunk_new(0);
		if (c == NULL)
			return NULL;
		append_chunk(b, c);
	}
	if (chunk_reserve_start(c) != 0 ||
	    (c->n_starts > 0 && json_text_append_char(&c->text, ',') != 0)) {
		json_text_truncate(&c->text, c->complete_len);
		return NULL;
	}
	*start = c->text.len;
	b->open = true;
	return &c->text;
}

void record_batch_end_record(struct record_batch *b)
{
	struct chunk *c = b->tail;
	size_t start;

	if (!b->open)
		return;
	/* The record starts after the ',' that begin_record wrote, if any. */
	start = c->n_starts > 0 ? c->complete_len + 1 : 0;
	c->starts[c->n_starts++] = start;
	c->complete_len = c->text.len;
	b->count++;
	b->open = false;
}

void record_batch_cancel_record(struct record_batch *b)
{
	if (!b->open)
		return;
	json_text_truncate(&b->tail->text, b->tail->complete_len);
	b->open = false;
}

/* The chunk record_batch_append writes `len` bytes into, or NULL. */
static struct chunk *chunk_with_room(struct record_batch *b, size_t len)
{
	struct chunk *c = b->tail;
	size_t need = len + 1;   /* the record and its ',' */
	size_t capacity;

	if (c && c->text.cap - c->text.len >= need)
		return c;
	capacity = need > b->append_cap ? need : b->append_cap;
	c = chunk_new(capacity);
	if (c == NULL)
		return NULL;
	if (b->append_cap < APPEND_CHUNK_MAX)
		b->append_cap *= 2;
	append_chunk(b, c);
	return c;
}

int record_batch_append(struct record_batch *b, const char *json, size_t len)
{
	struct json_text *text;
	size_t start;

	record_batch_cancel_record(b);
	if (chunk_with_room(b, len) == NULL)
		return -1;
	text = record_batch_begin_record(b, &start);
	if (text == NULL || json_text_append(text, json, len) != 0) {
		record_batch_cancel_record(b);
		return -1;
	}
	record_batch_end_record(b);
	return 0;
}

void record_batch_trim(struct record_batch *b)
{
	if (b->tail && !b->open)
		json_text_shrink(&b->tail->text);
}

void record_batch_move(struct record_batch *dst, struct record_batch *src)
{
	if (src->head == NULL)
		return;
	append_chunk(dst, src->head);
	dst->tail = src->tail;
	dst->count += src->count;
	src->head = NULL;
	src->tail = NULL;
	src->count = 0;
}

size_t record_batch_drop_oldest(struct record_batch *b, size_t n)
{
	size_t dropped = 0;

	while (b->head && dropped < n) {
		struct chunk *c = b->head;
		size_t take = chunk_live(c);

		if (take > n - dropped)
			take = n - dropped;
		c->first += take;
		dropped += take;
		if (chunk_live(c) > 0)
			break;
		/* Every record of this chunk is gone: so is the chunk. */
		b->head = c->next;
		if (b->head == NULL)
			b->tail = NULL;
		chunk_free(c);
	}
	b->count -= dropped;
	return dropped;
}

int record_batch_get(const struct record_batch *b, size_t index, const char **json,
		     size_t *len)
{
	for (const struct chunk *c = b->head; c; c = c->next) {
		size_t k, end;

		if (index >= chunk_live(c)) {
			index -= chunk_live(c);
			continue;
		}
		k = c->first + index;
		/* A record ends at the ',' before the next one, or with the chunk. */
		end = k + 1 < c->n_starts ? c->starts[k + 1] - 1 : c->complete_len;
		*json = c->text.data + c->starts[k];
		*len = end - c->starts[k];
		return 0;
	}
	return -1;
}

int record_batch_write(const struct record_batch *b, json_sink_fn sink, void *ctx)
{
	bool first_piece = true;

	for (const struct chunk *c = b->head; c; c = c->next) {
		size_t start;
		int rc;

		if (chunk_live(c) == 0)
			continue;
		if (!first_piece && (rc = sink(ctx, ",", 1)) != 0)
			return rc;
		first_piece = false;
		start = chunk_live_start(c);
		rc = sink(ctx, c->text.data + start, c->complete_len - start);
		if (rc != 0)
			return rc;
	}
	return 0;
}

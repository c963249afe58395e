/*
 * counter_map.c - open addressing with linear probing, FNV-1a hashes; the
 * table is kept at most half full.
 */
#include <stdlib.h>
#include <string.h>

#include "counter_map.h"

void counter_map_init(struct counter_map *m, size_t max_keys)
{
	memset(m, 0, sizeof(*m));
	m->max_keys = max_keys;
}

static uint64_t hash(const char *key, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
	return h;
}

static struct counter_slot *find(struct counter_slot *slots, size_t cap, const char *key,
				 size_t len)
{
	size_t i = (size_t)hash(key, len) & (cap - 1);

	while (slots[i].key && !(slots[i].key_len == len && memcmp(slots[i].key, key, len) == 0))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int grow(struct counter_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 16;
	struct counter_slot *slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			*find(slots, cap, m->slots[i].key, m->slots[i].key_len) = m->slots[i];
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

void counter_map_add(struct counter_map *m, const char *key, size_t len, uint64_t n)
{
	struct counter_slot *slot;

	if (m->cap) {
		slot = find(m->slots, m->cap, key, len);
		if (slot->key) {
			slot->count += n;
			return;
		}
	}
	if (m->used >= m->max_keys || ((m->used + 1) * 2 > m->cap && grow(m) != 0)) {
		m->other += n;
		return;
	}
	slot = find(m->slots, m->cap, key, len);
	slot->key = malloc(len + 1);
	if (slot->key == NULL) {
		m->other += n;
		return;
	}
	memcpy(slot->key, key, len);
	slot->key[len] = '\0';
	slot->key_len = len;
	slot->count = n;
	m->used++;
}

void counter_map_clear(struct counter_map *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->slots[i].key);
		m->slots[i].key = NULL;
		m->slots[i].count = 0;
	}
	m->used = 0;
	m->other = 0;
}

void counter_map_free(struct counter_map *m)
{
	counter_map_clear(m);
	free(m->slots);
	m->slots = NULL;
	m->cap = 0;
}

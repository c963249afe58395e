/*
 * counter_map.c - the keys in an array in the order first seen, found
 * through an open-addressing index (linear probing, kept at most half
 * full).  Names are hashed eight bytes at a time: they are looked up for
 * every log entry, so the hash is most of the map's cost.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "counter_map.h"

void counter_map_init(struct counter_map *m, size_t max_keys)
{
	memset(m, 0, sizeof(*m));
	m->max_keys = max_keys;
}

/* The bytes of key[0..len) (len at most 8) as one word, without reading past them. */
static uint64_t load_up_to_8(const unsigned char *key, size_t len)
{
	uint32_t a, b;

	if (len >= 4) {
		/* Two overlapping four-byte loads cover 4 to 8 bytes. */
		memcpy(&a, key, 4);
		memcpy(&b, key + len - 4, 4);
		return (uint64_t)a << 32 | b;
	}
	uint64_t word = 0;
	for (size_t i = 0; i < len; i++)
		word = word << 8 | key[i];
	return word;
}

static uint64_t mix(uint64_t h, uint64_t word)
{
	h = (h ^ word) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 32);
}

static uint64_t hash(const char *key, size_t len)
{
	const unsigned char *k = (const unsigned char *)key;
	uint64_t h = len, word;

	for (; len > 8; k += 8, len -= 8) {
		memcpy(&word, k, 8);
		h = mix(h, word);
	}
	h = mix(h, load_up_to_8(k, len));
	/* The index takes the low bits: fold the well-mixed high ones into them. */
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 32);
}

/* Equal 4- or 8-byte words at a and b. */
static bool same_4(const char *a, const char *b)
{
	uint32_t x, y;

	memcpy(&x, a, 4);
	memcpy(&y, b, 4);
	return x == y;
}

static bool same_8(const char *a, const char *b)
{
	uint64_t x, y;

	memcpy(&x, a, 8);
	memcpy(&y, b, 8);
	return x == y;
}

/* Names are short: two overlapping words each instead of a call to memcmp. */
static bool same_key(const char *a, const char *b, size_t len)
{
	if (len > 16)
		return memcmp(a, b, len) == 0;
	if (len >= 8)
		return same_8(a, b) && same_8(a + len - 8, b + len - 8);
	if (len >= 4)
		return same_4(a, b) && same_4(a + len - 4, b + len - 4);
	for (size_t i = 0; i < len; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* The slot holding key, or NULL. */
static struct counter_slot *find(const struct counter_map *m, uint64_t h, const char *key, size_t len)
{
	size_t mask = m->index_cap - 1;

	for (size_t i = (size_t)h & mask; m->index[i]; i = (i + 1) & mask) {
		struct counter_slot *s = &m->slots[m->index[i] - 1];

		if (s->hash == h && s->key_len == len && same_key(s->key, key, len))
			return s;
	}
	return NULL;
}

/* Point the index at slot number `slot` (its key is not in the index yet). */
static void index_slot(struct counter_map *m, size_t slot)
{
	size_t mask = m->index_cap - 1, i = (size_t)m->slots[slot].hash & mask;

	while (m->index[i])
		i = (i + 1) & mask;
	m->index[i] = (uint32_t)(slot + 1);
}

/* Room for one more key: the slot array and an index kept at most half full. */
static int make_room(struct counter_map *m)
{
	if (m->used == m->slots_cap) {
		size_t cap = m->slots_cap ? m->slots_cap * 2 : 8;
		struct counter_slot *slots = realloc(m->slots, cap * sizeof(*slots));

		if (slots == NULL)
			return -1;
		m->slots = slots;
		m->slots_cap = cap;
	}
	if ((m->used + 1) * 2 > m->index_cap) {
		size_t cap = m->index_cap ? m->index_cap * 2 : 16;
		uint32_t *index = calloc(cap, sizeof(*index));

		if (index == NULL)
			return -1;
		free(m->index);
		m->index = index;
		m->index_cap = cap;
		for (size_t s = 0; s < m->used; s++)
			index_slot(m, s);
	}
	return 0;
}

void counter_map_add(struct counter_map *m, const char *key, size_t len, uint64_t n)
{
	struct counter_slot *slot = m->last < m->used ? &m->slots[m->last] : NULL;
	uint64_t h;
	char *copy;

	/* Entries in a row often name the same database, user, application: no hash then. */
	if (slot && slot->key_len == len && same_key(slot->key, key, len)) {
		slot->count += n;
		return;
	}
	h = hash(key, len);   /* once: the lookup and the insertion both use it */
	slot = m->index_cap ? find(m, h, key, len) : NULL;
	if (slot) {
		slot->count += n;
		m->last = (size_t)(slot - m->slots);
		return;
	}
	if (m->used >= m->max_keys || m->used >= UINT32_MAX - 1 || make_room(m) != 0 ||
	    (copy = malloc(len + 1)) == NULL) {
		m->other += n;
		return;
	}
	memcpy(copy, key, len);
	copy[len] = '\0';
	m->slots[m->used] = (struct counter_slot){ copy, len, h, n };
	m->last = m->used;
	index_slot(m, m->used++);
}

void counter_map_clear(struct counter_map *m)
{
	for (size_t s = 0; s < m->used; s++)
		free(m->slots[s].key);
	if (m->index)
		memset(m->index, 0, m->index_cap * sizeof(*m->index));
	m->used = 0;
	m->other = 0;
}

void counter_map_free(struct counter_map *m)
{
	counter_map_clear(m);
	free(m->slots);
	free(m->index);
	counter_map_init(m, m->max_keys);
}

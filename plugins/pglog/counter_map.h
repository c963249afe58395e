/*
 * counter_map.h - counts by a short text key (a database, a SQLSTATE),
 * with a bound on distinct keys: past it, counts go to `other`, so a flood
 * of distinct names cannot grow the map.  Keys are kept in the order they
 * were first seen, which is the order a report lists them in.
 */
#ifndef PGLOG_COUNTER_MAP_H
#define PGLOG_COUNTER_MAP_H

#include <stddef.h>
#include <stdint.h>

struct counter_slot {
	char *key;           /* NUL-terminated copy */
	size_t key_len;
	uint64_t hash;       /* of the key: compared before the key, kept when the index grows */
	uint64_t count;
};

struct counter_map {
	struct counter_slot *slots;  /* slots[0..used), in the order first seen */
	size_t used, slots_cap, max_keys;
	size_t last;                 /* the slot counted last: tried first */
	uint32_t *index;             /* open addressing: 1 + the slot of a key, 0 for none */
	size_t index_cap;            /* a power of two, at least twice used */
	uint64_t other;              /* counts of keys past max_keys (or when memory ran out) */
};

void counter_map_init(struct counter_map *m, size_t max_keys);
/* counter_map_add - add n to key[0..len). */
void counter_map_add(struct counter_map *m, const char *key, size_t len, uint64_t n);
/* counter_map_clear - forget every key (the next cycle starts from zero). */
void counter_map_clear(struct counter_map *m);
void counter_map_free(struct counter_map *m);

#endif

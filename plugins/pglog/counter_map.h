/*
 * counter_map.h - counts by a short text key (a database, a SQLSTATE),
 * with a bound on distinct keys: past it, counts go to `other`, so a flood
 * of distinct names cannot grow the map.
 */
#ifndef PGLOG_COUNTER_MAP_H
#define PGLOG_COUNTER_MAP_H

#include <stddef.h>
#include <stdint.h>

struct counter_slot {
	char *key;
	size_t key_len;
	uint64_t count;
};

struct counter_map {
	struct counter_slot *slots;
	size_t cap, used, max_keys;
	uint64_t other;      /* counts of keys past max_keys (or when memory ran out) */
};

void counter_map_init(struct counter_map *m, size_t max_keys);
/* counter_map_add - add n to key[0..len). */
void counter_map_add(struct counter_map *m, const char *key, size_t len, uint64_t n);
/* counter_map_clear - forget every key (the next cycle starts from zero). */
void counter_map_clear(struct counter_map *m);
void counter_map_free(struct counter_map *m);

#endif

/*
 * failure_set.h - which paths failed in a cycle, so that a path that stays
 * missing is logged once when it starts failing (and once when it
 * recovers), not every cycle.
 */
#ifndef PGA_DISK_FAILURE_SET_H
#define PGA_DISK_FAILURE_SET_H

#include <stdbool.h>
#include <stddef.h>

struct failure_set {
	char **keys;      /* "role path", or the key and its errno */
	size_t count, capacity;
};

/* failure_set_add - remember `key` (copied).  Returns 0, or -1 when out of memory. */
int failure_set_add(struct failure_set *set, const char *key);

/* failure_set_has - true when `key` was added. */
bool failure_set_has(const struct failure_set *set, const char *key);

/* failure_set_clear - forget every key; the set stays usable. */
void failure_set_clear(struct failure_set *set);

/* failure_set_free - free the set; it is left empty. */
void failure_set_free(struct failure_set *set);

#endif

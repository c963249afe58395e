/*
 * failure_set.c - a small set of strings; a cycle reports tens of paths,
 * so a linear search is the simplest thing that is fast enough.
 */
#include <stdlib.h>
#include <string.h>

#include "failure_set.h"

int failure_set_add(struct failure_set *set, const char *key)
{
	char *copy;

	if (set->count == set->capacity) {
		size_t capacity = set->capacity ? set->capacity * 2 : 8;
		char **grown = realloc(set->keys, capacity * sizeof(*grown));

		if (!grown)
			return -1;
		set->keys = grown;
		set->capacity = capacity;
	}
	if ((copy = strdup(key)) == NULL)
		return -1;
	set->keys[set->count++] = copy;
	return 0;
}

bool failure_set_has(const struct failure_set *set, const char *key)
{
	for (size_t i = 0; i < set->count; i++)
		if (strcmp(set->keys[i], key) == 0)
			return true;
	return false;
}

void failure_set_clear(struct failure_set *set)
{
	for (size_t i = 0; i < set->count; i++)
		free(set->keys[i]);
	set->count = 0;
}

void failure_set_free(struct failure_set *set)
{
	failure_set_clear(set);
	free(set->keys);
	memset(set, 0, sizeof(*set));
}

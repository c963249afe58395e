/*
 * statements_keys.c - see statements_keys.h.
 */
#include "statements_keys.h"

#include <stdlib.h>

/* The set keeps at least this many keys, and up to 4 per row of the cycle. */
#define KEYS_MIN_LIMIT 4096

struct stmt_key_columns stmt_key_columns_of(const PGresult *res)
{
	return (struct stmt_key_columns){ .userid = PQfnumber(res, "userid"),
					  .dbid = PQfnumber(res, "dbid"),
					  .toplevel = PQfnumber(res, "toplevel"),
					  .queryid = PQfnumber(res, "queryid") };
}

bool stmt_key_of_row(const PGresult *res, int row, const struct stmt_key_columns *cols,
		     struct stmt_key *key)
{
	if (cols->queryid < 0 || cols->userid < 0 || cols->dbid < 0 ||
	    PQgetisnull(res, row, cols->queryid))
		return false;
	key->queryid = strtoll(PQgetvalue(res, row, cols->queryid), NULL, 10);
	key->userid = (uint32_t)strtoul(PQgetvalue(res, row, cols->userid), NULL, 10);
	key->dbid = (uint32_t)strtoul(PQgetvalue(res, row, cols->dbid), NULL, 10);
	key->toplevel = cols->toplevel < 0 || PQgetisnull(res, row, cols->toplevel)
				? -1
				: PQgetvalue(res, row, cols->toplevel)[0] == 't';
	return true;
}

static uint64_t key_hash(const struct stmt_key *k)
{
	uint64_t ids = (uint64_t)k->dbid << 32 | k->userid;
	uint64_t h = (uint64_t)k->queryid ^ ids * 0x9e3779b97f4a7c15ull;

	h ^= (uint64_t)(k->toplevel + 1) << 61;
	/* splitmix64's finaliser */
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static bool key_equal(const struct stmt_key *a, const struct stmt_key *b)
{
	return a->queryid == b->queryid && a->dbid == b->dbid && a->userid == b->userid &&
	       a->toplevel == b->toplevel;
}

/* The slot holding `key`, or the empty slot where it belongs; the set has slots. */
static size_t probe(const struct stmt_key_set *set, const struct stmt_key *key)
{
	size_t mask = set->size - 1, i = (size_t)key_hash(key) & mask;

	while (set->slots[i].used && !key_equal(&set->slots[i].key, key))
		i = (i + 1) & mask;
	return i;
}

/*
 * Rebuild the set with room for `room` more keys, keeping only the keys
 * seen since cycle `keep_since` (all when 0).  False when out of memory
 * (the set is unchanged).
 */
static bool rebuild(struct stmt_key_set *set, size_t room, uint64_t keep_since)
{
	size_t kept = 0, size = 64;
	struct stmt_key_slot *old = set->slots;
	size_t old_size = set->size;

	for (size_t i = 0; i < old_size; i++)
		kept += old[i].used && old[i].seen_cycle >= keep_since;
	while (size < 2 * (kept + room))
		size *= 2;
	set->slots = calloc(size, sizeof(*set->slots));
	if (!set->slots) {
		set->slots = old;
		return false;
	}
	set->size = size;
	set->count = 0;
	for (size_t i = 0; i < old_size; i++)
		if (old[i].used && old[i].seen_cycle >= keep_since) {
			set->slots[probe(set, &old[i].key)] = old[i];
			set->count++;
		}
	free(old);
	return true;
}

bool stmt_keys_reserve(struct stmt_key_set *set, size_t rows, uint64_t cycle)
{
	size_t limit = rows * 4 > KEYS_MIN_LIMIT ? rows * 4 : KEYS_MIN_LIMIT;

	if (set->count + rows > limit) {
		/* First drop the entries older than the previous cycle, then everything. */
		if (!rebuild(set, rows, cycle - 1))
			return false;
		if (set->count + rows > limit && !rebuild(set, rows, cycle + 1))
			return false;
	}
	if (2 * (set->count + rows) > set->size)
		return rebuild(set, rows, 0);
	return true;
}

struct stmt_key_slot *stmt_keys_upsert(struct stmt_key_set *set, const struct stmt_key *key)
{
	struct stmt_key_slot *slot = &set->slots[probe(set, key)];

	if (!slot->used) {
		*slot = (struct stmt_key_slot){ .key = *key, .used = true };
		set->count++;
	}
	return slot;
}

struct stmt_key_slot *stmt_keys_find(const struct stmt_key_set *set, const struct stmt_key *key)
{
	struct stmt_key_slot *slot;

	if (set->size == 0)
		return NULL;
	slot = &set->slots[probe(set, key)];
	return slot->used ? slot : NULL;
}

void stmt_keys_free(struct stmt_key_set *set)
{
	free(set->slots);
	*set = (struct stmt_key_set){ .slots = NULL };
}

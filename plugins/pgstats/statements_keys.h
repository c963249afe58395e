/*
 * statements_keys.h - the entries of pg_stat_statements the plugin has
 * seen, and when each one's query text was last sent, so that a text is
 * sent once (and again after statements_text_interval_s), not every cycle.
 *
 * The set keeps the entries of recent cycles only: it is bounded by the
 * rows of a cycle, not by how many entries ever passed through the top.
 */
#ifndef PGSTATS_STATEMENTS_KEYS_H
#define PGSTATS_STATEMENTS_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* An entry of pg_stat_statements: (dbid, userid, queryid, toplevel). */
struct stmt_key {
	int64_t queryid;
	uint32_t dbid;
	uint32_t userid;
	int toplevel;               /* 0 or 1; -1 before 1.9, which has no toplevel */
};

struct stmt_key_slot {
	struct stmt_key key;
	bool used;
	uint64_t text_sent_ns;      /* when its text was last emitted; 0: never */
	uint64_t seen_cycle;        /* the last cycle that reported the entry */
	uint64_t wanted_cycle;      /* the last cycle that asked for its text; 0: none */
};

/* Open addressing with linear probing; never more than half full.  Zero-initialised: empty. */
struct stmt_key_set {
	struct stmt_key_slot *slots;
	size_t size;                /* a power of two, or 0 */
	size_t count;
};

/* Where the key's columns are in a result; -1 when absent. */
struct stmt_key_columns {
	int userid, dbid, toplevel, queryid;
};

/* stmt_key_columns_of - the key's columns in `res`, by name. */
struct stmt_key_columns stmt_key_columns_of(const PGresult *res);

/*
 * stmt_key_of_row - the key of `row` in *key.  False when the row has none:
 * its queryid is hidden (another role's entry, read without
 * pg_read_all_stats) or a key column is missing.
 */
bool stmt_key_of_row(const PGresult *res, int row, const struct stmt_key_columns *cols,
		     struct stmt_key *key);

/*
 * stmt_keys_reserve - make room for the `rows` keys of cycle `cycle`
 * before they are upserted.  When the set would pass its limit (4 keys per
 * row, at least 4096) it keeps only the entries the previous cycle
 * reported (so a text sent for an entry that left the top and came back is
 * sent again), and then, if still too full, none.  False when out of
 * memory (the set is unchanged).  Slot pointers are valid until the next
 * call.
 */
bool stmt_keys_reserve(struct stmt_key_set *set, size_t rows, uint64_t cycle);

/* stmt_keys_upsert - the slot of `key`, added (zeroed) when new; room was reserved. */
struct stmt_key_slot *stmt_keys_upsert(struct stmt_key_set *set, const struct stmt_key *key);

/* stmt_keys_find - the slot of `key`, or NULL when it is not in the set. */
struct stmt_key_slot *stmt_keys_find(const struct stmt_key_set *set, const struct stmt_key *key);

/* stmt_keys_free - free the set; it is empty and usable again. */
void stmt_keys_free(struct stmt_key_set *set);

#endif

/*
 * instance_sql.h - the instance-level statements, one per member of the
 * `pg_stats` instance record, each with the server versions it is written
 * for.  Several entries may share a name: they cover disjoint versions and
 * produce the same field names (PostgreSQL 17's pg_stat_checkpointer is
 * reported under the names pg_stat_bgwriter used before).
 */
#ifndef PGSTATS_INSTANCE_SQL_H
#define PGSTATS_INSTANCE_SQL_H

#include <stdbool.h>
#include <stddef.h>

#include "pgstats.h"

enum part_shape {
	SHAPE_OBJECT,   /* at most one row: an object, or null when there is none */
	SHAPE_ROWS      /* an array of objects, one per row */
};

struct instance_part {
	const char *name;
	int min_version;        /* inclusive */
	int max_version;        /* inclusive; 0: no upper bound */
	enum part_shape shape;
	const char *sql;
	bool slow;              /* costly for the server: read every sizes_interval_s only */
};

/* At most this many entries (each, and settings, has a bit in a uint64_t). */
#define INSTANCE_MAX_PARTS 63

/* Every part, in the order the record shows them. */
extern const struct instance_part instance_parts[];
extern const size_t instance_part_count;

/* pg_settings, read every cycle for change detection; emitted when changed or due. */
extern const char settings_sql[];

#endif

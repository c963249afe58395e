/*
 * targets.h - the paths one cycle reports: the data directory, pg_wal,
 * each tablespace, the log directory and the extra paths, from the
 * configuration and from what the server said.
 *
 * A configured data_directory or log_directory wins over the server's (the
 * collector may see the files under another path, in a container say);
 * tablespaces come from the server only.  A relative log_directory or
 * tablespace location is relative to the data directory.
 */
#ifndef PGA_DISK_TARGETS_H
#define PGA_DISK_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pg_discovery.h"

enum target_role {
	TARGET_DATA_DIRECTORY,
	TARGET_WAL,
	TARGET_TABLESPACE,
	TARGET_LOG_DIRECTORY,
	TARGET_EXTRA
};

struct target {
	enum target_role role;
	char *path;
	char *name;          /* the tablespace's name, else NULL */
	int64_t oid;         /* the tablespace's OID */
	bool measure_size;   /* pg_wal and the log directory: walk for their size */
};

struct target_list {
	struct target *items;
	size_t count, capacity;
};

/* What the configuration says, for targets_build. */
struct configured_paths {
	const char *data_directory;    /* "" or NULL: none */
	const char *log_directory;     /* "" or NULL: none */
	const char *const *extra;      /* extra paths */
	size_t n_extra;
};

/* target_role_name - "data_directory", "wal", "tablespace", "log_directory", "extra". */
const char *target_role_name(enum target_role role);

/*
 * targets_build - empty `list` and fill it from `configured` and `server`
 * (which may be unknown).  Returns 0, or -1 when out of memory.
 */
int targets_build(struct target_list *list, const struct configured_paths *configured,
		  const struct server_paths *server);

/* targets_free - free the list; it is left empty. */
void targets_free(struct target_list *list);

#endif

/*
 * dir_size.h - the size of a directory tree (pg_wal, the log directory),
 * walked with a bound on the entries visited so that a directory of
 * millions of files cannot hold a collect for long.
 */
#ifndef PGA_DISK_DIR_SIZE_H
#define PGA_DISK_DIR_SIZE_H

#include <stdbool.h>
#include <stdint.h>

struct dir_size {
	uint64_t bytes;        /* sum of the regular files' sizes (st_size) */
	uint64_t files;        /* regular files */
	uint64_t entries;      /* every entry visited, directories included */
	uint64_t unreadable;   /* subdirectories that could not be opened */
	bool truncated;        /* stopped at max_entries or by `stop` */
	int error;             /* errno opening the top directory; 0 if it opened */
};

/*
 * dir_size_walk - add up the regular files under `path`, not following
 * symbolic links (except `path` itself) and not crossing into another
 * filesystem.  Stops after `max_entries` entries, or when `stop(arg)`
 * (checked every few hundred entries; may be NULL) returns true, and says
 * so in out->truncated.
 */
void dir_size_walk(const char *path, uint64_t max_entries, bool (*stop)(void *arg), void *arg,
		   struct dir_size *out);

#endif

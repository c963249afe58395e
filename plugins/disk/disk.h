/*
 * disk.h - the disk plugin's state, shared by its files.
 *
 * A cycle: find the paths to report (targets.c: the configured paths, and
 * what pg_discovery.c learnt from the server), read the mount table
 * (mountinfo.c), then report each path (path_report.c) and, with
 * all_mounts, each real mount, in one `disk_usage` record (disk.c).
 * docs/PAYLOAD.md describes the record.
 */
#ifndef PGA_DISK_H
#define PGA_DISK_H

#include <stdbool.h>
#include <stdint.h>

#include <pganalytics/plugin.h>

#include "failure_set.h"
#include "mountinfo.h"
#include "pg_discovery.h"
#include "targets.h"

struct disk_config {
	const char *conninfo;          /* "" when paths come from the configuration only */
	const char *data_directory;    /* "" unless configured */
	const char *log_directory;     /* "" unless configured */
	const char *mountinfo_path;
	int64_t statement_timeout_ms;
	int64_t walk_max_entries;      /* 0: no directory sizes */
	bool all_mounts;
};

struct disk {
	const struct pga_host *host;
	struct pga_ctx *ctx;
	struct disk_config cfg;
	struct pg_discovery *discovery;       /* NULL without conninfo */
	struct server_paths server;           /* the last paths the server gave */
	struct target_list targets;           /* this cycle's paths */
	char *mountinfo_text;                 /* this cycle's mountinfo, parsed in place */
	size_t mountinfo_capacity;
	struct mount_table mounts;
	int mountinfo_errno;                  /* of the last failed read, for the streak */
	size_t mountinfo_bad_reported;        /* first bad line already logged, 0 none */
	struct failure_set failing, failing_before;  /* paths failing this / last cycle */
	const char **excluded_fstypes;        /* host-owned strings */
	size_t n_excluded_fstypes;
	const char **extra_paths;             /* host-owned strings */
	size_t n_extra_paths;
	char discovery_error[512];            /* the last one logged, "" after a success */
};

/* disk_stop_walk - true once the collect's deadline has passed (a dir_size stop callback). */
bool disk_stop_walk(void *disk);

#endif

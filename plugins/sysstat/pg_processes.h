/*
 * pg_processes.h - how many postgres processes run, and their total RSS.
 *
 * Reading /proc/PID/stat costs a few microseconds per process (open, the
 * kernel formatting the line, close), too much to do for every process
 * every cycle.  So each cycle lists the proc root (one open() of it as a
 * directory, getdents64 into a buffer kept across cycles) and reads the
 * stat file, openat() relative to that directory, only of
 *   - processes not seen the cycle before,
 *   - processes known to be postgres (their RSS changes; a reused pid is
 *     caught as its name changes),
 *   - a 1/PG_RECHECK_CYCLES share of the other known processes, in turn:
 *     a process that exec()s postgres after it was first seen (pg_ctl's
 *     shell does) is found within PG_RECHECK_CYCLES cycles.
 * A process is postgres when its command name is "postgres" or
 * "postmaster".  At most max_processes processes are tracked; beyond
 * that the totals are marked truncated.  Nothing is allocated per process:
 * the pid arrays grow with the number of processes and are kept.
 */
#ifndef SYSSTAT_PG_PROCESSES_H
#define SYSSTAT_PG_PROCESSES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PG_RECHECK_CYCLES 32

/* The getdents64 buffer: some 1,000 pids per call. */
#define PG_DIRENT_BYTES 32768

/*
 * A stat line is read with one read() into a buffer of this size; the
 * kernel's is at most about 1.1 KB (52 fields, a name of up to 64 bytes).
 * A file that fills it is not taken for a process.
 */
#define PG_STAT_READ_MAX 4096

struct pg_totals {
	uint64_t processes;
	uint64_t rss_bytes;   /* shared memory is counted once in every process that touched it */
	bool truncated;       /* more processes than max_processes: some were not looked at */
};

struct known_process {
	int pid;
	bool postgres;
	bool read_now;
};

struct pg_process_scan {
	size_t max_processes;
	uint64_t page_size;
	struct known_process *known, *next;   /* sorted by pid; next is scratch */
	char *dirents;                        /* PG_DIRENT_BYTES, allocated on first use */
	size_t n_known, cap;
	int recheck_after;                    /* the last pid rechecked */
};

/* pg_scan_init - an empty scan tracking at most max_processes processes. */
void pg_scan_init(struct pg_process_scan *scan, size_t max_processes, uint64_t page_size);

void pg_scan_free(struct pg_process_scan *scan);

/*
 * pg_scan_run - one cycle over root (the proc root).  Returns 0, or the
 * errno of opening or listing root, or ENOMEM.  A process that ends while
 * it is read is simply not counted.
 */
int pg_scan_run(struct pg_process_scan *scan, const char *root, struct pg_totals *out);

#endif

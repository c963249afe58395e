/* meminfo.h - the /proc/meminfo lines the sysstat record reports, in bytes. */
#ifndef SYSSTAT_MEMINFO_H
#define SYSSTAT_MEMINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc_text.h"

enum meminfo_field {
	MEM_TOTAL, MEM_AVAILABLE, MEM_FREE, MEM_BUFFERS, MEM_CACHED, MEM_DIRTY, MEM_WRITEBACK,
	MEM_SHMEM, MEM_SLAB, MEM_SWAP_TOTAL, MEM_SWAP_FREE, MEM_SWAP_CACHED, MEM_HUGE_TOTAL,
	MEM_HUGE_FREE, MEM_HUGE_RESERVED, MEM_HUGE_SURPLUS, MEM_HUGE_PAGE_SIZE, MEM_FIELDS
};

/* The kernel's name of each field, and the record's. */
struct meminfo_key {
	const char *kernel;     /* "MemTotal" */
	const char *member;     /* "total_bytes" */
	bool kilobytes;         /* the kernel writes "kB": reported times 1024 */
};
extern const struct meminfo_key meminfo_keys[MEM_FIELDS];

/* A field the kernel does not write (MemAvailable before Linux 3.14) is not present. */
struct meminfo {
	uint64_t value[MEM_FIELDS];
	bool present[MEM_FIELDS];
};

/*
 * meminfo_parse - the reported fields of /proc/meminfo text.  A malformed
 * line among them is skipped (the first is described in *err); other
 * lines are ignored.
 */
void meminfo_parse(const char *text, size_t len, struct meminfo *out, struct parse_error *err);

#endif

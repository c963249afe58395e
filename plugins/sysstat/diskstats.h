/*
 * diskstats.h - /proc/diskstats: per block device counters, which devices
 * are partitions, loop or RAM disks, and the rates between two readings.
 */
#ifndef SYSSTAT_DISKSTATS_H
#define SYSSTAT_DISKSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "named_list.h"
#include "proc_text.h"

/* The 11 columns after "major minor name" that every kernel since 2.6.25 writes. */
enum disk_field {
	DISK_READS, DISK_READ_MERGES, DISK_READ_SECTORS, DISK_READ_MS,
	DISK_WRITES, DISK_WRITE_MERGES, DISK_WRITE_SECTORS, DISK_WRITE_MS,
	DISK_IN_FLIGHT, DISK_IO_MS, DISK_WEIGHTED_MS, DISK_FIELDS
};

/* Longer than any kernel device name (32); a longer one is reported, not cut. */
#define DISK_NAME_MAX 63
/* A bound on what one file may make us allocate. */
#define DISKSTATS_MAX_DEVICES 65536

struct disk_counters {
	char name[DISK_NAME_MAX + 1];
	uint32_t major, minor;
	uint64_t value[DISK_FIELDS];
};

/* Sorted by name once parsed. */
struct disk_list {
	struct named_list names;
};

/*
 * diskstats_parse - every device line of /proc/diskstats text into *list
 * (reused and grown), sorted by name.  A malformed line is skipped (the
 * first is described in *err).  Returns false only when out of memory.
 */
bool diskstats_parse(const char *text, size_t len, struct disk_list *list,
		     struct parse_error *err);

void disk_list_free(struct disk_list *list);

/* disk_find - the device called `name`, or NULL. */
const struct disk_counters *disk_find(const struct disk_list *list, const char *name);
/* disk_count, disk_at - the devices in name order. */
size_t disk_count(const struct disk_list *list);
const struct disk_counters *disk_at(const struct disk_list *list, size_t i);

enum disk_kind { DISK_WHOLE, DISK_PARTITION, DISK_LOOP, DISK_RAM };

/*
 * disk_kind_of - loop and RAM disks by name; a partition is a device whose
 * name is another listed device's name followed by digits ("sda1" of
 * "sda"), or by "p" and digits when that name ends in a digit
 * ("nvme0n1p1" of "nvme0n1", "mmcblk0p2" of "mmcblk0").
 */
enum disk_kind disk_kind_of(const struct disk_list *list, const struct disk_counters *disk);

struct disk_rates {
	double reads_per_s, writes_per_s, read_bytes_per_s, write_bytes_per_s;
	double read_merges_per_s, write_merges_per_s;
	bool has_read_wait, has_write_wait;   /* false when no read (write) completed */
	double read_wait_ms, write_wait_ms;   /* per completed request */
	double util_pct;                      /* time busy, at most 100 */
	double queue_depth;                   /* average requests in flight */
};

/*
 * disk_rates_between - the rates of one device over `elapsed_s` seconds.
 * False when they cannot be trusted: another device under the same name
 * (major:minor changed) or a counter reset (see counter.h).
 */
bool disk_rates_between(const struct disk_counters *before, const struct disk_counters *after,
			double elapsed_s, struct disk_rates *out);

#endif

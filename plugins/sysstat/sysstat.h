/*
 * sysstat.h - the sysstat plugin: host CPU, load, memory, paging, block
 * devices, network interfaces, pressure and postgres processes, read from
 * /proc (docs/PAYLOAD.md, section 2.3, is the record).
 *
 * A cycle reads every source into a snapshot (snapshot.c), then writes one
 * `sysstat` record (record.c) from that snapshot and the one before: gauges
 * from the new one, rates from the difference divided by the time elapsed
 * between the two.  The first cycle has no snapshot before it and emits
 * gauges only.
 */
#ifndef SYSSTAT_SYSSTAT_H
#define SYSSTAT_SYSSTAT_H

#include <stdbool.h>
#include <stdint.h>

#include <pganalytics/plugin.h>

#include "diskstats.h"
#include "kernel_stat.h"
#include "loadavg.h"
#include "meminfo.h"
#include "netdev.h"
#include "pg_processes.h"
#include "pressure.h"
#include "proc_read.h"
#include "vmstat.h"

/* Every file or scan a cycle reads; each fails on its own. */
enum sysstat_source {
	SRC_UPTIME, SRC_STAT, SRC_LOADAVG, SRC_MEMINFO, SRC_VMSTAT, SRC_DISKSTATS, SRC_NETDEV,
	SRC_PRESSURE_CPU, SRC_PRESSURE_MEMORY, SRC_PRESSURE_IO, SRC_PROCESSES, SRC_COUNT
};

#define PRESSURE_KINDS 3   /* cpu, memory, io: SRC_PRESSURE_CPU + i */

struct sysstat_config {
	const char *proc_root;
	bool use_uptime_clock;     /* clock = "proc_uptime" */
	bool include_loop_devices, include_ram_devices, include_partitions;
	bool include_loopback;
	bool postgres_processes;
	int64_t max_processes;
};

/*
 * One cycle's readings.  ok[source]: the source was read (a line it could
 * not parse is skipped and described in error[source]); a pressure file
 * that does not exist (kernel without PSI) is neither ok nor an error.
 */
struct snapshot {
	uint64_t clock_ns;
	bool ok[SRC_COUNT];
	char error[SRC_COUNT][256];
	struct kernel_stat stat;
	struct loadavg load;
	struct meminfo mem;
	struct vmstat vm;
	struct disk_list disks;
	struct iface_list ifaces;
	struct pressure pressure[PRESSURE_KINDS];
	struct pg_totals pg;
};

struct sysstat {
	const struct pga_host *host;
	struct pga_ctx *ctx;
	struct sysstat_config cfg;
	struct snapshot snaps[2];
	struct snapshot *prev, *cur;   /* prev is NULL until a first cycle was read */
	char root[4096];               /* proc_root resolved for this cycle */
	struct read_buffer buf;
	struct pg_process_scan pg_scan;
	char logged_error[SRC_COUNT][256];   /* the last message logged per source */
};

/* snapshot_path - the file of a source, relative to the proc root ("[0-9]*" for the process scan). */
const char *snapshot_path(enum sysstat_source source);

/*
 * snapshot_read - read every source into st->cur.  Returns PGA_OK, or
 * PGA_ENOMEM.  A source that fails is not ok and has its error set.
 */
int snapshot_read(struct sysstat *st);

void snapshot_free(struct snapshot *snap);

/*
 * record_emit - the sysstat record of st->cur, with rates against st->prev
 * when there is one and time has passed.  Returns record_end's status.
 */
int record_emit(struct sysstat *st, struct pga_emitter *em);

#endif

/*
 * kernel_stat.h - /proc/stat: CPU time per CPU and in total, context
 * switches, forks, running and blocked processes; and the CPU percentages
 * between two readings.
 */
#ifndef SYSSTAT_KERNEL_STAT_H
#define SYSSTAT_KERNEL_STAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc_text.h"

/* The columns of a cpu line, in the kernel's order. */
enum cpu_field {
	CPU_USER, CPU_NICE, CPU_SYSTEM, CPU_IDLE, CPU_IOWAIT, CPU_IRQ, CPU_SOFTIRQ,
	CPU_STEAL, CPU_GUEST, CPU_GUEST_NICE, CPU_FIELDS
};

/* More CPUs than any machine has: a bound on what one file may make us allocate. */
#define KERNEL_STAT_MAX_CPUS 16384

/* Ticks (USER_HZ) per column; columns an older kernel lacks are 0. */
struct cpu_times {
	uint32_t cpu;               /* N of "cpuN"; unused for the total */
	uint64_t ticks[CPU_FIELDS];
};

struct kernel_stat {
	bool has_total;
	struct cpu_times total;
	struct cpu_times *cpus;     /* in file order, which is ascending N */
	size_t n_cpus, cap_cpus;
	bool has_ctxt, has_processes, has_running, has_blocked;
	uint64_t ctxt, processes, procs_running, procs_blocked;
};

/*
 * kernel_stat_parse - read /proc/stat text into *st (its cpus array is
 * reused and grown).  A malformed line is skipped and the first one is
 * described in *err; the others are still read.  Returns false only when
 * out of memory.
 */
bool kernel_stat_parse(const char *text, size_t len, struct kernel_stat *st,
		       struct parse_error *err);

/* kernel_stat_free - free the cpus array. */
void kernel_stat_free(struct kernel_stat *st);

/*
 * The share of the interval each column took, in percent.  user and nice
 * exclude guest and guest_nice (the kernel counts guest time in them too),
 * so that the ten values add up to 100.
 */
struct cpu_percent {
	double pct[CPU_FIELDS];
};

/*
 * cpu_percent_between - the percentages between two readings of one CPU
 * (or of the total).  False when they cannot be trusted: no time passed,
 * or a column went backwards (a CPU that went offline and came back may
 * restart its counts).
 */
bool cpu_percent_between(const struct cpu_times *before, const struct cpu_times *after,
			 struct cpu_percent *out);

/* cpu_find - the CPU numbered `cpu` in st, or NULL. */
const struct cpu_times *cpu_find(const struct kernel_stat *st, uint32_t cpu);

/* cpu_sets_equal - true when both readings list the same CPUs. */
bool cpu_sets_equal(const struct kernel_stat *a, const struct kernel_stat *b);

#endif

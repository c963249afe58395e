/* vmstat.h - the /proc/vmstat counters the sysstat record reports. */
#ifndef SYSSTAT_VMSTAT_H
#define SYSSTAT_VMSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc_text.h"

enum vmstat_field {
	VM_PGPGIN, VM_PGPGOUT, VM_PSWPIN, VM_PSWPOUT, VM_PGMAJFAULT, VM_OOM_KILL, VM_FIELDS
};

/* The kernel's names: "pgpgin", ...; also the record's (with "_per_s"). */
extern const char *const vmstat_names[VM_FIELDS];

/* oom_kill exists from Linux 4.13: a counter the kernel lacks is not present. */
struct vmstat {
	uint64_t value[VM_FIELDS];
	bool present[VM_FIELDS];
};

/*
 * vmstat_parse - the reported counters of /proc/vmstat text ("name value"
 * lines).  A malformed line among them is skipped (the first is described
 * in *err); other lines are ignored.
 */
void vmstat_parse(const char *text, size_t len, struct vmstat *out, struct parse_error *err);

#endif

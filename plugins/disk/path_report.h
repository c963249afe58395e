/*
 * path_report.h - one cycle's `paths` and `mounts` members: statvfs of each
 * path and of each real mount, the mount that holds it, and the size of
 * pg_wal and the log directory.  A path that cannot be reached gets an
 * entry with its `error` and a log line when it starts failing (and when it
 * recovers), not every cycle.
 */
#ifndef PGA_DISK_PATH_REPORT_H
#define PGA_DISK_PATH_REPORT_H

#include "disk.h"

/*
 * report_paths - emit the `paths` array of the open record, one object per
 * target of d->targets.  Returns PGA_OK or the first emitter status that
 * is not.
 */
int report_paths(struct disk *d, struct pga_emitter *em);

/*
 * report_mounts - emit the `mounts` array: every mount of d->mounts whose
 * filesystem type is not excluded and that has blocks, one per device
 * (the shortest mount point of a device mounted several times).
 */
int report_mounts(struct disk *d, struct pga_emitter *em);

/*
 * report_recoveries - log each path that failed in the previous cycle and
 * not in this one, then make this cycle's failures the previous ones.
 */
void report_recoveries(struct disk *d);

#endif

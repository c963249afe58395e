/*
 * snapshot.c - one cycle's reading of every source under the proc root.
 * Each source fails alone: its member is left out of the record and its
 * error is reported, the others go on.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "sysstat.h"

static const char *const source_paths[SRC_COUNT] = {
	[SRC_UPTIME] = "uptime", [SRC_STAT] = "stat", [SRC_LOADAVG] = "loadavg",
	[SRC_MEMINFO] = "meminfo", [SRC_VMSTAT] = "vmstat", [SRC_DISKSTATS] = "diskstats",
	[SRC_NETDEV] = "net/dev", [SRC_PRESSURE_CPU] = "pressure/cpu",
	[SRC_PRESSURE_MEMORY] = "pressure/memory", [SRC_PRESSURE_IO] = "pressure/io",
	[SRC_PROCESSES] = "[0-9]*",
};

const char *snapshot_path(enum sysstat_source source)
{
	return source_paths[source];
}

/* "ROOT/FILE: what"; a root too long for the message is cut to its last bytes. */
static void set_error(struct snapshot *snap, enum sysstat_source source, const char *root,
		      const char *what)
{
	size_t len = strlen(root);
	const char *shown = len > 96 ? root + len - 96 : root;

	snprintf(snap->error[source], sizeof(snap->error[source]), "%s%.96s/%s: %.120s",
		 shown == root ? "" : "...", shown, source_paths[source], what);
}

/* Read a source's file into st->buf; false (and the error set) when it cannot be read. */
static bool read_source(struct sysstat *st, enum sysstat_source source)
{
	int rc = proc_read(st->root, source_paths[source], &st->buf);

	if (rc == 0)
		return true;
	set_error(st->cur, source, st->root,
		  rc == EFBIG ? "larger than 8 MiB; not read" : strerror(rc));
	return false;
}

/* The outcome of a parser: ok, with its first problem (if any) as the source's error. */
static void parsed(struct sysstat *st, enum sysstat_source source, const struct parse_error *err)
{
	st->cur->ok[source] = true;
	if (err->line != 0)
		set_error(st->cur, source, st->root, err->text);
}

/* "12345.67 2345.67": the first number is seconds since boot. */
static void read_uptime_clock(struct sysstat *st)
{
	struct parse_error err = { 0 };
	struct text_span line, field;
	struct text_cursor c;
	double seconds;

	if (!read_source(st, SRC_UPTIME))
		return;
	text_cursor_init(&c, st->buf.data, st->buf.len);
	if (!text_next_line(&c, &line) || text_split(line, &field, 1) < 1 ||
	    !text_double(field, &seconds) || seconds > 1e9) {
		parse_error_set(&err, 1, NULL, "expected the seconds since boot");
		set_error(st->cur, SRC_UPTIME, st->root, err.text);
		return;
	}
	st->cur->clock_ns = (uint64_t)(seconds * 1e9 + 0.5);
	st->cur->ok[SRC_UPTIME] = true;
}

static bool read_stat(struct sysstat *st)
{
	struct parse_error err = { 0 };

	if (!read_source(st, SRC_STAT))
		return true;
	if (!kernel_stat_parse(st->buf.data, st->buf.len, &st->cur->stat, &err))
		return false;
	parsed(st, SRC_STAT, &err);
	return true;
}

static void read_loadavg(struct sysstat *st)
{
	struct parse_error err = { 0 };

	if (!read_source(st, SRC_LOADAVG))
		return;
	if (loadavg_parse(st->buf.data, st->buf.len, &st->cur->load, &err))
		st->cur->ok[SRC_LOADAVG] = true;
	else
		set_error(st->cur, SRC_LOADAVG, st->root, err.text);
}

static void read_meminfo(struct sysstat *st)
{
	struct parse_error err = { 0 };

	if (!read_source(st, SRC_MEMINFO))
		return;
	meminfo_parse(st->buf.data, st->buf.len, &st->cur->mem, &err);
	parsed(st, SRC_MEMINFO, &err);
}

static void read_vmstat(struct sysstat *st)
{
	struct parse_error err = { 0 };

	if (!read_source(st, SRC_VMSTAT))
		return;
	vmstat_parse(st->buf.data, st->buf.len, &st->cur->vm, &err);
	parsed(st, SRC_VMSTAT, &err);
}

static bool read_diskstats(struct sysstat *st)
{
	struct parse_error err = { 0 };

	if (!read_source(st, SRC_DISKSTATS))
		return true;
	if (!diskstats_parse(st->buf.data, st->buf.len, &st->cur->disks, &err))
		return false;
	parsed(st, SRC_DISKSTATS, &err);
	return true;
}

static bool read_netdev(struct sysstat *st)
{
	struct parse_error err = { 0 };

	if (!read_source(st, SRC_NETDEV))
		return true;
	if (!netdev_parse(st->buf.data, st->buf.len, &st->cur->ifaces, &err))
		return false;
	parsed(st, SRC_NETDEV, &err);
	return true;
}

/*
 * A kernel without PSI has no /proc/pressure; one booted with psi=0 has the
 * files but refuses to read them (EOPNOTSUPP).  Neither is an error.
 */
static void read_pressure(struct sysstat *st, int kind)
{
	enum sysstat_source source = (enum sysstat_source)(SRC_PRESSURE_CPU + kind);
	struct parse_error err = { 0 };
	int rc = proc_read(st->root, source_paths[source], &st->buf);

	if (rc == ENOENT || rc == EOPNOTSUPP)
		return;
	if (rc != 0) {
		set_error(st->cur, source, st->root, strerror(rc));
		return;
	}
	pressure_parse(st->buf.data, st->buf.len, &st->cur->pressure[kind], &err);
	parsed(st, source, &err);
}

static bool read_processes(struct sysstat *st)
{
	int rc;

	if (!st->cfg.postgres_processes)
		return true;
	rc = pg_scan_run(&st->pg_scan, st->root, &st->cur->pg);
	if (rc == ENOMEM)
		return false;
	if (rc != 0) {
		set_error(st->cur, SRC_PROCESSES, st->root, strerror(rc));
		return true;
	}
	st->cur->ok[SRC_PROCESSES] = true;
	return true;
}

/*
 * The root is resolved once per cycle, so that a cycle reads one tree even
 * when proc_root is a symlink switched to another tree meanwhile (how
 * tests and replay tools feed snapshots).
 */
static bool resolve_root(struct sysstat *st)
{
	char resolved[PATH_MAX];

	if (realpath(st->cfg.proc_root, resolved) == NULL ||
	    strlen(resolved) >= sizeof(st->root)) {
		set_error(st->cur, SRC_STAT, st->cfg.proc_root, strerror(errno));
		return false;
	}
	memcpy(st->root, resolved, strlen(resolved) + 1);
	return true;
}

int snapshot_read(struct sysstat *st)
{
	struct snapshot *snap = st->cur;
	bool enough_memory;

	memset(snap->ok, 0, sizeof(snap->ok));
	memset(snap->error, 0, sizeof(snap->error));
	if (!resolve_root(st))
		return PGA_OK;   /* nothing is ok: the record carries the error */
	if (st->cfg.use_uptime_clock)
		read_uptime_clock(st);
	else
		snap->clock_ns = st->host->monotonic_ns(st->ctx);
	enough_memory = read_stat(st);
	read_loadavg(st);
	read_meminfo(st);
	read_vmstat(st);
	enough_memory = read_diskstats(st) && enough_memory;
	enough_memory = read_netdev(st) && enough_memory;
	for (int kind = 0; kind < PRESSURE_KINDS; kind++)
		read_pressure(st, kind);
	enough_memory = read_processes(st) && enough_memory;
	return enough_memory ? PGA_OK : PGA_ENOMEM;
}

void snapshot_free(struct snapshot *snap)
{
	kernel_stat_free(&snap->stat);
	disk_list_free(&snap->disks);
	iface_list_free(&snap->ifaces);
}

/*
 * sysstat - host metrics from /proc as real rates (see sysstat.h for how a
 * cycle is organised and docs/PAYLOAD.md, section 2.3, for the record).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysstat.h"

static const struct pga_option sysstat_options[] = {
	{ "proc_root", PGA_OPT_STRING, "/proc",
	  "where procfs is mounted; tests point it at a fixture tree" },
	{ "clock", PGA_OPT_STRING, "monotonic",
	  "elapsed time for rates: monotonic, or proc_uptime (PROC_ROOT/uptime; for fixture trees "
	  "and replayed snapshots)" },
	{ "include_loop_devices", PGA_OPT_BOOL, "false", "report loop devices" },
	{ "include_ram_devices", PGA_OPT_BOOL, "false", "report ram devices" },
	{ "include_partitions", PGA_OPT_BOOL, "false", "report partitions as well as whole disks" },
	{ "include_loopback", PGA_OPT_BOOL, "false", "report the lo interface" },
	{ "postgres_processes", PGA_OPT_BOOL, "true",
	  "count the postgres processes and their RSS (scans PROC_ROOT/[0-9]*)" },
	{ "max_processes", PGA_OPT_INT, "100000", "processes the postgres scan looks at, at most" },
	{ NULL, 0, NULL, NULL }
};

static bool read_config(struct sysstat *st)
{
	struct sysstat_config *cfg = &st->cfg;
	const char *clock = st->host->config_string(st->ctx, "clock");

	cfg->proc_root = st->host->config_string(st->ctx, "proc_root");
	cfg->include_loop_devices = st->host->config_bool(st->ctx, "include_loop_devices");
	cfg->include_ram_devices = st->host->config_bool(st->ctx, "include_ram_devices");
	cfg->include_partitions = st->host->config_bool(st->ctx, "include_partitions");
	cfg->include_loopback = st->host->config_bool(st->ctx, "include_loopback");
	cfg->postgres_processes = st->host->config_bool(st->ctx, "postgres_processes");
	cfg->max_processes = st->host->config_int(st->ctx, "max_processes");
	if (cfg->proc_root == NULL || cfg->proc_root[0] != '/') {
		st->host->log(st->ctx, PGA_LOG_ERROR, "proc_root = \"%s\": must be an absolute path",
			      cfg->proc_root ? cfg->proc_root : "");
		return false;
	}
	if (clock == NULL || (strcmp(clock, "monotonic") != 0 && strcmp(clock, "proc_uptime") != 0)) {
		st->host->log(st->ctx, PGA_LOG_ERROR,
			      "clock = \"%s\": must be \"monotonic\" or \"proc_uptime\"",
			      clock ? clock : "");
		return false;
	}
	cfg->use_uptime_clock = strcmp(clock, "proc_uptime") == 0;
	if (cfg->max_processes < 1 || cfg->max_processes > 10000000) {
		st->host->log(st->ctx, PGA_LOG_ERROR, "max_processes = %lld: must be from 1 to 10000000",
			      (long long)cfg->max_processes);
		return false;
	}
	return true;
}

static void sysstat_shutdown(void *state)
{
	struct sysstat *st = state;

	snapshot_free(&st->snaps[0]);
	snapshot_free(&st->snaps[1]);
	read_buffer_free(&st->buf);
	pg_scan_free(&st->pg_scan);
	free(st);
}

static int sysstat_init(const struct pga_host *host, struct pga_ctx *ctx, void **state)
{
	struct sysstat *st = calloc(1, sizeof(*st));
	long page_size = sysconf(_SC_PAGESIZE);

	if (st == NULL)
		return PGA_ENOMEM;
	st->host = host;
	st->ctx = ctx;
	if (!read_config(st)) {
		sysstat_shutdown(st);
		return PGA_ERROR;
	}
	pg_scan_init(&st->pg_scan, (size_t)st->cfg.max_processes,
		     page_size > 0 ? (uint64_t)page_size : 4096);
	st->cur = &st->snaps[0];
	*state = st;
	return PGA_OK;
}

/*
 * One warning when a source starts failing or its message changes, one
 * line when it recovers: a file that stays unreadable is not logged every
 * cycle.  The record carries the message every cycle.
 */
static void log_source_changes(struct sysstat *st)
{
	for (int s = 0; s < SRC_COUNT; s++) {
		const char *now = st->cur->error[s];
		char *logged = st->logged_error[s];

		if (strcmp(now, logged) == 0)
			continue;
		if (now[0] != '\0')
			st->host->log(st->ctx, PGA_LOG_WARNING, "%s", now);
		else
			st->host->log(st->ctx, PGA_LOG_INFO, "%s/%s: read again without error",
				      st->root, snapshot_path((enum sysstat_source)s));
		snprintf(logged, sizeof(st->logged_error[s]), "%s", now);
	}
}

static int sysstat_collect(void *state, struct pga_emitter *em)
{
	struct sysstat *st = state;
	int rc = snapshot_read(st);

	if (rc != PGA_OK) {
		st->host->log(st->ctx, PGA_LOG_ERROR, "out of memory reading %s", st->cfg.proc_root);
		st->prev = NULL;   /* the snapshot is incomplete: no rates against it */
		return rc;
	}
	log_source_changes(st);
	rc = record_emit(st, em);
	st->prev = st->cur;
	st->cur = st->cur == &st->snaps[0] ? &st->snaps[1] : &st->snaps[0];
	return rc == PGA_EDEADLINE ? rc : PGA_OK;
}

PGA_PLUGIN_DEFINE(.default_interval = 10, .name = "sysstat", .version = "0.1.0",
		  .description = "host CPU, memory, load, disk I/O, network, pressure (/proc)",
		  .options = sysstat_options, .init = sysstat_init, .collect = sysstat_collect,
		  .shutdown = sysstat_shutdown)

/*
 * record.c - the sysstat record of one cycle: gauges from the current
 * snapshot, rates from the current and the previous one.  A rate that
 * cannot be trusted (first cycle, an item new since the previous cycle, a
 * counter reset, a CPU that went offline and back) is left out: absent,
 * never a spike.  Calls are not checked one by one: a record the emitter
 * refuses stays refused until record_end, which reports it.
 */
#include <stdio.h>
#include <string.h>

#include <pganalytics/utf8.h>

#include "counter.h"
#include "sysstat.h"

/* What every part of the record needs. */
struct emit {
	const struct pga_host *h;
	struct pga_emitter *em;
	const struct sysstat_config *cfg;
	const struct snapshot *prev;   /* NULL: no rates this cycle */
	const struct snapshot *cur;
	double elapsed_s;
};

static const char *const cpu_pct_names[CPU_FIELDS] = {
	"user_pct", "nice_pct", "system_pct", "idle_pct", "iowait_pct", "irq_pct",
	"softirq_pct", "steal_pct", "guest_pct", "guest_nice_pct",
};

static const char *const pressure_names[PRESSURE_KINDS] = { "cpu", "memory", "io" };

/* Both snapshots read `source`: its rates can be computed. */
static bool has_rates(const struct emit *e, enum sysstat_source source)
{
	return e->prev != NULL && e->prev->ok[source] && e->cur->ok[source];
}

/*
 * Device and interface names come from the kernel as bytes; the emitter
 * takes only UTF-8.  Each byte that is not part of valid UTF-8 becomes '?'.
 */
static void set_name(const struct emit *e, const char *key, const char *name)
{
	size_t len = strlen(name), valid = pga_utf8_valid_prefix((const unsigned char *)name, len);
	char shown[256];

	if (valid == len || len >= sizeof(shown)) {
		e->h->set_string(e->em, key, valid == len ? name : "?");
		return;
	}
	memcpy(shown, name, len + 1);
	while (valid < len) {
		shown[valid++] = '?';
		valid += pga_utf8_valid_prefix((const unsigned char *)shown + valid, len - valid);
	}
	e->h->set_string(e->em, key, shown);
}

/* A counter's increase per second; nothing when it was reset. */
static void set_counter_rate(const struct emit *e, const char *key, uint64_t before,
			     uint64_t after)
{
	uint64_t delta;

	if (counter_delta(before, after, &delta))
		e->h->set_double(e->em, key, (double)delta / e->elapsed_s);
}

static void set_cpu_percent(const struct emit *e, const struct cpu_times *before,
			    const struct cpu_times *after)
{
	struct cpu_percent pct;

	if (before == NULL || !cpu_percent_between(before, after, &pct))
		return;
	for (int i = 0; i < CPU_FIELDS; i++)
		e->h->set_double(e->em, cpu_pct_names[i], pct.pct[i]);
}

/*
 * The total: its percentages are left out in the cycle where a CPU went
 * offline or came back, since the kernel's sums may step then.
 */
static void emit_cpu_total(const struct emit *e)
{
	const struct kernel_stat *now = &e->cur->stat, *then = e->prev ? &e->prev->stat : NULL;
	bool rates = has_rates(e, SRC_STAT) && then->has_total && cpu_sets_equal(then, now);

	if (!now->has_total)
		return;
	e->h->object_begin(e->em, "cpu");
	e->h->set_uint64(e->em, "cpus", now->n_cpus);
	if (rates)
		set_cpu_percent(e, &then->total, &now->total);
	e->h->object_end(e->em);
}

static void emit_cpus(const struct emit *e)
{
	const struct kernel_stat *now = &e->cur->stat;
	bool rates = has_rates(e, SRC_STAT);

	e->h->array_begin(e->em, "cpus");
	for (size_t i = 0; i < now->n_cpus; i++) {
		e->h->object_begin(e->em, NULL);
		e->h->set_uint64(e->em, "cpu", now->cpus[i].cpu);
		if (rates)
			set_cpu_percent(e, cpu_find(&e->prev->stat, now->cpus[i].cpu), &now->cpus[i]);
		e->h->object_end(e->em);
	}
	e->h->array_end(e->em);
}

static void emit_processes(const struct emit *e)
{
	const struct kernel_stat *now = &e->cur->stat, *then = e->prev ? &e->prev->stat : NULL;
	bool rates = has_rates(e, SRC_STAT);

	e->h->object_begin(e->em, "processes");
	if (now->has_running)
		e->h->set_uint64(e->em, "running", now->procs_running);
	if (now->has_blocked)
		e->h->set_uint64(e->em, "blocked", now->procs_blocked);
	if (rates && then->has_ctxt && now->has_ctxt)
		set_counter_rate(e, "context_switches_per_s", then->ctxt, now->ctxt);
	if (rates && then->has_processes && now->has_processes)
		set_counter_rate(e, "forks_per_s", then->processes, now->processes);
	e->h->object_end(e->em);
}

static void emit_load(const struct emit *e)
{
	const struct loadavg *l = &e->cur->load;

	e->h->object_begin(e->em, "load");
	e->h->set_double(e->em, "avg1", l->avg1);
	e->h->set_double(e->em, "avg5", l->avg5);
	e->h->set_double(e->em, "avg15", l->avg15);
	e->h->set_uint64(e->em, "runnable", l->runnable);
	e->h->set_uint64(e->em, "threads", l->threads);
	e->h->object_end(e->em);
}

static void emit_memory(const struct emit *e)
{
	const struct meminfo *m = &e->cur->mem;

	e->h->object_begin(e->em, "memory");
	for (int i = 0; i < MEM_FIELDS; i++)
		if (m->present[i])
			e->h->set_uint64(e->em, meminfo_keys[i].member, m->value[i]);
	e->h->object_end(e->em);
}

/* oom_kill is rare and whole: the kills of the interval, not a rate. */
static void emit_oom_kills(const struct emit *e, bool rates)
{
	const struct vmstat *now = &e->cur->vm;
	uint64_t kills;

	if (!now->present[VM_OOM_KILL])
		return;
	e->h->set_uint64(e->em, "oom_kill", now->value[VM_OOM_KILL]);
	if (rates && e->prev->vm.present[VM_OOM_KILL] &&
	    counter_delta(e->prev->vm.value[VM_OOM_KILL], now->value[VM_OOM_KILL], &kills))
		e->h->set_uint64(e->em, "oom_kills", kills);
}

static void emit_vmstat(const struct emit *e)
{
	const struct vmstat *now = &e->cur->vm;
	bool rates = has_rates(e, SRC_VMSTAT);
	char key[32];

	e->h->object_begin(e->em, "vmstat");
	for (int i = 0; rates && i < VM_OOM_KILL; i++) {
		if (!now->present[i] || !e->prev->vm.present[i])
			continue;
		snprintf(key, sizeof(key), "%s_per_s", vmstat_names[i]);
		set_counter_rate(e, key, e->prev->vm.value[i], now->value[i]);
	}
	emit_oom_kills(e, rates);
	e->h->object_end(e->em);
}

static bool disk_wanted(const struct emit *e, const struct disk_counters *d)
{
	switch (disk_kind_of(&e->cur->disks, d)) {
	case DISK_LOOP:
		return e->cfg->include_loop_devices;
	case DISK_RAM:
		return e->cfg->include_ram_devices;
	case DISK_PARTITION:
		return e->cfg->include_partitions;
	default:
		return true;
	}
}

static void set_disk_rates(const struct emit *e, const struct disk_rates *r)
{
	e->h->set_double(e->em, "reads_per_s", r->reads_per_s);
	e->h->set_double(e->em, "writes_per_s", r->writes_per_s);
	e->h->set_double(e->em, "read_bytes_per_s", r->read_bytes_per_s);
	e->h->set_double(e->em, "write_bytes_per_s", r->write_bytes_per_s);
	e->h->set_double(e->em, "read_merges_per_s", r->read_merges_per_s);
	e->h->set_double(e->em, "write_merges_per_s", r->write_merges_per_s);
	if (r->has_read_wait)
		e->h->set_double(e->em, "read_wait_ms", r->read_wait_ms);
	if (r->has_write_wait)
		e->h->set_double(e->em, "write_wait_ms", r->write_wait_ms);
	e->h->set_double(e->em, "util_pct", r->util_pct);
	e->h->set_double(e->em, "queue_depth", r->queue_depth);
}

static void emit_disk(const struct emit *e, const struct disk_counters *d, bool rates)
{
	const struct disk_counters *before = rates ? disk_find(&e->prev->disks, d->name) : NULL;
	struct disk_rates r;

	e->h->object_begin(e->em, NULL);
	set_name(e, "name", d->name);
	e->h->set_uint64(e->em, "major", d->major);
	e->h->set_uint64(e->em, "minor", d->minor);
	e->h->set_uint64(e->em, "in_flight", d->value[DISK_IN_FLIGHT]);
	if (before != NULL && disk_rates_between(before, d, e->elapsed_s, &r))
		set_disk_rates(e, &r);
	e->h->object_end(e->em);
}

static void emit_disks(const struct emit *e)
{
	bool rates = has_rates(e, SRC_DISKSTATS);

	e->h->array_begin(e->em, "disks");
	for (size_t i = 0; i < disk_count(&e->cur->disks); i++)
		if (disk_wanted(e, disk_at(&e->cur->disks, i)))
			emit_disk(e, disk_at(&e->cur->disks, i), rates);
	e->h->array_end(e->em);
}

static void emit_interface(const struct emit *e, const struct iface_counters *iface, bool rates)
{
	const struct iface_counters *before = rates ? iface_find(&e->prev->ifaces, iface->name)
						    : NULL;
	double r[IF_FIELDS];

	e->h->object_begin(e->em, NULL);
	set_name(e, "name", iface->name);
	if (before != NULL && iface_rates_between(before, iface, e->elapsed_s, r))
		for (int i = 0; i < IF_FIELDS; i++)
			e->h->set_double(e->em, iface_rate_names[i], r[i]);
	e->h->object_end(e->em);
}

static void emit_interfaces(const struct emit *e)
{
	bool rates = has_rates(e, SRC_NETDEV);

	e->h->array_begin(e->em, "interfaces");
	for (size_t i = 0; i < iface_count(&e->cur->ifaces); i++) {
		const struct iface_counters *iface = iface_at(&e->cur->ifaces, i);

		if (e->cfg->include_loopback || strcmp(iface->name, "lo") != 0)
			emit_interface(e, iface, rates);
	}
	e->h->array_end(e->em);
}

/* Stall time as a share of the interval, in percent like avg10. */
static void emit_pressure_line(const struct emit *e, const char *key,
			       const struct pressure_line *now, const struct pressure_line *then)
{
	uint64_t stalled_us;

	if (!now->present)
		return;
	e->h->object_begin(e->em, key);
	e->h->set_double(e->em, "avg10", now->avg10);
	e->h->set_double(e->em, "avg60", now->avg60);
	e->h->set_double(e->em, "avg300", now->avg300);
	e->h->set_uint64(e->em, "total_us", now->total_us);
	if (then != NULL && then->present && counter_delta(then->total_us, now->total_us, &stalled_us)) {
		double pct = 100.0 * (double)stalled_us / (e->elapsed_s * 1e6);

		e->h->set_double(e->em, "stalled_pct", pct > 100.0 ? 100.0 : pct);
	}
	e->h->object_end(e->em);
}

static void emit_pressure(const struct emit *e)
{
	bool any = false;

	for (int kind = 0; kind < PRESSURE_KINDS; kind++)
		any = any || e->cur->ok[SRC_PRESSURE_CPU + kind];
	if (!any)
		return;
	e->h->object_begin(e->em, "pressure");
	for (int kind = 0; kind < PRESSURE_KINDS; kind++) {
		enum sysstat_source source = (enum sysstat_source)(SRC_PRESSURE_CPU + kind);
		const struct pressure *now = &e->cur->pressure[kind];
		const struct pressure *then = has_rates(e, source) ? &e->prev->pressure[kind] : NULL;

		if (!e->cur->ok[source])
			continue;
		e->h->object_begin(e->em, pressure_names[kind]);
		emit_pressure_line(e, "some", &now->some, then ? &then->some : NULL);
		emit_pressure_line(e, "full", &now->full, then ? &then->full : NULL);
		e->h->object_end(e->em);
	}
	e->h->object_end(e->em);
}

static void emit_postgres(const struct emit *e)
{
	const struct pg_totals *pg = &e->cur->pg;

	e->h->object_begin(e->em, "postgres");
	e->h->set_uint64(e->em, "processes", pg->processes);
	e->h->set_uint64(e->em, "rss_bytes", pg->rss_bytes);
	e->h->set_bool(e->em, "truncated", pg->truncated);
	e->h->object_end(e->em);
}

static void emit_errors(const struct emit *e)
{
	bool any = false;

	for (int s = 0; s < SRC_COUNT; s++)
		any = any || e->cur->error[s][0] != '\0';
	if (!any)
		return;
	e->h->array_begin(e->em, "errors");
	for (int s = 0; s < SRC_COUNT; s++) {
		if (e->cur->error[s][0] == '\0')
			continue;
		e->h->object_begin(e->em, NULL);
		e->h->set_string(e->em, "source", snapshot_path((enum sysstat_source)s));
		set_name(e, "message", e->cur->error[s]);
		e->h->object_end(e->em);
	}
	e->h->array_end(e->em);
}

/* Seconds between the two snapshots, 0 when unknown or when the clock did not advance. */
static double elapsed_seconds(const struct sysstat *st)
{
	if (st->prev == NULL || st->cur->clock_ns <= st->prev->clock_ns)
		return 0;
	if (st->cfg.use_uptime_clock && (!st->prev->ok[SRC_UPTIME] || !st->cur->ok[SRC_UPTIME]))
		return 0;
	return (double)(st->cur->clock_ns - st->prev->clock_ns) / 1e9;
}

int record_emit(struct sysstat *st, struct pga_emitter *em)
{
	struct emit e = { st->host, em, &st->cfg, NULL, st->cur, elapsed_seconds(st) };
	const struct snapshot *cur = st->cur;

	if (e.elapsed_s > 0)
		e.prev = st->prev;
	st->host->record_begin(em, "sysstat");
	if (e.prev != NULL)
		st->host->set_double(em, "interval_s", e.elapsed_s);
	if (cur->ok[SRC_STAT]) {
		emit_cpu_total(&e);
		emit_cpus(&e);
		emit_processes(&e);
	}
	if (cur->ok[SRC_LOADAVG])
		emit_load(&e);
	if (cur->ok[SRC_MEMINFO])
		emit_memory(&e);
	if (cur->ok[SRC_VMSTAT])
		emit_vmstat(&e);
	if (cur->ok[SRC_DISKSTATS])
		emit_disks(&e);
	if (cur->ok[SRC_NETDEV])
		emit_interfaces(&e);
	emit_pressure(&e);
	if (cur->ok[SRC_PROCESSES])
		emit_postgres(&e);
	emit_errors(&e);
	return st->host->record_end(em);
}

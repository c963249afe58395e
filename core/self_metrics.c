#include "self_metrics.h"

#include <stdio.h>
#include <sys/resource.h>

#include "clock.h"
#include "json_number.h"

static double seconds_of(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/*
 * VmHWM of /proc/self/status: this program's own peak.  ru_maxrss is not:
 * Linux carries over the peak of the process that forked it, from before
 * exec, so a collector started from a big parent would report the
 * parent's size.  0 when unreadable.
 */
static uint64_t own_peak_rss_kb(void)
{
	FILE *status = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long kb = 0;

	if (!status)
		return 0;
	while (fgets(line, sizeof(line), status))
		if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			break;
	fclose(status);
	return kb;
}

void self_metrics_read_usage(struct collector_totals *totals)
{
	struct rusage usage;

	if (getrusage(RUSAGE_SELF, &usage) != 0)
		return;
	totals->cpu_user_s = seconds_of(usage.ru_utime);
	totals->cpu_system_s = seconds_of(usage.ru_stime);
	totals->max_rss_kb = own_peak_rss_kb();
	/* Linux reports ru_maxrss in kilobytes. */
	if (totals->max_rss_kb == 0 && usage.ru_maxrss > 0)
		totals->max_rss_kb = (uint64_t)usage.ru_maxrss;
}

static void add_u64(json_object *obj, const char *key, uint64_t value)
{
	json_object_object_add(obj, key, json_object_new_uint64(value));
}

/* A plugin in a worker process: the worker now, and how the last one ended. */
static void add_worker_fields(json_object *entry, const struct runner_stats *st)
{
	json_object_object_add(entry, "worker_pid",
			       st->worker_pid ? json_object_new_int64(st->worker_pid) : NULL);
	add_u64(entry, "worker_crashes", st->worker_crashes);
	add_u64(entry, "worker_kills", st->worker_kills);
	add_u64(entry, "worker_restarts", st->worker_restarts);
	json_object_object_add(entry, "last_worker_exit",
			       st->last_worker_exit[0] ? json_object_new_string(st->last_worker_exit) : NULL);
	json_object_object_add(entry, "last_worker_signal",
			       st->last_worker_signal ? json_object_new_int(st->last_worker_signal) : NULL);
}

static json_object *plugin_entry(const struct plugin_report *report)
{
	json_object *entry = json_object_new_object();
	const struct runner_stats *st = &report->stats;

	if (!entry)
		return NULL;
	json_object_object_add(entry, "name", json_object_new_string(report->name));
	json_object_object_add(entry, "version", json_object_new_string(report->version));
	json_object_object_add(entry, "state", json_object_new_string(runner_state_name(st->state)));
	add_u64(entry, "runs", st->runs);
	add_u64(entry, "failures", st->failures);
	add_u64(entry, "consecutive_failures", st->consecutive_failures);
	add_u64(entry, "overruns", st->overruns);
	json_object_object_add(entry, "last_duration_ms", json_number_new_double(st->last_duration_ms));
	json_object_object_add(entry, "last_cpu_ms", json_number_new_double(st->last_cpu_ms));
	add_u64(entry, "records_emitted", st->records_emitted);
	add_u64(entry, "records_dropped", st->records_dropped);
	add_u64(entry, "records_invalid", st->records_invalid);
	json_object_object_add(entry, "isolation",
			       json_object_new_string(st->isolated ? "process" : "thread"));
	if (st->isolated)
		add_worker_fields(entry, st);
	return entry;
}

json_object *self_metrics_record(const struct collector_totals *totals,
				 const struct plugin_report *reports, size_t n_reports,
				 const struct timespec *now)
{
	json_object *record = json_object_new_object();
	json_object *plugins = json_object_new_array();
	char stamp[CLOCK_RFC3339_LEN];

	if (!record || !plugins) {
		json_object_put(record);
		json_object_put(plugins);
		return NULL;
	}
	clock_format_rfc3339(now, stamp);
	json_object_object_add(record, "type", json_object_new_string("collector"));
	json_object_object_add(record, "plugin", json_object_new_string("collector"));
	json_object_object_add(record, "timestamp", json_object_new_string(stamp));
	json_object_object_add(record, "uptime_s", json_number_new_double(totals->uptime_s));
	json_object_object_add(record, "cpu_user_s", json_number_new_double(totals->cpu_user_s));
	json_object_object_add(record, "cpu_system_s", json_number_new_double(totals->cpu_system_s));
	add_u64(record, "max_rss_kb", totals->max_rss_kb);
	add_u64(record, "payloads_delivered", totals->payloads_delivered);
	add_u64(record, "delivery_failures", totals->delivery_failures);
	add_u64(record, "payloads_dropped", totals->payloads_dropped);
	add_u64(record, "records_dropped_queue", totals->records_dropped_queue);
	add_u64(record, "plugins_rejected", totals->plugins_rejected);
	add_u64(record, "plugins_missing", totals->plugins_missing);
	add_u64(record, "reloads", totals->reloads);
	add_u64(record, "reload_failures", totals->reload_failures);
	add_u64(record, "plugins_abandoned", totals->plugins_abandoned);
	for (size_t i = 0; i < n_reports; i++)
		json_object_array_add(plugins, plugin_entry(&reports[i]));
	json_object_object_add(record, "plugins", plugins);
	return record;
}

/*
 * self_metrics.h - the `collector` record each payload carries: the
 * collector's own health and one entry per plugin instance.
 */
#ifndef PGA_CORE_SELF_METRICS_H
#define PGA_CORE_SELF_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <json.h>

#include "runner.h"

struct collector_totals {
	double uptime_s;
	double cpu_user_s;                /* getrusage(RUSAGE_SELF), every thread */
	double cpu_system_s;
	uint64_t max_rss_kb;              /* peak resident set size (ru_maxrss) */
	uint64_t payloads_delivered;
	uint64_t delivery_failures;
	uint64_t payloads_dropped;        /* refused for good by the output (too large) */
	uint64_t records_dropped_queue;   /* lost at the pending-queue bound */
	uint64_t plugins_rejected;        /* at the last (re)load */
	uint64_t plugins_missing;
	uint64_t reloads;
	uint64_t reload_failures;
	uint64_t plugins_abandoned;       /* stuck past their deadline at a stop */
};

/* What one plugin instance reports: a running one, or one stopped since. */
struct plugin_report {
	const char *name;
	const char *version;
	struct runner_stats stats;
};

/*
 * self_metrics_read_usage - fill the totals' cpu_user_s, cpu_system_s and
 * max_rss_kb from getrusage(RUSAGE_SELF); they stay as they were if it
 * fails.
 */
void self_metrics_read_usage(struct collector_totals *totals);

/*
 * self_metrics_record - build the record from the totals and one entry per
 * plugin report.  Returns a new json object (caller owns) or NULL.
 */
json_object *self_metrics_record(const struct collector_totals *totals,
				 const struct plugin_report *reports, size_t n_reports,
				 const struct timespec *now);

#endif

/*
 * runner_set.h - the plugin instances the collector runs, kept in step with
 * the configuration without ever blocking on a plugin.
 *
 * A runner that must go (its plugin was disabled or reconfigured, or the
 * collector stops) is asked to stop and moves to the retiring list; it is
 * reaped once it exits, or abandoned once it is stuck past its deadline
 * plus a grace period.  A plugin's new instance starts only when its old one
 * is gone, so two instances of one plugin never overlap (except an
 * abandoned one, which is never called again once it returns).
 */
#ifndef PGA_CORE_RUNNER_SET_H
#define PGA_CORE_RUNNER_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pending.h"
#include "plugin_set.h"
#include "runner.h"
#include "self_metrics.h"

/* How long a stopping runner may take beyond the deadline of its call. */
#define RUNNER_STOP_GRACE_NS (2 * 1000000000ULL)

struct retiring_runner {
	struct runner *runner;
	uint64_t deadline;     /* monotonic: abandoned after this */
};

struct runner_set {
	const char *state_dir;           /* borrowed */
	struct pending_queue *queue;     /* borrowed */
	bool once;
	struct runner **running;
	size_t n_running;
	struct retiring_runner *retiring;
	size_t n_retiring;
	struct plugin_choice *wanted;    /* to start once their old instance is gone */
	size_t n_wanted;
	struct plugin_report *gone;      /* final counters, until the next report */
	size_t n_gone;
	size_t n_abandoned;              /* ever; their threads may still run */
};

/* runner_set_init - an empty set; state_dir and queue must outlive it. */
void runner_set_init(struct runner_set *rs, const char *state_dir,
		     struct pending_queue *queue, bool once);

/*
 * runner_set_apply - make the set run what `plugins` chooses: retire the
 * runners that are no longer chosen or whose configuration changed, start
 * the chosen plugins that have no instance.  The choices' sections and
 * images must stay valid until the next apply.
 */
void runner_set_apply(struct runner_set *rs, const struct plugin_set *plugins);

/*
 * runner_set_reap - reap retiring runners that exited, abandon those past
 * their deadline, and start wanted plugins whose old instance is gone.
 * Returns the earliest deadline still pending (0: nothing is retiring).
 */
uint64_t runner_set_reap(struct runner_set *rs);

/* runner_set_retire_all - ask every running plugin to stop. */
void runner_set_retire_all(struct runner_set *rs);

/*
 * runner_set_hurry - stop waiting: abandon every retiring runner that has
 * not exited yet.
 */
void runner_set_hurry(struct runner_set *rs);

/* runner_set_all_settled - every running plugin is runner_settled(). */
bool runner_set_all_settled(struct runner_set *rs);

/*
 * runner_set_reports - one report per running plugin, then the final
 * reports of runners gone since the last call (which are then forgotten).
 * Returns a malloc'd array (caller frees) and its length in *n.
 */
struct plugin_report *runner_set_reports(struct runner_set *rs, size_t *n);

/* runner_set_count - plugins running now. */
size_t runner_set_count(const struct runner_set *rs);

/*
 * runner_set_free - free the lists; every runner must be gone (reaped or
 * abandoned).
 */
void runner_set_free(struct runner_set *rs);

#endif

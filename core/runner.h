/*
 * runner.h - one plugin instance on its own thread: init, collect on the
 * plugin's schedule within its deadline, back off after failures, shutdown.
 *
 * A collect that returns after its deadline has that cycle's records
 * dropped and counted.  Because each plugin has its own thread and hands
 * over records only when a cycle ends, a slow or hung plugin never delays
 * another plugin or the push.
 */
#ifndef PGA_CORE_RUNNER_H
#define PGA_CORE_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "loader.h"
#include "pending.h"

struct runner;

struct runner_stats {
	uint64_t runs;
	uint64_t failures;
	uint64_t consecutive_failures;
	uint64_t overruns;
	uint64_t records_emitted;     /* delivered to the pending queue */
	uint64_t records_dropped;     /* lost to overruns or the queue bound */
	uint64_t records_invalid;     /* dropped for emitter misuse */
	double last_duration_ms;
	const char *state;            /* "starting", "running", "backoff", "stopped", "failed" */
};

/* Backoff after failures never exceeds this, nor 8 intervals. */
#define RUNNER_BACKOFF_CAP_S 300

/*
 * runner_start - start a thread for `image` configured by `section` (copied).
 * once: no jitter, one collect, then shutdown and exit.  state_base is
 * collector.state_dir.  Records go to `queue`, which must outlive the
 * runner.  Returns NULL after logging on failure.
 */
struct runner *runner_start(struct plugin_image *image, const struct plugin_section *section,
			    const char *state_base, struct pending_queue *queue, bool once);

/* runner_name - the plugin's name. */
const char *runner_name(const struct runner *runner);

/* runner_image - the image the runner runs. */
struct plugin_image *runner_image(const struct runner *runner);

/* runner_section - the configuration the runner was started with. */
const struct plugin_section *runner_section(const struct runner *runner);

/* runner_stats - a consistent snapshot of the counters. */
void runner_stats(struct runner *runner, struct runner_stats *out);

/*
 * runner_settled - true once the runner has nothing more to deliver soon:
 * its thread has exited, or the init or collect it is in has overrun its
 * deadline (its records would be dropped anyway).  For --once.
 */
bool runner_settled(struct runner *runner);

/*
 * runner_stop - ask the thread to stop (it then calls shutdown) and wait for
 * it until its current collect's deadline plus grace_ms.  A thread still
 * stuck after that is detached and frees itself if it ever returns; its
 * shutdown is then skipped.  Frees the runner either way.  Returns true when
 * the thread stopped cleanly.
 */
bool runner_stop(struct runner *runner, unsigned grace_ms);

#endif

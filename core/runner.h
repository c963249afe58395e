/*
 * runner.h - one plugin instance on its own thread: init, collect on the
 * plugin's schedule within its deadline, back off after failures, shutdown.
 *
 * init, collect and shutdown of an instance all run on its thread, one at a
 * time.  A collect that returns after its deadline has that cycle's records
 * dropped and counted as an overrun.  Records reach the pending queue only
 * when a cycle ends, so a slow or hung plugin never delays another plugin or
 * the push.
 *
 * Stopping is split so that the caller never blocks on a plugin:
 * runner_request_stop() asks, runner_exited() tells, runner_reap() frees an
 * exited runner and runner_abandon() detaches one that is stuck.
 */
#ifndef PGA_CORE_RUNNER_H
#define PGA_CORE_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "loader.h"
#include "pending.h"

struct runner;

enum runner_state {
	RUNNER_STARTING,      /* in init */
	RUNNER_RUNNING,
	RUNNER_BACKOFF,       /* the last collect failed; waiting longer */
	RUNNER_OVERRUNNING,   /* in init or collect past its deadline */
	RUNNER_INIT_FAILED,   /* the last init failed; waiting to retry it */
	RUNNER_STOPPED
};

struct runner_stats {
	uint64_t runs;                /* collect calls that returned */
	uint64_t failures;            /* failed collect and init calls */
	uint64_t consecutive_failures;
	uint64_t overruns;            /* cycles that ended past the deadline */
	uint64_t records_emitted;     /* handed to the pending queue */
	uint64_t records_dropped;     /* lost because their cycle overran */
	uint64_t records_invalid;     /* dropped for emitter misuse */
	double last_duration_ms;
	double last_cpu_ms;           /* CPU time of the plugin's thread in the last collect */
	enum runner_state state;
	/* Process isolation (docs/ISOLATION.md); all zero for a plugin on a thread. */
	bool isolated;                /* runs in a worker process */
	long worker_pid;              /* of the worker running now; 0: none */
	uint64_t worker_crashes;      /* workers that died or exited unasked */
	uint64_t worker_kills;        /* workers killed for missing a deadline */
	uint64_t worker_restarts;     /* workers started after the first */
	int last_worker_signal;       /* of the last crash or kill; 0: none or an exit */
	char last_worker_exit[64];    /* how the last crashed or killed worker ended; "" */
};

/* runner_state_name - "starting", "running", "backoff", "overrunning", "init_failed", "stopped". */
const char *runner_state_name(enum runner_state state);

/*
 * runner_start - start a thread for `image` configured by `section` (copied).
 * With section->isolation ISOLATION_PROCESS the thread supervises a worker
 * process that runs the plugin (supervisor.h); init, collect and shutdown
 * then happen there, under the same schedule, deadlines and backoff.
 * once: no jitter, one collect, then shutdown and exit.  state_base is
 * collector.state_dir.  Records go to `queue`, which must outlive the
 * runner (or its thread, once abandoned).  Returns NULL after logging.
 */
struct runner *runner_start(struct plugin_image *image, const struct plugin_section *section,
			    const char *state_base, struct pending_queue *queue, bool once);

/* runner_name - the plugin's name (lives as long as the image). */
const char *runner_name(const struct runner *runner);

/* runner_image - the image the runner runs. */
struct plugin_image *runner_image(const struct runner *runner);

/* runner_section - the configuration the runner was started with. */
const struct plugin_section *runner_section(const struct runner *runner);

/* runner_stats - a consistent snapshot of the counters and state. */
void runner_stats(struct runner *runner, struct runner_stats *out);

/*
 * runner_settled - true once the runner has nothing more to deliver soon:
 * its thread has exited, or it is past the deadline of the init or collect
 * it is in.  For --once.
 */
bool runner_settled(struct runner *runner);

/*
 * runner_request_stop - ask the thread to stop: it finishes the call it is
 * in, calls shutdown and exits.  Returns at once.
 */
void runner_request_stop(struct runner *runner);

/*
 * runner_stop_deadline - the monotonic time after which a runner asked to
 * stop counts as stuck: the deadline of the call it is in, plus grace_ns,
 * plus, for a worker process, the grace of a late collect and the time it
 * gets to shut down and exit.
 */
uint64_t runner_stop_deadline(struct runner *runner, uint64_t grace_ns);

/*
 * runner_wait_exited - wait until the thread has exited or the monotonic
 * time `until` has passed.  Returns runner_exited().
 */
bool runner_wait_exited(struct runner *runner, uint64_t until);

/* runner_exited - true once the thread has finished (after shutdown). */
bool runner_exited(struct runner *runner);

/*
 * runner_reap - join an exited runner, store its final counters in *final
 * and free it.
 */
void runner_reap(struct runner *runner, struct runner_stats *final);

/*
 * runner_abandon - give up on a runner whose thread is stuck: detach it.  If
 * its call ever returns, the thread drops that cycle, skips shutdown (the
 * plugin may be in an unknown state) and frees the runner itself.  *final
 * receives the counters as they are now.
 */
void runner_abandon(struct runner *runner, struct runner_stats *final);

#endif

/*
 * runner_internal.h - what runner.c (the schedule, a plugin on a thread)
 * and runner_process.c (a plugin in a worker process) share.  Not for
 * any other file: use runner.h.
 */
#ifndef PGA_CORE_RUNNER_INTERNAL_H
#define PGA_CORE_RUNNER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "emitter.h"
#include "host.h"
#include "runner.h"

struct worker_proc;

enum runner_phase {
	PHASE_STARTING,       /* inside init */
	PHASE_INIT_BACKOFF,   /* init failed; waiting to retry */
	PHASE_WAITING,        /* between cycles */
	PHASE_COLLECTING,
	PHASE_EXITED
};

struct runner {
	pthread_t thread;
	struct plugin_image *image;
	struct plugin_section section;
	struct pending_queue *queue;
	struct pga_ctx ctx;           /* touched by the runner's thread only */
	struct pga_emitter *emitter;
	char *state_dir;
	void *plugin_state;
	bool once;
	uint64_t interval_ns;
	uint64_t timeout_ns;
	/* Process isolation; touched by the runner's thread only. */
	bool isolated;
	struct worker_proc *worker;   /* NULL: none running */
	bool worker_ready;            /* its init succeeded: it can collect */
	uint64_t workers_started;

	pthread_mutex_t lock;         /* guards everything below */
	pthread_cond_t wake;          /* CLOCK_MONOTONIC; stop requests and exit */
	bool stop_requested;
	bool orphaned;                /* abandoned: the thread frees the runner */
	bool init_ok;
	bool backing_off;
	enum runner_phase phase;
	uint64_t phase_deadline_ns;   /* of the init or collect in progress, else 0 */
	struct runner_stats stats;
};

/* runner_lock, runner_unlock - the runner's mutex. */
void runner_lock(struct runner *r);
void runner_unlock(struct runner *r);

/* runner_set_phase - what the thread is doing, and the deadline of it (0: none). */
void runner_set_phase(struct runner *r, enum runner_phase phase, uint64_t deadline_ns);

/*
 * runner_report_init_failure - log a failed init: the full rejection the
 * first time, a short line after; retry_ns is the wait before the next try.
 */
void runner_report_init_failure(struct runner *r, int rc, uint64_t failures, uint64_t retry_ns);

/*
 * runner_deliver_cycle - hand a finished cycle's records to the pending
 * queue, or drop them (counted) when the cycle overran; log misuse.
 */
void runner_deliver_cycle(struct runner *r, struct record_batch *records, bool overran,
			  const struct emitter_cycle_stats *cs);

/*
 * runner_account_result - count a collect that returned `rc` and return
 * the delay until the next one (backing off after failures).
 */
uint64_t runner_account_result(struct runner *r, int rc, bool overran, uint64_t duration_ns,
			       uint64_t cpu_ns);

/* ---- runner_process.c ---- */

/* runner_process_init - init in the worker, starting one if none runs. */
int runner_process_init(struct runner *r);

/*
 * runner_process_cycle - one collect in the worker (restarting it first
 * when the last one died); returns the delay until the next cycle.
 */
uint64_t runner_process_cycle(struct runner *r);

/*
 * runner_process_kill_grace_ns - how long past its deadline a collect in a
 * worker may answer and only be an overrun (its records dropped, as on a
 * thread) before the worker is killed: the timeout, at most
 * RUNNER_STOP_GRACE_NS.
 */
uint64_t runner_process_kill_grace_ns(const struct runner *r);

/*
 * runner_process_stop - shutdown in the worker and let it exit (killed
 * past WORKER_SHUTDOWN_NS); `skip_shutdown` kills it without asking.
 */
void runner_process_stop(struct runner *r, bool skip_shutdown);

#endif

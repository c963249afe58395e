/*
 * runner_process.c - a runner whose plugin runs in a worker process
 * (docs/ISOLATION.md).  The runner's thread keeps the schedule, the
 * deadlines and the counters exactly as for a plugin on a thread, and
 * supervises the worker: a worker that misses a deadline is killed
 * (SIGKILL), one that dies is reaped, and either is restarted at the next
 * cycle, which waits the backoff of the failures so far.
 */
#include <stdio.h>
#include <string.h>

#include "backoff.h"
#include "clock.h"
#include "log.h"
#include "runner_internal.h"
#include "runner_set.h"
#include "supervisor.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* ---- how a worker ended ---- */

/* Which ends of a worker are expected when the runner stops it. */
static bool ended_as_asked(const struct worker_end *end)
{
	return !end->signaled && !end->protocol_error && !end->unknown &&
	       (end->status == 0 || end->status == WORKER_EXIT_PARENT_GONE);
}

/* Count a worker's unasked end in the plugin's stats (`how`: worker_describe_end). */
static void count_end(struct runner *r, const struct worker_end *end, bool killed, const char *how)
{
	runner_lock(r);
	if (killed)
		r->stats.worker_kills++;
	else
		r->stats.worker_crashes++;
	r->stats.last_worker_signal = end->signaled ? end->signal : 0;
	snprintf(r->stats.last_worker_exit, sizeof(r->stats.last_worker_exit), "%s", how);
	r->stats.worker_pid = 0;
	runner_unlock(r);
}

/*
 * Count and log a worker that crashed, exited unasked or was killed
 * (killed: by the runner during `during`, for `why`).
 */
static void report_end(struct runner *r, long pid, const struct worker_end *end, bool killed,
		       const char *during, const char *why)
{
	char how[64], limit[160] = "";

	worker_describe_end(end, how, sizeof(how));
	count_end(r, end, killed, how);
	if (killed) {
		log_msg(LOG_LVL_WARNING, "plugin %s: worker (pid %ld) killed: %s", r->ctx.name, pid,
			why);
		return;
	}
	if (r->section.memory_limit_mb > 0)
		snprintf(limit, sizeof(limit),
			 " (memory_limit_mb = %ld: an allocation past it fails, which the plugin may not survive)",
			 r->section.memory_limit_mb);
	log_msg(LOG_LVL_ERROR, "plugin %s: worker (pid %ld) died during %s: %s%s", r->ctx.name, pid,
		during, how, limit);
}

/* "no answer to collect by its deadline" */
static void missed_deadline(const char *during, char *why, size_t why_size)
{
	snprintf(why, why_size, "no answer to %s by its deadline", during);
}

/*
 * The runner gives up on the worker (for `why`, during `during`): kill it.
 * Returns false when it turned out to have died by itself (reported as a
 * crash).
 */
static bool kill_worker(struct runner *r, const char *during, const char *why)
{
	long pid = (long)worker_pid(r->worker);
	struct worker_end end;
	bool killed = worker_kill(r->worker, &end);

	r->worker = NULL;
	r->worker_ready = false;
	report_end(r, pid, &end, killed, during, why);
	return killed;
}

/* The worker did not answer by its deadline: kill it (see kill_worker). */
static bool kill_late_worker(struct runner *r, const char *during)
{
	char why[96];

	missed_deadline(during, why, sizeof(why));
	return kill_worker(r, during, why);
}

/* The worker is gone (EOF, a failed write, a protocol error): reap it. */
static void lose_worker(struct runner *r, const char *during)
{
	long pid = (long)worker_pid(r->worker);
	struct worker_end end;
	bool killed = worker_finish(r->worker, clock_monotonic_ns() + WORKER_SHUTDOWN_NS, &end);
	char why[96];

	r->worker = NULL;
	r->worker_ready = false;
	snprintf(why, sizeof(why), "%s during %s", end.protocol_error ? "protocol error"
		 : "still running 2 s after its socket ended", during);
	report_end(r, pid, &end, killed, during, why);
}

/* ---- starting ---- */

/* Start the worker unless one runs; false (logged) when it could not be. */
static bool ensure_worker(struct runner *r, uint64_t until)
{
	struct worker_setup setup = {
		.path = r->image->path,
		.state_dir = r->state_dir,
		.memory_limit_mb = r->section.memory_limit_mb,
		.section = &r->section,
	};
	struct worker_end end;

	if (r->worker)
		return true;
	r->worker = worker_start(r->ctx.name, r->image->fd, &setup, until, &end);
	if (!r->worker)
		return false;
	runner_lock(r);
	if (r->workers_started++ > 0)
		r->stats.worker_restarts++;
	r->stats.worker_pid = (long)worker_pid(r->worker);
	runner_unlock(r);
	if (r->workers_started > 1)
		log_msg(LOG_LVL_INFO, "plugin %s: worker restarted (pid %ld)", r->ctx.name,
			(long)worker_pid(r->worker));
	return true;
}

int runner_process_init(struct runner *r)
{
	uint64_t deadline = clock_monotonic_ns() + r->timeout_ns;
	struct worker_reply reply;

	runner_set_phase(r, PHASE_STARTING, deadline);
	if (!ensure_worker(r, deadline))
		return PGA_ERROR;
	switch (worker_call(r->worker, WOP_INIT, deadline, deadline, NULL, &reply)) {
	case WORKER_ANSWERED:
		r->worker_ready = reply.status == PGA_OK;
		return reply.status;
	case WORKER_TIMED_OUT:
		kill_late_worker(r, "init");
		return PGA_EDEADLINE;
	default:
		lose_worker(r, "init");
		return PGA_ERROR;
	}
}

/* ---- collecting ---- */

/* Restart a worker that died, with the init failures counted as in start_plugin. */
static bool restart_if_needed(struct runner *r, uint64_t *delay)
{
	uint64_t failures;
	int rc;

	if (r->worker_ready)
		return true;
	rc = runner_process_init(r);
	runner_lock(r);
	if (rc == PGA_OK) {
		r->init_ok = true;
	} else {
		r->stats.failures++;
		r->stats.consecutive_failures++;
		r->backing_off = true;
	}
	failures = r->stats.consecutive_failures;
	runner_unlock(r);
	runner_set_phase(r, PHASE_WAITING, 0);
	if (rc == PGA_OK)
		return true;
	*delay = backoff_delay_ns(r->interval_ns, failures);
	runner_report_init_failure(r, rc, failures, *delay);
	return false;
}

/*
 * Being a little late must not cost a plugin its process, its state and
 * a backoff.  No more than the timeout itself, nor than a stop waits.
 */
uint64_t runner_process_kill_grace_ns(const struct runner *r)
{
	return r->timeout_ns < RUNNER_STOP_GRACE_NS ? r->timeout_ns : RUNNER_STOP_GRACE_NS;
}

/* A cycle whose worker died: its records never count, like an overrun's. */
static void drop_cycle(struct runner *r, struct record_batch *records)
{
	size_t n = records ? record_batch_count(records) : 0;

	record_batch_free(records);
	runner_lock(r);
	r->stats.records_dropped += n;
	runner_unlock(r);
	if (n)
		log_msg(LOG_LVL_WARNING, "plugin %s: %zu record(s) of the interrupted cycle dropped",
			r->ctx.name, n);
}

/* A collect that never returned: back off before the restart. */
static uint64_t account_lost(struct runner *r, bool crashed)
{
	uint64_t failures, delay;

	runner_lock(r);
	if (crashed)
		r->stats.failures++;
	r->stats.consecutive_failures++;
	failures = r->stats.consecutive_failures;
	r->backing_off = true;
	runner_unlock(r);
	delay = backoff_delay_ns(r->interval_ns, failures);
	log_msg(LOG_LVL_WARNING, "plugin %s: a new worker starts in %llu s", r->ctx.name,
		(unsigned long long)(delay / NS_PER_S));
	return delay;
}

uint64_t runner_process_cycle(struct runner *r)
{
	struct emitter_cycle_stats cs;
	struct worker_reply reply = { 0 };
	struct record_batch *records;
	enum worker_outcome outcome;
	uint64_t start, deadline, end, delay = 0;

	if (!restart_if_needed(r, &delay))
		return delay;
	start = clock_monotonic_ns();
	deadline = start + r->timeout_ns;
	runner_set_phase(r, PHASE_COLLECTING, deadline);
	/* The worker enforces the deadline on the plugin; the kill waits out the grace. */
	emitter_begin_cycle(r->emitter, 0);
	outcome = worker_call(r->worker, WOP_COLLECT, deadline, deadline + runner_process_kill_grace_ns(r),
			      r->emitter, &reply);
	records = emitter_end_cycle(r->emitter, &cs);
	end = clock_monotonic_ns();
	runner_set_phase(r, PHASE_WAITING, 0);
	if (outcome == WORKER_ANSWERED) {
		bool overran = end > deadline;

		runner_deliver_cycle(r, records, overran, &cs);
		return runner_account_result(r, reply.status, overran, end - start, reply.cpu_ns);
	}
	if (outcome == WORKER_TIMED_OUT) {
		runner_deliver_cycle(r, records, true, &cs);
		return account_lost(r, !kill_late_worker(r, "collect"));
	}
	if (outcome == WORKER_TOO_LARGE) {
		drop_cycle(r, records);
		return account_lost(r, !kill_worker(r, "collect",
						   "cycle larger than " STR(WORKER_MAX_CYCLE_MB) " MB"));
	}
	drop_cycle(r, records);
	lose_worker(r, "collect");
	return account_lost(r, true);
}

/* ---- stopping ---- */

/*
 * The collector stopped waiting for this runner (its stop deadline
 * passed): end the worker without its shutdown.  Not a failure of the
 * plugin, so neither counted nor logged as a kill.
 */
static void hurry_worker(struct runner *r)
{
	long pid = (long)worker_pid(r->worker);
	struct worker_end end;

	worker_kill(r->worker, &end);
	r->worker = NULL;
	r->worker_ready = false;
	runner_lock(r);
	r->stats.worker_pid = 0;
	runner_unlock(r);
	log_msg(LOG_LVL_INFO, "plugin %s: worker (pid %ld) ended without its shutdown: "
		"the collector stopped waiting for it", r->ctx.name, pid);
}

void runner_process_stop(struct runner *r, bool skip_shutdown)
{
	uint64_t until = clock_monotonic_ns() + WORKER_SHUTDOWN_NS;
	struct worker_reply reply;
	struct worker_end end;
	bool killed;
	long pid;

	if (!r->worker)
		return;
	if (skip_shutdown) {
		hurry_worker(r);
		return;
	}
	if (r->worker_ready) {
		switch (worker_call(r->worker, WOP_SHUTDOWN, 0, until, NULL, &reply)) {
		case WORKER_TIMED_OUT: kill_late_worker(r, "shutdown"); return;
		case WORKER_LOST: lose_worker(r, "shutdown"); return;
		default: break;
		}
	}
	pid = (long)worker_pid(r->worker);
	killed = worker_finish(r->worker, clock_monotonic_ns() + WORKER_SHUTDOWN_NS, &end);
	r->worker = NULL;
	r->worker_ready = false;
	if (killed || !ended_as_asked(&end)) {
		report_end(r, pid, &end, killed, "shutdown", "no answer to shutdown by its deadline");
		return;
	}
	runner_lock(r);
	r->stats.worker_pid = 0;
	runner_unlock(r);
}

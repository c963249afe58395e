#include "runner.h"
#include "runner_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "clock.h"
#include "emitter.h"
#include "host.h"
#include "log.h"
#include "supervisor.h"

#define JITTER_CAP_NS (10 * NS_PER_S)

void runner_lock(struct runner *r) { pthread_mutex_lock(&r->lock); }
void runner_unlock(struct runner *r) { pthread_mutex_unlock(&r->lock); }

const char *runner_state_name(enum runner_state state)
{
	static const char *const names[] = {
		[RUNNER_STARTING] = "starting",
		[RUNNER_RUNNING] = "running",
		[RUNNER_BACKOFF] = "backoff",
		[RUNNER_OVERRUNNING] = "overrunning",
		[RUNNER_INIT_FAILED] = "init_failed",
		[RUNNER_STOPPED] = "stopped",
	};

	return (unsigned)state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

void runner_set_phase(struct runner *r, enum runner_phase phase, uint64_t deadline_ns)
{
	runner_lock(r);
	r->phase = phase;
	r->phase_deadline_ns = deadline_ns;
	runner_unlock(r);
}

static struct timespec monotonic_timespec(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S) };

	return ts;
}

/* Sleep until the monotonic time `when`; false when asked to stop first. */
static bool wait_until(struct runner *r, uint64_t when)
{
	struct timespec ts = monotonic_timespec(when);
	bool stop;

	runner_lock(r);
	while (!r->stop_requested && clock_monotonic_ns() < when)
		pthread_cond_timedwait(&r->wake, &r->lock, &ts);
	stop = r->stop_requested;
	runner_unlock(r);
	return !stop;
}

static uint64_t first_run_delay(const struct runner *r)
{
	uint64_t span = r->interval_ns < JITTER_CAP_NS ? r->interval_ns : JITTER_CAP_NS;
	unsigned seed = (unsigned)(clock_monotonic_ns() ^ (uintptr_t)r);

	if (r->once || span == 0)
		return 0;
	return (uint64_t)((double)rand_r(&seed) / ((double)RAND_MAX + 1.0) * (double)span);
}

/* ---- init --------------------------------------------------------------- */

static int call_init(struct runner *r)
{
	const struct pga_plugin *d = &r->image->desc;
	int rc;

	if (r->isolated)
		return runner_process_init(r);
	if (!d->init)
		return PGA_OK;
	r->ctx.deadline_ns = clock_monotonic_ns() + r->timeout_ns;
	runner_set_phase(r, PHASE_STARTING, r->ctx.deadline_ns);
	rc = d->init(host_vtable(), &r->ctx, &r->plugin_state);
	r->ctx.deadline_ns = 0;
	return rc;
}

void runner_report_init_failure(struct runner *r, int rc, uint64_t failures, uint64_t retry_ns)
{
	char detail[64], hint[128];

	if (failures > 1) {
		log_msg(LOG_LVL_WARNING, "plugin %s: init failed again (returned %d); next try in %llu s",
			r->ctx.name, rc, (unsigned long long)(retry_ns / NS_PER_S));
		return;
	}
	snprintf(detail, sizeof(detail), "init returned %d", rc);
	if (r->once)
		snprintf(hint, sizeof(hint), "see the plugin's messages above");
	else
		snprintf(hint, sizeof(hint), "see the plugin's messages above; next try in %llu s",
			 (unsigned long long)(retry_ns / NS_PER_S));
	loader_reject(r->ctx.name, r->image->path, "init failed", detail, hint);
}

/* Init until it succeeds, backing off between tries; false if stopped first. */
static bool start_plugin(struct runner *r)
{
	uint64_t failures = 0;

	for (;;) {
		int rc = call_init(r);
		uint64_t retry_ns;

		runner_lock(r);
		if (rc == PGA_OK) {
			r->init_ok = true;
			r->stats.consecutive_failures = 0;
		} else {
			failures++;
			r->stats.failures++;
			r->stats.consecutive_failures = failures;
		}
		runner_unlock(r);
		if (rc == PGA_OK)
			return true;
		retry_ns = backoff_delay_ns(r->interval_ns, failures);
		runner_report_init_failure(r, rc, failures, retry_ns);
		runner_set_phase(r, PHASE_INIT_BACKOFF, 0);
		if (r->once || !wait_until(r, clock_monotonic_ns() + retry_ns))
			return false;
	}
}

/* ---- cycles --------------------------------------------------------------- */

void runner_deliver_cycle(struct runner *r, struct record_batch *records, bool overran,
			  const struct emitter_cycle_stats *cs)
{
	size_t n = records ? record_batch_count(records) : 0;

	/* Records lost at the queue bound are counted by the collector: they
	 * are the oldest, whichever plugin emitted them. */
	if (overran)
		record_batch_free(records);
	else
		pending_add(r->queue, records);
	runner_lock(r);
	if (overran) {
		r->stats.overruns++;
		r->stats.records_dropped += n;
	} else {
		r->stats.records_emitted += n;
	}
	r->stats.records_invalid += cs->records_invalid;
	runner_unlock(r);
	if (cs->records_invalid)
		log_msg(LOG_LVL_WARNING, "plugin %s: %llu invalid record(s) dropped this cycle; first: %s",
			r->ctx.name, (unsigned long long)cs->records_invalid, cs->first_error);
	if (overran)
		log_msg(LOG_LVL_WARNING,
			"plugin %s: collect overran its %llu s deadline; %zu record(s) of this cycle dropped",
			r->ctx.name, (unsigned long long)(r->timeout_ns / NS_PER_S), n);
}

/*
 * Count the outcome and return the delay until the next cycle.  An overrun
 * is counted as such, not as a failure: its cost is the lost cycle.
 */
uint64_t runner_account_result(struct runner *r, int rc, bool overran, uint64_t duration_ns,
			       uint64_t cpu_ns)
{
	bool failed = rc != PGA_OK && rc != PGA_EDEADLINE && !overran;
	uint64_t failures, recovered_after = 0, delay;

	runner_lock(r);
	r->stats.runs++;
	r->stats.last_duration_ms = (double)duration_ns / (double)NS_PER_MS;
	r->stats.last_cpu_ms = (double)cpu_ns / (double)NS_PER_MS;
	if (failed) {
		r->stats.failures++;
		r->stats.consecutive_failures++;
	} else if (rc == PGA_OK && !overran) {
		recovered_after = r->stats.consecutive_failures;
		r->stats.consecutive_failures = 0;
	}
	failures = r->stats.consecutive_failures;
	r->backing_off = failures > 0;
	runner_unlock(r);
	if (recovered_after)
		log_msg(LOG_LVL_INFO, "plugin %s: collect succeeded again after %llu failure(s)",
			r->ctx.name, (unsigned long long)recovered_after);
	delay = backoff_delay_ns(r->interval_ns, failures);
	if (failed)
		log_msg(LOG_LVL_WARNING, "plugin %s: collect failed (returned %d); next try in %llu s",
			r->ctx.name, rc, (unsigned long long)(delay / NS_PER_S));
	return delay;
}

/*
 * CPU time this thread has used, in ns: what one plugin's collect costs,
 * whatever the other threads do meanwhile.
 */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* One collect call; returns the delay until the next one. */
static uint64_t run_cycle(struct runner *r)
{
	struct emitter_cycle_stats cs;
	uint64_t start = clock_monotonic_ns();
	uint64_t deadline = start + r->timeout_ns;
	struct record_batch *records;
	uint64_t cpu_start, cpu_ns;
	bool overran;
	uint64_t end;
	int rc;

	if (r->isolated)
		return runner_process_cycle(r);
	runner_set_phase(r, PHASE_COLLECTING, deadline);
	r->ctx.deadline_ns = deadline;
	emitter_begin_cycle(r->emitter, deadline);
	cpu_start = thread_cpu_ns();
	rc = r->image->desc.collect(r->plugin_state, r->emitter);
	cpu_ns = thread_cpu_ns() - cpu_start;
	records = emitter_end_cycle(r->emitter, &cs);
	end = clock_monotonic_ns();
	r->ctx.deadline_ns = 0;
	runner_set_phase(r, PHASE_WAITING, 0);
	overran = end > deadline;
	runner_deliver_cycle(r, records, overran, &cs);
	return runner_account_result(r, rc, overran, end - start, cpu_ns);
}

static void run_schedule(struct runner *r)
{
	uint64_t next = clock_monotonic_ns() + first_run_delay(r);

	runner_set_phase(r, PHASE_WAITING, 0);
	while (wait_until(r, next)) {
		uint64_t delay = run_cycle(r);

		if (r->once)
			break;
		next = clock_monotonic_ns() + delay;
	}
}

/* ---- thread --------------------------------------------------------------- */

static void free_runner(struct runner *r)
{
	emitter_destroy(r->emitter);
	plugin_section_clear(&r->section);
	free(r->state_dir);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static bool is_orphaned(struct runner *r)
{
	bool orphaned;

	runner_lock(r);
	orphaned = r->orphaned;
	runner_unlock(r);
	return orphaned;
}

static void *runner_main(void *arg)
{
	struct runner *r = arg;
	bool started = start_plugin(r);
	bool orphaned;

	if (started)
		run_schedule(r);
	/* An abandoned plugin may be in any state: do not call into it again. */
	if (r->isolated)
		runner_process_stop(r, is_orphaned(r));
	else if (started && r->image->desc.shutdown && !is_orphaned(r))
		r->image->desc.shutdown(r->plugin_state);
	runner_lock(r);
	r->phase = PHASE_EXITED;
	r->phase_deadline_ns = 0;
	orphaned = r->orphaned;
	pthread_cond_broadcast(&r->wake);
	runner_unlock(r);
	if (orphaned)
		free_runner(r);
	return NULL;
}

static int init_sync(struct runner *r)
{
	pthread_condattr_t attr;
	int rc;

	if (pthread_condattr_init(&attr) != 0)
		return -1;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&r->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (rc != 0)
		return -1;
	pthread_mutex_init(&r->lock, NULL);
	return 0;
}

struct runner *runner_start(struct plugin_image *image, const struct plugin_section *section,
			    const char *state_base, struct pending_queue *queue, bool once)
{
	struct runner *r = calloc(1, sizeof(*r));
	uint64_t default_interval = image->desc.default_interval ? image->desc.default_interval : 60;

	if (!r)
		return NULL;
	if (plugin_section_copy(&r->section, section) < 0 || init_sync(r) < 0) {
		plugin_section_clear(&r->section);
		free(r);
		return NULL;
	}
	r->image = image;
	r->queue = queue;
	r->once = once;
	r->interval_ns = (section->interval > 0 ? (uint64_t)section->interval : default_interval) * NS_PER_S;
	r->timeout_ns = section->timeout > 0 ? (uint64_t)section->timeout * NS_PER_S : r->interval_ns;
	r->emitter = emitter_create(image->desc.name);
	r->state_dir = host_make_state_dir(state_base, image->desc.name);
	r->ctx.name = image->desc.name;
	r->ctx.section = &r->section;
	r->ctx.state_dir = r->state_dir;
	r->isolated = section->isolation == ISOLATION_PROCESS;
	r->stats.isolated = r->isolated;
	/* A plugin that only ever ran in workers could be unloaded, but images are shared. */
	image->ran = true;
	if (!r->emitter || !r->state_dir ||
	    pthread_create(&r->thread, NULL, runner_main, r) != 0) {
		log_msg(LOG_LVL_ERROR, "plugin %s: cannot start its thread", image->desc.name);
		free_runner(r);
		return NULL;
	}
	return r;
}

/* ---- queries and stopping --------------------------------------------------- */

const char *runner_name(const struct runner *runner)
{
	return runner->ctx.name;
}

struct plugin_image *runner_image(const struct runner *runner)
{
	return runner->image;
}

const struct plugin_section *runner_section(const struct runner *runner)
{
	return &runner->section;
}

static bool overdue(const struct runner *r)
{
	return r->phase_deadline_ns && clock_monotonic_ns() > r->phase_deadline_ns;
}

static enum runner_state current_state(const struct runner *r)
{
	if (r->phase == PHASE_EXITED)
		return r->init_ok ? RUNNER_STOPPED : RUNNER_INIT_FAILED;
	if (overdue(r))
		return RUNNER_OVERRUNNING;
	if (r->stop_requested)
		return RUNNER_STOPPED;
	if (r->phase == PHASE_INIT_BACKOFF)
		return RUNNER_INIT_FAILED;
	if (r->phase == PHASE_STARTING)
		return RUNNER_STARTING;
	return r->backing_off ? RUNNER_BACKOFF : RUNNER_RUNNING;
}

void runner_stats(struct runner *runner, struct runner_stats *out)
{
	runner_lock(runner);
	*out = runner->stats;
	out->state = current_state(runner);
	runner_unlock(runner);
}

bool runner_settled(struct runner *runner)
{
	bool settled;

	runner_lock(runner);
	settled = runner->phase == PHASE_EXITED || overdue(runner);
	runner_unlock(runner);
	return settled;
}

void runner_request_stop(struct runner *runner)
{
	runner_lock(runner);
	runner->stop_requested = true;
	pthread_cond_broadcast(&runner->wake);
	runner_unlock(runner);
}

uint64_t runner_stop_deadline(struct runner *runner, uint64_t grace_ns)
{
	uint64_t now = clock_monotonic_ns(), base;

	runner_lock(runner);
	base = runner->phase_deadline_ns > now ? runner->phase_deadline_ns : now;
	runner_unlock(runner);
	/*
	 * A worker's collect may answer within the kill grace, then the worker
	 * gets WORKER_SHUTDOWN_NS to answer shutdown, and as long to exit.
	 */
	if (runner->isolated)
		base += runner_process_kill_grace_ns(runner) + 2 * WORKER_SHUTDOWN_NS;
	return base + grace_ns;
}

bool runner_wait_exited(struct runner *runner, uint64_t until)
{
	struct timespec ts = monotonic_timespec(until);
	bool exited;

	runner_lock(runner);
	while (runner->phase != PHASE_EXITED && clock_monotonic_ns() < until)
		pthread_cond_timedwait(&runner->wake, &runner->lock, &ts);
	exited = runner->phase == PHASE_EXITED;
	runner_unlock(runner);
	return exited;
}

bool runner_exited(struct runner *runner)
{
	return runner_wait_exited(runner, 0);
}

void runner_reap(struct runner *runner, struct runner_stats *final)
{
	pthread_join(runner->thread, NULL);
	runner_stats(runner, final);
	free_runner(runner);
}

void runner_abandon(struct runner *runner, struct runner_stats *final)
{
	/* Once orphaned, the runner may be freed by its thread at any time. */
	pthread_t thread = runner->thread;
	const char *name = runner->ctx.name;
	bool exited;

	runner_lock(runner);
	exited = runner->phase == PHASE_EXITED;
	*final = runner->stats;
	final->state = current_state(runner);
	if (!exited)
		runner->orphaned = true;
	runner_unlock(runner);
	if (exited) {
		runner_reap(runner, final);
		return;
	}
	pthread_detach(thread);
	log_msg(LOG_LVL_WARNING,
		"plugin %s: did not stop in time; left running detached, its shutdown is skipped",
		name);
}

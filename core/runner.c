#include "runner.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "emitter.h"
#include "host.h"
#include "log.h"

#define NS_PER_S 1000000000ULL
#define NS_PER_MS 1000000ULL
#define JITTER_CAP_NS (10 * NS_PER_S)

enum runner_phase {
	PHASE_STARTING,   /* before or inside init */
	PHASE_WAITING,    /* between cycles */
	PHASE_COLLECTING,
	PHASE_EXITED
};

struct runner {
	pthread_t thread;
	struct plugin_image *image;
	struct plugin_section section;
	struct pending_queue *queue;
	struct pga_ctx ctx;
	struct pga_emitter *emitter;
	char *state_dir;
	void *plugin_state;
	bool once;
	uint64_t interval_ns;
	uint64_t timeout_ns;

	pthread_mutex_t lock;      /* guards everything below */
	pthread_cond_t wake;
	bool stop_requested;
	bool orphaned;             /* runner_stop gave up waiting: the thread frees */
	enum runner_phase phase;
	uint64_t phase_deadline_ns;
	bool init_failed;
	bool backing_off;
	struct runner_stats stats;
};

static void lock(struct runner *r) { pthread_mutex_lock(&r->lock); }
static void unlock(struct runner *r) { pthread_mutex_unlock(&r->lock); }

static void set_phase(struct runner *r, enum runner_phase phase, uint64_t deadline_ns)
{
	lock(r);
	r->phase = phase;
	r->phase_deadline_ns = deadline_ns;
	unlock(r);
}

/* Sleep until the monotonic time `when`; false when asked to stop first. */
static bool wait_until(struct runner *r, uint64_t when)
{
	bool stop;

	lock(r);
	while (!r->stop_requested && clock_monotonic_ns() < when) {
		struct timespec ts = { (time_t)(when / NS_PER_S), (long)(when % NS_PER_S) };

		pthread_cond_timedwait(&r->wake, &r->lock, &ts);
	}
	stop = r->stop_requested;
	unlock(r);
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

/* interval * 2^failures, at most 8 intervals and RUNNER_BACKOFF_CAP_S. */
static uint64_t backoff_delay(const struct runner *r, uint64_t failures)
{
	uint64_t cap = RUNNER_BACKOFF_CAP_S * NS_PER_S;
	uint64_t delay = r->interval_ns;

	if (8 * r->interval_ns < cap)
		cap = 8 * r->interval_ns;
	if (cap < r->interval_ns)
		cap = r->interval_ns;
	for (uint64_t i = 0; i < failures && delay < cap; i++)
		delay *= 2;
	return delay < cap ? delay : cap;
}

static bool start_plugin(struct runner *r)
{
	const struct pga_plugin *d = &r->image->desc;
	char detail[64];
	int rc;

	if (!d->init)
		return true;
	set_phase(r, PHASE_STARTING, clock_monotonic_ns() + r->timeout_ns);
	rc = d->init(host_vtable(), &r->ctx, &r->plugin_state);
	if (rc == PGA_OK)
		return true;
	snprintf(detail, sizeof(detail), "init returned %d", rc);
	loader_reject(d->name, r->image->path, "init failed", detail,
		      "see the plugin's messages above; it stays stopped until the next reload");
	return false;
}

static void deliver_cycle(struct runner *r, json_object *records, bool overran,
			  const struct emitter_cycle_stats *cs)
{
	size_t n = records ? json_object_array_length(records) : 0;
	size_t dropped = 0;

	if (overran) {
		json_object_put(records);
		dropped = n;
	} else if (records) {
		dropped = pending_add(r->queue, records);
	}
	lock(r);
	r->stats.records_emitted += n - dropped;
	r->stats.records_dropped += dropped;
	r->stats.records_invalid += cs->records_invalid;
	if (overran)
		r->stats.overruns++;
	unlock(r);
	if (cs->records_invalid)
		log_msg(LOG_LVL_WARNING, "plugin %s: %llu invalid record(s) dropped this cycle; first: %s",
			r->ctx.name, (unsigned long long)cs->records_invalid, cs->first_error);
	if (overran)
		log_msg(LOG_LVL_WARNING,
			"plugin %s: collect overran its %llu s deadline; %zu record(s) of this cycle dropped",
			r->ctx.name, (unsigned long long)(r->timeout_ns / NS_PER_S), n);
}

/* Count the outcome; returns the delay until the next cycle. */
static uint64_t account_result(struct runner *r, int rc, uint64_t duration_ns)
{
	uint64_t failures, recovered_after = 0;

	lock(r);
	r->stats.runs++;
	r->stats.last_duration_ms = (double)duration_ns / (double)NS_PER_MS;
	if (rc == PGA_OK) {
		recovered_after = r->stats.consecutive_failures;
		r->stats.consecutive_failures = 0;
	} else {
		r->stats.failures++;
		r->stats.consecutive_failures++;
	}
	failures = r->stats.consecutive_failures;
	r->backing_off = failures > 0;
	unlock(r);
	if (recovered_after)
		log_msg(LOG_LVL_INFO, "plugin %s: collect succeeded again after %llu failure(s)",
			r->ctx.name, (unsigned long long)recovered_after);
	if (rc != PGA_OK) {
		uint64_t delay = backoff_delay(r, failures);

		log_msg(LOG_LVL_WARNING, "plugin %s: collect failed (returned %d); next try in %llu s",
			r->ctx.name, rc, (unsigned long long)(delay / NS_PER_S));
		return delay;
	}
	return r->interval_ns;
}

/* One collect call; returns the delay until the next one. */
static uint64_t run_cycle(struct runner *r)
{
	struct emitter_cycle_stats cs;
	uint64_t start = clock_monotonic_ns();
	uint64_t deadline = start + r->timeout_ns;
	json_object *records;
	uint64_t end;
	int rc;

	set_phase(r, PHASE_COLLECTING, deadline);
	r->ctx.deadline_ns = deadline;
	emitter_begin_cycle(r->emitter, deadline);
	rc = r->image->desc.collect(r->plugin_state, r->emitter);
	records = emitter_end_cycle(r->emitter, &cs);
	end = clock_monotonic_ns();
	r->ctx.deadline_ns = 0;
	set_phase(r, PHASE_WAITING, 0);
	deliver_cycle(r, records, end > deadline, &cs);
	return account_result(r, rc, end - start);
}

static void free_runner(struct runner *r)
{
	emitter_destroy(r->emitter);
	plugin_section_clear(&r->section);
	free(r->state_dir);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static void *runner_main(void *arg)
{
	struct runner *r = arg;
	bool orphaned;

	if (!start_plugin(r)) {
		lock(r);
		r->init_failed = true;
		unlock(r);
	} else {
		uint64_t next = clock_monotonic_ns() + first_run_delay(r);

		set_phase(r, PHASE_WAITING, 0);
		while (wait_until(r, next)) {
			uint64_t delay = run_cycle(r);

			if (r->once)
				break;
			next = clock_monotonic_ns() + delay;
		}
		if (r->image->desc.shutdown)
			r->image->desc.shutdown(r->plugin_state);
	}
	lock(r);
	r->phase = PHASE_EXITED;
	orphaned = r->orphaned;
	unlock(r);
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

static uint64_t seconds_or(long value, uint64_t fallback_s)
{
	return (value > 0 ? (uint64_t)value : fallback_s) * NS_PER_S;
}

struct runner *runner_start(struct plugin_image *image, const struct plugin_section *section,
			    const char *state_base, struct pending_queue *queue, bool once)
{
	struct runner *r = calloc(1, sizeof(*r));
	uint32_t default_interval = image->desc.default_interval ? image->desc.default_interval : 60;

	if (!r)
		return NULL;
	if (plugin_section_copy(&r->section, section) < 0) {
		free(r);
		return NULL;
	}
	if (init_sync(r) < 0) {
		plugin_section_clear(&r->section);
		free(r);
		return NULL;
	}
	r->image = image;
	r->queue = queue;
	r->once = once;
	r->interval_ns = seconds_or(section->interval, default_interval);
	r->timeout_ns = section->timeout > 0 ? seconds_or(section->timeout, 1) : r->interval_ns;
	r->stats.state = "starting";
	r->emitter = emitter_create(image->desc.name);
	r->state_dir = host_make_state_dir(state_base, image->desc.name);
	r->ctx.name = image->desc.name;
	r->ctx.section = &r->section;
	r->ctx.state_dir = r->state_dir;
	image->ran = true;
	if (!r->emitter || !r->state_dir ||
	    pthread_create(&r->thread, NULL, runner_main, r) != 0) {
		log_msg(LOG_LVL_ERROR, "plugin %s: cannot start its thread", image->desc.name);
		free_runner(r);
		return NULL;
	}
	return r;
}

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

static const char *state_name(const struct runner *r)
{
	if (r->init_failed)
		return "failed";
	if (r->phase == PHASE_EXITED || r->stop_requested)
		return "stopped";
	if (r->phase == PHASE_STARTING)
		return "starting";
	return r->backing_off ? "backoff" : "running";
}

void runner_stats(struct runner *runner, struct runner_stats *out)
{
	lock(runner);
	*out = runner->stats;
	out->state = state_name(runner);
	unlock(runner);
}

bool runner_settled(struct runner *runner)
{
	bool settled;

	lock(runner);
	settled = runner->phase == PHASE_EXITED ||
		  (runner->phase_deadline_ns && clock_monotonic_ns() > runner->phase_deadline_ns);
	unlock(runner);
	return settled;
}

static struct timespec realtime_after_ns(uint64_t ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ns += (uint64_t)ts.tv_nsec;
	ts.tv_sec += (time_t)(ns / NS_PER_S);
	ts.tv_nsec = (long)(ns % NS_PER_S);
	return ts;
}

bool runner_stop(struct runner *runner, unsigned grace_ms)
{
	uint64_t now = clock_monotonic_ns(), wait_ns = (uint64_t)grace_ms * NS_PER_MS;
	/* Once orphaned, the runner may be freed by its thread at any time. */
	const char *name = runner->ctx.name;
	pthread_t thread = runner->thread;
	struct timespec until;
	bool exited;

	lock(runner);
	runner->stop_requested = true;
	if (runner->phase_deadline_ns > now)
		wait_ns += runner->phase_deadline_ns - now;
	pthread_cond_signal(&runner->wake);
	unlock(runner);

	until = realtime_after_ns(wait_ns);
	if (pthread_timedjoin_np(thread, NULL, &until) == 0) {
		free_runner(runner);
		return true;
	}
	lock(runner);
	exited = runner->phase == PHASE_EXITED;
	if (!exited)
		runner->orphaned = true;
	unlock(runner);
	if (exited) {
		pthread_join(thread, NULL);
		free_runner(runner);
		return true;
	}
	pthread_detach(thread);
	log_msg(LOG_LVL_WARNING,
		"plugin %s: still busy %u ms past its deadline; left running detached, its shutdown is skipped",
		name, grace_ms);
	return false;
}

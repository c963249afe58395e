#include "collector.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "output.h"
#include "payload.h"
#include "pending.h"
#include "plugin_set.h"
#include "runner.h"
#include "self_metrics.h"
#include "host.h"
#include "state_store.h"

#define NS_PER_S 1000000000ULL
#define MAX_PENDING_RECORDS 200000
#define STOP_GRACE_MS 2000
#define ONCE_POLL_NS (10 * 1000000ULL)

struct collector {
	const struct collector_options *opts;
	struct config *cfg;
	struct image_registry registry;
	struct runner **runners;
	size_t n_runners;
	struct pending_queue *queue;
	struct output *output;
	char *output_destination;
	char *state_dir;            /* fixed at start: plugins' state lives there */
	char *hostname;
	char *collector_id;
	size_t n_orphans;           /* runners left running detached */
	struct plugin_report *retired;  /* final counters of runners stopped since the last payload */
	size_t n_retired;
	uint64_t seq;               /* of the last payload built */
	bool seq_persist_warned;
	json_object *unsent;        /* a payload whose delivery failed; retried first */
	uint64_t started_ns;
	struct collector_totals totals;
};

/* ---- identity and state ------------------------------------------------- */

static char *local_hostname(void)
{
	char name[256];

	if (gethostname(name, sizeof(name)) < 0)
		return strdup("unknown");
	name[sizeof(name) - 1] = '\0';
	return strdup(name);
}

static int prepare_identity(struct collector *c)
{
	const struct collector_settings *s = &c->cfg->collector;

	free(c->hostname);
	free(c->collector_id);
	c->hostname = s->hostname[0] ? strdup(s->hostname) : local_hostname();
	c->collector_id = s->id[0] ? strdup(s->id) : state_read_collector_id(c->state_dir);
	return c->hostname ? 0 : -1;
}

static int prepare_state_dir(struct collector *c)
{
	const char *dir = c->cfg->collector.state_dir;

	c->state_dir = strdup(dir);
	if (!c->state_dir)
		return -1;
	if (host_make_dir(dir) < 0) {
		log_msg(LOG_LVL_ERROR,
			"state_dir \"%s\": cannot create it: %s; set collector.state_dir to a writable directory",
			dir, strerror(errno));
		return -1;
	}
	if (state_read_seq(dir, &c->seq) < 0)
		return -1;
	return 0;
}

static void persist_seq(struct collector *c)
{
	if (state_write_seq(c->state_dir, c->seq) == 0 || c->seq_persist_warned)
		return;
	c->seq_persist_warned = true;
	log_msg(LOG_LVL_WARNING, "%s/seq: cannot store the batch sequence: %s; it starts again from 1 after a restart",
		c->state_dir, strerror(errno));
}

/* ---- output ------------------------------------------------------------- */

static const char *wanted_destination(const struct collector *c, const struct config *cfg)
{
	return c->opts->output ? c->opts->output : cfg->backend.url;
}

static int open_output(struct collector *c, const char *destination)
{
	char err[512];
	struct output *out = output_open(destination, err, sizeof(err));
	char *copy;

	if (!out) {
		log_msg(LOG_LVL_ERROR, "output: %s", err);
		return -1;
	}
	copy = strdup(destination);
	if (!copy) {
		output_close(out);
		return -1;
	}
	output_close(c->output);
	free(c->output_destination);
	c->output = out;
	c->output_destination = copy;
	return 0;
}

/* ---- runners -------------------------------------------------------------- */

static struct runner *find_runner(const struct collector *c, const char *name, size_t *index)
{
	for (size_t i = 0; i < c->n_runners; i++) {
		if (strcmp(runner_name(c->runners[i]), name) == 0) {
			if (index)
				*index = i;
			return c->runners[i];
		}
	}
	return NULL;
}

static void stop_runner(struct collector *c, struct runner *runner, unsigned grace_ms)
{
	if (!runner_stop(runner, grace_ms))
		c->n_orphans++;
}

static int add_runner(struct collector *c, struct runner *runner)
{
	struct runner **grown = realloc(c->runners, (c->n_runners + 1) * sizeof(*grown));

	if (!grown) {
		stop_runner(c, runner, STOP_GRACE_MS);
		return -1;
	}
	c->runners = grown;
	c->runners[c->n_runners++] = runner;
	return 0;
}

/* Keep a stopped runner's final counters for the next payload. */
static void retire_report(struct collector *c, struct runner *runner)
{
	struct plugin_report *grown = realloc(c->retired, (c->n_retired + 1) * sizeof(*grown));

	if (!grown)
		return;
	c->retired = grown;
	grown[c->n_retired].name = runner_name(runner);
	grown[c->n_retired].version = runner_image(runner)->desc.version;
	runner_stats(runner, &grown[c->n_retired].stats);
	grown[c->n_retired].stats.state = "stopped";
	c->n_retired++;
}

static void remove_runner_at(struct collector *c, size_t index, unsigned grace_ms)
{
	retire_report(c, c->runners[index]);
	stop_runner(c, c->runners[index], grace_ms);
	memmove(&c->runners[index], &c->runners[index + 1],
		(c->n_runners - index - 1) * sizeof(*c->runners));
	c->n_runners--;
}

static int start_choice(struct collector *c, const struct plugin_choice *choice, bool once)
{
	const struct plugin_section *s = choice->section;
	struct runner *runner = runner_start(choice->image, s, c->state_dir, c->queue, once);

	if (!runner)
		return -1;
	if (!once)
		log_msg(LOG_LVL_INFO, "plugin \"%s\": started (%s)", s->name, choice->image->path);
	return add_runner(c, runner);
}

static const struct plugin_choice *choice_for(const struct plugin_set *set, const char *name)
{
	for (size_t i = 0; i < set->n_choices; i++) {
		if (strcmp(set->choices[i].section->name, name) == 0)
			return &set->choices[i];
	}
	return NULL;
}

/* A runner may keep going when nothing about it changed and it is healthy. */
static bool runner_unchanged(struct runner *runner, const struct plugin_choice *choice)
{
	struct runner_stats st;

	runner_stats(runner, &st);
	return runner_image(runner) == choice->image && strcmp(st.state, "failed") != 0 &&
	       plugin_sections_equal(runner_section(runner), choice->section);
}

static void stop_unwanted_runners(struct collector *c, const struct plugin_set *set)
{
	for (size_t i = c->n_runners; i-- > 0;) {
		const char *name = runner_name(c->runners[i]);
		const struct plugin_choice *choice = choice_for(set, name);

		if (choice && runner_unchanged(c->runners[i], choice))
			continue;
		log_msg(LOG_LVL_INFO, "plugin \"%s\": stopped%s", name,
			choice ? " (configuration changed; restarting)" : "");
		remove_runner_at(c, i, STOP_GRACE_MS);
	}
}

static void apply_plugin_set(struct collector *c, const struct plugin_set *set, bool once)
{
	stop_unwanted_runners(c, set);
	for (size_t i = 0; i < set->n_choices; i++) {
		if (!find_runner(c, set->choices[i].section->name, NULL))
			start_choice(c, &set->choices[i], once);
	}
	c->totals.plugins_rejected = set->n_rejected;
	c->totals.plugins_missing = set->n_missing;
}

static void stop_all_runners(struct collector *c, unsigned grace_ms)
{
	while (c->n_runners)
		remove_runner_at(c, c->n_runners - 1, grace_ms);
}

/* ---- payloads --------------------------------------------------------------- */

/* Running plugins first, then those stopped since the last payload. */
static struct plugin_report *plugin_reports(struct collector *c, size_t *n)
{
	struct plugin_report *reports = calloc(c->n_runners + c->n_retired + 1, sizeof(*reports));

	*n = 0;
	if (!reports)
		return NULL;
	for (size_t i = 0; i < c->n_runners; i++, (*n)++) {
		reports[*n].name = runner_name(c->runners[i]);
		reports[*n].version = runner_image(c->runners[i])->desc.version;
		runner_stats(c->runners[i], &reports[*n].stats);
	}
	for (size_t i = 0; i < c->n_retired; i++)
		reports[(*n)++] = c->retired[i];
	return reports;
}

static json_object *build_payload(struct collector *c)
{
	struct plugin_report *reports;
	size_t n_reports;
	struct payload_header h = { 0 };
	json_object *records, *self;
	uint64_t dropped = 0;

	records = pending_take(c->queue, &dropped);
	if (!records)
		return NULL;
	c->totals.records_dropped_queue += dropped;
	clock_gettime(CLOCK_REALTIME, &h.created);
	c->totals.uptime_s = (double)(clock_monotonic_ns() - c->started_ns) / (double)NS_PER_S;
	reports = plugin_reports(c, &n_reports);
	self = self_metrics_record(&c->totals, reports, n_reports, &h.created);
	free(reports);
	if (self)
		json_object_array_add(records, self);
	free(c->retired);
	c->retired = NULL;
	c->n_retired = 0;
	h.collector_id = c->collector_id;
	h.hostname = c->hostname;
	h.version = PGA_VERSION;
	h.seq = c->seq + 1;
	return payload_build(&h, records);
}

static bool deliver(struct collector *c, json_object *payload)
{
	char err[512];

	if (output_deliver(c->output, payload, err, sizeof(err)) == 0) {
		c->totals.payloads_delivered++;
		return true;
	}
	c->totals.delivery_failures++;
	log_msg(LOG_LVL_ERROR, "output %s: %s; the payload is kept and retried at the next push",
		c->output_destination, err);
	return false;
}

/* Deliver the payload kept from a failed push first, then a new one. */
static bool push(struct collector *c)
{
	json_object *payload;

	if (c->unsent) {
		if (!deliver(c, c->unsent))
			return false;
		json_object_put(c->unsent);
		c->unsent = NULL;
	}
	payload = build_payload(c);
	if (!payload) {
		log_msg(LOG_LVL_ERROR, "cannot build a payload: out of memory");
		return false;
	}
	c->seq++;
	persist_seq(c);
	if (deliver(c, payload)) {
		json_object_put(payload);
		return true;
	}
	c->unsent = payload;
	return false;
}

/* ---- loading and reloading ------------------------------------------------- */

static bool plugin_set_usable(const struct plugin_set *set)
{
	return set->n_config_errors == 0;
}

static int load_everything(struct collector *c, bool once)
{
	struct plugin_set set;
	enum log_level level = LOG_LVL_INFO;

	c->cfg = config_load(c->opts->config_path);
	if (!c->cfg)
		return EXIT_INVALID;
	log_parse_level(c->cfg->collector.log_level, &level);
	log_open(!c->opts->foreground && !once, level);
	if (plugin_set_prepare(c->cfg, &c->registry, &set) < 0)
		return EXIT_RUNTIME;
	if (!plugin_set_usable(&set)) {
		plugin_set_clear(&set);
		return EXIT_INVALID;
	}
	if (prepare_state_dir(c) < 0 || prepare_identity(c) < 0 ||
	    open_output(c, wanted_destination(c, c->cfg)) < 0) {
		plugin_set_clear(&set);
		return EXIT_RUNTIME;
	}
	apply_plugin_set(c, &set, once);
	plugin_set_clear(&set);
	return EXIT_OK;
}

/*
 * SIGHUP: the new configuration replaces the old only when it is valid as
 * a whole; records already collected stay queued either way.
 */
static void reload(struct collector *c)
{
	struct config *fresh = config_load(c->opts->config_path);
	struct plugin_set set;
	enum log_level level = LOG_LVL_INFO;
	const char *destination;

	c->totals.reloads++;
	if (!fresh || plugin_set_prepare(fresh, &c->registry, &set) < 0)
		goto refused;
	if (!plugin_set_usable(&set)) {
		plugin_set_clear(&set);
		goto refused;
	}
	destination = wanted_destination(c, fresh);
	if (strcmp(destination, c->output_destination) != 0 && open_output(c, destination) < 0) {
		plugin_set_clear(&set);
		goto refused;
	}
	if (strcmp(fresh->collector.state_dir, c->state_dir) != 0)
		log_msg(LOG_LVL_WARNING, "collector.state_dir changed to %s; it takes effect at the next restart",
			fresh->collector.state_dir);
	log_parse_level(fresh->collector.log_level, &level);
	log_set_level(level);
	apply_plugin_set(c, &set, false);
	plugin_set_clear(&set);
	/* Running plugins keep copies of their sections; the old config can go. */
	config_free(c->cfg);
	c->cfg = fresh;
	prepare_identity(c);
	log_msg(LOG_LVL_INFO, "configuration reloaded from %s", c->opts->config_path);
	return;
refused:
	c->totals.reload_failures++;
	config_free(fresh);
	log_msg(LOG_LVL_ERROR, "reload refused: the configuration above is invalid; still running the previous one");
}

/* ---- main loops -------------------------------------------------------------- */

static void block_signals(sigset_t *handled)
{
	sigemptyset(handled);
	sigaddset(handled, SIGHUP);
	sigaddset(handled, SIGTERM);
	sigaddset(handled, SIGINT);
	/* Before any thread exists, so that every plugin thread inherits the mask. */
	pthread_sigmask(SIG_BLOCK, handled, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static struct timespec until_ns(uint64_t deadline)
{
	uint64_t now = clock_monotonic_ns();
	uint64_t left = deadline > now ? deadline - now : 0;
	struct timespec ts = { (time_t)(left / NS_PER_S), (long)(left % NS_PER_S) };

	return ts;
}

static int daemon_loop(struct collector *c, const sigset_t *handled)
{
	uint64_t next_push = clock_monotonic_ns() + (uint64_t)c->cfg->collector.push_interval * NS_PER_S;

	log_msg(LOG_LVL_INFO, "collector %s started: %zu plugin(s), a payload every %ld s to %s",
		PGA_VERSION, c->n_runners, c->cfg->collector.push_interval, c->output_destination);
	for (;;) {
		struct timespec wait = until_ns(next_push);
		int sig = sigtimedwait(handled, NULL, &wait);

		if (sig == SIGHUP) {
			reload(c);
		} else if (sig == SIGTERM || sig == SIGINT) {
			log_msg(LOG_LVL_INFO, "received %s; stopping", strsignal(sig));
			break;
		} else if (sig < 0 && errno == EAGAIN) {
			uint64_t period = (uint64_t)c->cfg->collector.push_interval * NS_PER_S;
			uint64_t now = clock_monotonic_ns();

			push(c);
			next_push += period;
			if (next_push <= now)
				next_push = now + period;
		}
	}
	stop_all_runners(c, STOP_GRACE_MS);
	return push(c) ? EXIT_OK : EXIT_RUNTIME;
}

static bool all_settled(struct collector *c)
{
	for (size_t i = 0; i < c->n_runners; i++) {
		if (!runner_settled(c->runners[i]))
			return false;
	}
	return true;
}

static int once_cycle(struct collector *c)
{
	struct timespec pause = { 0, (long)ONCE_POLL_NS };

	while (!all_settled(c))
		nanosleep(&pause, NULL);
	/* Settled runners have exited or overrun: do not wait for them again. */
	stop_all_runners(c, 0);
	return push(c) ? EXIT_OK : EXIT_RUNTIME;
}

static void collector_free(struct collector *c)
{
	stop_all_runners(c, STOP_GRACE_MS);
	free(c->runners);
	json_object_put(c->unsent);
	free(c->retired);
	output_close(c->output);
	free(c->output_destination);
	free(c->hostname);
	free(c->collector_id);
	free(c->state_dir);
	config_free(c->cfg);
	/* A detached runner may still touch its image and the queue. */
	if (c->n_orphans == 0) {
		pending_destroy(c->queue);
		registry_free(&c->registry);
	}
}

int collector_run(const struct collector_options *opts)
{
	struct collector c = { .opts = opts };
	sigset_t handled;
	int rc;

	block_signals(&handled);
	c.started_ns = clock_monotonic_ns();
	c.queue = pending_create(MAX_PENDING_RECORDS);
	if (!c.queue)
		return EXIT_RUNTIME;
	rc = load_everything(&c, opts->once);
	if (rc == EXIT_OK)
		rc = opts->once ? once_cycle(&c) : daemon_loop(&c, &handled);
	collector_free(&c);
	return rc;
}

int collector_check_config(const char *config_path)
{
	struct image_registry registry = { 0 };
	struct config *cfg = config_load(config_path);
	struct plugin_set set;
	int rc = EXIT_INVALID;

	if (!cfg)
		return EXIT_INVALID;
	if (plugin_set_prepare(cfg, &registry, &set) == 0) {
		if (set.n_config_errors == 0 && set.n_rejected == 0) {
			printf("configuration OK: %s, %zu plugin(s) enabled\n", config_path, set.n_choices);
			rc = EXIT_OK;
		}
		plugin_set_clear(&set);
	}
	registry_free(&registry);
	config_free(cfg);
	return rc;
}

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
#include "durable.h"
#include "log.h"
#include "output.h"
#include "payload.h"
#include "pending.h"
#include "plugin_set.h"
#include "runner_set.h"
#include "self_metrics.h"
#include "state_store.h"

#define MAX_PENDING_RECORDS 200000
/* How often the main loop looks at retiring plugins and --once plugins. */
#define POLL_NS (50 * NS_PER_MS)
/* At exit, how long the backend gets to take what is still spooled. */
#define FINISH_TIMEOUT_NS (5 * NS_PER_S)

struct collector {
	const struct collector_options *opts;
	struct config *cfg;
	struct image_registry registry;
	struct runner_set runners;
	struct pending_queue *queue;
	struct output *output;
	char *output_destination;
	char *state_dir;            /* fixed at start: plugins' state lives there */
	char *hostname;
	char *collector_id;
	uint64_t seq;               /* of the last payload built */
	bool owns_state;            /* holds the state_dir lock: may use up seq numbers */
	struct payload *unsent;     /* a payload whose delivery failed; retried first */
	uint64_t started_ns;
	struct collector_totals totals;
};

/* ---- identity and state ------------------------------------------------- */

static const char *wanted_destination(const struct collector *c, const struct config *cfg)
{
	return c->opts->output ? c->opts->output : cfg->backend.url;
}

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

/*
 * One collector per state_dir: two would hand out the same sequence
 * numbers.  A --once run that only prints may share it, without using up a
 * number.
 */
static int lock_state_dir(struct collector *c)
{
	bool printing = strcmp(wanted_destination(c, c->cfg), "-") == 0;
	long holder;

	if (state_lock(c->state_dir, &holder) == 0) {
		c->owns_state = true;
		return 0;
	}
	if (errno != EWOULDBLOCK) {
		log_msg(LOG_LVL_ERROR, "state_dir \"%s\": cannot lock it: %s", c->state_dir, strerror(errno));
		return -1;
	}
	if (c->opts->once && printing) {
		log_msg(LOG_LVL_INFO, "another collector (pid %ld) uses %s; this payload's seq is not used up",
			holder, c->state_dir);
		return 0;
	}
	log_msg(LOG_LVL_ERROR,
		"state_dir \"%s\" is in use by another collector (pid %ld); stop it, or give this one its own collector.state_dir",
		c->state_dir, holder);
	return -1;
}

/*
 * A collector that registered with a backend but has no stored sequence
 * lost it (state_dir/seq deleted or restored from an old backup).  Starting
 * again at 1 would make the backend drop new batches as duplicates of old
 * ones; the time in milliseconds is above any number handed out before.
 */
static void resume_lost_seq(struct collector *c)
{
	char *credentials = NULL;
	struct timespec now;

	if (c->seq != 0 || asprintf(&credentials, "%s/credentials.json", c->state_dir) < 0)
		return;
	if (access(credentials, F_OK) == 0) {
		clock_gettime(CLOCK_REALTIME, &now);
		c->seq = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
		log_msg(LOG_LVL_WARNING,
			"%s/seq is missing although this collector is registered; sequence numbers "
			"continue from %llu (the time in ms) so that the backend never sees one twice",
			c->state_dir, (unsigned long long)c->seq);
	}
	free(credentials);
}

static int prepare_state_dir(struct collector *c)
{
	const char *dir = c->cfg->collector.state_dir;

	c->state_dir = strdup(dir);
	if (!c->state_dir)
		return -1;
	if (durable_make_private_dir(dir) < 0) {
		log_msg(LOG_LVL_ERROR,
			"state_dir \"%s\": cannot create it: %s; set collector.state_dir to a writable directory",
			dir, strerror(errno));
		return -1;
	}
	if (state_read_seq(dir, &c->seq) < 0 || lock_state_dir(c) < 0)
		return -1;
	resume_lost_seq(c);
	return 0;
}

/* ---- output ------------------------------------------------------------- */

static struct delivery_settings delivery_settings_of(const struct collector *c,
						      const struct config *cfg)
{
	struct delivery_settings s = {
		.backend = &cfg->backend,
		.state_dir = c->state_dir,
		.hostname = c->hostname,
		.configured_id = cfg->collector.id,
		.push_interval_s = cfg->collector.push_interval,
		.config_pull_interval_s = cfg->collector.config_pull_interval,
	};

	return s;
}

static struct output *open_destination(const struct collector *c, const struct config *cfg,
				       const char *destination)
{
	struct delivery_settings backend = delivery_settings_of(c, cfg);
	char err[512];
	struct output *out = output_open(destination, &backend, err, sizeof(err));

	if (!out)
		log_msg(LOG_LVL_ERROR, "output: %s", err);
	return out;
}

/*
 * One sending thread per spool: the old output is closed before the new
 * one opens.  If the new one cannot open, the old one is opened again.
 */
static int open_output(struct collector *c, const struct config *cfg, const char *destination)
{
	struct output *out;
	uint64_t min_next;
	char *copy = strdup(destination);

	if (!copy)
		return -1;
	output_close(c->output);
	c->output = NULL;
	out = open_destination(c, cfg, destination);
	if (!out) {
		free(copy);
		if (c->output_destination && cfg != c->cfg)
			c->output = open_destination(c, c->cfg, c->output_destination);
		return -1;
	}
	free(c->output_destination);
	c->output = out;
	c->output_destination = copy;
	/* Batches still spooled keep their numbers: never hand one out twice. */
	min_next = output_min_next_seq(out);
	if (c->seq + 1 < min_next)
		c->seq = min_next - 1;
	return 0;
}

/*
 * The id in the envelope: the one the backend knows us by when delivering
 * to it (registered, or collector.id with hmac auth), else collector.id,
 * else the one stored at registration.
 */
static void refresh_collector_id(struct collector *c)
{
	char *registered = output_collector_id(c->output);

	if (!registered)
		return;
	free(c->collector_id);
	c->collector_id = registered;
}

/* ---- payloads --------------------------------------------------------------- */

/*
 * The collector record goes last.  It is small and built with json-c (the
 * output adds its own counters to it), then joins the plugins' records as
 * text.  Without memory for it the payload goes out without it, as before.
 */
static void append_self_record(struct collector *c, struct record_batch *records,
			       const struct timespec *created)
{
	struct plugin_report *reports;
	size_t n_reports = 0, len = 0;
	json_object *self;
	const char *text;

	reports = runner_set_reports(&c->runners, &n_reports);
	self = self_metrics_record(&c->totals, reports, n_reports, created);
	free(reports);
	if (!self)
		return;
	output_health(c->output, self);
	text = json_object_to_json_string_length(
		self, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (text)
		record_batch_append(records, text, len);
	json_object_put(self);
}

static struct payload *build_payload(struct collector *c, uint64_t seq)
{
	struct payload_header h = { 0 };
	struct record_batch *records;
	uint64_t dropped = 0;

	records = pending_take(c->queue, &dropped);
	if (!records)
		return NULL;
	c->totals.records_dropped_queue += dropped;
	c->totals.plugins_abandoned = c->runners.n_abandoned;
	c->totals.uptime_s = (double)(clock_monotonic_ns() - c->started_ns) / (double)NS_PER_S;
	self_metrics_read_usage(&c->totals);
	clock_gettime(CLOCK_REALTIME, &h.created);
	append_self_record(c, records, &h.created);
	refresh_collector_id(c);
	h.collector_id = c->collector_id;
	h.hostname = c->hostname;
	h.version = PGA_VERSION;
	h.seq = seq;
	return payload_build(&h, records);
}

static bool deliver(struct collector *c, const struct payload *payload)
{
	char err[512];
	int rc = output_deliver(c->output, payload, err, sizeof(err));

	if (rc == 0) {
		c->totals.payloads_delivered++;
		return true;
	}
	c->totals.delivery_failures++;
	if (rc == -2) {
		/* Retrying would hold up every payload after it: count it lost. */
		c->totals.payloads_dropped++;
		log_msg(LOG_LVL_ERROR, "output %s: %s; this payload is lost", c->output_destination, err);
		return true;
	}
	log_msg(LOG_LVL_ERROR, "output %s: %s%s", c->output_destination, err,
		c->opts->once ? "" : "; the payload is kept and retried at the next push");
	return false;
}

/*
 * The sequence number is stored before the payload that carries it is
 * built, so that no number is ever used twice, even across a crash.  A
 * collector that does not own state_dir shows the next number without using
 * it up.
 */
static bool claim_next_seq(struct collector *c)
{
	if (!c->owns_state)
		return true;
	if (state_write_seq(c->state_dir, c->seq + 1) == 0) {
		c->seq++;
		return true;
	}
	log_msg(LOG_LVL_ERROR,
		"%s/seq: cannot store the batch sequence: %s; records stay queued until it can be stored, "
		"so that the backend never sees a sequence number twice",
		c->state_dir, strerror(errno));
	return false;
}

/* Deliver the payload kept from a failed push first, then a new one. */
static bool push(struct collector *c)
{
	struct payload *payload;

	if (c->unsent) {
		if (!deliver(c, c->unsent))
			return false;
		payload_free(c->unsent);
		c->unsent = NULL;
	}
	if (!claim_next_seq(c))
		return false;
	payload = build_payload(c, c->owns_state ? c->seq : c->seq + 1);
	if (!payload) {
		log_msg(LOG_LVL_ERROR, "cannot build a payload: out of memory");
		return false;
	}
	if (deliver(c, payload)) {
		payload_free(payload);
		return true;
	}
	c->unsent = payload;
	return false;
}

/* What a last, failed push leaves behind is lost: say exactly what. */
static void report_loss(struct collector *c)
{
	uint64_t dropped = 0;
	struct record_batch *queued = pending_take(c->queue, &dropped);
	size_t records = queued ? record_batch_count(queued) : 0;

	if (c->unsent)
		records += payload_record_count(c->unsent);
	if (records)
		log_msg(LOG_LVL_ERROR, "exiting with %zu record(s) undelivered; they are lost", records);
	record_batch_free(queued);
}

/* ---- loading and reloading ------------------------------------------------- */

/*
 * The local files, with the configuration pulled from the backend when it
 * is valid with them.  A pulled one that is not (kept from an older
 * collector, say) must not keep the collector from starting: it is set
 * aside.
 */
static struct config *load_configuration(const char *path)
{
	struct config *cfg = config_load(path);
	struct config *local;
	char *overlay = NULL, *aside = NULL;

	if (cfg)
		return cfg;
	local = config_load_with_overlay(path, "");
	if (!local)
		return NULL;
	if (asprintf(&overlay, "%s/" CONFIG_REMOTE_FILE, local->collector.state_dir) >= 0 &&
	    asprintf(&aside, "%s.refused", overlay) >= 0 && rename(overlay, aside) == 0)
		log_msg(LOG_LVL_ERROR, "%s is not valid with this configuration (see above); "
			"set aside as %s, running on the local files", overlay, aside);
	free(overlay);
	free(aside);
	return local;
}

static int load_everything(struct collector *c)
{
	struct plugin_set set;
	enum log_level level = LOG_LVL_INFO;
	bool once = c->opts->once;

	c->cfg = load_configuration(c->opts->config_path);
	if (!c->cfg)
		return EXIT_INVALID;
	log_parse_level(c->cfg->collector.log_level, &level);
	log_set_level(level);
	if (plugin_set_prepare(c->cfg, &c->registry, &set) < 0)
		return EXIT_RUNTIME;
	if (set.n_config_errors) {
		plugin_set_clear(&set);
		return EXIT_INVALID;
	}
	if (prepare_state_dir(c) < 0 || prepare_identity(c) < 0 ||
	    open_output(c, c->cfg, wanted_destination(c, c->cfg)) < 0) {
		plugin_set_clear(&set);
		return EXIT_RUNTIME;
	}
	/* Problems found so far went to stderr, where whoever started us looks. */
	log_open(!c->opts->foreground && !once, level);
	runner_set_init(&c->runners, c->state_dir, c->queue, once);
	runner_set_apply(&c->runners, &set);
	c->totals.plugins_rejected = set.n_rejected;
	c->totals.plugins_missing = set.n_missing;
	plugin_set_clear(&set);
	return EXIT_OK;
}

static char *state_file(const struct collector *c, const char *name)
{
	char *path = NULL;

	if (asprintf(&path, "%s/%s", c->state_dir, name) < 0)
		return NULL;
	return path;
}

/*
 * A configuration the delivery thread pulled from the backend: kept (as
 * remote.conf) only when the whole configuration with it is valid.
 * Returns the configuration to apply, or NULL when there is no candidate
 * or it was refused (and removed).
 */
static struct config *try_pulled_configuration(struct collector *c, struct plugin_set *set)
{
	char *candidate = state_file(c, DELIVERY_PULLED_CONFIG);
	char *version = state_file(c, DELIVERY_PULLED_VERSION);
	char *kept = state_file(c, CONFIG_REMOTE_FILE), *kept_version = state_file(c, DELIVERY_APPLIED_VERSION);
	struct config *fresh = NULL;

	if (candidate && version && kept && kept_version && access(candidate, F_OK) == 0) {
		fresh = config_load_with_overlay(c->opts->config_path, candidate);
		if (fresh && (plugin_set_prepare(fresh, &c->registry, set) < 0 || set->n_config_errors)) {
			plugin_set_clear(set);
			config_free(fresh);
			fresh = NULL;
		}
		if (fresh && rename(candidate, kept) == 0 && rename(version, kept_version) == 0 &&
		    durable_sync_dir(c->state_dir) == 0) {
			log_msg(LOG_LVL_INFO, "configuration pulled from the backend accepted (%s)", kept);
		} else {
			log_msg(LOG_LVL_ERROR,
				"configuration pulled from the backend refused: see the errors above; "
				"still running the current one");
			unlink(candidate);
			unlink(version);
			if (fresh) {
				plugin_set_clear(set);
				config_free(fresh);
				fresh = NULL;
			}
		}
	}
	free(candidate);
	free(version);
	free(kept);
	free(kept_version);
	return fresh;
}

/*
 * Switch to `fresh` (valid as a whole, its plugins prepared in `set`).
 * Records already collected stay queued.  Takes fresh and set either way.
 */
static void apply_configuration(struct collector *c, struct config *fresh, struct plugin_set *set,
				const char *source)
{
	enum log_level level = LOG_LVL_INFO;
	const char *destination = wanted_destination(c, fresh);

	if ((strcmp(destination, c->output_destination) != 0 ||
	     !backend_settings_equal(&fresh->backend, &c->cfg->backend)) &&
	    open_output(c, fresh, destination) < 0) {
		plugin_set_clear(set);
		config_free(fresh);
		c->totals.reload_failures++;
		log_msg(LOG_LVL_ERROR, "reload refused: the new output cannot be opened; still running the previous configuration");
		return;
	}
	if (strcmp(fresh->collector.state_dir, c->state_dir) != 0)
		log_msg(LOG_LVL_WARNING, "collector.state_dir changed to %s; it takes effect at the next restart",
			fresh->collector.state_dir);
	log_parse_level(fresh->collector.log_level, &level);
	log_set_level(level);
	runner_set_apply(&c->runners, set);
	c->totals.plugins_rejected = set->n_rejected;
	c->totals.plugins_missing = set->n_missing;
	plugin_set_clear(set);
	/* Runners copy their sections; the wanted list points into `fresh`. */
	config_free(c->cfg);
	c->cfg = fresh;
	prepare_identity(c);
	log_msg(LOG_LVL_INFO, "configuration reloaded from %s", source);
}

static void reload_local(struct collector *c)
{
	struct config *fresh = load_configuration(c->opts->config_path);
	struct plugin_set set = { 0 };

	if (fresh && plugin_set_prepare(fresh, &c->registry, &set) == 0 && !set.n_config_errors) {
		apply_configuration(c, fresh, &set, c->opts->config_path);
		return;
	}
	plugin_set_clear(&set);
	config_free(fresh);
	c->totals.reload_failures++;
	log_msg(LOG_LVL_ERROR, "reload refused: the configuration above is invalid; still running the previous one");
}

/*
 * SIGHUP, from an operator or from the delivery thread after a pull: a
 * pulled configuration is tried first, then the files as they are.
 */
static void reload(struct collector *c)
{
	struct plugin_set set = { 0 };
	struct config *fresh = try_pulled_configuration(c, &set);

	c->totals.reloads++;
	if (fresh)
		apply_configuration(c, fresh, &set, "the backend");
	else
		reload_local(c);
}

/* ---- signals and waiting ------------------------------------------------------ */

/*
 * Block the signals the main thread waits for and set the dispositions
 * the process relies on; must run before any thread is started.
 */
static void block_signals(sigset_t *handled)
{
	sigemptyset(handled);
	sigaddset(handled, SIGHUP);
	sigaddset(handled, SIGTERM);
	sigaddset(handled, SIGINT);
	/* Before any thread exists, so that every plugin thread inherits the mask. */
	pthread_sigmask(SIG_BLOCK, handled, NULL);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Ignored SIGCHLD is inherited across exec (a parent may start us so):
	 * the kernel would then reap workers itself and waitpid could never
	 * say how one died.
	 */
	signal(SIGCHLD, SIG_DFL);
}

/* Wait for a handled signal until the monotonic time `until`; 0 on timeout. */
static int wait_signal_until(const sigset_t *handled, uint64_t until)
{
	uint64_t now = clock_monotonic_ns();
	uint64_t left = until > now ? until - now : 0;
	struct timespec ts = { (time_t)(left / NS_PER_S), (long)(left % NS_PER_S) };
	int sig = sigtimedwait(handled, NULL, &ts);

	return sig > 0 ? sig : 0;
}

static bool is_stop_signal(int sig)
{
	return sig == SIGTERM || sig == SIGINT;
}

/*
 * Stop every plugin (each finishes its call and runs its shutdown), without
 * waiting past any plugin's deadline plus grace.  A second stop signal
 * abandons the stragglers at once.
 */
static void stop_plugins(struct collector *c, const sigset_t *handled)
{
	uint64_t pending;

	runner_set_retire_all(&c->runners);
	while ((pending = runner_set_reap(&c->runners)) != 0) {
		uint64_t poll = clock_monotonic_ns() + POLL_NS;

		if (is_stop_signal(wait_signal_until(handled, pending < poll ? pending : poll))) {
			log_msg(LOG_LVL_WARNING, "stopping now, without waiting for busy plugins");
			runner_set_hurry(&c->runners);
		}
	}
}

/* ---- run modes -------------------------------------------------------------- */

static uint64_t next_wakeup(struct collector *c, uint64_t next_push)
{
	uint64_t retiring = runner_set_reap(&c->runners);
	uint64_t poll = clock_monotonic_ns() + POLL_NS;

	if (!retiring)
		return next_push;
	/* Look again soon: a retiring plugin's successor starts when it exits. */
	return poll < next_push ? poll : next_push;
}

static int daemon_loop(struct collector *c, const sigset_t *handled)
{
	uint64_t period = (uint64_t)c->cfg->collector.push_interval * NS_PER_S;
	uint64_t next_push = clock_monotonic_ns() + period;
	int sig;

	log_msg(LOG_LVL_INFO, "collector %s started: %zu plugin(s), a payload every %ld s to %s",
		PGA_VERSION, runner_set_count(&c->runners), c->cfg->collector.push_interval,
		c->output_destination);
	while (!is_stop_signal(sig = wait_signal_until(handled, next_wakeup(c, next_push)))) {
		uint64_t now = clock_monotonic_ns();

		if (sig == SIGHUP) {
			reload(c);
			period = (uint64_t)c->cfg->collector.push_interval * NS_PER_S;
		}
		if (now >= next_push) {
			push(c);
			next_push = next_push + period > now ? next_push + period : now + period;
		}
	}
	log_msg(LOG_LVL_INFO, "received %s; stopping", strsignal(sig));
	stop_plugins(c, handled);
	if (!push(c)) {
		report_loss(c);
		return EXIT_RUNTIME;
	}
	if (!output_finish(c->output, FINISH_TIMEOUT_NS))
		log_msg(LOG_LVL_INFO, "undelivered batches stay in %s/spool and are sent after the next start",
			c->state_dir);
	return EXIT_OK;
}

static int once_cycle(struct collector *c, const sigset_t *handled)
{
	while (!runner_set_all_settled(&c->runners)) {
		if (is_stop_signal(wait_signal_until(handled, clock_monotonic_ns() + POLL_NS / 5))) {
			log_msg(LOG_LVL_WARNING, "interrupted; delivering what was collected so far");
			break;
		}
	}
	/* Settled plugins have exited or overrun: wait for none of them. */
	runner_set_retire_all(&c->runners);
	runner_set_hurry(&c->runners);
	if (!push(c)) {
		report_loss(c);
		return EXIT_RUNTIME;
	}
	if (!output_finish(c->output, (uint64_t)c->cfg->backend.timeout * NS_PER_S)) {
		log_msg(LOG_LVL_ERROR, "the payload was not delivered; it stays in %s/spool for the next run",
			c->state_dir);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

/*
 * What an abandoned plugin thread may still use (its image, the queue) is
 * kept until the process exits, reachable from here so that leak checkers
 * see it as kept, not lost.
 */
static struct kept_objects {
	struct pending_queue *queue;
	struct image_registry registry;
} kept_for_abandoned;
/* Otherwise the compiler may drop stores that nothing reads. */
static struct kept_objects *volatile kept_reachable = &kept_for_abandoned;

static void collector_free(struct collector *c, const sigset_t *handled)
{
	stop_plugins(c, handled);
	payload_free(c->unsent);
	output_close(c->output);
	free(c->output_destination);
	free(c->hostname);
	free(c->collector_id);
	free(c->state_dir);
	config_free(c->cfg);
	if (c->runners.n_abandoned == 0) {
		pending_destroy(c->queue);
		registry_free(&c->registry);
	} else {
		kept_reachable->queue = c->queue;
		kept_reachable->registry = c->registry;
	}
	runner_set_free(&c->runners);
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
	rc = load_everything(&c);
	if (rc == EXIT_OK)
		rc = opts->once ? once_cycle(&c, &handled) : daemon_loop(&c, &handled);
	collector_free(&c, &handled);
	return rc;
}

int collector_register(const char *config_path)
{
	struct collector_options opts = { .config_path = config_path, .once = true };
	struct collector c = { .opts = &opts };
	struct delivery_settings backend;
	char err[512];
	int rc = EXIT_RUNTIME;

	c.cfg = config_load(config_path);
	if (!c.cfg)
		return EXIT_INVALID;
	if (durable_make_private_dir(c.cfg->collector.state_dir) < 0) {
		log_msg(LOG_LVL_ERROR, "state_dir \"%s\": cannot create it: %s",
			c.cfg->collector.state_dir, strerror(errno));
	} else if ((c.state_dir = strdup(c.cfg->collector.state_dir)) && lock_state_dir(&c) == 0 &&
		   prepare_identity(&c) == 0) {
		backend = delivery_settings_of(&c, c.cfg);
		if (delivery_register(&backend, err, sizeof(err)) == 0)
			rc = EXIT_OK;
		else
			log_msg(LOG_LVL_ERROR, "backend %s: %s", c.cfg->backend.url, err);
	}
	free(c.state_dir);
	free(c.hostname);
	free(c.collector_id);
	config_free(c.cfg);
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

#include "runner_set.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

void runner_set_init(struct runner_set *rs, const char *state_dir,
		     struct pending_queue *queue, bool once)
{
	memset(rs, 0, sizeof(*rs));
	rs->state_dir = state_dir;
	rs->queue = queue;
	rs->once = once;
}

static void remember_final(struct runner_set *rs, const char *name, const char *version,
			   const struct runner_stats *final)
{
	struct plugin_report *grown = realloc(rs->gone, (rs->n_gone + 1) * sizeof(*grown));

	if (!grown)
		return;
	rs->gone = grown;
	/* name and version live in the plugin's image, which is never unloaded. */
	grown[rs->n_gone].name = name;
	grown[rs->n_gone].version = version;
	grown[rs->n_gone].stats = *final;
	rs->n_gone++;
}

/* Reap an exited runner or abandon a stuck one, keeping its final counters. */
static void finish(struct runner_set *rs, struct runner *runner, bool exited)
{
	const char *name = runner_name(runner);
	const char *version = runner_image(runner)->desc.version;
	struct runner_stats final;

	if (exited) {
		runner_reap(runner, &final);
		if (!rs->once)
			log_msg(LOG_LVL_INFO, "plugin \"%s\": stopped", name);
	} else {
		runner_abandon(runner, &final);
		rs->n_abandoned++;
	}
	remember_final(rs, name, version, &final);
}

static void retire_at(struct runner_set *rs, size_t index)
{
	struct runner *runner = rs->running[index];
	struct retiring_runner *grown = realloc(rs->retiring, (rs->n_retiring + 1) * sizeof(*grown));

	runner_request_stop(runner);
	memmove(&rs->running[index], &rs->running[index + 1],
		(rs->n_running - index - 1) * sizeof(*rs->running));
	rs->n_running--;
	if (!grown) {
		/* Out of memory to track it: wait for it here rather than lose it. */
		uint64_t until = runner_stop_deadline(runner, RUNNER_STOP_GRACE_NS);

		finish(rs, runner, runner_wait_exited(runner, until));
		return;
	}
	rs->retiring = grown;
	grown[rs->n_retiring].runner = runner;
	grown[rs->n_retiring].deadline = runner_stop_deadline(runner, RUNNER_STOP_GRACE_NS);
	rs->n_retiring++;
}

static const struct plugin_choice *choice_named(const struct plugin_set *plugins, const char *name)
{
	for (size_t i = 0; i < plugins->n_choices; i++) {
		if (strcmp(plugins->choices[i].section->name, name) == 0)
			return &plugins->choices[i];
	}
	return NULL;
}

/* A runner keeps going when nothing about it changed. */
static bool still_wanted_as_is(struct runner *runner, const struct plugin_choice *choice)
{
	return choice && runner_image(runner) == choice->image &&
	       plugin_sections_equal(runner_section(runner), choice->section);
}

static bool name_in_use(const struct runner_set *rs, const char *name)
{
	for (size_t i = 0; i < rs->n_running; i++) {
		if (strcmp(runner_name(rs->running[i]), name) == 0)
			return true;
	}
	for (size_t i = 0; i < rs->n_retiring; i++) {
		if (strcmp(runner_name(rs->retiring[i].runner), name) == 0)
			return true;
	}
	return false;
}

static void start_choice(struct runner_set *rs, const struct plugin_choice *choice)
{
	struct runner **grown = realloc(rs->running, (rs->n_running + 1) * sizeof(*grown));
	struct runner *runner;

	if (!grown)
		return;
	rs->running = grown;
	runner = runner_start(choice->image, choice->section, rs->state_dir, rs->queue, rs->once);
	if (!runner)
		return;
	rs->running[rs->n_running++] = runner;
	if (!rs->once)
		log_msg(LOG_LVL_INFO, "plugin \"%s\": started (%s)", choice->section->name,
			choice->image->path);
}

/* Start each wanted plugin whose previous instance is gone; keep the rest. */
static void start_wanted(struct runner_set *rs)
{
	size_t kept = 0;

	for (size_t i = 0; i < rs->n_wanted; i++) {
		if (name_in_use(rs, rs->wanted[i].section->name))
			rs->wanted[kept++] = rs->wanted[i];
		else
			start_choice(rs, &rs->wanted[i]);
	}
	rs->n_wanted = kept;
}

void runner_set_apply(struct runner_set *rs, const struct plugin_set *plugins)
{
	for (size_t i = rs->n_running; i-- > 0;) {
		const char *name = runner_name(rs->running[i]);
		const struct plugin_choice *choice = choice_named(plugins, name);

		if (still_wanted_as_is(rs->running[i], choice))
			continue;
		log_msg(LOG_LVL_INFO, "plugin \"%s\": stopping%s", name,
			choice ? " to restart it with its new configuration" : "");
		retire_at(rs, i);
	}
	free(rs->wanted);
	rs->wanted = calloc(plugins->n_choices + 1, sizeof(*rs->wanted));
	rs->n_wanted = 0;
	for (size_t i = 0; rs->wanted && i < plugins->n_choices; i++) {
		bool running = false;

		for (size_t j = 0; j < rs->n_running; j++)
			running |= strcmp(runner_name(rs->running[j]), plugins->choices[i].section->name) == 0;
		if (!running)
			rs->wanted[rs->n_wanted++] = plugins->choices[i];
	}
	runner_set_reap(rs);
}

uint64_t runner_set_reap(struct runner_set *rs)
{
	uint64_t now = clock_monotonic_ns(), earliest = 0;
	size_t kept = 0;

	for (size_t i = 0; i < rs->n_retiring; i++) {
		struct retiring_runner *r = &rs->retiring[i];
		bool exited = runner_exited(r->runner);

		if (exited || now >= r->deadline) {
			finish(rs, r->runner, exited);
			continue;
		}
		if (!earliest || r->deadline < earliest)
			earliest = r->deadline;
		rs->retiring[kept++] = *r;
	}
	rs->n_retiring = kept;
	start_wanted(rs);
	return earliest;
}

void runner_set_retire_all(struct runner_set *rs)
{
	rs->n_wanted = 0;
	while (rs->n_running)
		retire_at(rs, rs->n_running - 1);
}

void runner_set_hurry(struct runner_set *rs)
{
	for (size_t i = 0; i < rs->n_retiring; i++)
		rs->retiring[i].deadline = 0;
	runner_set_reap(rs);
}

bool runner_set_all_settled(struct runner_set *rs)
{
	for (size_t i = 0; i < rs->n_running; i++) {
		if (!runner_settled(rs->running[i]))
			return false;
	}
	return true;
}

static void report_on(struct runner *runner, struct plugin_report *report)
{
	report->name = runner_name(runner);
	report->version = runner_image(runner)->desc.version;
	runner_stats(runner, &report->stats);
}

struct plugin_report *runner_set_reports(struct runner_set *rs, size_t *n)
{
	struct plugin_report *reports =
		calloc(rs->n_running + rs->n_retiring + rs->n_gone + 1, sizeof(*reports));

	*n = 0;
	if (!reports)
		return NULL;
	for (size_t i = 0; i < rs->n_running; i++, (*n)++)
		report_on(rs->running[i], &reports[*n]);
	/* Still finishing their last call: reported until they are gone. */
	for (size_t i = 0; i < rs->n_retiring; i++, (*n)++)
		report_on(rs->retiring[i].runner, &reports[*n]);
	for (size_t i = 0; i < rs->n_gone; i++)
		reports[(*n)++] = rs->gone[i];
	free(rs->gone);
	rs->gone = NULL;
	rs->n_gone = 0;
	return reports;
}

size_t runner_set_count(const struct runner_set *rs)
{
	return rs->n_running;
}

void runner_set_free(struct runner_set *rs)
{
	free(rs->running);
	free(rs->retiring);
	free(rs->wanted);
	free(rs->gone);
	memset(rs, 0, sizeof(*rs));
}

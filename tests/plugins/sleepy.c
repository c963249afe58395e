/*
 * sleepy - a collect that takes sleep_ms (default 3000 ms) before emitting
 * one "test_sleepy" record, to exercise the per-plugin deadline: with a
 * shorter timeout the record must be dropped and the overrun counted,
 * while other plugins and the push carry on.
 */
#include <pganalytics/plugin.h>

#include <stdlib.h>
#include <time.h>

static const struct pga_option sleepy_options[] = {
	{ .name = "sleep_ms", .type = PGA_OPT_INT, .default_value = "3000",
	  .help = "milliseconds each collect takes" },
	{ .name = NULL },
};

struct sleepy_state {
	const struct pga_host *host;
	struct pga_ctx *ctx;
	int64_t cycle;
};

static int sleepy_init(const struct pga_host *host, struct pga_ctx *ctx,
		       void **state)
{
	struct sleepy_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return PGA_ENOMEM;
	st->host = host;
	st->ctx = ctx;
	*state = st;
	return PGA_OK;
}

/*
 * Sleeps in 10 ms steps rather than one long sleep, like a plugin polling
 * something, so that a signal interrupting one step does not shorten the
 * whole wait.  It deliberately ignores the deadline.
 */
static void sleep_ms(int64_t total_ms)
{
	const struct timespec step = { .tv_sec = 0, .tv_nsec = 10 * 1000000L };

	for (int64_t slept = 0; slept < total_ms; slept += 10)
		nanosleep(&step, NULL);
}

static int sleepy_collect(void *state, struct pga_emitter *em)
{
	struct sleepy_state *st = state;

	st->cycle++;
	/* Tests wait for this line to know the plugin is inside collect. */
	st->host->log(st->ctx, PGA_LOG_INFO, "cycle %lld: sleeping", (long long)st->cycle);
	sleep_ms(st->host->config_int(st->ctx, "sleep_ms"));
	st->host->record_begin(em, "test_sleepy");
	st->host->set_int64(em, "cycle", st->cycle);
	return st->host->record_end(em);
}

static void sleepy_shutdown(void *state)
{
	free(state);
}

PGA_PLUGIN_DEFINE(.name = "sleepy", .version = "1.0",
		  .description = "test plugin whose collect is slow",
		  .options = sleepy_options, .default_interval = 1,
		  .init = sleepy_init, .collect = sleepy_collect,
		  .shutdown = sleepy_shutdown)

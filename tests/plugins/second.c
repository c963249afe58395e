/*
 * second - a second, independent test plugin: one "test_second" record per
 * cycle carrying a cycle counter, so tests can tell cycles (and restarts,
 * which reset the counter) apart.
 */
#include <pganalytics/plugin.h>

#include <stdlib.h>

struct second_state {
	const struct pga_host *host;
	struct pga_ctx *ctx;
	int64_t cycle;
};

static int second_init(const struct pga_host *host, struct pga_ctx *ctx,
		       void **state)
{
	struct second_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return PGA_ENOMEM;
	st->host = host;
	st->ctx = ctx;
	*state = st;
	return PGA_OK;
}

static int second_collect(void *state, struct pga_emitter *em)
{
	struct second_state *st = state;
	int rc;

	st->cycle++;
	st->host->record_begin(em, "test_second");
	st->host->set_int64(em, "cycle", st->cycle);
	rc = st->host->record_end(em);
	/* Tests wait for this line to know a cycle has happened. */
	st->host->log(st->ctx, PGA_LOG_INFO, "cycle %lld", (long long)st->cycle);
	return rc;
}

static void second_shutdown(void *state)
{
	free(state);
}

PGA_PLUGIN_DEFINE(.name = "second", .version = "0.9",
		  .description = "test plugin with one record per cycle",
		  .default_interval = 1,
		  .init = second_init, .collect = second_collect,
		  .shutdown = second_shutdown)

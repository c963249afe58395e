/*
 * flaky - succeeds on odd cycles (1, 3, 5, ...) with one "test_flaky"
 * record carrying the cycle number, and fails on even cycles, to exercise
 * failure counting, back-off and recovery.
 */
#include <pganalytics/plugin.h>

#include <stdlib.h>

struct flaky_state {
	const struct pga_host *host;
	struct pga_ctx *ctx;
	int64_t cycle;
};

static int flaky_init(const struct pga_host *host, struct pga_ctx *ctx,
		      void **state)
{
	struct flaky_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return PGA_ENOMEM;
	st->host = host;
	st->ctx = ctx;
	*state = st;
	return PGA_OK;
}

static int flaky_collect(void *state, struct pga_emitter *em)
{
	struct flaky_state *st = state;

	st->cycle++;
	if (st->cycle % 2 == 0) {
		st->host->log(st->ctx, PGA_LOG_WARNING,
			      "cycle %lld fails on purpose", (long long)st->cycle);
		return PGA_ERROR;
	}
	st->host->record_begin(em, "test_flaky");
	st->host->set_int64(em, "cycle", st->cycle);
	return st->host->record_end(em);
}

static void flaky_shutdown(void *state)
{
	free(state);
}

PGA_PLUGIN_DEFINE(.name = "flaky", .version = "1.0",
		  .description = "test plugin that fails every other cycle",
		  .default_interval = 1,
		  .init = flaky_init, .collect = flaky_collect,
		  .shutdown = flaky_shutdown)

/*
 * frozen_abi_1_0 - built only against the frozen copy of the ABI 1.0
 * header in tests/abi/1.0/, never against sdk/include.  Every later host
 * must keep loading and running it: one "test_frozen" record per cycle.
 */
#include <pganalytics/plugin.h>

#include <stdlib.h>

struct frozen_state {
	const struct pga_host *host;
	int64_t cycle;
};

static int frozen_init(const struct pga_host *host, struct pga_ctx *ctx,
		       void **state)
{
	struct frozen_state *st = calloc(1, sizeof(*st));

	(void)ctx;
	if (st == NULL)
		return PGA_ENOMEM;
	st->host = host;
	*state = st;
	return PGA_OK;
}

static int frozen_collect(void *state, struct pga_emitter *em)
{
	struct frozen_state *st = state;

	st->cycle++;
	st->host->record_begin(em, "test_frozen");
	st->host->set_int64(em, "cycle", st->cycle);
	st->host->set_uint64(em, "abi_minor_built_against", PGA_ABI_MINOR);
	return st->host->record_end(em);
}

static void frozen_shutdown(void *state)
{
	free(state);
}

PGA_PLUGIN_DEFINE(.name = "frozen_abi_1_0", .version = "1.0",
		  .description = "test plugin built against the frozen ABI 1.0 header",
		  .default_interval = 1,
		  .init = frozen_init, .collect = frozen_collect,
		  .shutdown = frozen_shutdown)

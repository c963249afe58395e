/*
 * dup_copy - a second file that also calls itself "dup_one": loading it
 * next to dup_one must fail with "duplicate name".
 * Emits one "test_dup" record per cycle naming its file, so tests can see
 * which of the two was accepted.
 */
#include <pganalytics/plugin.h>

#include <stdlib.h>

struct dup_state {
	const struct pga_host *host;
};

static int dup_init(const struct pga_host *host, struct pga_ctx *ctx,
		    void **state)
{
	struct dup_state *st = calloc(1, sizeof(*st));

	(void)ctx;
	if (st == NULL)
		return PGA_ENOMEM;
	st->host = host;
	*state = st;
	return PGA_OK;
}

static int dup_collect(void *state, struct pga_emitter *em)
{
	struct dup_state *st = state;

	st->host->record_begin(em, "test_dup");
	st->host->set_string(em, "file", "dup_copy.so");
	return st->host->record_end(em);
}

static void dup_shutdown(void *state)
{
	free(state);
}

PGA_PLUGIN_DEFINE(.name = "dup_one", .version = "1.0",
		  .description = "one of two plugins named dup_one",
		  .init = dup_init, .collect = dup_collect,
		  .shutdown = dup_shutdown)

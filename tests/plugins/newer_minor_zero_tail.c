/*
 * newer_minor_zero_tail - like newer_minor_tail, but the appended field is
 * zero, which by the evolution rules means "behave as the older minor".
 * The host must accept and run it; it emits one "test_newer_minor" record
 * per cycle to prove it did.
 */
#include <pganalytics/plugin.h>

#include <stdlib.h>

struct zero_tail_state {
	const struct pga_host *host;
	int64_t cycle;
};

static int zero_tail_init(const struct pga_host *host, struct pga_ctx *ctx,
			  void **state)
{
	struct zero_tail_state *st = calloc(1, sizeof(*st));

	(void)ctx;
	if (st == NULL)
		return PGA_ENOMEM;
	st->host = host;
	*state = st;
	return PGA_OK;
}

static int zero_tail_collect(void *state, struct pga_emitter *em)
{
	struct zero_tail_state *st = state;

	st->cycle++;
	st->host->record_begin(em, "test_newer_minor");
	st->host->set_int64(em, "cycle", st->cycle);
	return st->host->record_end(em);
}

static void zero_tail_shutdown(void *state)
{
	free(state);
}

/* The descriptor of the future minor: 1.0 followed by one appended field. */
struct newer_minor_plugin {
	struct pga_plugin base;
	const void *appended_field;
};

static const struct newer_minor_plugin zero_tail_descriptor = {
	.base = {
		.struct_size = sizeof(struct newer_minor_plugin),
		.abi_major = PGA_ABI_MAJOR,
		.abi_minor = PGA_ABI_MINOR + 1,
		.name = "newer_minor_zero_tail",
		.version = "1.0",
		.description = "newer minor whose appended field is zero",
		.option_size = sizeof(struct pga_option),
		.default_interval = 1,
		.init = zero_tail_init,
		.collect = zero_tail_collect,
		.shutdown = zero_tail_shutdown,
	},
	.appended_field = NULL,
};

PGA_EXPORT const struct pga_plugin *pga_plugin_entry_v1(void);
const struct pga_plugin *pga_plugin_entry_v1(void)
{
	return &zero_tail_descriptor.base;
}

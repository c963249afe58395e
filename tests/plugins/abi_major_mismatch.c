/*
 * abi_major_mismatch - exports the v1 entry symbol but its descriptor
 * claims abi_major 2; the host must trust the descriptor and refuse it.
 */
#include <pganalytics/plugin.h>

static int mismatch_collect(void *state, struct pga_emitter *em)
{
	(void)state;
	(void)em;
	return PGA_OK;
}

/* Written by hand because PGA_PLUGIN_DEFINE always fills in the right major. */
static const struct pga_plugin mismatch_descriptor = {
	.struct_size = sizeof(struct pga_plugin),
	.abi_major = 2,
	.abi_minor = 0,
	.name = "abi_major_mismatch",
	.version = "1.0",
	.description = "v1 symbol with an ABI 2 descriptor",
	.option_size = sizeof(struct pga_option),
	.collect = mismatch_collect,
};

PGA_EXPORT const struct pga_plugin *pga_plugin_entry_v1(void);
const struct pga_plugin *pga_plugin_entry_v1(void)
{
	return &mismatch_descriptor;
}

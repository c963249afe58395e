/*
 * abi_v2 - pretends to be a plugin for a future ABI major: it exports only
 * pga_plugin_entry_v2, so a version-1 host must refuse it with
 * "ABI major mismatch" rather than "not a pganalytics plugin".
 */
#include <pganalytics/plugin.h>

static int abi_v2_collect(void *state, struct pga_emitter *em)
{
	(void)state;
	(void)em;
	return PGA_OK;
}

/* Written by hand: PGA_PLUGIN_DEFINE can only produce the v1 symbol. */
static const struct pga_plugin abi_v2_descriptor = {
	.struct_size = sizeof(struct pga_plugin),
	.abi_major = 2,
	.abi_minor = 0,
	.name = "abi_v2",
	.version = "2.0",
	.description = "exports only the ABI 2 entry symbol",
	.option_size = sizeof(struct pga_option),
	.collect = abi_v2_collect,
};

PGA_EXPORT const struct pga_plugin *pga_plugin_entry_v2(void);
const struct pga_plugin *pga_plugin_entry_v2(void)
{
	return &abi_v2_descriptor;
}

/*
 * too_small - a descriptor whose struct_size (16) does not even cover the
 * fields of ABI 1.0; the host must refuse it before reading past it.
 */
#include <pganalytics/plugin.h>

static int too_small_collect(void *state, struct pga_emitter *em)
{
	(void)state;
	(void)em;
	return PGA_OK;
}

/* Written by hand: the whole point is a wrong struct_size. */
static const struct pga_plugin too_small_descriptor = {
	.struct_size = 16,
	.abi_major = PGA_ABI_MAJOR,
	.abi_minor = PGA_ABI_MINOR,
	.name = "too_small",
	.version = "1.0",
	.description = "descriptor with struct_size 16",
	.option_size = sizeof(struct pga_option),
	.collect = too_small_collect,
};

PGA_EXPORT const struct pga_plugin *pga_plugin_entry_v1(void);
const struct pga_plugin *pga_plugin_entry_v1(void)
{
	return &too_small_descriptor;
}

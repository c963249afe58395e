/*
 * newer_minor_tail - a plugin built against a hypothetical ABI 1.(minor+1)
 * whose descriptor has one appended field the host does not know, and that
 * field is set.  The host cannot honour it, so it must refuse the plugin
 * with "built against a newer ABI".
 */
#include <pganalytics/plugin.h>

static int newer_collect(void *state, struct pga_emitter *em)
{
	(void)state;
	(void)em;
	return PGA_OK;
}

/* The descriptor of the future minor: 1.0 followed by one appended field. */
struct newer_minor_plugin {
	struct pga_plugin base;
	const void *appended_field;
};

static const char appended_value[] = "a feature this host lacks";

static const struct newer_minor_plugin newer_descriptor = {
	.base = {
		.struct_size = sizeof(struct newer_minor_plugin),
		.abi_major = PGA_ABI_MAJOR,
		.abi_minor = PGA_ABI_MINOR + 1,
		.name = "newer_minor_tail",
		.version = "1.0",
		.description = "newer minor with a non-zero appended field",
		.option_size = sizeof(struct pga_option),
		.collect = newer_collect,
	},
	.appended_field = appended_value,
};

PGA_EXPORT const struct pga_plugin *pga_plugin_entry_v1(void);
const struct pga_plugin *pga_plugin_entry_v1(void)
{
	return &newer_descriptor.base;
}

/*
 * abi_major_first - a descriptor from another major whose every other field
 * is wrong for ABI 1 too (too small, no name, no collect): the host must
 * report the major mismatch, because it reads nothing else first.
 */
#include <pganalytics/plugin.h>

/* Only the fields every major shares: struct_size, abi_major, abi_minor. */
struct foreign_descriptor {
	uint32_t struct_size;
	uint16_t abi_major;
	uint16_t abi_minor;
};

static const struct foreign_descriptor foreign = {
	.struct_size = sizeof(struct foreign_descriptor),
	.abi_major = 7,
	.abi_minor = 3,
};

PGA_EXPORT const struct pga_plugin *pga_plugin_entry_v1(void);
const struct pga_plugin *pga_plugin_entry_v1(void)
{
	return (const struct pga_plugin *)(const void *)&foreign;
}

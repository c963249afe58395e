/*
 * bad_options - declares an int option whose default does not parse as an
 * int; the header says the host refuses such a plugin ("invalid option
 * table") instead of discovering the problem at the first config lookup.
 */
#include <pganalytics/plugin.h>

static const struct pga_option bad_options_table[] = {
	{ .name = "limit", .type = PGA_OPT_INT, .default_value = "lots",
	  .help = "an int whose default is not an int" },
	{ .name = NULL },
};

static int bad_options_collect(void *state, struct pga_emitter *em)
{
	(void)state;
	(void)em;
	return PGA_OK;
}

PGA_PLUGIN_DEFINE(.name = "bad_options", .version = "1.0",
		  .description = "test plugin with an invalid option table",
		  .options = bad_options_table,
		  .collect = bad_options_collect)

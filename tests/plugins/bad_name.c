/*
 * bad_name - a name outside [a-z0-9_]+ could never match a config section
 * title or be a safe state directory name: "invalid name".
 */
#include <pganalytics/plugin.h>

static int bad_name_collect(void *state, struct pga_emitter *em)
{
	(void)state;
	(void)em;
	return PGA_OK;
}

PGA_PLUGIN_DEFINE(.name = "Bad-Name", .version = "1.0",
		  .description = "descriptor with an invalid name",
		  .collect = bad_name_collect)

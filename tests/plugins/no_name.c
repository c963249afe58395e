/* no_name - a descriptor without a name: "descriptor incomplete". */
#include <pganalytics/plugin.h>

static int no_name_collect(void *state, struct pga_emitter *em)
{
	(void)state;
	(void)em;
	return PGA_OK;
}

PGA_PLUGIN_DEFINE(.name = NULL, .version = "1.0",
		  .description = "descriptor without a name",
		  .collect = no_name_collect)

/* no_collect - a descriptor without the required collect callback: "descriptor incomplete". */
#include <pganalytics/plugin.h>

PGA_PLUGIN_DEFINE(.name = "no_collect", .version = "1.0",
		  .description = "descriptor without a collect callback",
		  .collect = NULL)

/*
 * no_entry - a shared object that exports a function, but not
 * pga_plugin_entry_v1: the host must say "not a pganalytics plugin".
 */
#include <pganalytics/plugin.h>

PGA_EXPORT int pga_not_a_plugin(void);
int pga_not_a_plugin(void)
{
	return 42;
}

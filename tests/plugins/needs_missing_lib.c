/*
 * needs_missing_lib - linked against libpga_vanished.so, which is not on
 * the dynamic loader's search path at run time, so dlopen() fails the way
 * it does for a plugin whose dependency is not installed.  The host must
 * say "cannot be loaded" with dlerror() and an ldd hint.
 */
#include <pganalytics/plugin.h>

int pga_vanished(void);

static int needs_missing_lib_collect(void *state, struct pga_emitter *em)
{
	(void)state;
	(void)em;
	return pga_vanished() == 1 ? PGA_OK : PGA_ERROR;
}

PGA_PLUGIN_DEFINE(.name = "needs_missing_lib", .version = "1.0",
		  .description = "test plugin with an unresolvable dependency",
		  .collect = needs_missing_lib_collect)

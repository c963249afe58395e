/*
 * host.h - the host side of struct pga_host: what a plugin may ask of the
 * collector (logging, its configuration, clocks, its state directory).  The
 * emitter part comes from emitter.c.
 */
#ifndef PGA_CORE_HOST_H
#define PGA_CORE_HOST_H

#include <stdint.h>

#include <pganalytics/plugin.h>

#include "config.h"

/* Per plugin instance; all fields are touched only by the plugin's thread. */
struct pga_ctx {
	const char *name;                      /* the plugin's name */
	const struct plugin_section *section;  /* bound options */
	const char *state_dir;                 /* state_dir/plugins/NAME */
	uint64_t deadline_ns;                  /* of the running init or collect, else 0 */
};

/* host_vtable - the one, constant vtable every plugin receives. */
const struct pga_host *host_vtable(void);

/*
 * host_make_state_dir - create base/plugins/name (and base, base/plugins)
 * if missing, with mode 0700.  Returns its absolute path (caller frees) or
 * NULL after logging why.
 */
char *host_make_state_dir(const char *base, const char *name);


#endif

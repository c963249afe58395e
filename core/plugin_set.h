/*
 * plugin_set.h - decide which plugins a configuration runs: for every
 * enabled `plugin NAME { }` section, find the shared object, load it (or
 * reuse the image already loaded from that path), check that its name is
 * the section's and unique, and bind the section to its option table.
 */
#ifndef PGA_CORE_PLUGIN_SET_H
#define PGA_CORE_PLUGIN_SET_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "loader.h"

/* Images loaded so far, by path.  Images that ran are never unloaded. */
struct image_registry {
	struct plugin_image **images;
	size_t n_images;
};

struct plugin_choice {
	struct plugin_section *section;   /* in the config; bound */
	struct plugin_image *image;       /* in the registry */
};

struct plugin_set {
	struct plugin_choice *choices;
	size_t n_choices;
	size_t n_rejected;        /* plugins refused by the loader or a name check */
	size_t n_config_errors;   /* sections whose options did not validate */
	size_t n_missing;         /* enabled sections without an installed .so */
};

/*
 * plugin_set_prepare - fill *set for the enabled sections of cfg, logging
 * each problem.  Images come from (and are added to) reg.  Returns 0, or -1
 * on out of memory.  Check set->n_config_errors and n_rejected for the
 * outcome.  Free with plugin_set_clear().
 */
int plugin_set_prepare(struct config *cfg, struct image_registry *reg,
		       struct plugin_set *set);

/* plugin_set_clear - free the choice list (not the sections or images). */
void plugin_set_clear(struct plugin_set *set);

/*
 * plugin_path - where section's plugin lives: section->path (relative to
 * plugin_dir unless absolute), else plugin_dir/NAME.so.  Caller frees.
 */
char *plugin_path(const struct config *cfg, const struct plugin_section *section);

/*
 * registry_load - the image for `path`: the one already loaded, else a new
 * one from loader_open(), whose `shipped` is decided then and kept (a
 * bundled name loaded from plugin_dir/NAME.so; plugin_dir NULL: never).
 * label names the plugin in messages.
 */
enum loader_result registry_load(struct image_registry *reg, const char *label,
				 const char *path, const char *plugin_dir,
				 struct plugin_image **image);

/*
 * plugin_isolation_resolve - turn section->isolation ISOLATION_DEFAULT into
 * what `image` gets by default: ISOLATION_THREAD for a plugin shipped with
 * the collector (image->shipped, decided when it was first loaded, so that
 * an upgrade replacing the file does not change it), ISOLATION_PROCESS for
 * any other.  Returns false after logging FILE:LINE when the section asks
 * for a memory limit on a thread.
 */
bool plugin_isolation_resolve(struct plugin_section *section, const struct plugin_image *image);

/* registry_free - release every image (plugins that ran stay mapped). */
void registry_free(struct image_registry *reg);

#endif

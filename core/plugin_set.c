#include "plugin_set.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

char *plugin_path(const struct config *cfg, const struct plugin_section *section)
{
	const char *dir = cfg->collector.plugin_dir;
	char *path = NULL;
	int rc;

	if (section->path && section->path[0] == '/')
		return strdup(section->path);
	if (section->path && section->path[0])
		rc = asprintf(&path, "%s/%s", dir, section->path);
	else
		rc = asprintf(&path, "%s/%s.so", dir, section->name);
	return rc < 0 ? NULL : path;
}

/* One of the plugins built with this collector (PGA_BUNDLED_PLUGINS, from the Makefile). */
static bool is_bundled_name(const char *name)
{
	const char *list = PGA_BUNDLED_PLUGINS;
	size_t len = strlen(name);

	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t item = end ? (size_t)(end - p) : strlen(p);

		if (item == len && strncmp(p, name, len) == 0)
			return true;
		p += item + (end ? 1 : 0);
	}
	return false;
}

/*
 * Shipped with the collector: a bundled name, loaded from the file the
 * package installs, plugin_dir/NAME.so (the same file, whatever path or
 * symlink led to it).  Asked once, when the image is loaded: later the
 * file there may be an upgrade's, not the one loaded.
 */
static bool shipped_with_collector(const char *plugin_dir, const struct plugin_image *image)
{
	char *packaged = NULL;
	struct stat st;
	bool same;

	if (!plugin_dir || !is_bundled_name(image->desc.name) ||
	    asprintf(&packaged, "%s/%s.so", plugin_dir, image->desc.name) < 0)
		return false;
	same = stat(packaged, &st) == 0 && st.st_dev == image->dev && st.st_ino == image->ino;
	free(packaged);
	return same;
}

enum loader_result registry_load(struct image_registry *reg, const char *label,
				 const char *path, const char *plugin_dir,
				 struct plugin_image **image)
{
	struct plugin_image **grown;
	enum loader_result result;
	struct stat st;

	for (size_t i = 0; i < reg->n_images; i++) {
		struct plugin_image *known = reg->images[i];

		if (strcmp(known->path, path) != 0)
			continue;
		/* Removed (a plugin package uninstalled, its drop-in kept): stop it as if never loaded. */
		if (stat(path, &st) != 0 && errno == ENOENT)
			return LOADER_NOT_INSTALLED;
		/*
		 * dlopen() of a path already loaded returns the loaded code, and a
		 * plugin that ran is never unloaded: a replaced file (an upgrade)
		 * takes a restart.  Say so instead of pretending.
		 */
		if (stat(path, &st) == 0 && (known->dev != st.st_dev || known->ino != st.st_ino))
			log_msg(LOG_LVL_WARNING,
				"plugin \"%s\" (%s): the file was replaced since it was loaded; "
				"version %s keeps running until the collector restarts",
				label, path, known->desc.version);
		*image = known;
		return LOADER_OK;
	}
	result = loader_open(label, path, image);
	if (result != LOADER_OK)
		return result;
	(*image)->shipped = shipped_with_collector(plugin_dir, *image);
	grown = realloc(reg->images, (reg->n_images + 1) * sizeof(*grown));
	if (!grown) {
		loader_release(*image);
		*image = NULL;
		return LOADER_REJECTED;
	}
	reg->images = grown;
	reg->images[reg->n_images++] = *image;
	return LOADER_OK;
}

void registry_free(struct image_registry *reg)
{
	for (size_t i = 0; i < reg->n_images; i++)
		loader_release(reg->images[i]);
	free(reg->images);
	reg->images = NULL;
	reg->n_images = 0;
}

static const struct plugin_choice *choice_named(const struct plugin_set *set, const char *name)
{
	for (size_t i = 0; i < set->n_choices; i++) {
		if (strcmp(set->choices[i].image->desc.name, name) == 0)
			return &set->choices[i];
	}
	return NULL;
}

/*
 * Duplicate first: a second file claiming a taken name is the clearer
 * error.  The same file under two titles is a name mismatch instead.
 */
static bool names_acceptable(const struct plugin_set *set, const struct plugin_section *section,
			     const struct plugin_image *image)
{
	const struct plugin_choice *taken = choice_named(set, image->desc.name);
	char detail[512];

	if (taken && taken->image != image) {
		snprintf(detail, sizeof(detail), "\"%s\" is already loaded from %s (section \"%s\")",
			 image->desc.name, taken->image->path, taken->section->name);
		loader_reject(section->name, image->path, "duplicate name", detail,
			      "remove one of the two plugins or disable one section");
		return false;
	}
	if (strcmp(image->desc.name, section->name) != 0) {
		snprintf(detail, sizeof(detail), "the file declares \"%s\" but is configured as \"%s\"",
			 image->desc.name, section->name);
		loader_reject(section->name, image->path, "name mismatch", detail,
			      "name the config section after the plugin, or point `path` at the right file");
		return false;
	}
	return true;
}

/* Only now is the plugin's default interval known. */
static bool timeout_fits_interval(const struct plugin_section *section,
				  const struct plugin_image *image)
{
	long interval = section->interval ? section->interval
					  : (long)(image->desc.default_interval ? image->desc.default_interval : 60);

	if (section->timeout <= interval)
		return true;
	log_msg(LOG_LVL_ERROR,
		"%s:%d: plugin \"%s\": timeout (%ld s) must not exceed its interval (%ld s, the plugin's default)",
		section->file, section->line, section->name, section->timeout, interval);
	return false;
}

bool plugin_isolation_resolve(struct plugin_section *section, const struct plugin_image *image)
{
	if (section->isolation == ISOLATION_DEFAULT)
		section->isolation = image->shipped ? ISOLATION_THREAD : ISOLATION_PROCESS;
	if (section->isolation == ISOLATION_THREAD && section->memory_limit_mb > 0) {
		log_msg(LOG_LVL_ERROR,
			"%s:%d: plugin \"%s\": memory_limit_mb needs isolation = \"process\" "
			"(this plugin runs on a thread of the collector%s)",
			section->file, section->line, section->name,
			image->shipped ? ", the default for a bundled plugin" : "");
		return false;
	}
	return true;
}

static int add_choice(struct plugin_set *set, struct plugin_section *section,
		      struct plugin_image *image)
{
	struct plugin_choice *grown = realloc(set->choices, (set->n_choices + 1) * sizeof(*grown));

	if (!grown)
		return -1;
	set->choices = grown;
	set->choices[set->n_choices].section = section;
	set->choices[set->n_choices].image = image;
	set->n_choices++;
	return 0;
}

static int consider_section(struct config *cfg, struct image_registry *reg,
			    struct plugin_section *section, struct plugin_set *set)
{
	struct plugin_image *image = NULL;
	char *path = plugin_path(cfg, section);
	enum loader_result result;

	if (!path)
		return -1;
	result = registry_load(reg, section->name, path, cfg->collector.plugin_dir, &image);
	if (result == LOADER_NOT_INSTALLED) {
		log_msg(LOG_LVL_WARNING,
			"%s:%d: plugin \"%s\" is configured but not installed (no %s); ignoring its section",
			section->file, section->line, section->name, path);
		set->n_missing++;
	} else if (result == LOADER_REJECTED || !names_acceptable(set, section, image)) {
		set->n_rejected++;
	} else if (!timeout_fits_interval(section, image) ||
		   !plugin_isolation_resolve(section, image) ||
		   config_bind_plugin(cfg, section, image->options, image->n_options) < 0) {
		set->n_config_errors++;
	} else if (add_choice(set, section, image) < 0) {
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

int plugin_set_prepare(struct config *cfg, struct image_registry *reg, struct plugin_set *set)
{
	memset(set, 0, sizeof(*set));
	for (size_t i = 0; i < cfg->n_plugins; i++) {
		if (cfg->plugins[i].enabled &&
		    consider_section(cfg, reg, &cfg->plugins[i], set) < 0) {
			plugin_set_clear(set);
			return -1;
		}
	}
	return 0;
}

void plugin_set_clear(struct plugin_set *set)
{
	free(set->choices);
	memset(set, 0, sizeof(*set));
}

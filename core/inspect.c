#include "inspect.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "config.h"
#include "loader.h"
#include "plugin_set.h"

struct listed {
	struct plugin_image *image;
	bool enabled;
};

/* "/x/y/name.so" -> "name": how a file is called before its descriptor is read. */
static char *label_from_path(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 3 && strcmp(base + len - 3, ".so") == 0)
		len -= 3;
	return strndup(base, len);
}

static bool is_enabled_here(const struct config *cfg, const struct plugin_image *image)
{
	const struct plugin_section *s = config_find_plugin(cfg, image->desc.name);
	char *path;
	bool same;

	if (!s || !s->enabled)
		return false;
	path = plugin_path(cfg, s);
	same = path && strcmp(path, image->path) == 0;
	free(path);
	return same;
}

static const struct listed *listed_named(const struct listed *rows, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(rows[i].image->desc.name, name) == 0)
			return &rows[i];
	}
	return NULL;
}

static void consider_file(const struct config *cfg, struct image_registry *reg,
			  struct listed *rows, size_t *n, const char *path)
{
	char *label = label_from_path(path);
	struct plugin_image *image = NULL;
	const struct listed *taken;
	char detail[512];

	for (size_t i = 0; i < *n; i++) {
		if (strcmp(rows[i].image->path, path) == 0) {
			free(label);
			return;
		}
	}
	if (label && registry_load(reg, label, path, NULL, &image) == LOADER_OK) {
		taken = listed_named(rows, *n, image->desc.name);
		if (taken) {
			snprintf(detail, sizeof(detail), "\"%s\" is already provided by %s",
				 image->desc.name, taken->image->path);
			loader_reject(image->desc.name, path, "duplicate name", detail,
				      "remove one of the two files");
		} else {
			rows[*n].image = image;
			rows[*n].enabled = is_enabled_here(cfg, image);
			(*n)++;
		}
	}
	free(label);
}

static int width_of(const struct listed *rows, size_t n, const char *header,
		    const char *(*field)(const struct listed *))
{
	size_t width = strlen(header);

	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(field(&rows[i]));

		if (len > width)
			width = len;
	}
	return (int)width;
}

static const char *field_name(const struct listed *r) { return r->image->desc.name; }
static const char *field_version(const struct listed *r) { return r->image->desc.version; }
static const char *field_path(const struct listed *r) { return r->image->path; }

static void print_table(const struct listed *rows, size_t n)
{
	int wn = width_of(rows, n, "NAME", field_name);
	int wv = width_of(rows, n, "VERSION", field_version);
	int wp = width_of(rows, n, "PATH", field_path);

	printf("%-*s  %-*s  %-5s  %-7s  %-*s  %s\n", wn, "NAME", wv, "VERSION", "ABI", "ENABLED",
	       wp, "PATH", "DESCRIPTION");
	for (size_t i = 0; i < n; i++) {
		const struct pga_plugin *d = &rows[i].image->desc;
		char abi[16];

		snprintf(abi, sizeof(abi), "%u.%u", d->abi_major, d->abi_minor);
		printf("%-*s  %-*s  %-5s  %-7s  %-*s  %s\n", wn, d->name, wv, d->version, abi,
		       rows[i].enabled ? "yes" : "no", wp, rows[i].image->path, d->description);
	}
}

static size_t candidate_count(const struct config *cfg, const glob_t *found)
{
	return found->gl_pathc + cfg->n_plugins;
}

int inspect_list_plugins(const char *config_path)
{
	struct config *cfg = config_load(config_path);
	struct image_registry reg = { 0 };
	struct listed *rows;
	glob_t found = { 0 };
	char *pattern = NULL;
	size_t n = 0;

	if (!cfg)
		return EXIT_INVALID;
	if (asprintf(&pattern, "%s/*.so", cfg->collector.plugin_dir) < 0) {
		config_free(cfg);
		return EXIT_RUNTIME;
	}
	glob(pattern, 0, NULL, &found);
	free(pattern);
	rows = calloc(candidate_count(cfg, &found) + 1, sizeof(*rows));
	if (!rows) {
		globfree(&found);
		config_free(cfg);
		return EXIT_RUNTIME;
	}
	for (size_t i = 0; i < found.gl_pathc; i++)
		consider_file(cfg, &reg, rows, &n, found.gl_pathv[i]);
	for (size_t i = 0; i < cfg->n_plugins; i++) {
		char *path = plugin_path(cfg, &cfg->plugins[i]);

		if (path && cfg->plugins[i].path)
			consider_file(cfg, &reg, rows, &n, path);
		free(path);
	}
	print_table(rows, n);
	free(rows);
	globfree(&found);
	registry_free(&reg);
	config_free(cfg);
	return EXIT_OK;
}

static void print_options(const struct plugin_image *image)
{
	for (size_t i = 0; i < image->n_options; i++) {
		const struct pga_option *o = &image->options[i];

		printf("  %s %s default=%s  %s\n", o->name, config_option_type_name(o->type),
		       o->default_value ? o->default_value : "", o->help ? o->help : "");
	}
}

int inspect_check_plugin(const char *path)
{
	char *label = label_from_path(path);
	struct plugin_image *image = NULL;
	enum loader_result result;

	if (!label)
		return EXIT_RUNTIME;
	result = loader_open(label, path, &image);
	if (result == LOADER_NOT_INSTALLED)
		loader_reject(label, path, "cannot be loaded", "no such file", "check the path");
	free(label);
	if (result != LOADER_OK)
		return EXIT_INVALID;
	printf("plugin \"%s\" (%s): OK; version %s, ABI %u.%u, %zu options\n", image->desc.name,
	       image->path, image->desc.version, image->desc.abi_major, image->desc.abi_minor,
	       image->n_options);
	print_options(image);
	loader_release(image);
	return EXIT_OK;
}

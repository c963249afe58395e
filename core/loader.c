#include "loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

/* The descriptor size of ABI 1.0: the least any 1.x plugin may declare. */
#define PLUGIN_SIZE_1_0 (offsetof(struct pga_plugin, shutdown) + sizeof(void (*)(void *)))
#define OPTION_SIZE_1_0 (offsetof(struct pga_option, help) + sizeof(const char *))
#define MAX_OPTIONS 256
/* Far beyond any minor's growth; a larger size is garbage, not a descriptor. */
#define MAX_STRUCT_SIZE 4096

void loader_reject(const char *name, const char *path, const char *what,
		   const char *detail, const char *hint)
{
	log_msg(LOG_LVL_ERROR, "plugin \"%s\" (%s): %s; %s; %s", name, path, what, detail, hint);
}

static bool all_zero(const unsigned char *bytes, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (bytes[i])
			return false;
	}
	return true;
}

/* A plugin built for another major exports pga_plugin_entry_vN instead. */
static int other_major_exported(void *handle)
{
	char symbol[32];

	for (int major = 0; major <= 16; major++) {
		if (major == PGA_ABI_MAJOR)
			continue;
		snprintf(symbol, sizeof(symbol), "pga_plugin_entry_v%d", major);
		if (dlsym(handle, symbol))
			return major;
	}
	return -1;
}

static const struct pga_plugin *find_descriptor(const char *label, const char *path,
						void *handle)
{
	pga_plugin_entry_fn entry;
	const struct pga_plugin *raw;
	char detail[256];
	int major;

	*(void **)&entry = dlsym(handle, PGA_PLUGIN_ENTRY_SYMBOL);
	if (!entry) {
		major = other_major_exported(handle);
		if (major >= 0) {
			snprintf(detail, sizeof(detail),
				 "it exports pga_plugin_entry_v%d (ABI %d), this collector speaks ABI %d.%d",
				 major, major, PGA_ABI_MAJOR, PGA_ABI_MINOR);
			loader_reject(label, path, "ABI major mismatch", detail,
				      "rebuild the plugin against this collector's SDK, or install a collector that speaks its ABI");
		} else {
			loader_reject(label, path, "not a pganalytics plugin",
				      "it does not export " PGA_PLUGIN_ENTRY_SYMBOL,
				      "build it with PGA_PLUGIN_DEFINE() from <pganalytics/plugin.h>");
		}
		return NULL;
	}
	raw = entry();
	if (!raw)
		loader_reject(label, path, "not a pganalytics plugin",
			      PGA_PLUGIN_ENTRY_SYMBOL "() returned no descriptor",
			      "build it with PGA_PLUGIN_DEFINE() from <pganalytics/plugin.h>");
	return raw;
}

/* ABI rules, in the order the header promises: major first, then size. */
static bool check_layout(const char *label, const char *path, const struct pga_plugin *raw)
{
	char detail[256];
	uint16_t major = raw->abi_major;
	uint32_t size;

	if (major != PGA_ABI_MAJOR) {
		snprintf(detail, sizeof(detail),
			 "the descriptor says ABI %u.x, this collector speaks ABI %d.%d",
			 major, PGA_ABI_MAJOR, PGA_ABI_MINOR);
		loader_reject(label, path, "ABI major mismatch", detail,
			      "rebuild the plugin against this collector's SDK");
		return false;
	}
	size = raw->struct_size;
	if (size < PLUGIN_SIZE_1_0) {
		snprintf(detail, sizeof(detail),
			 "struct_size is %u bytes, ABI %d.0 needs at least %zu",
			 size, PGA_ABI_MAJOR, (size_t)PLUGIN_SIZE_1_0);
		loader_reject(label, path, "descriptor too small", detail,
			      "define the plugin with PGA_PLUGIN_DEFINE() instead of filling the descriptor by hand");
		return false;
	}
	if (size > MAX_STRUCT_SIZE) {
		snprintf(detail, sizeof(detail), "struct_size is %u bytes, more than any ABI %d.x needs",
			 size, PGA_ABI_MAJOR);
		loader_reject(label, path, "descriptor too large", detail,
			      "define the plugin with PGA_PLUGIN_DEFINE() instead of filling the descriptor by hand");
		return false;
	}
	if (size > sizeof(struct pga_plugin) &&
	    !all_zero((const unsigned char *)raw + sizeof(struct pga_plugin),
		      size - sizeof(struct pga_plugin))) {
		snprintf(detail, sizeof(detail),
			 "its ABI %u.%u descriptor sets fields this collector (ABI %d.%d) does not know",
			 raw->abi_major, raw->abi_minor, PGA_ABI_MAJOR, PGA_ABI_MINOR);
		loader_reject(label, path, "built against a newer ABI", detail,
			      "upgrade the collector, or rebuild the plugin against this collector's SDK");
		return false;
	}
	return true;
}

static bool check_required_fields(const char *label, const char *path,
				  const struct pga_plugin *desc)
{
	char detail[256];

	if (!desc->name || !desc->collect) {
		loader_reject(label, path, "descriptor incomplete",
			      !desc->name ? "it has no name" : "it has no collect callback",
			      "set .name and .collect in PGA_PLUGIN_DEFINE()");
		return false;
	}
	if (!config_valid_plugin_name(desc->name)) {
		snprintf(detail, sizeof(detail),
			 "\"%.64s\" must match [a-z0-9_]+ (at most %d characters) and not be \"collector\"",
			 desc->name, CONFIG_MAX_NAME_LEN);
		loader_reject(label, path, "invalid name", detail,
			      "rename the plugin; the name is also its config section title");
		return false;
	}
	return true;
}

/* Copy the option table entry by entry: the plugin's stride may differ. */
static bool copy_options(const char *path, struct plugin_image *img)
{
	const struct pga_plugin *d = &img->desc;
	const unsigned char *entry = (const unsigned char *)d->options;
	size_t stride = d->option_size, count = 0;
	char detail[256];

	if (!entry)
		return true;
	if (stride < OPTION_SIZE_1_0 || stride > MAX_STRUCT_SIZE) {
		snprintf(detail, sizeof(detail), "option_size is %zu bytes, ABI %d.0 needs %zu",
			 stride, PGA_ABI_MAJOR, (size_t)OPTION_SIZE_1_0);
		loader_reject(d->name, path, "invalid option table", detail,
			      "define the plugin with PGA_PLUGIN_DEFINE()");
		return false;
	}
	while (count <= MAX_OPTIONS && ((const struct pga_option *)(entry + count * stride))->name)
		count++;
	if (count > MAX_OPTIONS) {
		snprintf(detail, sizeof(detail), "more than %d options, or no entry with a NULL name at the end",
			 MAX_OPTIONS);
		loader_reject(d->name, path, "invalid option table", detail,
			      "end the table with { NULL }");
		return false;
	}
	img->options = calloc(count ? count : 1, sizeof(*img->options));
	if (!img->options)
		return false;
	for (size_t i = 0; i < count; i++) {
		const unsigned char *src = entry + i * stride;

		if (stride > sizeof(struct pga_option) &&
		    !all_zero(src + sizeof(struct pga_option), stride - sizeof(struct pga_option))) {
			loader_reject(d->name, path, "built against a newer ABI",
				      "its option table sets fields this collector does not know",
				      "upgrade the collector, or rebuild the plugin against this collector's SDK");
			return false;
		}
		memcpy(&img->options[i], src, sizeof(struct pga_option));
	}
	img->n_options = count;
	if (config_check_option_table(img->options, count, detail, sizeof(detail)) < 0) {
		loader_reject(d->name, path, "invalid option table", detail,
			      "fix the option table in the plugin's source");
		return false;
	}
	return true;
}

/* The image of a checked descriptor, owning handle and fd; NULL when refused or out of memory. */
static struct plugin_image *build_image(const char *path, const struct stat *st, int fd,
					void *handle, const struct pga_plugin *raw)
{
	struct plugin_image *img = calloc(1, sizeof(*img));
	size_t size = raw->struct_size < sizeof(img->desc) ? raw->struct_size : sizeof(img->desc);

	if (!img)
		return NULL;
	img->path = strdup(path);
	img->dev = st->st_dev;
	img->ino = st->st_ino;
	img->fd = fd;
	img->handle = handle;
	memcpy(&img->desc, raw, size);
	if (!img->desc.version)
		img->desc.version = "";
	if (!img->desc.description)
		img->desc.description = "";
	if (!img->path || !copy_options(path, img)) {
		free(img->options);
		free(img->path);
		free(img);
		return NULL;
	}
	return img;
}

/*
 * dlopen `dl_path`, which names the file open as fd, and check it; path
 * is what messages show.  The fd is the image's on success, closed
 * otherwise.
 */
static enum loader_result load_checked(const char *label, const char *path,
				       const char *dl_path, int fd, struct plugin_image **image)
{
	char hint[512];
	const struct pga_plugin *raw;
	struct stat st;
	void *handle;

	if (fstat(fd, &st) != 0) {
		loader_reject(label, path, "cannot be read", strerror(errno), "check the file");
		close(fd);
		return LOADER_REJECTED;
	}
	handle = dlopen(dl_path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		const char *why = dlerror();

		snprintf(hint, sizeof(hint), "check its library dependencies with: ldd %s", path);
		loader_reject(label, path, "cannot be loaded", why ? why : "dlopen failed", hint);
		close(fd);
		return LOADER_REJECTED;
	}
	raw = find_descriptor(label, path, handle);
	if (!raw || !check_layout(label, path, raw) ||
	    !check_required_fields(label, path, raw) ||
	    !(*image = build_image(path, &st, fd, handle, raw))) {
		dlclose(handle);
		close(fd);
		return LOADER_REJECTED;
	}
	return LOADER_OK;
}

/*
 * dlopen(path) maps whatever the path names at that moment: a file
 * replaced between our open() and dlopen() would not be the one a worker
 * gets through the fd.
 */
static bool still_same_file(const char *path, const struct plugin_image *image)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_dev == image->dev && st.st_ino == image->ino;
}

enum loader_result loader_open(const char *label, const char *path,
			       struct plugin_image **image)
{
	enum loader_result result;
	int fd;

	*image = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return LOADER_NOT_INSTALLED;
	if (fd < 0) {
		loader_reject(label, path, "cannot be opened", strerror(errno),
			      "check the file's permissions");
		return LOADER_REJECTED;
	}
	/* The path, not /proc/self/fd: $ORIGIN, backtraces and dladdr() name the real file. */
	result = load_checked(label, path, path, fd, image);
	if (result == LOADER_OK && !still_same_file(path, *image)) {
		loader_reject(label, path, "replaced while it was being loaded",
			      "the file changed between its check and dlopen()",
			      "reload the collector once the installation is complete");
		loader_release(*image);
		*image = NULL;
		return LOADER_REJECTED;
	}
	return result;
}

enum loader_result loader_open_fd(const char *label, const char *path, int fd,
				  struct plugin_image **image)
{
	char dl_path[64];

	*image = NULL;
	snprintf(dl_path, sizeof(dl_path), "/proc/self/fd/%d", fd);
	return load_checked(label, path, dl_path, fd, image);
}

void loader_release(struct plugin_image *image)
{
	if (!image)
		return;
	if (!image->ran)
		dlclose(image->handle);
	if (image->fd >= 0)
		close(image->fd);
	free(image->options);
	free(image->path);
	free(image);
}

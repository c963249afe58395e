/*
 * loader.h - open a plugin shared object and check its descriptor against
 * the ABI rules of <pganalytics/plugin.h>.
 *
 * Every rejection is logged once as
 *     plugin "NAME" (PATH): WHAT; DETAIL; HINT
 * and only that plugin is skipped.  An image whose plugin has run is never
 * unloaded: its code may still be on a thread's stack, and a plugin's
 * libraries (libpq, ...) do not all survive dlclose.
 */
#ifndef PGA_CORE_LOADER_H
#define PGA_CORE_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <pganalytics/plugin.h>

struct plugin_image {
	char *path;
	dev_t dev;                     /* identity of the file loaded, so that a */
	ino_t ino;                     /* replaced file (an upgrade) can be told */
	int fd;                        /* that very file, open: a worker loads it */
	void *handle;
	struct pga_plugin desc;        /* host-sized copy; absent fields are zero */
	struct pga_option *options;    /* host-sized copies of the option table */
	size_t n_options;
	bool ran;                      /* init was called: keep it loaded */
	bool shipped;                  /* packaged with the collector: decided at first load */
};

enum loader_result {
	LOADER_OK = 0,
	LOADER_NOT_INSTALLED,          /* no file at the path; nothing logged */
	LOADER_REJECTED                /* logged */
};

/*
 * loader_open - dlopen(path, RTLD_NOW | RTLD_LOCAL) and validate it,
 * keeping the file open (image->fd) so that a worker started later can
 * load the same file whatever replaced it at `path`.  label
 * names the plugin in messages until its descriptor is read (the config
 * section title, or the file name for --check-plugin).  On LOADER_OK *image
 * is set; release it with loader_release().
 */
enum loader_result loader_open(const char *label, const char *path,
			       struct plugin_image **image);

/*
 * loader_open_fd - like loader_open, for the file open as fd (which the
 * image then owns): dlopen("/proc/self/fd/FD"), so that what runs is the
 * file a worker's collector checked even if `path` has been replaced
 * since.  path names the plugin in messages and in image->path.
 */
enum loader_result loader_open_fd(const char *label, const char *path, int fd,
				  struct plugin_image **image);

/*
 * loader_release - free the image and close its file; dlclose only if
 * the plugin never ran.  NULL is fine.
 */
void loader_release(struct plugin_image *image);

/*
 * loader_reject - log one rejection in the standard form.  Used for the
 * checks that need more than the file (name mismatch, duplicates, init).
 */
void loader_reject(const char *name, const char *path, const char *what,
		   const char *detail, const char *hint);

#endif

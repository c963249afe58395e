/*
 * config.h - the collector's configuration: the main file plus every *.conf
 * in collector.include_dir, in libconfuse syntax.
 *
 * Loading happens in two steps because a plugin's keys are known only once
 * the plugin is loaded:
 *   1. config_load() reads every file and validates the collector and backend
 *      sections and the host-owned keys of each plugin section (enabled,
 *      interval, timeout, path); keys a plugin declares are not checked yet.
 *   2. config_bind_plugin() validates one plugin's sections against the
 *      option table the plugin declares, and stores the typed values.
 * Every error is logged as "FILE:LINE: message" and makes the step fail.
 * When several files set the same key, the file read last wins; files are
 * read main file first, then drop-ins in name order, then the configuration
 * pulled from the backend (state_dir/remote.conf), which may only hold
 * plugin sections and collector.push_interval.
 */
#ifndef PGA_CORE_CONFIG_H
#define PGA_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pganalytics/plugin.h>

struct option_value {
	char *name;
	uint32_t type;          /* enum pga_option_type */
	char *string;           /* PGA_OPT_STRING */
	int64_t integer;        /* PGA_OPT_INT */
	double number;          /* PGA_OPT_DOUBLE */
	bool boolean;           /* PGA_OPT_BOOL */
	char **list;            /* PGA_OPT_STRING_LIST */
	size_t list_len;
};

/*
 * Where a plugin's init, collect and shutdown run: on a thread of the
 * collector, or in a supervised worker process (docs/ISOLATION.md).
 * ISOLATION_DEFAULT is what the configuration says when it says nothing;
 * plugin_set_prepare() resolves it to one of the other two.
 */
enum plugin_isolation {
	ISOLATION_DEFAULT = 0,
	ISOLATION_THREAD,
	ISOLATION_PROCESS
};

struct plugin_section {
	char *name;             /* the section title */
	char *file;             /* where the last section with this title is */
	int line;
	bool enabled;
	long interval;          /* seconds; 0: the plugin's default */
	long timeout;           /* seconds; 0: same as the interval */
	char *path;             /* NULL: plugin_dir/NAME.so */
	enum plugin_isolation isolation;
	long memory_limit_mb;   /* of a worker process; 0: no limit */
	struct option_value *options;   /* set by config_bind_plugin() */
	size_t n_options;
	bool bound;
};

struct collector_settings {
	char *id;
	char *hostname;
	long push_interval;
	char *state_dir;
	char *plugin_dir;
	char *include_dir;
	char *log_level;
	long config_pull_interval;   /* seconds; 0: never pull */
};

struct backend_settings {
	char *url;
	char *ca_file;
	char *client_cert;
	char *client_key;
	char *auth;
	char *secret_file;
	char *registration_secret_file;
	long timeout;
	long spool_max_mb;
};

struct config_file;     /* one file read, with its text */

struct config {
	struct collector_settings collector;
	struct backend_settings backend;
	struct plugin_section *plugins;
	size_t n_plugins;
	struct config_file *files;
	size_t n_files;
};

/*
 * config_load - read and validate main_path and its drop-ins (step 1).
 * Returns a config the caller frees with config_free(), or NULL after
 * logging every error found.
 */
struct config *config_load(const char *main_path);

/* Where a configuration pulled from the backend is kept, in state_dir. */
#define CONFIG_REMOTE_FILE "remote.conf"

/*
 * config_load_with_overlay - config_load(), reading overlay_path instead of
 * state_dir/remote.conf as the last file ("" reads none).  The overlay may
 * hold collector.push_interval and plugin sections with enabled, interval
 * and timeout only.
 */
struct config *config_load_with_overlay(const char *main_path, const char *overlay_path);

/*
 * config_bind_plugin - validate the sections of `section->name` against the
 * declared options (step 2) and store the values in section->options:
 * what the files say, else the declared default.  n_options entries of
 * `options` are read.  Returns 0, or -1 after logging FILE:LINE errors.
 */
int config_bind_plugin(struct config *cfg, struct plugin_section *section,
		       const struct pga_option *options, size_t n_options);

/*
 * config_check_option_table - check that every declared option has a valid
 * name and type, is not a host-owned key, is not declared twice and has a
 * default that parses as its type.  On failure writes the reason to
 * why (size why_len) and returns -1.
 */
int config_check_option_table(const struct pga_option *options,
			      size_t n_options, char *why, size_t why_len);

#define CONFIG_MAX_NAME_LEN 63
/* Longest interval or timeout accepted: one week. */
#define CONFIG_MAX_SECONDS (7 * 24 * 3600)

/* Largest memory_limit_mb accepted: 1 TiB. */
#define CONFIG_MAX_MEMORY_MB (1024 * 1024)

/*
 * config_parse_isolation - "process" or "thread" to *out (out may be NULL
 * to only check).  Returns false for anything else.
 */
bool config_parse_isolation(const char *text, enum plugin_isolation *out);

/* config_isolation_name - "process", "thread" or "default". */
const char *config_isolation_name(enum plugin_isolation isolation);

/* config_valid_plugin_name - true for [a-z0-9_]{1,63} other than "collector". */
bool config_valid_plugin_name(const char *name);

/* config_option_type_name - "string", "int", "double", "bool", "string list". */
const char *config_option_type_name(uint32_t type);

/* config_find_plugin - the section titled `name`, or NULL. */
struct plugin_section *config_find_plugin(const struct config *cfg,
					  const char *name);

/* plugin_option_find - the bound value of option `name`, or NULL. */
const struct option_value *plugin_option_find(const struct plugin_section *s,
					      const char *name);

/*
 * plugin_sections_equal - true when two sections would configure a plugin
 * identically (host keys and bound options), so a reload can leave it
 * running.
 */
bool plugin_sections_equal(const struct plugin_section *a,
			   const struct plugin_section *b);

/*
 * plugin_section_copy - deep copy of src into *dst, which is overwritten.
 * Returns 0, or -1 on out of memory (dst is then empty).  Free the copy with
 * plugin_section_clear().
 */
int plugin_section_copy(struct plugin_section *dst, const struct plugin_section *src);

/* plugin_section_clear - free what a section owns and zero it. */
void plugin_section_clear(struct plugin_section *section);

/* backend_settings_equal - true when a and b configure delivery alike. */
bool backend_settings_equal(const struct backend_settings *a, const struct backend_settings *b);

/* config_free - free everything config_load() returned; NULL is fine. */
void config_free(struct config *cfg);

#endif

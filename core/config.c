#include "config.h"

#include <confuse.h>
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_sections.h"
#include "log.h"

#define CONFIG_MAX_FILE_BYTES (4 * 1024 * 1024)

struct config_file {
	char *path;
	char *text;
	size_t len;
	struct section_span *spans;
	size_t n_spans;
	int stopped_line;       /* where the section scan gave up, else 0 */
};

static const char *const host_plugin_keys[] = { "enabled", "interval", "timeout", "path",
						 "isolation", "memory_limit_mb" };
#define N_HOST_PLUGIN_KEYS (sizeof(host_plugin_keys) / sizeof(host_plugin_keys[0]))

/* ---- error reporting ------------------------------------------------- */

static void append_valid_keys(char *msg, size_t size, cfg_t *section)
{
	size_t used = strlen(msg);
	const char *sep = "; valid keys: ";

	for (int i = 0; section->opts[i].name; i++) {
		const char *name = section->opts[i].name;

		if (strcmp(name, "__unknown") == 0)
			continue;
		used += (size_t)snprintf(msg + used, used < size ? size - used : 0,
					 "%s%s", sep, name);
		sep = ", ";
		if (used >= size)
			return;
	}
}

static void describe_section(char *msg, size_t size, cfg_t *section)
{
	size_t used = strlen(msg);

	if (used >= size || !section->name)
		return;
	if (strcmp(section->name, "root") == 0)
		snprintf(msg + used, size - used, " at top level");
	else if (section->title)
		snprintf(msg + used, size - used, " in %s \"%s\"", section->name,
			 section->title);
	else
		snprintf(msg + used, size - used, " in section %s", section->name);
}

/*
 * The root of the pass being parsed.  Sections created while parsing do not
 * always carry the file name; the root does.
 * Configuration is only ever parsed from the main thread.
 */
static cfg_t *parsing_root;

/*
 * libconfuse error callback: prefix FILE:LINE and, for an unknown key, say
 * which section it was in and which keys that section accepts.
 */
static void report_config_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (cfg && strncmp(msg, "no such option", 14) == 0) {
		describe_section(msg, sizeof(msg), cfg);
		append_valid_keys(msg, sizeof(msg), cfg);
	}
	if (cfg && (cfg->filename || (parsing_root && parsing_root->filename)))
		log_msg(LOG_LVL_ERROR, "%s:%d: %s",
			cfg->filename ? cfg->filename : parsing_root->filename,
			cfg->line > 0 ? cfg->line : parsing_root->line, msg);
	else
		log_msg(LOG_LVL_ERROR, "configuration: %s", msg);
}

/* ---- value validators (run by libconfuse while parsing: line is right) - */

/* Seconds, bounded so that nanosecond arithmetic never overflows. */
static int require_seconds(cfg_t *cfg, cfg_opt_t *opt)
{
	long value = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

	if (value < 1 || value > CONFIG_MAX_SECONDS) {
		cfg_error(cfg, "option '%s' must be from 1 to %d seconds (got %ld)", opt->name,
			  CONFIG_MAX_SECONDS, value);
		return -1;
	}
	return 0;
}

static int require_seconds_or_zero(cfg_t *cfg, cfg_opt_t *opt)
{
	return cfg_opt_getnint(opt, cfg_opt_size(opt) - 1) == 0 ? 0 : require_seconds(cfg, opt);
}

static int require_positive(cfg_t *cfg, cfg_opt_t *opt)
{
	long value = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

	if (value < 1) {
		cfg_error(cfg, "option '%s' must be at least 1 (got %ld)", opt->name, value);
		return -1;
	}
	return 0;
}

static int require_log_level(cfg_t *cfg, cfg_opt_t *opt)
{
	enum log_level ignored;
	const char *value = cfg_opt_getnstr(opt, 0);

	if (!log_parse_level(value, &ignored)) {
		cfg_error(cfg, "option '%s' must be one of error, warning, info, debug (got \"%s\")",
			  opt->name, value ? value : "");
		return -1;
	}
	return 0;
}

static int require_isolation(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *value = cfg_opt_getnstr(opt, 0);

	if (!config_parse_isolation(value, NULL)) {
		cfg_error(cfg, "option '%s' must be \"process\" or \"thread\" (got \"%s\")",
			  opt->name, value ? value : "");
		return -1;
	}
	return 0;
}

/* Megabytes, bounded so that the byte count fits any rlim_t. */
static int require_megabytes(cfg_t *cfg, cfg_opt_t *opt)
{
	long value = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

	if (value < 0 || value > CONFIG_MAX_MEMORY_MB) {
		cfg_error(cfg, "option '%s' must be from 0 (no limit) to %d MB (got %ld)", opt->name,
			  CONFIG_MAX_MEMORY_MB, value);
		return -1;
	}
	return 0;
}

static int require_auth_mode(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *value = cfg_opt_getnstr(opt, 0);

	if (!value || (strcmp(value, "token") != 0 && strcmp(value, "hmac") != 0)) {
		cfg_error(cfg, "option '%s' must be \"token\" or \"hmac\" (got \"%s\")",
			  opt->name, value ? value : "");
		return -1;
	}
	return 0;
}

/* ---- reading files ---------------------------------------------------- */

static int read_text_file(const char *path, char **text, size_t *len)
{
	FILE *fp = fopen(path, "r");
	struct stat st;
	size_t got;

	if (!fp) {
		log_msg(LOG_LVL_ERROR, "%s: cannot open configuration file: %s", path,
			strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > CONFIG_MAX_FILE_BYTES) {
		log_msg(LOG_LVL_ERROR, "%s: not a regular file of at most %d bytes", path,
			CONFIG_MAX_FILE_BYTES);
		fclose(fp);
		return -1;
	}
	*text = malloc((size_t)st.st_size + 1);
	if (!*text) {
		fclose(fp);
		return -1;
	}
	got = fread(*text, 1, (size_t)st.st_size, fp);
	fclose(fp);
	(*text)[got] = '\0';
	*len = got;
	return 0;
}

static int add_config_file(struct config *cfg, const char *path)
{
	struct config_file *grown = realloc(cfg->files, (cfg->n_files + 1) * sizeof(*grown));
	struct config_file *file;

	if (!grown)
		return -1;
	cfg->files = grown;
	file = &grown[cfg->n_files];
	memset(file, 0, sizeof(*file));
	file->path = strdup(path);
	if (!file->path || read_text_file(path, &file->text, &file->len) < 0 ||
	    config_find_sections(file->text, file->len, &file->spans, &file->n_spans,
				 &file->stopped_line) < 0) {
		free(file->path);
		free(file->text);
		return -1;
	}
	cfg->n_files++;
	return 0;
}

/*
 * The text a parsing pass sees: everything blanked except the spans for
 * which keep() is true (keep_rest: also keep what is outside every span).
 */
static char *pass_text(const struct config_file *file,
		       bool (*keep)(const struct section_span *, const void *),
		       const void *arg, bool keep_rest)
{
	char *text = malloc(file->len + 1);

	if (!text)
		return NULL;
	memcpy(text, file->text, file->len + 1);
	if (!keep_rest)
		config_blank_span(text, 0, file->len);
	for (size_t i = 0; i < file->n_spans; i++) {
		const struct section_span *span = &file->spans[i];
		bool kept = keep(span, arg);

		if (kept && !keep_rest)
			memcpy(text + span->start, file->text + span->start,
			       span->end - span->start);
		else if (!kept && keep_rest)
			config_blank_span(text, span->start, span->end);
	}
	return text;
}

/* Parse one pass of one file; NULL after libconfuse reported the errors. */
static cfg_t *parse_pass(const struct config_file *file, char *text, cfg_opt_t *opts,
			 int flags, void (*add_validators)(cfg_t *))
{
	cfg_t *parsed = cfg_init(opts, flags);
	FILE *fp;
	int rc;

	if (!parsed)
		return NULL;
	cfg_set_error_function(parsed, report_config_error);
	if (add_validators)
		add_validators(parsed);
	fp = fmemopen(text, strlen(text), "r");
	if (!fp) {
		cfg_free(parsed);
		return NULL;
	}
	free(parsed->filename);
	parsed->filename = strdup(file->path);
	parsed->line = 1;
	parsing_root = parsed;
	rc = cfg_parse_fp(parsed, fp);
	parsing_root = NULL;
	fclose(fp);
	if (rc != CFG_SUCCESS) {
		cfg_free(parsed);
		return NULL;
	}
	return parsed;
}

/* ---- step 1: collector, backend, host keys of plugin sections --------- */

static bool keep_non_plugin(const struct section_span *span, const void *arg)
{
	(void)arg;
	return strcmp(span->name, "plugin") != 0;
}

static bool keep_plugin(const struct section_span *span, const void *arg)
{
	(void)arg;
	return strcmp(span->name, "plugin") == 0;
}

static void add_core_validators(cfg_t *cfg)
{
	cfg_set_validate_func(cfg, "collector|push_interval", require_seconds);
	cfg_set_validate_func(cfg, "collector|config_pull_interval", require_seconds_or_zero);
	cfg_set_validate_func(cfg, "collector|log_level", require_log_level);
	cfg_set_validate_func(cfg, "backend|auth", require_auth_mode);
	cfg_set_validate_func(cfg, "backend|timeout", require_seconds);
	cfg_set_validate_func(cfg, "backend|spool_max_mb", require_positive);
}

static void add_remote_validators(cfg_t *cfg)
{
	cfg_set_validate_func(cfg, "collector|push_interval", require_seconds);
}

static void add_plugin_validators(cfg_t *cfg)
{
	cfg_set_validate_func(cfg, "plugin|interval", require_seconds);
	cfg_set_validate_func(cfg, "plugin|timeout", require_seconds);
	cfg_set_validate_func(cfg, "plugin|isolation", require_isolation);
	cfg_set_validate_func(cfg, "plugin|memory_limit_mb", require_megabytes);
}

/* `plugin NAME { ... }` sections are parsed separately, with their own schema. */
static cfg_opt_t no_plugin_opts[] = { CFG_STR("__unknown", NULL, CFGF_NONE), CFG_END() };

static cfg_opt_t collector_opts[] = {
	CFG_STR("id", NULL, CFGF_NODEFAULT),
	CFG_STR("hostname", NULL, CFGF_NODEFAULT),
	CFG_INT("push_interval", 0, CFGF_NODEFAULT),
	CFG_STR("state_dir", NULL, CFGF_NODEFAULT),
	CFG_STR("plugin_dir", NULL, CFGF_NODEFAULT),
	CFG_STR("include_dir", NULL, CFGF_NODEFAULT),
	CFG_STR("log_level", NULL, CFGF_NODEFAULT),
	CFG_INT("config_pull_interval", 0, CFGF_NODEFAULT),
	CFG_END()
};

/*
 * What a configuration pulled from the backend may set: plugin sections
 * and intervals, never the backend's address or credentials.
 */
static cfg_opt_t remote_collector_opts[] = {
	CFG_INT("push_interval", 0, CFGF_NODEFAULT),
	CFG_END()
};

/*
 * In a plugin section from the backend: whether and how often it runs.  Not
 * `path` (which code to load) nor the plugin's own options (a conninfo
 * could send the data, or a password, elsewhere).
 */
static cfg_opt_t remote_plugin_opts[] = {
	CFG_BOOL("enabled", cfg_true, CFGF_NODEFAULT),
	CFG_INT("interval", 0, CFGF_NODEFAULT),
	CFG_INT("timeout", 0, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t remote_plugins_opts[] = {
	CFG_SEC("plugin", remote_plugin_opts, CFGF_TITLE | CFGF_MULTI | CFGF_NO_TITLE_DUPES),
	CFG_END()
};

static cfg_opt_t remote_core_opts[] = {
	CFG_SEC("collector", remote_collector_opts, CFGF_NONE),
	CFG_SEC("plugin", no_plugin_opts, CFGF_TITLE | CFGF_MULTI),
	CFG_END()
};

static cfg_opt_t backend_opts[] = {
	CFG_STR("url", NULL, CFGF_NODEFAULT),
	CFG_STR("ca_file", NULL, CFGF_NODEFAULT),
	CFG_STR("client_cert", NULL, CFGF_NODEFAULT),
	CFG_STR("client_key", NULL, CFGF_NODEFAULT),
	CFG_STR("auth", NULL, CFGF_NODEFAULT),
	CFG_STR("secret_file", NULL, CFGF_NODEFAULT),
	CFG_STR("registration_secret_file", NULL, CFGF_NODEFAULT),
	CFG_INT("timeout", 0, CFGF_NODEFAULT),
	CFG_INT("spool_max_mb", 0, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t core_opts[] = {
	CFG_SEC("collector", collector_opts, CFGF_NONE),
	CFG_SEC("backend", backend_opts, CFGF_NONE),
	CFG_SEC("plugin", no_plugin_opts, CFGF_TITLE | CFGF_MULTI),
	CFG_END()
};

static cfg_opt_t plugin_host_opts[] = {
	CFG_BOOL("enabled", cfg_true, CFGF_NODEFAULT),
	CFG_INT("interval", 0, CFGF_NODEFAULT),
	CFG_INT("timeout", 0, CFGF_NODEFAULT),
	CFG_STR("path", NULL, CFGF_NODEFAULT),
	CFG_STR("isolation", NULL, CFGF_NODEFAULT),
	CFG_INT("memory_limit_mb", 0, CFGF_NODEFAULT),
	CFG_STR("__unknown", NULL, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t plugin_headers_opts[] = {
	CFG_SEC("plugin", plugin_host_opts, CFGF_TITLE | CFGF_MULTI | CFGF_NO_TITLE_DUPES),
	CFG_END()
};

static bool opt_is_set(cfg_opt_t *opt)
{
	return opt && cfg_opt_size(opt) > 0;
}

static int take_string(char **dst, cfg_t *sec, const char *name)
{
	cfg_opt_t *opt = cfg_getopt(sec, name);
	char *copy;

	if (!opt_is_set(opt))
		return 0;
	copy = strdup(cfg_opt_getnstr(opt, 0) ? cfg_opt_getnstr(opt, 0) : "");
	if (!copy)
		return -1;
	free(*dst);
	*dst = copy;
	return 0;
}

static void take_long(long *dst, cfg_t *sec, const char *name)
{
	cfg_opt_t *opt = cfg_getopt(sec, name);

	if (opt_is_set(opt))
		*dst = cfg_opt_getnint(opt, 0);
}

static int merge_collector(struct collector_settings *c, cfg_t *sec)
{
	take_long(&c->push_interval, sec, "push_interval");
	take_long(&c->config_pull_interval, sec, "config_pull_interval");
	return take_string(&c->id, sec, "id") | take_string(&c->hostname, sec, "hostname") |
	       take_string(&c->state_dir, sec, "state_dir") |
	       take_string(&c->plugin_dir, sec, "plugin_dir") |
	       take_string(&c->include_dir, sec, "include_dir") |
	       take_string(&c->log_level, sec, "log_level");
}

static int merge_backend(struct backend_settings *b, cfg_t *sec)
{
	take_long(&b->timeout, sec, "timeout");
	take_long(&b->spool_max_mb, sec, "spool_max_mb");
	return take_string(&b->url, sec, "url") | take_string(&b->ca_file, sec, "ca_file") |
	       take_string(&b->client_cert, sec, "client_cert") |
	       take_string(&b->client_key, sec, "client_key") |
	       take_string(&b->auth, sec, "auth") |
	       take_string(&b->secret_file, sec, "secret_file") |
	       take_string(&b->registration_secret_file, sec, "registration_secret_file");
}

static int parse_core_sections(struct config *cfg, const struct config_file *file,
			       cfg_opt_t *schema)
{
	char *text = pass_text(file, keep_non_plugin, NULL, true);
	cfg_t *parsed;
	int rc;

	if (!text)
		return -1;
	parsed = parse_pass(file, text, schema, CFGF_NONE,
			    schema == core_opts ? add_core_validators : add_remote_validators);
	free(text);
	if (!parsed)
		return -1;
	/* libconfuse accepted what the section scanner could not split. */
	if (file->stopped_line) {
		log_msg(LOG_LVL_ERROR,
			"%s:%d: cannot tell where this top-level statement ends; write sections as "
			"NAME [TITLE] { ... } and options as KEY = VALUE",
			file->path, file->stopped_line);
		cfg_free(parsed);
		return -1;
	}
	if (schema == core_opts) {
		rc = merge_collector(&cfg->collector, cfg_getsec(parsed, "collector")) |
		     merge_backend(&cfg->backend, cfg_getsec(parsed, "backend"));
	} else {
		take_long(&cfg->collector.push_interval, cfg_getsec(parsed, "collector"), "push_interval");
		rc = 0;
	}
	cfg_free(parsed);
	return rc ? -1 : 0;
}

bool config_valid_plugin_name(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > CONFIG_MAX_NAME_LEN)
		return false;
	/* "collector" names the host's own records and log lines. */
	if (strcmp(name, "collector") == 0)
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == len;
}

static const struct section_span *last_span_titled(const struct config_file *file,
						   const char *title)
{
	const struct section_span *found = NULL;

	for (size_t i = 0; i < file->n_spans; i++) {
		const struct section_span *span = &file->spans[i];

		if (strcmp(span->name, "plugin") == 0 && span->title &&
		    strcmp(span->title, title) == 0)
			found = span;
	}
	return found;
}

static struct plugin_section *get_or_add_section(struct config *cfg, const char *title)
{
	struct plugin_section *grown, *section = config_find_plugin(cfg, title);

	if (section)
		return section;
	grown = realloc(cfg->plugins, (cfg->n_plugins + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	cfg->plugins = grown;
	section = &grown[cfg->n_plugins];
	memset(section, 0, sizeof(*section));
	section->enabled = true;
	section->name = strdup(title);
	if (!section->name)
		return NULL;
	cfg->n_plugins++;
	return section;
}

static int merge_plugin_header(struct config *cfg, const struct config_file *file, cfg_t *sec)
{
	const char *title = cfg_title(sec);
	const struct section_span *span = last_span_titled(file, title);
	struct plugin_section *section;
	cfg_opt_t *enabled, *isolation;
	char *where;

	if (!config_valid_plugin_name(title)) {
		log_msg(LOG_LVL_ERROR, "%s:%d: invalid plugin section name \"%s\"; names match [a-z0-9_]+ and \"collector\" is reserved",
			file->path, span ? span->line : 0, title);
		return -1;
	}
	section = get_or_add_section(cfg, title);
	where = strdup(file->path);
	if (!section || !where) {
		free(where);
		return -1;
	}
	free(section->file);
	section->file = where;
	section->line = span ? span->line : 0;
	enabled = cfg_getopt(sec, "enabled");
	if (opt_is_set(enabled))
		section->enabled = cfg_opt_getnbool(enabled, 0);
	isolation = cfg_getopt(sec, "isolation");
	if (opt_is_set(isolation))
		config_parse_isolation(cfg_opt_getnstr(isolation, 0), &section->isolation);
	take_long(&section->interval, sec, "interval");
	take_long(&section->timeout, sec, "timeout");
	take_long(&section->memory_limit_mb, sec, "memory_limit_mb");
	return take_string(&section->path, sec, "path");
}

static int parse_plugin_headers(struct config *cfg, const struct config_file *file)
{
	char *text = pass_text(file, keep_plugin, NULL, false);
	cfg_t *parsed;
	int rc = 0;

	if (!text)
		return -1;
	parsed = parse_pass(file, text, plugin_headers_opts, CFGF_IGNORE_UNKNOWN,
			    add_plugin_validators);
	free(text);
	if (!parsed)
		return -1;
	for (unsigned i = 0; i < cfg_size(parsed, "plugin"); i++)
		rc |= merge_plugin_header(cfg, file, cfg_getnsec(parsed, "plugin", i));
	cfg_free(parsed);
	return rc ? -1 : 0;
}

static int check_plugin_timeouts(const struct config *cfg)
{
	int rc = 0;

	for (size_t i = 0; i < cfg->n_plugins; i++) {
		const struct plugin_section *s = &cfg->plugins[i];

		if (s->interval && s->timeout > s->interval) {
			log_msg(LOG_LVL_ERROR,
				"%s:%d: plugin \"%s\": timeout (%ld s) must not exceed interval (%ld s)",
				s->file, s->line, s->name, s->timeout, s->interval);
			rc = -1;
		}
	}
	return rc;
}

static int set_default_string(char **dst, const char *value)
{
	*dst = strdup(value);
	return *dst ? 0 : -1;
}

static int set_defaults(struct config *cfg)
{
	cfg->collector.push_interval = 60;
	cfg->collector.config_pull_interval = 300;
	cfg->backend.timeout = 30;
	cfg->backend.spool_max_mb = 256;
	return set_default_string(&cfg->collector.id, "") |
	       set_default_string(&cfg->collector.hostname, "") |
	       set_default_string(&cfg->collector.state_dir, "/var/lib/pganalytics") |
	       set_default_string(&cfg->collector.plugin_dir, PGA_DEFAULT_PLUGIN_DIR) |
	       set_default_string(&cfg->collector.include_dir, "/etc/pganalytics/collector.d") |
	       set_default_string(&cfg->collector.log_level, "info") |
	       set_default_string(&cfg->backend.url, "https://pganalytics.example.com") |
	       set_default_string(&cfg->backend.ca_file, "/etc/pganalytics/ca.pem") |
	       set_default_string(&cfg->backend.client_cert, "/etc/pganalytics/collector.crt") |
	       set_default_string(&cfg->backend.client_key, "/etc/pganalytics/collector.key") |
	       set_default_string(&cfg->backend.auth, "token") |
	       set_default_string(&cfg->backend.secret_file, "/etc/pganalytics/collector.secret") |
	       set_default_string(&cfg->backend.registration_secret_file,
				  "/etc/pganalytics/registration.secret");
}

/* The include_dir named by the main file decides which drop-ins exist. */
static int read_drop_ins(struct config *cfg)
{
	char *pattern;
	glob_t found;
	int rc = 0, grc;

	if (!cfg->collector.include_dir || !*cfg->collector.include_dir)
		return 0;
	if (asprintf(&pattern, "%s/*.conf", cfg->collector.include_dir) < 0)
		return -1;
	grc = glob(pattern, 0, NULL, &found);
	free(pattern);
	if (grc == GLOB_NOMATCH)
		return 0;
	if (grc != 0) {
		log_msg(LOG_LVL_ERROR, "%s: cannot list drop-in files", cfg->collector.include_dir);
		return -1;
	}
	for (size_t i = 0; i < found.gl_pathc; i++) {
		if (add_config_file(cfg, found.gl_pathv[i]) < 0 ||
		    parse_core_sections(cfg, &cfg->files[cfg->n_files - 1], core_opts) < 0)
			rc = -1;
	}
	globfree(&found);
	return rc;
}

/*
 * What the backend may not do: expand the daemon's environment (libconfuse
 * substitutes ${NAME}) or set plugin options beyond the host's own keys.
 */
static int check_remote_text(const struct config_file *file)
{
	const char *dollar = memchr(file->text, '$', file->len);
	char *text;
	cfg_t *parsed;

	if (dollar) {
		int line = 1;

		for (const char *p = file->text; p < dollar; p++)
			line += *p == '\n';
		log_msg(LOG_LVL_ERROR,
			"%s:%d: '$' is not allowed in a configuration from the backend "
			"(it would read the collector's environment)", file->path, line);
		return -1;
	}
	text = pass_text(file, keep_plugin, NULL, false);
	if (!text)
		return -1;
	parsed = parse_pass(file, text, remote_plugins_opts, CFGF_NONE, add_plugin_validators);
	free(text);
	cfg_free(parsed);
	return parsed ? 0 : -1;
}

/* The overlay pulled from the backend is read last, with a narrower schema. */
static int read_remote_overlay(struct config *cfg, const char *overlay_path)
{
	char *path = NULL;
	int rc;

	if (overlay_path && !overlay_path[0])
		return 0;
	if (!overlay_path) {
		if (asprintf(&path, "%s/" CONFIG_REMOTE_FILE, cfg->collector.state_dir) < 0)
			return -1;
		overlay_path = path;
	}
	if (access(overlay_path, F_OK) < 0) {
		free(path);
		return 0;
	}
	if (add_config_file(cfg, overlay_path) < 0) {
		free(path);
		return -1;
	}
	rc = check_remote_text(&cfg->files[cfg->n_files - 1]);
	if (rc == 0)
		rc = parse_core_sections(cfg, &cfg->files[cfg->n_files - 1], remote_core_opts);
	free(path);
	return rc;
}

struct config *config_load(const char *main_path)
{
	return config_load_with_overlay(main_path, NULL);
}

struct config *config_load_with_overlay(const char *main_path, const char *overlay_path)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	int rc;

	if (!cfg || set_defaults(cfg) < 0 || add_config_file(cfg, main_path) < 0) {
		config_free(cfg);
		return NULL;
	}
	rc = parse_core_sections(cfg, &cfg->files[0], core_opts);
	rc |= read_drop_ins(cfg);
	rc |= read_remote_overlay(cfg, overlay_path);
	for (size_t i = 0; i < cfg->n_files; i++)
		rc |= parse_plugin_headers(cfg, &cfg->files[i]);
	if (rc == 0)
		rc = check_plugin_timeouts(cfg);
	if (rc != 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* ---- step 2: one plugin's declared options ------------------------------ */

static bool is_host_plugin_key(const char *name)
{
	for (size_t i = 0; i < N_HOST_PLUGIN_KEYS; i++) {
		if (strcmp(name, host_plugin_keys[i]) == 0)
			return true;
	}
	return false;
}

static cfg_opt_t declared_to_confuse(const struct pga_option *o)
{
	cfg_opt_t str = CFG_STR(o->name, NULL, CFGF_NODEFAULT);
	cfg_opt_t integer = CFG_INT(o->name, 0, CFGF_NODEFAULT);
	cfg_opt_t number = CFG_FLOAT(o->name, 0, CFGF_NODEFAULT);
	cfg_opt_t boolean = CFG_BOOL(o->name, cfg_false, CFGF_NODEFAULT);
	cfg_opt_t list = CFG_STR_LIST(o->name, NULL, CFGF_NODEFAULT);

	switch (o->type) {
	case PGA_OPT_INT: return integer;
	case PGA_OPT_DOUBLE: return number;
	case PGA_OPT_BOOL: return boolean;
	case PGA_OPT_STRING_LIST: return list;
	default: return str;
	}
}

/* Schema of `plugin NAME { }` for one plugin: host keys, then declared keys. */
static cfg_opt_t *plugin_schema(const struct pga_option *options, size_t n_options)
{
	cfg_opt_t *opts = calloc(N_HOST_PLUGIN_KEYS + n_options + 1, sizeof(*opts));
	cfg_opt_t end = CFG_END();

	if (!opts)
		return NULL;
	for (size_t i = 0; i < N_HOST_PLUGIN_KEYS; i++)
		opts[i] = plugin_host_opts[i];
	for (size_t i = 0; i < n_options; i++)
		opts[N_HOST_PLUGIN_KEYS + i] = declared_to_confuse(&options[i]);
	opts[N_HOST_PLUGIN_KEYS + n_options] = end;
	return opts;
}

static bool keep_titled(const struct section_span *span, const void *arg)
{
	return strcmp(span->name, "plugin") == 0 && span->title &&
	       strcmp(span->title, (const char *)arg) == 0;
}

static void free_option_value(struct option_value *v)
{
	free(v->name);
	free(v->string);
	for (size_t i = 0; i < v->list_len; i++)
		free(v->list[i]);
	free(v->list);
	memset(v, 0, sizeof(*v));
}

static int take_list(struct option_value *v, cfg_opt_t *opt)
{
	size_t n = cfg_opt_size(opt);
	char **list = calloc(n ? n : 1, sizeof(*list));

	if (!list)
		return -1;
	for (size_t i = 0; i < n; i++) {
		list[i] = strdup(cfg_opt_getnstr(opt, (unsigned)i));
		if (!list[i]) {
			while (i--)
				free(list[i]);
			free(list);
			return -1;
		}
	}
	for (size_t i = 0; i < v->list_len; i++)
		free(v->list[i]);
	free(v->list);
	v->list = list;
	v->list_len = n;
	return 0;
}

/* Store the value the file sets for v (if it sets one). */
static int take_value(struct option_value *v, cfg_opt_t *opt)
{
	bool set = opt_is_set(opt) ||
		   (v->type == PGA_OPT_STRING_LIST && opt && (opt->flags & CFGF_MODIFIED));

	if (!set)
		return 0;
	switch (v->type) {
	case PGA_OPT_INT: v->integer = cfg_opt_getnint(opt, 0); return 0;
	case PGA_OPT_DOUBLE: v->number = cfg_opt_getnfloat(opt, 0); return 0;
	case PGA_OPT_BOOL: v->boolean = cfg_opt_getnbool(opt, 0); return 0;
	case PGA_OPT_STRING_LIST: return take_list(v, opt);
	default:
		free(v->string);
		v->string = strdup(cfg_opt_getnstr(opt, 0));
		return v->string ? 0 : -1;
	}
}

static bool parse_bool_text(const char *text, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
			*out = strcasecmp(text, yes[i]) == 0;
			return true;
		}
	}
	return false;
}

static int parse_default_list(struct option_value *v, const char *text)
{
	cfg_opt_t opts[] = { CFG_STR_LIST("value", NULL, CFGF_NONE), CFG_END() };
	cfg_t *parsed = cfg_init(opts, CFGF_NONE);
	char *buf = NULL;
	int rc = -1;

	if (!parsed)
		return -1;
	cfg_set_error_function(parsed, NULL);
	if (asprintf(&buf, "value = %s", text) >= 0 &&
	    cfg_parse_buf(parsed, buf) == CFG_SUCCESS)
		rc = take_list(v, cfg_getopt(parsed, "value"));
	free(buf);
	cfg_free(parsed);
	return rc;
}

/* The declared default of o as a value; -1 when it does not parse. */
static int parse_default(const struct pga_option *o, struct option_value *v)
{
	const char *text = o->default_value;
	char *end = NULL;

	if (!text || !*text)
		return o->type == PGA_OPT_STRING ? ((v->string = strdup("")) ? 0 : -1) : 0;
	errno = 0;
	switch (o->type) {
	case PGA_OPT_INT:
		v->integer = strtoll(text, &end, 0);
		return (errno || *end) ? -1 : 0;
	case PGA_OPT_DOUBLE:
		v->number = strtod(text, &end);
		return (errno || *end || !isfinite(v->number)) ? -1 : 0;
	case PGA_OPT_BOOL:
		return parse_bool_text(text, &v->boolean) ? 0 : -1;
	case PGA_OPT_STRING_LIST:
		return parse_default_list(v, text);
	default:
		v->string = strdup(text);
		return v->string ? 0 : -1;
	}
}

const char *config_option_type_name(uint32_t type)
{
	switch (type) {
	case PGA_OPT_STRING: return "string";
	case PGA_OPT_INT: return "int";
	case PGA_OPT_DOUBLE: return "double";
	case PGA_OPT_BOOL: return "bool";
	case PGA_OPT_STRING_LIST: return "string list";
	default: return "unknown";
	}
}

static bool valid_option_name(const char *name)
{
	if (!name || !(*name >= 'a' && *name <= 'z'))
		return false;
	return config_valid_plugin_name(name);
}

int config_check_option_table(const struct pga_option *options, size_t n_options,
			      char *why, size_t why_len)
{
	for (size_t i = 0; i < n_options; i++) {
		const struct pga_option *o = &options[i];
		struct option_value probe = { .type = o->type };
		int bad_default;

		if (!valid_option_name(o->name)) {
			snprintf(why, why_len, "option #%zu has the invalid name \"%s\" (must match [a-z][a-z0-9_]*)",
				 i + 1, o->name ? o->name : "(null)");
			return -1;
		}
		if (is_host_plugin_key(o->name) || strcmp(o->name, "__unknown") == 0) {
			snprintf(why, why_len, "option \"%s\" is reserved for the collector", o->name);
			return -1;
		}
		if (o->type < PGA_OPT_STRING || o->type > PGA_OPT_STRING_LIST) {
			snprintf(why, why_len, "option \"%s\" has the unknown type %u", o->name, o->type);
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(options[j].name, o->name) == 0) {
				snprintf(why, why_len, "option \"%s\" is declared twice", o->name);
				return -1;
			}
		}
		bad_default = parse_default(o, &probe);
		free_option_value(&probe);
		if (bad_default) {
			snprintf(why, why_len, "option \"%s\": default \"%s\" is not a valid %s",
				 o->name, o->default_value, config_option_type_name(o->type));
			return -1;
		}
	}
	return 0;
}

static void free_bound_options(struct plugin_section *section)
{
	for (size_t i = 0; i < section->n_options; i++)
		free_option_value(&section->options[i]);
	free(section->options);
	section->options = NULL;
	section->n_options = 0;
	section->bound = false;
}

static int init_bound_options(struct plugin_section *section,
			      const struct pga_option *options, size_t n_options)
{
	section->options = calloc(n_options ? n_options : 1, sizeof(*section->options));
	if (!section->options)
		return -1;
	section->n_options = n_options;
	for (size_t i = 0; i < n_options; i++) {
		struct option_value *v = &section->options[i];

		v->type = options[i].type;
		v->name = strdup(options[i].name);
		if (!v->name || parse_default(&options[i], v) < 0)
			return -1;
	}
	return 0;
}

static int bind_file(struct plugin_section *section, const struct config_file *file,
		     cfg_opt_t *schema)
{
	cfg_opt_t root[] = {
		CFG_SEC("plugin", schema, CFGF_TITLE | CFGF_MULTI | CFGF_NO_TITLE_DUPES),
		CFG_END()
	};
	char *text;
	cfg_t *parsed, *sec;
	int rc = 0;

	if (!last_span_titled(file, section->name))
		return 0;
	text = pass_text(file, keep_titled, section->name, false);
	if (!text)
		return -1;
	parsed = parse_pass(file, text, root, CFGF_NONE, add_plugin_validators);
	free(text);
	if (!parsed)
		return -1;
	sec = cfg_gettsec(parsed, "plugin", section->name);
	for (size_t i = 0; sec && i < section->n_options; i++)
		rc |= take_value(&section->options[i], cfg_getopt(sec, section->options[i].name));
	cfg_free(parsed);
	return rc ? -1 : 0;
}

int config_bind_plugin(struct config *cfg, struct plugin_section *section,
		       const struct pga_option *options, size_t n_options)
{
	cfg_opt_t *schema;
	int rc = 0;

	free_bound_options(section);
	schema = plugin_schema(options, n_options);
	if (!schema || init_bound_options(section, options, n_options) < 0) {
		free(schema);
		free_bound_options(section);
		return -1;
	}
	for (size_t i = 0; i < cfg->n_files; i++)
		rc |= bind_file(section, &cfg->files[i], schema);
	free(schema);
	if (rc)
		free_bound_options(section);
	else
		section->bound = true;
	return rc ? -1 : 0;
}

/* ---- lookups and comparison --------------------------------------------- */

struct plugin_section *config_find_plugin(const struct config *cfg, const char *name)
{
	for (size_t i = 0; cfg && i < cfg->n_plugins; i++) {
		if (strcmp(cfg->plugins[i].name, name) == 0)
			return &cfg->plugins[i];
	}
	return NULL;
}

const struct option_value *plugin_option_find(const struct plugin_section *s,
					      const char *name)
{
	for (size_t i = 0; name && i < s->n_options; i++) {
		if (strcmp(s->options[i].name, name) == 0)
			return &s->options[i];
	}
	return NULL;
}

static bool strings_equal(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool values_equal(const struct option_value *a, const struct option_value *b)
{
	if (!strings_equal(a->name, b->name) || a->type != b->type ||
	    !strings_equal(a->string, b->string) || a->integer != b->integer ||
	    a->boolean != b->boolean || a->list_len != b->list_len ||
	    memcmp(&a->number, &b->number, sizeof(a->number)) != 0)
		return false;
	for (size_t i = 0; i < a->list_len; i++) {
		if (!strings_equal(a->list[i], b->list[i]))
			return false;
	}
	return true;
}

bool backend_settings_equal(const struct backend_settings *a, const struct backend_settings *b)
{
	return strings_equal(a->url, b->url) && strings_equal(a->ca_file, b->ca_file) &&
	       strings_equal(a->client_cert, b->client_cert) &&
	       strings_equal(a->client_key, b->client_key) && strings_equal(a->auth, b->auth) &&
	       strings_equal(a->secret_file, b->secret_file) &&
	       strings_equal(a->registration_secret_file, b->registration_secret_file) &&
	       a->timeout == b->timeout && a->spool_max_mb == b->spool_max_mb;
}

bool plugin_sections_equal(const struct plugin_section *a, const struct plugin_section *b)
{
	if (!strings_equal(a->name, b->name) || a->enabled != b->enabled ||
	    a->interval != b->interval || a->timeout != b->timeout ||
	    a->isolation != b->isolation || a->memory_limit_mb != b->memory_limit_mb ||
	    !strings_equal(a->path, b->path) || a->n_options != b->n_options)
		return false;
	for (size_t i = 0; i < a->n_options; i++) {
		if (!values_equal(&a->options[i], &b->options[i]))
			return false;
	}
	return true;
}

bool config_parse_isolation(const char *text, enum plugin_isolation *out)
{
	enum plugin_isolation found;

	if (text && strcmp(text, "process") == 0)
		found = ISOLATION_PROCESS;
	else if (text && strcmp(text, "thread") == 0)
		found = ISOLATION_THREAD;
	else
		return false;
	if (out)
		*out = found;
	return true;
}

const char *config_isolation_name(enum plugin_isolation isolation)
{
	switch (isolation) {
	case ISOLATION_PROCESS: return "process";
	case ISOLATION_THREAD: return "thread";
	default: return "default";
	}
}

/* ---- copying and freeing -------------------------------------------------- */

static char *dup_or_null(const char *s, bool *failed)
{
	char *copy;

	if (!s)
		return NULL;
	copy = strdup(s);
	if (!copy)
		*failed = true;
	return copy;
}

static void copy_value(struct option_value *dst, const struct option_value *src, bool *failed)
{
	*dst = *src;
	dst->name = dup_or_null(src->name, failed);
	dst->string = dup_or_null(src->string, failed);
	dst->list = NULL;
	dst->list_len = 0;
	if (src->list_len == 0)
		return;
	dst->list = calloc(src->list_len, sizeof(*dst->list));
	if (!dst->list) {
		*failed = true;
		return;
	}
	dst->list_len = src->list_len;
	for (size_t i = 0; i < src->list_len; i++)
		dst->list[i] = dup_or_null(src->list[i], failed);
}

int plugin_section_copy(struct plugin_section *dst, const struct plugin_section *src)
{
	bool failed = false;

	*dst = *src;
	dst->name = dup_or_null(src->name, &failed);
	dst->file = dup_or_null(src->file, &failed);
	dst->path = dup_or_null(src->path, &failed);
	dst->options = NULL;
	dst->n_options = 0;
	if (src->n_options) {
		dst->options = calloc(src->n_options, sizeof(*dst->options));
		if (dst->options)
			dst->n_options = src->n_options;
		else
			failed = true;
	}
	for (size_t i = 0; i < dst->n_options; i++)
		copy_value(&dst->options[i], &src->options[i], &failed);
	if (failed) {
		plugin_section_clear(dst);
		return -1;
	}
	return 0;
}

void plugin_section_clear(struct plugin_section *section)
{
	free_bound_options(section);
	free(section->name);
	free(section->file);
	free(section->path);
	memset(section, 0, sizeof(*section));
}

static void free_collector(struct collector_settings *c)
{
	free(c->id);
	free(c->hostname);
	free(c->state_dir);
	free(c->plugin_dir);
	free(c->include_dir);
	free(c->log_level);
}

static void free_backend(struct backend_settings *b)
{
	free(b->url);
	free(b->ca_file);
	free(b->client_cert);
	free(b->client_key);
	free(b->auth);
	free(b->secret_file);
	free(b->registration_secret_file);
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	free_collector(&cfg->collector);
	free_backend(&cfg->backend);
	for (size_t i = 0; i < cfg->n_plugins; i++)
		plugin_section_clear(&cfg->plugins[i]);
	free(cfg->plugins);
	for (size_t i = 0; i < cfg->n_files; i++) {
		free(cfg->files[i].path);
		free(cfg->files[i].text);
		config_free_sections(cfg->files[i].spans, cfg->files[i].n_spans);
	}
	free(cfg->files);
	free(cfg);
}

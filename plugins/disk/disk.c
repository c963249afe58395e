/*
 * disk - filesystem usage of the PostgreSQL data directory, pg_wal, the
 * tablespaces, the log directory and, optionally, every real mount (see
 * disk.h for how a cycle is organised and docs/PAYLOAD.md for the record).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disk.h"
#include "path_report.h"

/*
 * Filesystems without storage of their own, left out of all_mounts.  tmpfs
 * is kept: it is memory that fills up (/dev/shm holds PostgreSQL's dynamic
 * shared memory).  squashfs images are always full by construction.
 */
#define PSEUDO_FS_TYPES                                                                    \
	"{\"proc\", \"sysfs\", \"cgroup\", \"cgroup2\", \"devpts\", \"devtmpfs\", \"mqueue\", " \
	"\"debugfs\", \"tracefs\", \"securityfs\", \"pstore\", \"bpf\", \"configfs\", "       \
	"\"fusectl\", \"binfmt_misc\", \"autofs\", \"efivarfs\", \"hugetlbfs\", "             \
	"\"rpc_pipefs\", \"nsfs\", \"selinuxfs\", \"squashfs\", \"fuse.lxcfs\", "             \
	"\"fuse.gvfsd-fuse\", \"ramfs\", \"nfsd\"}"

static const struct pga_option disk_options[] = {
	{ "conninfo", PGA_OPT_STRING, "",
	  "libpq connection string to read the paths from the server; empty: configured paths only" },
	{ "statement_timeout_ms", PGA_OPT_INT, "5000", "statement_timeout of the session" },
	{ "data_directory", PGA_OPT_STRING, "",
	  "the data directory; set: used instead of the server's" },
	{ "log_directory", PGA_OPT_STRING, "",
	  "the log directory (relative: to the data directory); set: used instead of the server's" },
	{ "extra_paths", PGA_OPT_STRING_LIST, NULL, "more absolute paths to report" },
	{ "all_mounts", PGA_OPT_BOOL, "false", "also report every mount of a real filesystem" },
	{ "exclude_fs_types", PGA_OPT_STRING_LIST, PSEUDO_FS_TYPES,
	  "filesystem types left out of all_mounts" },
	{ "walk_max_entries", PGA_OPT_INT, "100000",
	  "entries visited to size pg_wal and the log directory, each; 0: no sizes" },
	{ "mountinfo", PGA_OPT_STRING, "/proc/self/mountinfo",
	  "the mount table to read (tests give a fixture)" },
	{ NULL, 0, NULL, NULL }
};

#define DAY_MS (86400LL * 1000)
#define MAX_WALK_ENTRIES 100000000LL
/* A mount table larger than this is not a mount table. */
#define MOUNTINFO_MAX_BYTES (64u * 1024 * 1024)

bool disk_stop_walk(void *disk)
{
	struct disk *d = disk;

	return d->host->deadline_exceeded(d->ctx) != 0;
}

static bool read_bounded(struct disk *d, const char *key, int64_t min, int64_t max, int64_t *out)
{
	*out = d->host->config_int(d->ctx, key);
	if (*out >= min && *out <= max)
		return true;
	d->host->log(d->ctx, PGA_LOG_ERROR, "%s = %lld: must be from %lld to %lld", key,
		     (long long)*out, (long long)min, (long long)max);
	return false;
}

/* Host-owned list items, as an array the plugin can hand around. */
static const char **read_list(struct disk *d, const char *key, size_t *count)
{
	size_t n = d->host->config_list_size(d->ctx, key);
	const char **items = calloc(n + 1, sizeof(*items));

	if (!items)
		return NULL;
	for (size_t i = 0; i < n; i++)
		items[i] = d->host->config_list_item(d->ctx, key, i);
	*count = n;
	return items;
}

static bool absolute_or_empty(struct disk *d, const char *key, const char *value)
{
	if (!value[0] || value[0] == '/')
		return true;
	d->host->log(d->ctx, PGA_LOG_ERROR, "%s = \"%s\": must be an absolute path", key, value);
	return false;
}

static bool extra_paths_absolute(struct disk *d)
{
	for (size_t i = 0; i < d->n_extra_paths; i++)
		if (!absolute_or_empty(d, "extra_paths", d->extra_paths[i]) || !d->extra_paths[i][0])
			return false;
	return true;
}

static bool something_to_report(struct disk *d)
{
	const struct disk_config *c = &d->cfg;

	if (c->conninfo[0] || c->data_directory[0] || c->log_directory[0] == '/' ||
	    d->n_extra_paths || c->all_mounts)
		return true;
	d->host->log(d->ctx, PGA_LOG_ERROR, "nothing to report: set conninfo (to ask the server "
		     "for its paths), data_directory, extra_paths or all_mounts");
	return false;
}

static bool read_config(struct disk *d)
{
	struct disk_config *c = &d->cfg;

	c->conninfo = d->host->config_string(d->ctx, "conninfo");
	c->data_directory = d->host->config_string(d->ctx, "data_directory");
	c->log_directory = d->host->config_string(d->ctx, "log_directory");
	c->mountinfo_path = d->host->config_string(d->ctx, "mountinfo");
	c->all_mounts = d->host->config_bool(d->ctx, "all_mounts");
	d->extra_paths = read_list(d, "extra_paths", &d->n_extra_paths);
	d->excluded_fstypes = read_list(d, "exclude_fs_types", &d->n_excluded_fstypes);
	if (!c->conninfo || !c->data_directory || !c->log_directory || !c->mountinfo_path ||
	    !d->extra_paths || !d->excluded_fstypes)
		return false;
	return read_bounded(d, "statement_timeout_ms", 1, DAY_MS, &c->statement_timeout_ms) &&
	       read_bounded(d, "walk_max_entries", 0, MAX_WALK_ENTRIES, &c->walk_max_entries) &&
	       absolute_or_empty(d, "data_directory", c->data_directory) &&
	       absolute_or_empty(d, "mountinfo", c->mountinfo_path) && extra_paths_absolute(d) &&
	       something_to_report(d);
}

static void disk_shutdown(void *state)
{
	struct disk *d = state;

	pg_discovery_free(d->discovery);
	server_paths_clear(&d->server);
	targets_free(&d->targets);
	mount_table_free(&d->mounts);
	failure_set_free(&d->failing);
	failure_set_free(&d->failing_before);
	free(d->mountinfo_text);
	free(d->extra_paths);
	free(d->excluded_fstypes);
	free(d);
}

static bool open_discovery(struct disk *d)
{
	char why[512];

	if (!d->cfg.conninfo[0])
		return true;
	d->discovery = pg_discovery_create(d->cfg.conninfo, d->cfg.statement_timeout_ms, why,
					   sizeof(why));
	if (!d->discovery)
		d->host->log(d->ctx, PGA_LOG_ERROR, "%s", why[0] ? why : "out of memory");
	return d->discovery != NULL;
}

static int disk_init(const struct pga_host *host, struct pga_ctx *ctx, void **state)
{
	struct disk *d = calloc(1, sizeof(*d));

	if (!d)
		return PGA_ENOMEM;
	d->host = host;
	d->ctx = ctx;
	if (!read_config(d) || !open_discovery(d)) {
		disk_shutdown(d);
		return PGA_ERROR;
	}
	*state = d;
	return PGA_OK;
}

/* Logged when a failure starts or its reason changes, and when it ends. */
static void note_discovery(struct disk *d, enum discovery_result result, const char *err)
{
	if (result == DISCOVERY_OK) {
		if (d->discovery_error[0])
			d->host->log(d->ctx, PGA_LOG_INFO, "read the paths from the server again");
		d->discovery_error[0] = '\0';
		return;
	}
	if (strcmp(d->discovery_error, err) != 0)
		d->host->log(d->ctx, PGA_LOG_WARNING, "%s%s", err,
			     result == DISCOVERY_FAILED && d->server.known
				     ? "; reporting the paths it gave before" : "");
	snprintf(d->discovery_error, sizeof(d->discovery_error), "%s", err);
}

/* The `discovery` member: where this cycle's PostgreSQL paths came from. */
static int discover(struct disk *d, struct pga_emitter *em)
{
	const struct pga_host *h = d->host;
	enum discovery_result result = DISCOVERY_FAILED;
	const char *source = "config";
	char err[512] = "";
	int rc;

	if (d->discovery) {
		result = pg_discovery_read(d->discovery, &d->server, err, sizeof(err));
		note_discovery(d, result, err);
		source = result != DISCOVERY_FAILED ? "server" : d->server.known ? "last_known" : "config";
	}
	rc = h->object_begin(em, "discovery");
	if (rc == PGA_OK) rc = h->set_string(em, "source", source);
	if (rc == PGA_OK && err[0]) rc = h->set_string(em, "error", err);
	if (rc == PGA_OK) rc = h->object_end(em);
	return rc;
}

static int build_targets(struct disk *d)
{
	struct configured_paths configured = { d->cfg.data_directory, d->cfg.log_directory,
					       d->extra_paths, d->n_extra_paths };

	return targets_build(&d->targets, &configured, &d->server);
}

/* The whole file into d->mountinfo_text; -1 with errno set on failure. */
static ssize_t read_mountinfo(struct disk *d)
{
	int fd = open(d->cfg.mountinfo_path, O_RDONLY | O_CLOEXEC);
	size_t used = 0;

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n;

		/* One spare byte: the parser NUL-terminates the last field there. */
		if (used + 1 >= d->mountinfo_capacity) {
			size_t capacity = d->mountinfo_capacity ? d->mountinfo_capacity * 2 : 16384;
			char *grown = capacity <= MOUNTINFO_MAX_BYTES
				? realloc(d->mountinfo_text, capacity) : NULL;

			if (!grown) {
				close(fd);
				errno = capacity <= MOUNTINFO_MAX_BYTES ? ENOMEM : EFBIG;
				return -1;
			}
			d->mountinfo_text = grown;
			d->mountinfo_capacity = capacity;
		}
		n = read(fd, d->mountinfo_text + used, d->mountinfo_capacity - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int error = errno;

			close(fd);
			errno = error;
			return n < 0 ? -1 : (ssize_t)used;
		}
		used += (size_t)n;
	}
}

static void note_bad_mountinfo_lines(struct disk *d)
{
	const struct mount_table *t = &d->mounts;

	if (t->bad_lines && t->first_bad_line != d->mountinfo_bad_reported)
		d->host->log(d->ctx, PGA_LOG_WARNING, "%s line %zu: %s; line skipped (%zu of %zu lines "
			     "skipped)", d->cfg.mountinfo_path, t->first_bad_line,
			     t->first_bad_reason, t->bad_lines, t->lines);
	d->mountinfo_bad_reported = t->first_bad_line;
}

/*
 * This cycle's mount table; on failure it is empty, and the record says
 * why in `mountinfo_error`.  Returns PGA_OK or an emitter status.
 */
static int load_mounts(struct disk *d, struct pga_emitter *em)
{
	ssize_t len = read_mountinfo(d);
	int read_errno = errno;
	char reason[128], error[256];

	d->mounts.count = 0;
	if (len >= 0) {
		if (d->mountinfo_errno)
			d->host->log(d->ctx, PGA_LOG_INFO, "%s: readable again", d->cfg.mountinfo_path);
		d->mountinfo_errno = 0;
		if (mountinfo_parse(d->mountinfo_text, (size_t)len, &d->mounts) < 0)
			return PGA_ENOMEM;
		note_bad_mountinfo_lines(d);
		return PGA_OK;
	}
	snprintf(error, sizeof(error), "%s: %s", d->cfg.mountinfo_path,
		 strerror_r(read_errno, reason, sizeof(reason)));
	if (d->mountinfo_errno != read_errno)
		d->host->log(d->ctx, PGA_LOG_WARNING, "cannot read %s; no mount points this cycle", error);
	d->mountinfo_errno = read_errno;
	return d->host->set_string(em, "mountinfo_error", error);
}

/* Statuses that end the cycle; a record the emitter refused (it counts it) does not. */
static int cycle_status(int rc)
{
	return rc == PGA_EINVAL ? PGA_OK : rc;
}

static int disk_collect(void *state, struct pga_emitter *em)
{
	struct disk *d = state;
	const struct pga_host *h = d->host;
	int rc = h->record_begin(em, "disk_usage");

	if (rc == PGA_OK) rc = discover(d, em);
	if (rc == PGA_OK && build_targets(d) < 0) rc = PGA_ENOMEM;
	if (rc == PGA_OK) rc = load_mounts(d, em);
	if (rc == PGA_OK) rc = report_paths(d, em);
	if (rc == PGA_OK && d->cfg.all_mounts) rc = report_mounts(d, em);
	report_recoveries(d);
	if (rc == PGA_OK)
		return cycle_status(h->record_end(em));
	return cycle_status(rc);
}

PGA_PLUGIN_DEFINE(.default_interval = 60, .name = "disk", .version = "0.1.0",
		  .description = "filesystem usage of PostgreSQL's directories and mounts",
		  .options = disk_options, .init = disk_init, .collect = disk_collect,
		  .shutdown = disk_shutdown)

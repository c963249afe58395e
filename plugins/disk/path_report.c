/*
 * path_report.c - statvfs, mount and size of each path (see path_report.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "dir_size.h"
#include "path_report.h"
#include "path_text.h"

#define KEY_MAX (PATH_MAX + 32)

/* What one path resolved to; the strings are this struct's own buffers. */
struct resolved {
	char link_target[PATH_MAX];   /* "" unless the path is a symbolic link */
	char real_path[PATH_MAX];
	struct statvfs vfs;
	const char *failed_call;      /* NULL when every step worked */
	int error;
};

static void resolve_path(const char *path, struct resolved *r)
{
	struct stat st;
	ssize_t n;

	r->link_target[0] = '\0';
	r->failed_call = NULL;
	if (lstat(path, &st) != 0) {
		r->failed_call = "lstat";
	} else if (S_ISLNK(st.st_mode) &&
		   (n = readlink(path, r->link_target, sizeof(r->link_target) - 1)) >= 0) {
		r->link_target[n] = '\0';
	}
	if (!r->failed_call && !realpath(path, r->real_path))
		r->failed_call = "realpath";
	if (!r->failed_call && statvfs(r->real_path, &r->vfs) != 0)
		r->failed_call = "statvfs";
	r->error = r->failed_call ? errno : 0;
}

static const char *error_hint(int error)
{
	if (error == EACCES)
		return "; the collector's user needs search (x) permission on every directory "
		       "above it (a data directory is 0700 unless initdb --allow-group-access "
		       "made it 0750: then add the user to the server's group)";
	return "";
}

static void error_text(const struct resolved *r, char *buf, size_t len)
{
	char reason[128];

	snprintf(buf, len, "%s: %s", r->failed_call, strerror_r(r->error, reason, sizeof(reason)));
}

/* Log a failure when it starts, not while it lasts. */
static void note_failure(struct disk *d, const char *key, const char *error, int error_number)
{
	if (!failure_set_has(&d->failing_before, key))
		d->host->log(d->ctx, PGA_LOG_WARNING, "%s: %s%s", key, error, error_hint(error_number));
	if (failure_set_add(&d->failing, key) < 0)
		d->host->log(d->ctx, PGA_LOG_ERROR, "out of memory remembering a failing path");
}

void report_recoveries(struct disk *d)
{
	struct failure_set swap;

	for (size_t i = 0; i < d->failing_before.count; i++)
		if (!failure_set_has(&d->failing, d->failing_before.keys[i]))
			d->host->log(d->ctx, PGA_LOG_INFO, "%s: reachable again",
				     d->failing_before.keys[i]);
	failure_set_clear(&d->failing_before);
	swap = d->failing_before;
	d->failing_before = d->failing;
	d->failing = swap;
}

static uint64_t block_size(const struct statvfs *v)
{
	return v->f_frsize ? v->f_frsize : v->f_bsize;
}

/* Percent of `used` in used + rest, as df computes Use%; null when both are 0. */
static int set_percent(struct disk *d, struct pga_emitter *em, const char *key, uint64_t used,
		       uint64_t rest)
{
	if (used + rest == 0)
		return d->host->set_null(em, key);
	return d->host->set_double(em, key, 100.0 * (double)used / (double)(used + rest));
}

static int emit_usage(struct disk *d, struct pga_emitter *em, const struct statvfs *v)
{
	const struct pga_host *h = d->host;
	uint64_t bs = block_size(v);
	uint64_t used = v->f_blocks >= v->f_bfree ? v->f_blocks - v->f_bfree : 0;
	uint64_t inodes_used = v->f_files >= v->f_ffree ? v->f_files - v->f_ffree : 0;
	int rc = PGA_OK;

	if (rc == PGA_OK) rc = h->set_uint64(em, "total_bytes", v->f_blocks * bs);
	if (rc == PGA_OK) rc = h->set_uint64(em, "used_bytes", used * bs);
	if (rc == PGA_OK) rc = h->set_uint64(em, "free_bytes", v->f_bfree * bs);
	if (rc == PGA_OK) rc = h->set_uint64(em, "available_bytes", v->f_bavail * bs);
	if (rc == PGA_OK) rc = set_percent(d, em, "used_percent", used, v->f_bavail);
	if (rc == PGA_OK) rc = h->set_uint64(em, "inodes_total", v->f_files);
	if (rc == PGA_OK) rc = h->set_uint64(em, "inodes_used", inodes_used);
	if (rc == PGA_OK) rc = h->set_uint64(em, "inodes_free", v->f_ffree);
	if (rc == PGA_OK) rc = set_percent(d, em, "inodes_used_percent", inodes_used, v->f_ffree);
	if (rc == PGA_OK) rc = h->set_bool(em, "read_only", (v->f_flag & ST_RDONLY) != 0);
	return rc;
}

static int emit_device_number(struct disk *d, struct pga_emitter *em, const struct mount_entry *m)
{
	char number[32];

	snprintf(number, sizeof(number), "%u:%u", m->major, m->minor);
	return d->host->set_string(em, "device_number", number);
}

/* mount_point, device, device_number, fstype of the mount; null when unknown. */
static int emit_mount(struct disk *d, struct pga_emitter *em, const struct mount_entry *m)
{
	const struct pga_host *h = d->host;
	int rc = PGA_OK;

	if (!m) {
		if (rc == PGA_OK) rc = h->set_null(em, "mount_point");
		if (rc == PGA_OK) rc = h->set_null(em, "device");
		if (rc == PGA_OK) rc = h->set_null(em, "device_number");
		if (rc == PGA_OK) rc = h->set_null(em, "fstype");
		return rc;
	}
	if (rc == PGA_OK) rc = emit_path_text(h, em, "mount_point", m->mount_point);
	if (rc == PGA_OK) rc = emit_path_text(h, em, "device", m->source);
	if (rc == PGA_OK) rc = emit_device_number(d, em, m);
	if (rc == PGA_OK) rc = emit_path_text(h, em, "fstype", m->fstype);
	return rc;
}

static int emit_size(struct disk *d, struct pga_emitter *em, const char *path)
{
	const struct pga_host *h = d->host;
	struct dir_size size;
	char reason[128], error[160];
	int rc = PGA_OK;

	dir_size_walk(path, (uint64_t)d->cfg.walk_max_entries, disk_stop_walk, d, &size);
	if (size.error) {
		snprintf(error, sizeof(error), "open: %s",
			 strerror_r(size.error, reason, sizeof(reason)));
		return h->set_string(em, "size_error", error);
	}
	if (rc == PGA_OK) rc = h->set_uint64(em, "size_bytes", size.bytes);
	if (rc == PGA_OK) rc = h->set_uint64(em, "size_files", size.files);
	if (rc == PGA_OK) rc = h->set_uint64(em, "size_unreadable_dirs", size.unreadable);
	if (rc == PGA_OK) rc = h->set_bool(em, "size_truncated", size.truncated);
	return rc;
}

static int emit_identity(struct disk *d, struct pga_emitter *em, const struct target *t,
			 const struct resolved *r)
{
	const struct pga_host *h = d->host;
	int rc = h->set_string(em, "role", target_role_name(t->role));

	if (rc == PGA_OK) rc = emit_path_text(h, em, "path", t->path);
	if (rc == PGA_OK && t->name) rc = emit_path_text(h, em, "name", t->name);
	if (rc == PGA_OK && t->name) rc = h->set_int64(em, "oid", t->oid);
	if (rc == PGA_OK && r->link_target[0]) rc = emit_path_text(h, em, "link_target", r->link_target);
	return rc;
}

static int report_failed_path(struct disk *d, struct pga_emitter *em, const struct target *t,
			      const struct resolved *r)
{
	char error[160], key[KEY_MAX];

	error_text(r, error, sizeof(error));
	snprintf(key, sizeof(key), "%s %s", target_role_name(t->role), t->path);
	note_failure(d, key, error, r->error);
	return d->host->set_string(em, "error", error);
}

static int report_path(struct disk *d, struct pga_emitter *em, const struct target *t)
{
	const struct pga_host *h = d->host;
	struct resolved r;
	int rc = h->object_begin(em, NULL);

	resolve_path(t->path, &r);
	if (rc == PGA_OK) rc = emit_identity(d, em, t, &r);
	if (rc == PGA_OK && r.failed_call) {
		rc = report_failed_path(d, em, t, &r);
	} else if (rc == PGA_OK) {
		rc = emit_path_text(h, em, "real_path", r.real_path);
		if (rc == PGA_OK) rc = emit_mount(d, em, mount_table_find(&d->mounts, r.real_path));
		if (rc == PGA_OK) rc = emit_usage(d, em, &r.vfs);
		if (rc == PGA_OK && t->measure_size && d->cfg.walk_max_entries > 0)
			rc = emit_size(d, em, r.real_path);
	}
	if (rc == PGA_OK) rc = h->object_end(em);
	return rc;
}

int report_paths(struct disk *d, struct pga_emitter *em)
{
	int rc = d->host->array_begin(em, "paths");

	for (size_t i = 0; rc == PGA_OK && i < d->targets.count; i++)
		rc = report_path(d, em, &d->targets.items[i]);
	if (rc == PGA_OK) rc = d->host->array_end(em);
	return rc;
}

static bool excluded_fstype(const struct disk *d, const char *fstype)
{
	for (size_t i = 0; i < d->n_excluded_fstypes; i++)
		if (strcmp(d->excluded_fstypes[i], fstype) == 0)
			return true;
	return false;
}

/*
 * True when the mount is not the one to report: another mount sits on top of
 * it (the same mount point, listed later), or another mount of the same
 * filesystem comes first (a shorter mount point, or an earlier one): a bind
 * mount shows the same space again.
 */
static bool hidden_or_repeated(const struct mount_table *t, size_t i)
{
	const struct mount_entry *m = &t->entries[i];
	size_t len = strlen(m->mount_point);

	for (size_t j = 0; j < t->count; j++) {
		const struct mount_entry *o = &t->entries[j];
		size_t other_len;

		if (j == i)
			continue;
		if (j > i && strcmp(o->mount_point, m->mount_point) == 0)
			return true;
		if (o->major != m->major || o->minor != m->minor || strcmp(o->fstype, m->fstype) != 0)
			continue;
		other_len = strlen(o->mount_point);
		if (other_len < len || (other_len == len && j < i))
			return true;
	}
	return false;
}

static int report_mount(struct disk *d, struct pga_emitter *em, const struct mount_entry *m)
{
	const struct pga_host *h = d->host;
	struct statvfs v;
	char reason[128];
	int rc;

	if (statvfs(m->mount_point, &v) != 0) {
		int error = errno;

		/* A mount the collector's user cannot reach (another user's /run/user/N) is common: debug only. */
		h->log(d->ctx, PGA_LOG_DEBUG, "mount %s: statvfs: %s", m->mount_point,
		       strerror_r(error, reason, sizeof(reason)));
		rc = h->object_begin(em, NULL);
		if (rc == PGA_OK) rc = emit_mount(d, em, m);
		if (rc == PGA_OK) rc = h->set_string(em, "error", strerror_r(error, reason, sizeof(reason)));
		return rc == PGA_OK ? h->object_end(em) : rc;
	}
	if (v.f_blocks == 0)
		return PGA_OK;  /* no storage behind it: a pseudo filesystem not in the list */
	rc = h->object_begin(em, NULL);
	if (rc == PGA_OK) rc = emit_mount(d, em, m);
	if (rc == PGA_OK) rc = emit_usage(d, em, &v);
	return rc == PGA_OK ? h->object_end(em) : rc;
}

int report_mounts(struct disk *d, struct pga_emitter *em)
{
	int rc = d->host->array_begin(em, "mounts");

	for (size_t i = 0; rc == PGA_OK && i < d->mounts.count; i++) {
		const struct mount_entry *m = &d->mounts.entries[i];

		if (!excluded_fstype(d, m->fstype) && !hidden_or_repeated(&d->mounts, i))
			rc = report_mount(d, em, m);
	}
	if (rc == PGA_OK) rc = d->host->array_end(em);
	return rc;
}

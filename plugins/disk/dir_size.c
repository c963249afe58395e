/*
 * dir_size.c - a bounded, depth-limited directory walk (see dir_size.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dir_size.h"

/* pg_wal and log directories are at most two levels deep; this is ample. */
#define MAX_DEPTH 16
#define STOP_CHECK_EVERY 256

struct walk {
	uint64_t max_entries;
	bool (*stop)(void *arg);
	void *arg;
	dev_t dev;
	struct dir_size *out;
};

static bool must_stop(struct walk *w)
{
	if (w->out->entries >= w->max_entries)
		return true;
	return w->stop && w->out->entries % STOP_CHECK_EVERY == 0 && w->stop(w->arg);
}

static void walk_dir(struct walk *w, int dir_fd, int depth);

static void count_entry(struct walk *w, int dir_fd, const char *name, int depth)
{
	struct stat st;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return;  /* removed since readdir (a recycled WAL segment) */
	if (S_ISREG(st.st_mode)) {
		w->out->files++;
		w->out->bytes += (uint64_t)st.st_size;
	} else if (S_ISDIR(st.st_mode) && st.st_dev == w->dev && depth < MAX_DEPTH) {
		int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0)
			w->out->unreadable++;
		else
			walk_dir(w, fd, depth + 1);
	}
}

/* Walks and closes dir_fd. */
static void walk_dir(struct walk *w, int dir_fd, int depth)
{
	DIR *dir = fdopendir(dir_fd);
	struct dirent *d;

	if (!dir) {
		close(dir_fd);
		w->out->unreadable++;
		return;
	}
	while (!w->out->truncated && (d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (must_stop(w)) {
			w->out->truncated = true;
			break;
		}
		w->out->entries++;
		count_entry(w, dirfd(dir), d->d_name, depth);
	}
	closedir(dir);
}

void dir_size_walk(const char *path, uint64_t max_entries, bool (*stop)(void *arg), void *arg,
		   struct dir_size *out)
{
	struct walk w = { max_entries, stop, arg, 0, out };
	struct stat st;
	int fd;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		out->error = errno;
		return;
	}
	if (fstat(fd, &st) != 0) {
		out->error = errno;
		close(fd);
		return;
	}
	w.dev = st.st_dev;
	walk_dir(&w, fd, 0);
}

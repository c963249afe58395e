#include "pg_processes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pid_stat.h"

void pg_scan_init(struct pg_process_scan *scan, size_t max_processes, uint64_t page_size)
{
	memset(scan, 0, sizeof(*scan));
	scan->max_processes = max_processes;
	scan->page_size = page_size;
}

void pg_scan_free(struct pg_process_scan *scan)
{
	free(scan->known);
	free(scan->next);
	free(scan->dirents);
	memset(scan, 0, sizeof(*scan));
}

static bool reserve(struct pg_process_scan *scan, size_t n)
{
	size_t cap = scan->cap ? scan->cap : 256;
	struct known_process *a, *b;

	if (n <= scan->cap)
		return true;
	while (cap < n)
		cap *= 2;
	a = realloc(scan->known, cap * sizeof(*a));
	if (a == NULL)
		return false;
	scan->known = a;
	b = realloc(scan->next, cap * sizeof(*b));
	if (b == NULL)
		return false;
	scan->next = b;
	scan->cap = cap;
	return true;
}

/*
 * A directory entry that is a process: digits only, as the kernel writes a
 * pid (no leading zero: "0100" would not name process 100's directory).
 */
static int pid_of(const char *name)
{
	long pid = 0;

	if (*name < '1' || *name > '9')
		return -1;
	for (; *name; name++) {
		if (*name < '0' || *name > '9' || pid > 99999999)
			return -1;
		pid = pid * 10 + (*name - '0');
	}
	return (int)pid;
}

static int by_pid(const void *a, const void *b)
{
	int x = ((const struct known_process *)a)->pid, y = ((const struct known_process *)b)->pid;

	return (x > y) - (x < y);
}

/* Append pid to scan->next; false (and *rc) when it cannot be. */
static bool add_pid(struct pg_process_scan *scan, int pid, size_t *n, bool *truncated, int *rc)
{
	if (*n == scan->max_processes) {
		*truncated = true;
		return false;
	}
	if (!reserve(scan, *n + 1)) {
		*rc = ENOMEM;
		return false;
	}
	scan->next[(*n)++] = (struct known_process){ .pid = pid };
	return true;
}

/*
 * The pids listed in dir into scan->next, unclassified; *sorted when they
 * came in ascending order (procfs lists them so; a fixture tree may not).
 * Symlinks are entries like any other (tests link PID -> /proc/PID).
 */
static int list_pids(struct pg_process_scan *scan, int dir, size_t *n, bool *sorted,
		     bool *truncated)
{
	int rc = 0;

	*n = 0;
	*sorted = true;
	if (scan->dirents == NULL && (scan->dirents = malloc(PG_DIRENT_BYTES)) == NULL)
		return ENOMEM;
	for (;;) {
		ssize_t got = getdents64(dir, scan->dirents, PG_DIRENT_BYTES);
		size_t off = 0;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return errno;
		if (got == 0)
			return 0;
		while (off < (size_t)got) {
			const struct dirent64 *entry = (const struct dirent64 *)(scan->dirents + off);
			int pid;

			if (entry->d_reclen == 0 || entry->d_reclen > (size_t)got - off)
				return EIO;   /* not the kernel's layout: do not walk past it */
			off += entry->d_reclen;
			pid = pid_of(entry->d_name);
			if (pid < 0)
				continue;
			if (*n > 0 && scan->next[*n - 1].pid > pid)
				*sorted = false;
			if (!add_pid(scan, pid, n, truncated, &rc))
				return rc;
		}
	}
}

/* What the last cycle knew about each listed pid; unknown ones are to be read. */
static void carry_over(struct pg_process_scan *scan, size_t n)
{
	size_t old = 0;

	for (size_t i = 0; i < n; i++) {
		struct known_process *p = &scan->next[i];

		while (old < scan->n_known && scan->known[old].pid < p->pid)
			old++;
		if (old < scan->n_known && scan->known[old].pid == p->pid)
			p->postgres = scan->known[old].postgres;
		else
			p->read_now = true;
		p->read_now = p->read_now || p->postgres;
	}
}

/* Mark the next share of the other processes, after the last one rechecked. */
static void mark_rechecks(struct pg_process_scan *scan)
{
	size_t share = (scan->n_known + PG_RECHECK_CYCLES - 1) / PG_RECHECK_CYCLES, start = 0;

	while (start < scan->n_known && scan->known[start].pid <= scan->recheck_after)
		start++;
	for (size_t k = 0; k < scan->n_known && share > 0; k++) {
		struct known_process *p = &scan->known[(start + k) % scan->n_known];

		if (p->read_now)
			continue;
		p->read_now = true;
		scan->recheck_after = p->pid;
		share--;
	}
}

/* "PID/stat" into name (at least 16 bytes); pid is positive. */
static void stat_name(int pid, char *name)
{
	char digits[12];
	size_t n = 0;

	do {
		digits[n++] = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid > 0);
	for (size_t i = 0; i < n; i++)
		name[i] = digits[n - 1 - i];
	memcpy(name + n, "/stat", sizeof("/stat"));
}

/*
 * The stat line of pid, by one read(): procfs formats the whole line on the
 * first read, and a fixture's regular file comes whole too.  Returns its
 * length, or 0 when it cannot be read or fills the buffer (not the kernel's).
 */
static size_t read_stat(int dir, int pid, char *text, size_t size)
{
	char name[24];
	ssize_t got;
	int fd;

	stat_name(pid, name);
	fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return 0;
	do
		got = read(fd, text, size);
	while (got < 0 && errno == EINTR);
	close(fd);
	return got > 0 && (size_t)got < size ? (size_t)got : 0;
}

static void read_process(struct pg_process_scan *scan, int dir, struct known_process *p,
			 struct pg_totals *out)
{
	char text[PG_STAT_READ_MAX];
	size_t len = read_stat(dir, p->pid, text, sizeof(text));
	struct pid_stat st;

	p->postgres = len > 0 && pid_stat_parse(text, len, &st) && pid_stat_is_postgres(&st);
	if (!p->postgres)
		return;
	out->processes++;
	if (st.rss_pages <= UINT64_MAX / scan->page_size &&
	    out->rss_bytes <= UINT64_MAX - st.rss_pages * scan->page_size)
		out->rss_bytes += st.rss_pages * scan->page_size;
}

int pg_scan_run(struct pg_process_scan *scan, const char *root, struct pg_totals *out)
{
	struct known_process *swap;
	bool sorted;
	size_t n;
	int dir, rc;

	memset(out, 0, sizeof(*out));
	/* One directory for the cycle: the stat files read are those of the tree listed. */
	dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return errno;
	rc = list_pids(scan, dir, &n, &sorted, &out->truncated);
	if (rc != 0) {
		close(dir);
		return rc;
	}
	if (!sorted)
		qsort(scan->next, n, sizeof(*scan->next), by_pid);
	carry_over(scan, n);
	swap = scan->known;
	scan->known = scan->next;
	scan->next = swap;
	scan->n_known = n;
	mark_rechecks(scan);
	for (size_t i = 0; i < n; i++) {
		if (scan->known[i].read_now)
			read_process(scan, dir, &scan->known[i], out);
		scan->known[i].read_now = false;
	}
	close(dir);
	return 0;
}

#include "state_store.h"

#include <ctype.h>
#include <sys/file.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "durable.h"
#include "log.h"

static char *read_small_file(const char *dir, const char *name, size_t max)
{
	char *path, *text;
	FILE *fp;
	size_t got;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	fp = fopen(path, "r");
	free(path);
	if (!fp)
		return NULL;
	text = malloc(max + 1);
	if (!text) {
		fclose(fp);
		return NULL;
	}
	got = fread(text, 1, max, fp);
	fclose(fp);
	text[got] = '\0';
	return text;
}

static char *trim(char *text)
{
	size_t len;

	while (isspace((unsigned char)*text))
		text++;
	len = strlen(text);
	while (len && isspace((unsigned char)text[len - 1]))
		text[--len] = '\0';
	return text;
}

int state_read_seq(const char *dir, uint64_t *seq)
{
	char *text = read_small_file(dir, "seq", 64);
	char *value, *end;
	int rc = 0;

	*seq = 0;
	if (!text) {
		if (errno == ENOENT)
			return 0;
		log_msg(LOG_LVL_ERROR, "%s/seq: cannot read the batch sequence: %s", dir, strerror(errno));
		return -1;
	}
	value = trim(text);
	errno = 0;
	*seq = strtoull(value, &end, 10);
	if (errno || end == value || *end) {
		log_msg(LOG_LVL_ERROR, "%s/seq: does not hold a batch sequence number (\"%.20s\")",
			dir, value);
		*seq = 0;
		rc = -1;
	}
	free(text);
	return rc;
}

int state_write_file(const char *dir, const char *name, const void *data, size_t len,
		     unsigned mode)
{
	char *tmp = NULL, *final = NULL;
	int fd = -1, rc = -1, saved;

	if (asprintf(&tmp, "%s/.%s.tmp", dir, name) < 0 ||
	    asprintf(&final, "%s/%s", dir, name) < 0)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		goto out;
	rc = durable_write(fd, data, len) == 0 && fsync(fd) == 0 ? 0 : -1;
	saved = errno;
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		saved = errno;
	}
	fd = -1;
	if (rc == 0 && rename(tmp, final) < 0) {
		rc = -1;
		saved = errno;
	}
	if (rc < 0) {
		unlink(tmp);
		errno = saved;
		goto out;
	}
	rc = durable_sync_dir(dir);
out:
	saved = errno;
	free(tmp);
	free(final);
	errno = saved;
	return rc;
}

static long read_holder_pid(int fd)
{
	char text[32] = { 0 };
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

	return n > 0 ? strtol(text, NULL, 10) : 0;
}

int state_lock(const char *dir, long *holder)
{
	char *path, pid[32];
	int fd, len;

	*holder = 0;
	if (asprintf(&path, "%s/.lock", dir) < 0)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(path);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int saved = errno;

		*holder = read_holder_pid(fd);
		close(fd);
		errno = saved;
		return -1;
	}
	/* The descriptor stays open, and the lock held, until exit. */
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) != len)
		log_msg(LOG_LVL_DEBUG, "%s/.lock: cannot record the pid", dir);
	return 0;
}

int state_write_seq(const char *dir, uint64_t seq)
{
	char text[32];
	int len = snprintf(text, sizeof(text), "%" PRIu64 "\n", seq);

	return state_write_file(dir, "seq", text, (size_t)len, 0600);
}

char *state_read_collector_id(const char *dir)
{
	char *text = read_small_file(dir, "collector_id", 256);
	char *id = NULL;

	if (text && *trim(text))
		id = strdup(trim(text));
	free(text);
	return id;
}

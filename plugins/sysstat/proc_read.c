#include "proc_read.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int ensure_room(struct read_buffer *buf)
{
	size_t cap;
	char *data;

	if (buf->cap - buf->len >= 4096)
		return 0;
	if (buf->cap >= PROC_FILE_MAX)
		return EFBIG;
	cap = buf->cap ? buf->cap * 2 : 16384;
	if (cap > PROC_FILE_MAX)
		cap = PROC_FILE_MAX;
	data = realloc(buf->data, cap);
	if (data == NULL)
		return ENOMEM;
	buf->data = data;
	buf->cap = cap;
	return 0;
}

static int read_all(int fd, struct read_buffer *buf)
{
	for (;;) {
		ssize_t n;
		int rc = ensure_room(buf);

		if (rc != 0)
			return rc;
		n = read(fd, buf->data + buf->len, buf->cap - buf->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return 0;
		buf->len += (size_t)n;
	}
}

int proc_read(const char *root, const char *relative, struct read_buffer *buf)
{
	char path[PATH_MAX];
	int fd, rc;

	buf->len = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, relative) >= sizeof(path))
		return ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno;
	rc = read_all(fd, buf);
	close(fd);
	return rc;
}

void read_buffer_free(struct read_buffer *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = buf->cap = 0;
}

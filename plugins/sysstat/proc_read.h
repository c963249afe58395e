/*
 * proc_read.h - read a whole file under the proc root into a reusable
 * buffer.  /proc files have no size until read and may come in several
 * read() calls; the buffer grows as needed, up to PROC_FILE_MAX.
 */
#ifndef SYSSTAT_PROC_READ_H
#define SYSSTAT_PROC_READ_H

#include <stddef.h>

/* Far more than /proc/diskstats with thousands of devices: a bound, not a size. */
#define PROC_FILE_MAX (8u * 1024u * 1024u)

struct read_buffer {
	char *data;
	size_t len, cap;
};

/*
 * proc_read - read root/relative into buf.  Returns 0, or an errno value:
 * the open() or read() error, EFBIG for a file over PROC_FILE_MAX, ENOMEM.
 * ENAMETOOLONG when the path does not fit PATH_MAX.
 */
int proc_read(const char *root, const char *relative, struct read_buffer *buf);

void read_buffer_free(struct read_buffer *buf);

#endif

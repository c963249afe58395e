/*
 * durable.h - file-system operations whose result must survive a crash:
 * complete writes, directory syncs after a rename, private directories.
 */
#ifndef PGA_CORE_DURABLE_H
#define PGA_CORE_DURABLE_H

#include <stddef.h>
#include <sys/uio.h>

/*
 * durable_writev - write every byte of iov[0..iovcnt) to fd, across EINTR
 * and short writes.  iov is consumed (modified).  Returns 0, or -1 with
 * errno set; part of the data may then have been written.
 */
int durable_writev(int fd, struct iovec *iov, int iovcnt);

/* durable_write - durable_writev() of one buffer. */
int durable_write(int fd, const void *data, size_t len);

/*
 * durable_sync_dir - fsync the directory `dir`, so that a rename or unlink
 * in it survives a crash.  Returns 0, or -1 with errno set.
 */
int durable_sync_dir(const char *dir);

/*
 * durable_make_private_dir - mkdir -p `path`; directories it creates get
 * mode 0700, and `path` itself is set to 0700 even if it existed (it holds
 * credentials or plugin state).  Returns 0, or -1 with errno set.
 */
int durable_make_private_dir(const char *path);

#endif

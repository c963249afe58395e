/*
 * state_store.h - small values the collector keeps in state_dir across
 * restarts: the batch sequence and the collector id from registration.
 * Writes are atomic (temporary file, fsync, rename, fsync of the directory),
 * so a crash leaves either the old or the new value.
 */
#ifndef PGA_CORE_STATE_STORE_H
#define PGA_CORE_STATE_STORE_H

#include <stddef.h>
#include <stdint.h>

/*
 * state_read_seq - the last sequence number written to dir/seq; 0 when
 * there is none yet.  Returns 0, or -1 (logged) when the file exists but
 * cannot be read or does not hold a number.
 */
int state_read_seq(const char *dir, uint64_t *seq);

/* state_write_seq - store seq in dir/seq atomically.  Returns 0 or -1 (errno). */
int state_write_seq(const char *dir, uint64_t seq);

/*
 * state_read_collector_id - the id stored by registration in
 * dir/collector_id, without surrounding whitespace; NULL when absent or
 * empty.  Caller frees.
 */
char *state_read_collector_id(const char *dir);

/*
 * state_lock - take the exclusive lock on dir (dir/.lock), held until the
 * process exits.  Returns 0; -1 with errno EWOULDBLOCK when another process
 * holds it (*holder then gets its pid, or 0 if unknown); -1 with another
 * errno on failure.
 */
int state_lock(const char *dir, long *holder);

/*
 * state_write_file - write `len` bytes to dir/name atomically with `mode`.
 * Returns 0, or -1 with errno set.
 */
int state_write_file(const char *dir, const char *name, const void *data, size_t len,
		     unsigned mode);

#endif

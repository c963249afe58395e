/*
 * spool.h - the durable on-disk queue of payloads waiting for delivery.
 *
 * Every payload (the exact gzip body that will be POSTed) is stored here
 * before its first send and removed only after the backend answered 2xx, so
 * nothing collected is lost while the backend is unreachable or the
 * collector restarts.
 *
 * Layout of the spool directory (created 0700):
 *
 *   DIR/<seq as 20 digits>.batch   one batch, e.g. 00000000000000000042.batch
 *   DIR/.<seq>.tmp                 a batch being written; never replayed,
 *                                  removed by spool_open() (a crash mid-write)
 *   DIR/rejected/NAME              batches the backend refused (non-401 4xx),
 *   DIR/rejected/NAME.reason       with the server's answer; kept until an
 *                                  operator deletes them
 *   DIR/corrupt/NAME               batch files that failed verification
 *
 * A batch file is a 32-byte header followed by the body, integers
 * little-endian:
 *
 *   offset  0  8 bytes  magic "PGASPOOL"
 *   offset  8  uint32   format version, 1
 *   offset 12  uint32   CRC-32 (zlib crc32) of the body
 *   offset 16  uint64   seq, equal to the one in the file name
 *   offset 24  uint64   body length, equal to the file size minus 32
 *   offset 32  body
 *
 * A file is replayed only when every one of these checks holds, so a
 * truncated, extended, renamed or bit-flipped file is set aside in corrupt/
 * instead.  The body is opaque to the spool: the CRC does not depend on the
 * body being gzip.
 *
 * Crash safety: a batch is written to DIR/.<seq>.tmp, fsync'd, renamed to its
 * final name and the directory fsync'd, so after a kill -9 at any moment a
 * batch either exists complete or not at all (a left-over .tmp is deleted at
 * the next open).
 *
 * Bounds: limits.max_bytes caps the sum of the batch file sizes (header
 * included); limits.max_age_s caps the age of a batch, measured from the
 * file's mtime (set when the batch was written) to the current wall-clock
 * time; the spool reads the mtime when it writes a batch or finds it at
 * open, so a changed mtime takes effect at the next open.  A batch whose
 * mtime is in the future (the clock was stepped back) counts as age 0.  Past a
 * bound the oldest batches (lowest seq) are deleted; each is logged with its
 * seq and the reason and counted in struct spool_stats.  0 means unbounded.
 *
 * Threading: a struct spool is not thread-safe; it is meant for the one
 * sender thread.  Two processes must not open the same directory at once
 * (the collector holds the state_dir lock).
 */
#ifndef PGA_CORE_SPOOL_H
#define PGA_CORE_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;

/* Bounds of a spool; 0 in a field means that bound is off. */
struct spool_limits {
	uint64_t max_bytes;   /* sum of batch file sizes, header included */
	uint64_t max_age_s;   /* seconds since a batch file's mtime */
};

/*
 * Counters for the self-metrics.  batches and bytes describe the spool now;
 * the others count events since spool_open().
 */
struct spool_stats {
	uint64_t batches, bytes;            /* now in the spool (bytes: file sizes) */
	uint64_t dropped_size, dropped_age; /* deleted (or refused) at the bounds */
	uint64_t rejected;                  /* moved to rejected/ */
	uint64_t corrupt;                   /* found corrupt at open/read and set aside */
};

/*
 * spool_open - open (creating if needed) the spool in `dir`.
 *
 * Creates dir, dir/rejected and dir/corrupt with mode 0700; deletes left-over
 * temporary files; verifies every batch file completely (header and body
 * CRC) and moves the bad ones to dir/corrupt/ (each logged with its file
 * name and what is wrong, and counted); files it does not recognise are
 * logged and left alone.  Then applies the bounds in `limits` to what it
 * found.
 *
 * dir      the spool directory; copied.
 * limits   bounds; copied.  NULL means unbounded.
 * err      on failure, receives a message naming the path and the cause
 *          (may be NULL; err_len bytes at most, always terminated).
 * Returns a spool the caller closes with spool_close(), or NULL on failure.
 */
struct spool *spool_open(const char *dir, const struct spool_limits *limits, char *err,
			 size_t err_len);

/*
 * spool_put - store one batch durably: DIR/.<seq>.tmp is written, fsync'd,
 * renamed to DIR/<seq>.batch and the directory fsync'd before this returns.
 * Then the bounds are applied: batches older than max_age_s are deleted,
 * then the oldest ones until the total fits in max_bytes; the batch just
 * written is never among them.
 *
 * seq      the batch sequence number, at least 1; must not be in the spool
 *          already.
 * body     the exact bytes that will be sent; may be NULL when len is 0.
 * err      on failure, receives the reason (may be NULL).
 * Returns 0 when the batch is stored; -1 when it is not but a later try may
 * succeed (an I/O error or out of memory; nothing is left behind); -2 when
 * it never can be: seq 0 or already present, or a batch whose file alone
 * exceeds max_bytes (refused before anything is written; this one is
 * logged and counted in dropped_size, as it is lost).
 */
int spool_put(struct spool *sp, uint64_t seq, const void *body, size_t len, char *err,
	      size_t err_len);

/*
 * spool_peek_oldest - the batch with the lowest seq, read back and verified.
 * Batches past max_age_s are deleted first (logged, counted).  A file that
 * fails verification is moved to corrupt/ (logged, counted) and the next
 * one is tried; a file that disappeared behind the spool's back is logged
 * and skipped.  The batch stays in the spool.
 *
 * seq      receives its sequence number.
 * body     receives a malloc'd copy of the body (non-NULL even when empty);
 *          the caller frees it.  Untouched unless 0 is returned.
 * len      receives the body length.
 * Returns 0 with a batch, 1 when the spool is empty, -1 on an I/O error
 * (logged with the file name).
 */
int spool_peek_oldest(struct spool *sp, uint64_t *seq, unsigned char **body, size_t *len);

/*
 * spool_remove - delete batch `seq` after the backend accepted it (2xx):
 * unlink, then fsync the directory.  A failed directory fsync is logged but
 * still returns 0: the batch is gone from this spool, and if a power loss
 * brought the file back the backend drops the resent seq as a duplicate.
 * Returns 0, or -1 (logged, errno set) when seq is not in the spool or the
 * file cannot be deleted (it then stays in the spool).
 */
int spool_remove(struct spool *sp, uint64_t seq);

/*
 * spool_reject - set batch `seq` aside after the backend refused it (a 4xx
 * other than 401): the file moves to DIR/rejected/ under its own name
 * (".1", ".2", ... appended if that name is taken) and the server's answer
 * is written next to it as NAME.reason; both directories are fsync'd.  Never
 * deleted automatically.
 *
 * reason   the server's response text; NULL is recorded as "(no reason given)".
 * Returns 0, or -1 (logged, errno set) when seq is not in the spool or a file
 * operation fails (the batch then stays in the spool).
 */
int spool_reject(struct spool *sp, uint64_t seq, const char *reason);

/* spool_get_stats - copy the current counters to *out. */
void spool_get_stats(const struct spool *sp, struct spool_stats *out);

/*
 * spool_max_seq - the highest seq in the spool now (0 when it is empty), so
 * that the collector's sequence never goes backwards even if state_dir/seq
 * was lost.  Batches in rejected/ and corrupt/ do not count.
 */
uint64_t spool_max_seq(const struct spool *sp);

/* spool_close - free the spool (NULL is ignored); files stay on disk. */
void spool_close(struct spool *sp);

#endif

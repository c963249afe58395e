/*
 * compress.h - gzip (RFC 1952) framing of payloads with zlib: what the
 * backend expects under "Content-Encoding: gzip" and what the .gz file
 * output writes.
 */
#ifndef PGA_CORE_COMPRESS_H
#define PGA_CORE_COMPRESS_H

#include <stddef.h>

/*
 * gzip_compress - compress `len` bytes at `data` into one gzip member.
 *
 * data     may be NULL when len is 0.
 * level    zlib level: -1 (Z_DEFAULT_COMPRESSION) or 0..9.
 * out      set to a malloc'd buffer the caller frees (NULL on failure).
 * out_len  set to the number of bytes in *out (0 on failure).
 * Returns 0, or -1 on an invalid level, invalid arguments or out of memory.
 */
int gzip_compress(const void *data, size_t len, int level, unsigned char **out,
		  size_t *out_len);

/*
 * A gzip member made from input given in pieces, so that a payload is
 * compressed as it is written, without first being assembled as one text:
 *
 *     struct gzip_writer *gz = gzip_writer_new(6);
 *     gzip_writer_write(gz, piece, len);   ... as often as needed
 *     gzip_writer_finish(gz, &out, &out_len);
 *
 * The member is the same format gzip_compress() makes; one writer makes
 * one member and is used by one thread.
 */
struct gzip_writer;

/*
 * gzip_writer_new - start a member at zlib `level` (-1 or 0..9).  Returns
 * NULL on an invalid level or out of memory.  End it with
 * gzip_writer_finish() or gzip_writer_free().
 */
struct gzip_writer *gzip_writer_new(int level);

/*
 * gzip_writer_write - compress `len` more bytes at `data` (NULL allowed
 * when len is 0).  Returns 0, or -1 on out of memory or a NULL `data` with
 * a length; after a failure every later call fails too.
 */
int gzip_writer_write(struct gzip_writer *gz, const void *data, size_t len);

/*
 * gzip_writer_finish - end the member and free the writer (also on
 * failure).  *out receives the malloc'd member (caller frees; NULL on
 * failure), *out_len its size.  Returns 0, or -1 when a write failed or
 * out of memory.
 */
int gzip_writer_finish(struct gzip_writer *gz, unsigned char **out, size_t *out_len);

/* gzip_writer_free - abandon the member and free the writer.  NULL is allowed. */
void gzip_writer_free(struct gzip_writer *gz);

/*
 * gzip_decompress - decompress gzip data: one member, or several
 * concatenated members (as `gzip -dc` reads them), whose outputs are joined.
 *
 * data     the compressed bytes; may be NULL only when len is 0 (which fails:
 *          an empty input holds no member).
 * max_out  the most bytes the output may have; a larger output fails
 *          without allocating more than max_out + 1 bytes (zip-bomb guard).
 * out      set to a malloc'd buffer the caller frees, never NULL on success
 *          even for empty output (NULL on failure).
 * out_len  set to the output size (0 on failure).
 * Returns 0, or -1 on corrupt or truncated data, a bad CRC or length
 * trailer, bytes after the last member that do not start a new member,
 * output larger than max_out, or out of memory.
 */
int gzip_decompress(const void *data, size_t len, size_t max_out, unsigned char **out,
		    size_t *out_len);

/*
 * gzip_peek - the first bytes of what `data` decompresses to: up to `size`
 * bytes into out, *got receives how many.  Only as much is inflated as
 * that takes.  Returns 0, or -1 when the data is not gzip.
 */
int gzip_peek(const void *data, size_t len, unsigned char *out, size_t size, size_t *got);

#endif

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

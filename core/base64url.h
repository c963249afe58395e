/*
 * base64url.h - the URL- and filename-safe base64 alphabet of RFC 4648 §5
 * ('-' and '_' instead of '+' and '/'), written without padding as JWTs
 * (RFC 7515 §2) require.
 */
#ifndef PGA_CORE_BASE64URL_H
#define PGA_CORE_BASE64URL_H

#include <stddef.h>

/*
 * base64url_encode - encode `len` bytes at `data`, without '=' padding.
 *
 * data  may be NULL when len is 0.
 * Returns a malloc'd NUL-terminated string the caller frees ("" for an
 * empty input), or NULL when out of memory or when data is NULL with a
 * non-zero len.
 */
char *base64url_encode(const void *data, size_t len);

/*
 * base64url_decode - decode the first `text_len` characters of `text`.
 *
 * Accepts unpadded text and, for tolerance, correct '=' padding at the
 * very end.  Refuses any character outside the url alphabet (including
 * '+', '/', whitespace and '=' anywhere but at the end), a length that no
 * encoding produces (a lone character in the last group), and non-zero
 * unused bits in the last character, so that each byte string has exactly
 * one accepted unpadded encoding.
 *
 * text     may be NULL when text_len is 0.
 * out      set to a malloc'd buffer the caller frees, never NULL on success
 *          even for an empty result (NULL on failure).
 * out_len  set to the number of decoded bytes (0 on failure).
 * Returns 0, or -1 on invalid input or out of memory.
 */
int base64url_decode(const char *text, size_t text_len, unsigned char **out,
		     size_t *out_len);

#endif

/* ZLIB_CONST makes next_in a const pointer: the input is never written. */
#define ZLIB_CONST
#include "compress.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <zlib.h>

/* windowBits 15 plus 16: zlib writes and expects the gzip wrapper. */
#define GZIP_WINDOW_BITS (15 + 16)
#define GZIP_MEM_LEVEL 8
#define INITIAL_INFLATE_CAP ((size_t)1 << 20)

/*
 * An input that may exceed what one z_stream call takes (uInt): the
 * stream is fed from it in pieces.
 */
struct input {
	const unsigned char *next;
	size_t left;
};

static void feed_input(z_stream *zs, struct input *in)
{
	uInt piece;

	if (zs->avail_in != 0 || in->left == 0)
		return;
	piece = in->left > UINT_MAX ? UINT_MAX : (uInt)in->left;
	zs->next_in = in->next;
	zs->avail_in = piece;
	in->next += piece;
	in->left -= piece;
}

/* Grow *buf to at least double (at most `limit`); false when it cannot. */
static bool grow_buffer(unsigned char **buf, size_t *cap, size_t limit)
{
	size_t wanted = *cap > limit / 2 ? limit : *cap * 2;
	unsigned char *bigger;

	if (wanted <= *cap)
		return false;
	bigger = realloc(*buf, wanted);
	if (bigger == NULL)
		return false;
	*buf = bigger;
	*cap = wanted;
	return true;
}

/* Point the stream's output at the free part of the buffer. */
static uInt expose_output(z_stream *zs, unsigned char *buf, size_t cap, size_t used)
{
	size_t room = cap - used;
	uInt exposed = room > UINT_MAX ? UINT_MAX : (uInt)room;

	zs->next_out = buf + used;
	zs->avail_out = exposed;
	return exposed;
}

static int deflate_all(z_stream *zs, struct input *in, unsigned char **buf, size_t *cap,
		       size_t *used)
{
	for (;;) {
		uInt exposed;
		int rc;

		feed_input(zs, in);
		if (*used == *cap && !grow_buffer(buf, cap, SIZE_MAX))
			return -1;
		exposed = expose_output(zs, *buf, *cap, *used);
		/* Z_FINISH only once the last piece of input is in the stream. */
		rc = deflate(zs, in->left == 0 ? Z_FINISH : Z_NO_FLUSH);
		*used += exposed - zs->avail_out;
		if (rc == Z_STREAM_END)
			return 0;
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return -1;
	}
}

int gzip_compress(const void *data, size_t len, int level, unsigned char **out,
		  size_t *out_len)
{
	z_stream zs = { 0 };
	struct input in = { .next = data, .left = len };
	unsigned char *buf;
	size_t cap, used = 0;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (data == NULL && len > 0)
		return -1;
	if (deflateInit2(&zs, level, Z_DEFLATED, GZIP_WINDOW_BITS, GZIP_MEM_LEVEL,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	/* The bound is exact enough that one pass nearly always suffices. */
	cap = (size_t)deflateBound(&zs, (uLong)len);
	buf = malloc(cap);
	if (buf == NULL) {
		deflateEnd(&zs);
		return -1;
	}
	rc = deflate_all(&zs, &in, &buf, &cap, &used);
	deflateEnd(&zs);
	if (rc != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = used;
	return 0;
}

/* ---- gzip_writer ---- */

/* The first output buffer; it doubles as the member grows. */
#define WRITER_INITIAL_CAP ((size_t)16 * 1024)

struct gzip_writer {
	z_stream zs;
	unsigned char *buf;
	size_t cap;
	size_t used;
	bool failed;
};

struct gzip_writer *gzip_writer_new(int level)
{
	struct gzip_writer *gz = calloc(1, sizeof(*gz));

	if (gz == NULL)
		return NULL;
	if (deflateInit2(&gz->zs, level, Z_DEFLATED, GZIP_WINDOW_BITS, GZIP_MEM_LEVEL,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(gz);
		return NULL;
	}
	gz->cap = WRITER_INITIAL_CAP;
	gz->buf = malloc(gz->cap);
	if (gz->buf == NULL) {
		deflateEnd(&gz->zs);
		free(gz);
		return NULL;
	}
	return gz;
}

/*
 * Run deflate over `in` with `flush` until the input is consumed (and, for
 * Z_FINISH, the stream has ended), growing the output as needed.
 */
static int writer_deflate(struct gzip_writer *gz, struct input *in, int flush)
{
	for (;;) {
		uInt exposed;
		int rc;

		feed_input(&gz->zs, in);
		if (flush != Z_FINISH && gz->zs.avail_in == 0 && in->left == 0)
			return 0;
		if (gz->used == gz->cap && !grow_buffer(&gz->buf, &gz->cap, SIZE_MAX))
			return -1;
		exposed = expose_output(&gz->zs, gz->buf, gz->cap, gz->used);
		rc = deflate(&gz->zs, in->left == 0 ? flush : Z_NO_FLUSH);
		gz->used += exposed - gz->zs.avail_out;
		if (rc == Z_STREAM_END)
			return 0;
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return -1;
	}
}

int gzip_writer_write(struct gzip_writer *gz, const void *data, size_t len)
{
	struct input in = { .next = data, .left = len };

	if (data == NULL && len > 0)
		gz->failed = true;
	if (!gz->failed && len > 0 && writer_deflate(gz, &in, Z_NO_FLUSH) != 0)
		gz->failed = true;
	return gz->failed ? -1 : 0;
}

int gzip_writer_finish(struct gzip_writer *gz, unsigned char **out, size_t *out_len)
{
	struct input none = { .next = NULL, .left = 0 };
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	if (!gz->failed && writer_deflate(gz, &none, Z_FINISH) == 0) {
		*out = gz->buf;
		*out_len = gz->used;
		gz->buf = NULL;
		rc = 0;
	}
	gzip_writer_free(gz);
	return rc;
}

void gzip_writer_free(struct gzip_writer *gz)
{
	if (gz == NULL)
		return;
	deflateEnd(&gz->zs);
	free(gz->buf);
	free(gz);
}

/*
 * After a member's end: more bytes must be another member (gzip magic
 * 1f 8b).  Returns 1 to go on with the next member, 0 when the input is
 * used up, -1 for trailing garbage.
 */
static int next_member(z_stream *zs, const struct input *in)
{
	size_t remaining = zs->avail_in + in->left;

	if (remaining == 0)
		return 0;
	/* next_in and the unfed input are contiguous in the caller's buffer. */
	if (remaining < 2 || zs->next_in[0] != 0x1f || zs->next_in[1] != 0x8b)
		return -1;
	return inflateReset(zs) == Z_OK ? 1 : -1;
}

static int inflate_all(z_stream *zs, struct input *in, size_t max_out, unsigned char **buf,
		       size_t *cap, size_t *used)
{
	/* One byte past max_out is enough to tell that the output is too big. */
	size_t limit = max_out < SIZE_MAX ? max_out + 1 : SIZE_MAX;

	for (;;) {
		uInt exposed;
		int rc, more;

		feed_input(zs, in);
		if (*used == *cap && !grow_buffer(buf, cap, limit))
			return -1;
		exposed = expose_output(zs, *buf, *cap, *used);
		rc = inflate(zs, Z_NO_FLUSH);
		*used += exposed - zs->avail_out;
		if (*used > max_out)
			return -1;
		if (rc == Z_STREAM_END) {
			more = next_member(zs, in);
			if (more <= 0)
				return more;
			continue;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return -1;   /* Z_DATA_ERROR covers bad headers, CRC and length */
		/* Output room left over yet no end: the input stopped mid-member. */
		if (zs->avail_in == 0 && in->left == 0 && zs->avail_out != 0)
			return -1;
	}
}

int gzip_peek(const void *data, size_t len, unsigned char *out, size_t size, size_t *got)
{
	z_stream zs;
	int rc;

	memset(&zs, 0, sizeof(zs));
	*got = 0;
	if (len > UINT_MAX || size > UINT_MAX || inflateInit2(&zs, 15 + 16) != Z_OK)
		return -1;
	zs.next_in = (Bytef *)(uintptr_t)data;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)size;
	rc = inflate(&zs, Z_SYNC_FLUSH);
	*got = size - zs.avail_out;
	inflateEnd(&zs);
	return rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR ? 0 : -1;
}

int gzip_decompress(const void *data, size_t len, size_t max_out, unsigned char **out,
		    size_t *out_len)
{
	z_stream zs = { 0 };
	struct input in = { .next = data, .left = len };
	unsigned char *buf;
	size_t cap, used = 0;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (data == NULL || len == 0)
		return -1;
	if (inflateInit2(&zs, GZIP_WINDOW_BITS) != Z_OK)
		return -1;
	/*
	 * Start from a 4:1 guess, kept modest so that a large input does not
	 * reserve memory up front; the loop doubles as needed, up to the limit.
	 */
	cap = len < INITIAL_INFLATE_CAP / 4 ? len * 4 : INITIAL_INFLATE_CAP;
	if (cap < 256)
		cap = 256;
	if (max_out < SIZE_MAX && cap > max_out + 1)
		cap = max_out + 1;
	buf = malloc(cap);
	if (buf == NULL) {
		inflateEnd(&zs);
		return -1;
	}
	rc = inflate_all(&zs, &in, max_out, &buf, &cap, &used);
	inflateEnd(&zs);
	if (rc != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = used;
	return 0;
}

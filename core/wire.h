/*
 * wire.h - the byte framing between the collector and its plugin worker
 * processes (docs/ISOLATION.md): frames of `u32 length` + body over a
 * SOCK_STREAM socketpair, each body a run of operations (worker_proto.h).
 *
 * Both ends run the same binary on the same machine, so integers and
 * doubles travel in native byte order, unaligned (memcpy).  A string
 * travels as u32 length + bytes + NUL, so that the reader can hand a
 * pointer into the frame straight to a function that wants a C string;
 * length WIRE_NULL_STRING stands for a NULL pointer.
 *
 * The writer side (struct wire_buf) never fails half-way: an out-of-memory
 * latches `failed` and the frame is dropped at wire_flush().  The reader
 * side (struct wire_reader) never reads past its end: a short or malformed
 * body latches `bad`, and every later read returns zeros, so a decoder
 * checks once at the end of an operation instead of after every field.
 */
#ifndef PGA_CORE_WIRE_H
#define PGA_CORE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define WIRE_NULL_STRING UINT32_MAX
/* A body larger than this is a protocol error: far above any record operation. */
#define WIRE_MAX_FRAME (8u * 1024u * 1024u)
/* The worker sends what it has batched once a frame reaches this size. */
#define WIRE_BATCH_BYTES (64u * 1024u)

/* An outgoing frame being built: 4 bytes of length, then the body. */
struct wire_buf {
	unsigned char *data;
	size_t len;          /* including the 4-byte length */
	size_t cap;
	bool failed;         /* out of memory since the last wire_flush */
};

/* wire_buf_init - an empty buffer with its frame opened. */
void wire_buf_init(struct wire_buf *buf);

/* wire_buf_free - free the buffer's memory. */
void wire_buf_free(struct wire_buf *buf);

/*
 * wire_reserve_slow - grow `buf` so that `n` more bytes fit; returns where
 * they go, or NULL (and latches failed) when out of memory.
 */
unsigned char *wire_reserve_slow(struct wire_buf *buf, size_t n);

/* wire_reserve - room for n more bytes at the end of the body, or NULL. */
static inline unsigned char *wire_reserve(struct wire_buf *buf, size_t n)
{
	unsigned char *at;

	if (buf->cap - buf->len < n)
		return wire_reserve_slow(buf, n);
	at = buf->data + buf->len;
	buf->len += n;
	return at;
}

static inline void wire_put_u8(struct wire_buf *buf, uint8_t v)
{
	unsigned char *at = wire_reserve(buf, 1);

	if (at)
		*at = v;
}

static inline void wire_put_u32(struct wire_buf *buf, uint32_t v)
{
	unsigned char *at = wire_reserve(buf, sizeof(v));

	if (at)
		memcpy(at, &v, sizeof(v));
}

static inline void wire_put_u64(struct wire_buf *buf, uint64_t v)
{
	unsigned char *at = wire_reserve(buf, sizeof(v));

	if (at)
		memcpy(at, &v, sizeof(v));
}

static inline void wire_put_i64(struct wire_buf *buf, int64_t v)
{
	wire_put_u64(buf, (uint64_t)v);
}

static inline void wire_put_f64(struct wire_buf *buf, double v)
{
	unsigned char *at = wire_reserve(buf, sizeof(v));

	if (at)
		memcpy(at, &v, sizeof(v));
}

/* wire_put_bytes - `len` bytes as a string (len + bytes + NUL); s NULL: a NULL string. */
static inline void wire_put_bytes(struct wire_buf *buf, const char *s, size_t len)
{
	unsigned char *at;
	uint32_t n;

	if (!s) {
		wire_put_u32(buf, WIRE_NULL_STRING);
		return;
	}
	if (len >= WIRE_NULL_STRING) {
		buf->failed = true;
		return;
	}
	at = wire_reserve(buf, sizeof(n) + len + 1);
	if (!at)
		return;
	n = (uint32_t)len;
	memcpy(at, &n, sizeof(n));
	memcpy(at + sizeof(n), s, len);
	at[sizeof(n) + len] = '\0';
}

/* wire_put_string - a C string (NULL allowed). */
void wire_put_string(struct wire_buf *buf, const char *s);

/* wire_body_len - bytes of body in the open frame. */
static inline size_t wire_body_len(const struct wire_buf *buf)
{
	return buf->len - sizeof(uint32_t);
}

/*
 * wire_flush - send the open frame on fd (whole, retrying short writes
 * and EINTR) unless its body is empty, then open a new one.  A frame that
 * failed to build is dropped and counted as an error.  Returns 0, or -1
 * when the frame was dropped or the peer is gone (errno set).
 */
int wire_flush(struct wire_buf *buf, int fd);

/* wire_write_all - write all `len` bytes of `data` to fd; 0 or -1 (errno). */
int wire_write_all(int fd, const void *data, size_t len);

/* A received frame body, read field by field. */
struct wire_reader {
	const unsigned char *p;
	const unsigned char *end;
	bool bad;            /* a read went past the end, or a string was malformed */
};

static inline void wire_reader_init(struct wire_reader *r, const void *body, size_t len)
{
	r->p = body;
	r->end = r->p + len;
	r->bad = false;
}

/* wire_reader_done - true once every byte was read (or the body was bad). */
static inline bool wire_reader_done(const struct wire_reader *r)
{
	return r->bad || r->p >= r->end;
}

/*
 * wire_take - copy n bytes of the body to out and step over them; past the
 * end, zeros and `bad` latched.  Inline: every field of every record goes
 * through it.
 */
static inline void wire_take(struct wire_reader *r, void *out, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		memset(out, 0, n);
		return;
	}
	memcpy(out, r->p, n);
	r->p += n;
}

static inline uint8_t wire_get_u8(struct wire_reader *r)
{
	uint8_t v;

	wire_take(r, &v, sizeof(v));
	return v;
}

static inline uint32_t wire_get_u32(struct wire_reader *r)
{
	uint32_t v;

	wire_take(r, &v, sizeof(v));
	return v;
}

static inline uint64_t wire_get_u64(struct wire_reader *r)
{
	uint64_t v;

	wire_take(r, &v, sizeof(v));
	return v;
}

static inline int64_t wire_get_i64(struct wire_reader *r)
{
	return (int64_t)wire_get_u64(r);
}

static inline double wire_get_f64(struct wire_reader *r)
{
	double v;

	wire_take(r, &v, sizeof(v));
	return v;
}

/*
 * wire_get_bytes - a string written by wire_put_bytes: a pointer into the
 * body (NUL-terminated) and its length in *len, or NULL for a NULL string
 * (and for a bad body, which latches bad).
 */
const char *wire_get_bytes(struct wire_reader *r, size_t *len);

/* Incoming bytes from one fd, cut into frames. */
struct wire_inbox {
	unsigned char *data;
	size_t start;        /* first byte not consumed */
	size_t len;          /* bytes held */
	size_t cap;
};

/* wire_inbox_free - free the inbox's memory and zero it. */
void wire_inbox_free(struct wire_inbox *in);

/*
 * wire_inbox_read - one read() from fd into the inbox.  Returns the bytes
 * read, 0 at end of file, -1 on error (errno; EAGAIN/EINTR included).
 */
long wire_inbox_read(struct wire_inbox *in, int fd);

/*
 * wire_inbox_next - the next complete frame: 1 with *body and *len set
 * (valid until the next read), 0 when more bytes are needed, -1 when the
 * length is over WIRE_MAX_FRAME (a protocol error).
 */
int wire_inbox_next(struct wire_inbox *in, const unsigned char **body, size_t *len);

#endif

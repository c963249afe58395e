#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

/* The first allocation: most frames are one batch, so start at that size. */
#define WIRE_INITIAL_CAP (WIRE_BATCH_BYTES + 4096u)
/* An inbox read asks for at least this much room. */
#define WIRE_READ_CHUNK (64u * 1024u)

static void open_frame(struct wire_buf *buf)
{
	buf->len = sizeof(uint32_t);
	buf->failed = false;
}

void wire_buf_init(struct wire_buf *buf)
{
	buf->data = NULL;
	buf->cap = 0;
	buf->len = 0;
	buf->failed = false;
	/* The length word is written at flush time; reserving it cannot fail later. */
	if (wire_reserve_slow(buf, 0))
		open_frame(buf);
}

void wire_buf_free(struct wire_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = buf->cap = 0;
}

unsigned char *wire_reserve_slow(struct wire_buf *buf, size_t n)
{
	size_t need = buf->len + n, cap = buf->cap ? buf->cap : WIRE_INITIAL_CAP;
	unsigned char *grown;

	if (buf->failed)
		return NULL;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			goto fail;
		cap *= 2;
	}
	if (cap != buf->cap) {
		grown = realloc(buf->data, cap);
		if (!grown)
			goto fail;
		buf->data = grown;
		buf->cap = cap;
	}
	if (buf->len < sizeof(uint32_t))
		buf->len = sizeof(uint32_t);
	grown = buf->data + buf->len;
	buf->len += n;
	return grown;
fail:
	buf->failed = true;
	return NULL;
}

void wire_put_string(struct wire_buf *buf, const char *s)
{
	wire_put_bytes(buf, s, s ? strlen(s) : 0);
}

int wire_write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int wire_flush(struct wire_buf *buf, int fd)
{
	uint32_t body;
	int rc = 0;

	if (buf->failed || !buf->data) {
		open_frame(buf);
		errno = ENOMEM;
		return -1;
	}
	if (buf->len > sizeof(uint32_t)) {
		body = (uint32_t)(buf->len - sizeof(uint32_t));
		memcpy(buf->data, &body, sizeof(body));
		rc = wire_write_all(fd, buf->data, buf->len);
	}
	open_frame(buf);
	return rc;
}

/* ---- reading ---- */

const char *wire_get_bytes(struct wire_reader *r, size_t *len)
{
	uint32_t n = wire_get_u32(r);
	const char *s;

	*len = 0;
	if (r->bad || n == WIRE_NULL_STRING)
		return NULL;
	/* The writer always puts a NUL after the bytes: insist on it. */
	if ((size_t)(r->end - r->p) < (size_t)n + 1 || r->p[n] != '\0') {
		r->bad = true;
		return NULL;
	}
	s = (const char *)r->p;
	r->p += (size_t)n + 1;
	*len = n;
	return s;
}

/* ---- inbox ---- */

void wire_inbox_free(struct wire_inbox *in)
{
	free(in->data);
	memset(in, 0, sizeof(*in));
}

/* Make room for `want` more bytes after the held ones, moving them to the front. */
static int inbox_room(struct wire_inbox *in, size_t want)
{
	size_t cap = in->cap ? in->cap : WIRE_INITIAL_CAP;
	unsigned char *grown;

	if (in->start > 0) {
		memmove(in->data, in->data + in->start, in->len);
		in->start = 0;
	}
	while (cap - in->len < want)
		cap *= 2;
	if (cap == in->cap)
		return 0;
	grown = realloc(in->data, cap);
	if (!grown)
		return -1;
	in->data = grown;
	in->cap = cap;
	return 0;
}

long wire_inbox_read(struct wire_inbox *in, int fd)
{
	ssize_t n;

	if ((in->cap - in->start - in->len < WIRE_READ_CHUNK / 4 || !in->data) &&
	    inbox_room(in, WIRE_READ_CHUNK) < 0) {
		errno = ENOMEM;
		return -1;
	}
	n = read(fd, in->data + in->start + in->len, in->cap - in->start - in->len);
	if (n > 0)
		in->len += (size_t)n;
	return (long)n;
}

int wire_inbox_next(struct wire_inbox *in, const unsigned char **body, size_t *len)
{
	uint32_t n;

	if (in->len < sizeof(n))
		return 0;
	memcpy(&n, in->data + in->start, sizeof(n));
	if (n > WIRE_MAX_FRAME)
		return -1;
	if (in->len < sizeof(n) + n) {
		/* Room for the whole frame, so that the next reads complete it. */
		if (in->cap - in->start < sizeof(n) + n && inbox_room(in, sizeof(n) + n - in->len) < 0)
			return -1;
		return 0;
	}
	*body = in->data + in->start + sizeof(n);
	*len = n;
	in->start += sizeof(n) + n;
	in->len -= sizeof(n) + n;
	if (in->len == 0)
		in->start = 0;
	return 1;
}

#include "worker_link.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "emitter.h"
#include "host.h"

/*
 * What the plugin's emitter handle points at.  Never dereferenced as a
 * struct pga_emitter: the encoder functions below are the only ones that
 * receive it.
 */
struct link_emitter {
	int unused;
};

static struct {
	int fd;
	dev_t dev;                    /* the socket's identity, recorded at open */
	ino_t ino;
	struct wire_buf out;          /* the batch; only the collect thread appends */
	struct wire_buf log_frame;    /* one log line's frame, built under write_lock */
	pthread_mutex_t write_lock;   /* one frame on the socket at a time */
	uint64_t deadline_ns;
	bool deadline_passed;         /* latched, as in the host's emitter */
	struct pga_host host;
	struct link_emitter emitter;
} wlink = { .fd = -1, .write_lock = PTHREAD_MUTEX_INITIALIZER };

/* ---- sending ---- */

static void send_failed(void)
{
	/* A frame that could not be built would leave a gap in the stream. */
	_exit(errno == ENOMEM ? WORKER_EXIT_NOMEM : WORKER_EXIT_PARENT_GONE);
}

void worker_link_check(void)
{
	struct stat st;

	if (fstat(wlink.fd, &st) != 0 || st.st_dev != wlink.dev || st.st_ino != wlink.ino)
		_exit(WORKER_EXIT_SOCKET_TAKEN);
}

/* Send the batch as one frame; a failure ends the worker (see send_failed). */
static void flush_batch(void)
{
	int rc;

	worker_link_check();
	pthread_mutex_lock(&wlink.write_lock);
	rc = wire_flush(&wlink.out, wlink.fd);
	pthread_mutex_unlock(&wlink.write_lock);
	if (rc < 0)
		send_failed();
}

/* After each operation: send the batch once it is big enough. */
static int end_op(void)
{
	if (wlink.out.failed) {
		errno = ENOMEM;
		send_failed();
	}
	if (wire_body_len(&wlink.out) >= WIRE_BATCH_BYTES)
		flush_batch();
	return PGA_OK;
}

/*
 * The log sink: one frame per line, written at once.  Its buffer is reused
 * (under the lock, as plugin threads may log too), not allocated per line.
 */
static void forward_log(enum log_level level, const char *text)
{
	worker_link_check();
	pthread_mutex_lock(&wlink.write_lock);
	wire_put_u8(&wlink.log_frame, WOP_LOG);
	wire_put_u8(&wlink.log_frame, (uint8_t)level);
	wire_put_string(&wlink.log_frame, text);
	/* A lost log line is not worth dying for; a lost collector is noticed later. */
	(void)wire_flush(&wlink.log_frame, wlink.fd);
	pthread_mutex_unlock(&wlink.write_lock);
}

/* ---- the deadline, read at record boundaries as the host's emitter does ---- */

static bool deadline_overrun(void)
{
	if (wlink.deadline_passed)
		return true;
	if (wlink.deadline_ns == 0 || clock_monotonic_ns() <= wlink.deadline_ns)
		return false;
	wlink.deadline_passed = true;
	return true;
}

/*
 * A key or string value as the host's emitter reads it: at most one byte
 * past its limit, so that an over-long one is refused there just the same
 * without crossing the socket in full.
 */
static void put_text(const char *text)
{
	wire_put_bytes(&wlink.out, text, text ? strnlen(text, EMITTER_MAX_STRING + 1) : 0);
}

/* Start an operation; false when the deadline has passed (nothing is sent). */
static bool begin_op(enum worker_op op)
{
	if (wlink.deadline_passed)
		return false;
	wire_put_u8(&wlink.out, (uint8_t)op);
	return true;
}

/* ---- the emitter members ---- */

static int enc_record_begin(struct pga_emitter *em, const char *type)
{
	struct timespec now;

	(void)em;
	if (deadline_overrun())
		return PGA_EDEADLINE;
	clock_gettime(CLOCK_REALTIME, &now);
	begin_op(WOP_RECORD_BEGIN);
	wire_put_i64(&wlink.out, (int64_t)now.tv_sec);
	wire_put_i64(&wlink.out, (int64_t)now.tv_nsec);
	put_text(type);
	return end_op();
}

static int enc_record_end(struct pga_emitter *em)
{
	(void)em;
	if (deadline_overrun())
		return PGA_EDEADLINE;
	begin_op(WOP_RECORD_END);
	return end_op();
}

static int enc_record_timestamp(struct pga_emitter *em, int64_t unix_ns)
{
	(void)em;
	if (deadline_overrun())
		return PGA_EDEADLINE;
	begin_op(WOP_RECORD_TIMESTAMP);
	wire_put_i64(&wlink.out, unix_ns);
	return end_op();
}

/* An operation whose only argument is a key. */
static int enc_keyed(enum worker_op op, const char *key)
{
	if (!begin_op(op))
		return PGA_EDEADLINE;
	put_text(key);
	return end_op();
}

static int enc_object_begin(struct pga_emitter *em, const char *key)
{
	(void)em;
	return enc_keyed(WOP_OBJECT_BEGIN, key);
}

static int enc_array_begin(struct pga_emitter *em, const char *key)
{
	(void)em;
	return enc_keyed(WOP_ARRAY_BEGIN, key);
}

static int enc_set_null(struct pga_emitter *em, const char *key)
{
	(void)em;
	return enc_keyed(WOP_SET_NULL, key);
}

/* An operation without arguments. */
static int enc_plain(enum worker_op op)
{
	if (!begin_op(op))
		return PGA_EDEADLINE;
	return end_op();
}

static int enc_object_end(struct pga_emitter *em)
{
	(void)em;
	return enc_plain(WOP_OBJECT_END);
}

static int enc_array_end(struct pga_emitter *em)
{
	(void)em;
	return enc_plain(WOP_ARRAY_END);
}

static int enc_set_int64(struct pga_emitter *em, const char *key, int64_t value)
{
	(void)em;
	if (!begin_op(WOP_SET_INT64))
		return PGA_EDEADLINE;
	put_text(key);
	wire_put_i64(&wlink.out, value);
	return end_op();
}

static int enc_set_uint64(struct pga_emitter *em, const char *key, uint64_t value)
{
	(void)em;
	if (!begin_op(WOP_SET_UINT64))
		return PGA_EDEADLINE;
	put_text(key);
	wire_put_u64(&wlink.out, value);
	return end_op();
}

static int enc_set_double(struct pga_emitter *em, const char *key, double value)
{
	(void)em;
	if (!begin_op(WOP_SET_DOUBLE))
		return PGA_EDEADLINE;
	put_text(key);
	wire_put_f64(&wlink.out, value);
	return end_op();
}

static int enc_set_bool(struct pga_emitter *em, const char *key, int value)
{
	(void)em;
	if (!begin_op(WOP_SET_BOOL))
		return PGA_EDEADLINE;
	put_text(key);
	wire_put_u8(&wlink.out, value != 0);
	return end_op();
}

static int enc_set_string(struct pga_emitter *em, const char *key, const char *value)
{
	(void)em;
	if (!begin_op(WOP_SET_STRING))
		return PGA_EDEADLINE;
	put_text(key);
	put_text(value);
	return end_op();
}

static int enc_set_stringn(struct pga_emitter *em, const char *key, const char *value,
			   size_t len)
{
	/* Past the limit the host refuses it by its length alone: send no more. */
	size_t sent = len > EMITTER_MAX_STRING ? EMITTER_MAX_STRING + 1 : len;

	(void)em;
	if (!begin_op(WOP_SET_STRINGN))
		return PGA_EDEADLINE;
	put_text(key);
	wire_put_u64(&wlink.out, sent);
	wire_put_bytes(&wlink.out, value, value ? sent : 0);
	return end_op();
}

/* ---- the link ---- */

void worker_link_open(int fd)
{
	struct stat st;

	wlink.fd = fd;
	if (fstat(fd, &st) == 0) {
		wlink.dev = st.st_dev;
		wlink.ino = st.st_ino;
	}
	wire_buf_init(&wlink.out);
	wire_buf_init(&wlink.log_frame);
	wlink.host = *host_vtable();
	wlink.host.record_begin = enc_record_begin;
	wlink.host.record_end = enc_record_end;
	wlink.host.record_timestamp = enc_record_timestamp;
	wlink.host.object_begin = enc_object_begin;
	wlink.host.object_end = enc_object_end;
	wlink.host.array_begin = enc_array_begin;
	wlink.host.array_end = enc_array_end;
	wlink.host.set_int64 = enc_set_int64;
	wlink.host.set_uint64 = enc_set_uint64;
	wlink.host.set_double = enc_set_double;
	wlink.host.set_bool = enc_set_bool;
	wlink.host.set_string = enc_set_string;
	wlink.host.set_stringn = enc_set_stringn;
	wlink.host.set_null = enc_set_null;
	log_set_sink(forward_log);
}

const struct pga_host *worker_link_host(void)
{
	return &wlink.host;
}

struct pga_emitter *worker_link_emitter(void)
{
	return (struct pga_emitter *)(void *)&wlink.emitter;
}

void worker_link_begin_call(uint64_t deadline_ns)
{
	wlink.deadline_ns = deadline_ns;
	wlink.deadline_passed = false;
}

void worker_link_reply(enum worker_op request, int status, uint64_t cpu_ns)
{
	wire_put_u8(&wlink.out, WOP_REPLY);
	wire_put_u8(&wlink.out, (uint8_t)request);
	wire_put_u32(&wlink.out, (uint32_t)status);
	wire_put_u64(&wlink.out, cpu_ns);
	if (wlink.out.failed) {
		errno = ENOMEM;
		send_failed();
	}
	flush_batch();
	wlink.deadline_ns = 0;
	wlink.deadline_passed = false;
}

void worker_link_close(void)
{
	log_set_sink(NULL);
	wire_buf_free(&wlink.out);
	wire_buf_free(&wlink.log_frame);
}

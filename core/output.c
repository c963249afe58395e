#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "compress.h"
#include "durable.h"
#include "error_text.h"
#include "json_pretty.h"

#define FILE_SCHEME "file://"
#define ACCEPTED_FORMS                                                     \
	"use \"https://backend\", \"-\" (standard output), \"file:///absolute/path\" " \
	"(JSON lines) or \"file:///absolute/path.gz\" (gzip-compressed JSON lines)"
#define GZIP_LEVEL 6

enum output_kind {
	OUTPUT_STDOUT,
	OUTPUT_JSON_LINES,
	OUTPUT_GZIP_LINES,
	OUTPUT_BACKEND
};

struct output {
	enum output_kind kind;
	int fd;              /* -1 for standard output */
	bool regular_file;   /* only a regular file can be fsync'ed and cut back */
	char *path;          /* NULL for standard output */
	struct delivery *delivery;   /* OUTPUT_BACKEND */
};


static bool has_prefix_nocase(const char *text, const char *prefix)
{
	return strncasecmp(text, prefix, strlen(prefix)) == 0;
}

static bool has_suffix(const char *text, const char *suffix)
{
	size_t len = strlen(text), suffix_len = strlen(suffix);

	return len >= suffix_len && strcmp(text + len - suffix_len, suffix) == 0;
}

/* Explain why `destination` is none of the accepted forms. */
static void explain_unsupported(const char *destination, char *err, size_t err_len)
{
	if (destination == NULL || destination[0] == '\0')
		error_set(err, err_len, "output destination is empty; " ACCEPTED_FORMS);
	else if (has_prefix_nocase(destination, "http://"))
		error_set(err, err_len,
			  "output destination \"%s\": plain http is refused; payloads and "
			  "credentials only travel over https://",
			  destination);
	else if (has_prefix_nocase(destination, FILE_SCHEME))
		error_set(err, err_len,
			  "output destination \"%s\": a file URL needs an empty host and an "
			  "absolute path, as in file:///var/tmp/payloads.json; " ACCEPTED_FORMS,
			  destination);
	else if (destination[0] == '/')
		error_set(err, err_len,
			  "output destination \"%s\" is a bare path; write it as "
			  "\"file://%s\"; " ACCEPTED_FORMS,
			  destination, destination);
	else
		error_set(err, err_len, "output destination \"%s\" is not supported; " ACCEPTED_FORMS,
			  destination);
}

static struct output *new_output(enum output_kind kind)
{
	struct output *out = calloc(1, sizeof(*out));

	if (out == NULL)
		return NULL;
	out->kind = kind;
	out->fd = -1;
	return out;
}

static struct output *open_file(const char *path, char *err, size_t err_len)
{
	enum output_kind kind = has_suffix(path, ".gz") ? OUTPUT_GZIP_LINES : OUTPUT_JSON_LINES;
	struct output *out = new_output(kind);
	struct stat st;

	if (out == NULL || (out->path = strdup(path)) == NULL) {
		error_set(err, err_len, "cannot open output file \"%s\": out of memory", path);
		output_close(out);
		return NULL;
	}
	out->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (out->fd < 0 || fstat(out->fd, &st) != 0) {
		error_set(err, err_len, "cannot open output file \"%s\": %s", path,
			  strerror(errno));
		output_close(out);
		return NULL;
	}
	out->regular_file = S_ISREG(st.st_mode);
	return out;
}

static struct output *open_backend(const char *url, const struct delivery_settings *backend,
				   char *err, size_t err_len)
{
	struct output *out;

	if (!backend) {
		error_set(err, err_len, "output destination \"%s\": no backend settings", url);
		return NULL;
	}
	out = new_output(OUTPUT_BACKEND);
	if (!out) {
		error_set(err, err_len, "out of memory");
		return NULL;
	}
	out->delivery = delivery_start(backend, err, err_len);
	if (!out->delivery) {
		free(out);
		return NULL;
	}
	return out;
}

struct output *output_open(const char *destination, const struct delivery_settings *backend,
			   char *err, size_t err_len)
{
	struct output *out;

	if (destination != NULL && has_prefix_nocase(destination, "https://"))
		return open_backend(destination, backend, err, err_len);

	if (destination != NULL && strcmp(destination, "-") == 0) {
		out = new_output(OUTPUT_STDOUT);
		if (out == NULL)
			error_set(err, err_len, "cannot open standard output: out of memory");
		return out;
	}
	if (destination != NULL && has_prefix_nocase(destination, FILE_SCHEME) &&
	    destination[strlen(FILE_SCHEME)] == '/')
		return open_file(destination + strlen(FILE_SCHEME), err, err_len);
	explain_unsupported(destination, err, err_len);
	return NULL;
}

/* Undo a failed append, so that a half payload never stays in the file. */
static void cut_back(const struct output *out, off_t size_before, const char *what,
		     int saved_errno, char *err, size_t err_len)
{
	if (!out->regular_file) {
		error_set(err, err_len, "cannot %s \"%s\": %s", what, out->path,
			  strerror(saved_errno));
		return;
	}
	while (ftruncate(out->fd, size_before) != 0) {
		if (errno == EINTR)
			continue;
		error_set(err, err_len,
			  "cannot %s \"%s\": %s; cutting the file back to %lld bytes also "
			  "failed: %s",
			  what, out->path, strerror(saved_errno), (long long)size_before,
			  strerror(errno));
		return;
	}
	error_set(err, err_len, "cannot %s \"%s\": %s (the partial payload was removed)",
		  what, out->path, strerror(saved_errno));
}

/* Write every iovec, at most IOV_MAX per system call. */
static int write_all(int fd, struct iovec *iov, size_t iovcnt)
{
	while (iovcnt > 0) {
		int group = iovcnt < IOV_MAX ? (int)iovcnt : IOV_MAX;

		if (durable_writev(fd, iov, group) != 0)
			return -1;
		iov += group;
		iovcnt -= (size_t)group;
	}
	return 0;
}

/*
 * Append iov to the file and make it durable, or leave the file as it was.
 * O_APPEND writes at the end, so the size before is where a failed write
 * started.
 */
static int append_durably(const struct output *out, struct iovec *iov, size_t iovcnt,
			  char *err, size_t err_len)
{
	struct stat st;
	off_t size_before = 0;

	if (out->regular_file) {
		if (fstat(out->fd, &st) != 0) {
			error_set(err, err_len, "cannot stat \"%s\": %s", out->path,
				  strerror(errno));
			return -1;
		}
		size_before = st.st_size;
	}
	if (write_all(out->fd, iov, iovcnt) != 0) {
		cut_back(out, size_before, "write to", errno, err, err_len);
		return -1;
	}
	if (out->regular_file && fsync(out->fd) != 0) {
		cut_back(out, size_before, "fsync", errno, err, err_len);
		return -1;
	}
	return 0;
}

/* The pieces of a payload as iovecs, so that a JSON line is written without a copy. */
struct iovec_list {
	struct iovec *iov;
	size_t n;
	size_t cap;
};

static int collect_iovec(void *ctx, const void *data, size_t len)
{
	struct iovec_list *list = ctx;
	struct iovec *grown;

	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 16;

		grown = realloc(list->iov, cap * sizeof(*grown));
		if (grown == NULL)
			return -1;
		list->iov = grown;
		list->cap = cap;
	}
	/* payload_write's pieces live as long as the payload: keep the pointers. */
	list->iov[list->n++] = (struct iovec){ .iov_base = (void *)data, .iov_len = len };
	return 0;
}

static int deliver_json_line(struct output *out, const struct payload *payload, char *err,
			     size_t err_len)
{
	static char newline[] = "\n";
	struct iovec_list list = { 0 };
	int rc;

	if (payload_write(payload, collect_iovec, &list) != 0 ||
	    collect_iovec(&list, newline, 1) != 0) {
		free(list.iov);
		return error_set(err, err_len, "cannot write payload to \"%s\": out of memory",
				 out->path);
	}
	rc = append_durably(out, list.iov, list.n, err, err_len);
	free(list.iov);
	return rc;
}

static int write_to_gzip(void *ctx, const void *data, size_t len)
{
	return gzip_writer_write(ctx, data, len);
}

/*
 * The payload as one gzip member, compressed as it is written (no copy of
 * the records), followed by `trailer` (may be "").  Returns 0 or -1.
 */
static int compress_payload(const struct payload *payload, const char *trailer,
			    unsigned char **member, size_t *member_len)
{
	struct gzip_writer *gz = gzip_writer_new(GZIP_LEVEL);

	*member = NULL;
	*member_len = 0;
	if (gz == NULL)
		return -1;
	if (payload_write(payload, write_to_gzip, gz) != 0 ||
	    gzip_writer_write(gz, trailer, strlen(trailer)) != 0) {
		gzip_writer_free(gz);
		return -1;
	}
	return gzip_writer_finish(gz, member, member_len);
}

/* Each payload is one complete gzip member, so a reader can stop anywhere. */
static int deliver_gzip_line(struct output *out, const struct payload *payload, char *err,
			     size_t err_len)
{
	unsigned char *member = NULL;
	size_t member_len = 0;
	struct iovec iov;
	int rc;

	if (compress_payload(payload, "\n", &member, &member_len) != 0)
		return error_set(err, err_len, "cannot compress payload for \"%s\": out of memory",
				 out->path);
	iov = (struct iovec){ .iov_base = member, .iov_len = member_len };
	rc = append_durably(out, &iov, 1, err, err_len);
	free(member);
	return rc;
}

static int deliver_stdout(const struct payload *payload, char *err, size_t err_len)
{
	struct json_pretty pretty;

	json_pretty_init(&pretty, stdout);
	if (payload_write(payload, json_pretty_feed, &pretty) != 0 || fputc('\n', stdout) == EOF ||
	    fflush(stdout) != 0) {
		error_set(err, err_len, "cannot write payload to standard output: %s",
			  strerror(errno));
		clearerr(stdout);
		return -1;
	}
	return 0;
}

/*
 * The exact bytes that will be POSTed are what the spool keeps.  The
 * envelope goes straight into the gzip stream: at no point do the records
 * exist twice as text.
 */
static int deliver_backend(struct output *out, const struct payload *payload, char *err,
			   size_t err_len)
{
	unsigned char *body = NULL;
	size_t body_len = 0;
	int rc;

	if (compress_payload(payload, "", &body, &body_len) != 0) {
		error_set(err, err_len, "cannot compress the payload");
		return -1;
	}
	rc = delivery_submit(out->delivery, payload_seq(payload), body, body_len, err, err_len);
	free(body);
	return rc;
}

uint64_t output_min_next_seq(struct output *out)
{
	return out && out->delivery ? delivery_max_seq(out->delivery) + 1 : 1;
}

char *output_collector_id(struct output *out)
{
	return out && out->delivery ? delivery_collector_id(out->delivery) : NULL;
}

bool output_finish(struct output *out, uint64_t timeout_ns)
{
	return !out || !out->delivery || delivery_drain(out->delivery, timeout_ns);
}

void output_health(struct output *out, json_object *record)
{
	if (out && out->delivery)
		delivery_health(out->delivery, record);
}

int output_deliver(struct output *out, const struct payload *payload, char *err,
		   size_t err_len)
{
	if (out == NULL || payload == NULL) {
		error_set(err, err_len, "output_deliver: no %s", out ? "payload" : "output");
		return -1;
	}
	switch (out->kind) {
	case OUTPUT_STDOUT:
		return deliver_stdout(payload, err, err_len);
	case OUTPUT_BACKEND:
		return deliver_backend(out, payload, err, err_len);
	case OUTPUT_GZIP_LINES:
		return deliver_gzip_line(out, payload, err, err_len);
	case OUTPUT_JSON_LINES:
		break;
	}
	return deliver_json_line(out, payload, err, err_len);
}

void output_close(struct output *out)
{
	if (out == NULL)
		return;
	if (out->kind == OUTPUT_STDOUT)
		fflush(stdout);
	if (out->fd >= 0)
		close(out->fd);
	delivery_stop(out->delivery);
	free(out->path);
	free(out);
}

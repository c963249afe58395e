#include "output.h"

#include <errno.h>
#include <fcntl.h>
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

/*
 * Append iov to the file and make it durable, or leave the file as it was.
 * O_APPEND writes at the end, so the size before is where a failed write
 * started.
 */
static int append_durably(const struct output *out, struct iovec *iov, int iovcnt,
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
	if (durable_writev(out->fd, iov, iovcnt) != 0) {
		cut_back(out, size_before, "write to", errno, err, err_len);
		return -1;
	}
	if (out->regular_file && fsync(out->fd) != 0) {
		cut_back(out, size_before, "fsync", errno, err, err_len);
		return -1;
	}
	return 0;
}

static int deliver_json_line(struct output *out, const char *json, size_t len, char *err,
			     size_t err_len)
{
	char newline = '\n';
	struct iovec iov[2] = {
		{ .iov_base = (void *)json, .iov_len = len },
		{ .iov_base = &newline, .iov_len = 1 },
	};

	return append_durably(out, iov, 2, err, err_len);
}

/* Each payload is one complete gzip member, so a reader can stop anywhere. */
static int deliver_gzip_line(struct output *out, const char *json, size_t len, char *err,
			     size_t err_len)
{
	unsigned char *line = malloc(len + 1);
	unsigned char *member = NULL;
	size_t member_len = 0;
	struct iovec iov;
	int rc;

	if (line == NULL) {
		error_set(err, err_len, "cannot compress payload for \"%s\": out of memory",
			  out->path);
		return -1;
	}
	memcpy(line, json, len);
	line[len] = '\n';
	rc = gzip_compress(line, len + 1, GZIP_LEVEL, &member, &member_len);
	free(line);
	if (rc != 0) {
		error_set(err, err_len, "cannot compress payload for \"%s\": out of memory",
			  out->path);
		return -1;
	}
	iov = (struct iovec){ .iov_base = member, .iov_len = member_len };
	rc = append_durably(out, &iov, 1, err, err_len);
	free(member);
	return rc;
}

static int deliver_stdout(json_object *envelope, char *err, size_t err_len)
{
	const char *json = json_object_to_json_string_ext(
		envelope,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);

	if (json == NULL) {
		error_set(err, err_len, "cannot serialize payload: out of memory");
		return -1;
	}
	if (fputs(json, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
		error_set(err, err_len, "cannot write payload to standard output: %s",
			  strerror(errno));
		clearerr(stdout);
		return -1;
	}
	return 0;
}

/* The exact bytes that will be POSTed are what the spool keeps. */
static int deliver_backend(struct output *out, json_object *envelope, char *err, size_t err_len)
{
	json_object *seq = NULL;
	unsigned char *body = NULL;
	size_t json_len, body_len = 0;
	const char *json = json_object_to_json_string_length(
		envelope, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &json_len);
	int rc;

	if (!json || !json_object_object_get_ex(envelope, "seq", &seq)) {
		error_set(err, err_len, "cannot serialize the payload");
		return -1;
	}
	if (gzip_compress(json, json_len, GZIP_LEVEL, &body, &body_len) < 0) {
		error_set(err, err_len, "cannot compress the payload");
		return -1;
	}
	rc = delivery_submit(out->delivery, (uint64_t)json_object_get_uint64(seq), body, body_len,
			     err, err_len);
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

int output_deliver(struct output *out, json_object *envelope, char *err, size_t err_len)
{
	const char *json;
	size_t len;

	if (out == NULL || envelope == NULL) {
		error_set(err, err_len, "output_deliver: no %s", out ? "payload" : "output");
		return -1;
	}
	if (out->kind == OUTPUT_STDOUT)
		return deliver_stdout(envelope, err, err_len);
	if (out->kind == OUTPUT_BACKEND)
		return deliver_backend(out, envelope, err, err_len);

	json = json_object_to_json_string_length(
		envelope, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (json == NULL) {
		error_set(err, err_len, "cannot serialize payload for \"%s\": out of memory",
			  out->path);
		return -1;
	}
	if (out->kind == OUTPUT_GZIP_LINES)
		return deliver_gzip_line(out, json, len, err, err_len);
	return deliver_json_line(out, json, len, err, err_len);
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

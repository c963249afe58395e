#include "signature.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "error_text.h"

#define SHA256_LEN 32
#define SIGNATURE_PREFIX "sha256="

int signature_header_value(const void *key, size_t key_len, const void *body,
			   size_t body_len, char out[SIGNATURE_VALUE_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[SHA256_LEN];
	char *digits = out + strlen(SIGNATURE_PREFIX);

	out[0] = '\0';
	if (key == NULL || key_len == 0 || (body == NULL && body_len > 0))
		return -1;
	/* GnuTLS wants a valid pointer even for an empty message. */
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, key_len, body_len ? body : "", body_len,
			     mac) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(mac); i++) {
		digits[2 * i] = hex[mac[i] >> 4];
		digits[2 * i + 1] = hex[mac[i] & 0x0f];
	}
	digits[2 * sizeof(mac)] = '\0';
	memcpy(out, SIGNATURE_PREFIX, strlen(SIGNATURE_PREFIX));
	return 0;
}



/* What fstat() must show before a single byte is read. */
static int check_secret_file(const char *path, const struct stat *st, char *err,
			     size_t err_len)
{
	unsigned mode = (unsigned)st->st_mode & 07777;

	if (!S_ISREG(st->st_mode)) {
		error_set(err, err_len, "\"%s\" is not a regular file; a secret must be a plain file",
			  path);
		return -1;
	}
	if (mode & 077) {
		error_set(err, err_len, "\"%s\" is %s by group or others (mode %04o); chmod 600 it",
			  path, (mode & 044) ? "readable" : "accessible", mode);
		return -1;
	}
	if (st->st_size == 0) {
		error_set(err, err_len, "\"%s\" is empty; it must hold the secret", path);
		return -1;
	}
	if (st->st_size > SECRET_FILE_MAX_BYTES) {
		error_set(err, err_len, "\"%s\" is larger than %d bytes; is it the right file?",
			  path, SECRET_FILE_MAX_BYTES);
		return -1;
	}
	return 0;
}

/* Read up to `cap` bytes, across EINTR and short reads; -1 with errno on error. */
static ssize_t read_up_to(int fd, unsigned char *buf, size_t cap)
{
	size_t total = 0;

	while (total < cap) {
		ssize_t n = read(fd, buf + total, cap - total);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		total += (size_t)n;
	}
	return (ssize_t)total;
}

/* Remove one trailing "\n" or "\r\n"; editors add it, nobody means it. */
static size_t strip_line_ending(unsigned char *buf, size_t len)
{
	if (len > 0 && buf[len - 1] == '\n') {
		buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
	}
	return len;
}

/*
 * Read the whole (already checked) file of `expected` bytes.  One byte of
 * room beyond it tells a file that grew since fstat() from one that did not.
 */
static unsigned char *read_secret(int fd, const char *path, size_t expected, size_t *len,
				  char *err, size_t err_len)
{
	unsigned char *buf = malloc(expected + 1);
	ssize_t got;

	if (buf == NULL) {
		error_set(err, err_len, "cannot read \"%s\": out of memory", path);
		return NULL;
	}
	got = read_up_to(fd, buf, expected + 1);
	if (got < 0) {
		error_set(err, err_len, "cannot read \"%s\": %s", path, strerror(errno));
		secret_free(buf, expected);
		return NULL;
	}
	if ((size_t)got != expected) {
		error_set(err, err_len, "\"%s\" changed size while being read; try again", path);
		secret_free(buf, expected);
		return NULL;
	}
	buf[expected] = '\0';
	*len = strip_line_ending(buf, expected);
	if (*len == 0) {
		error_set(err, err_len, "\"%s\" is empty; it must hold the secret", path);
		secret_free(buf, expected);
		return NULL;
	}
	return buf;
}

int secret_file_read(const char *path, unsigned char **secret, size_t *len, char *err,
		     size_t err_len)
{
	struct stat st;
	int fd;

	*secret = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO in place of the file must not hang the daemon. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		error_set(err, err_len, "cannot open \"%s\": %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		error_set(err, err_len, "cannot stat \"%s\": %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (check_secret_file(path, &st, err, err_len) == 0)
		*secret = read_secret(fd, path, (size_t)st.st_size, len, err, err_len);
	close(fd);
	return *secret != NULL ? 0 : -1;
}

void secret_free(unsigned char *secret, size_t len)
{
	if (secret == NULL)
		return;
	/* explicit_bzero: a plain memset before free() may be optimised away. */
	explicit_bzero(secret, len + 1);
	free(secret);
}

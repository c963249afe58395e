/*
 * signature.h - integrity of each pushed body independently of where TLS
 * terminates: an HMAC-SHA256 of the exact bytes sent, carried in a header;
 * and reading the secret files that hold such keys, refused when other
 * users could read them (as ssh refuses private keys).
 */
#ifndef PGA_CORE_SIGNATURE_H
#define PGA_CORE_SIGNATURE_H

#include <stddef.h>

/* The HTTP header that carries signature_header_value() on every push. */
#define SIGNATURE_HEADER "X-Pganalytics-Signature"

/* "sha256=" + 64 hex digits + NUL. */
#define SIGNATURE_VALUE_LEN (7 + 64 + 1)

/* The largest secret file accepted; keys and tokens are far smaller. */
#define SECRET_FILE_MAX_BYTES (64 * 1024)

/*
 * signature_header_value - "sha256=" followed by the lowercase hex
 * HMAC-SHA256(key, body), where body is exactly the bytes sent (the gzip
 * body, not the JSON inside it).
 *
 * key       the shared secret, key_len > 0 bytes; not kept.
 * body      may be NULL when body_len is 0.
 * out       receives the NUL-terminated value (SIGNATURE_VALUE_LEN bytes
 *           including the NUL); set to "" on failure.
 * Returns 0, or -1 on invalid arguments or a GnuTLS failure.
 */
int signature_header_value(const void *key, size_t key_len, const void *body,
			   size_t body_len, char out[SIGNATURE_VALUE_LEN]);

/*
 * secret_file_read - read a key or secret from `path`.
 *
 * Refuses a file that group or others may access (any of mode 077), that
 * is not a regular file, that is empty (also when it holds only a line
 * ending) or larger than SECRET_FILE_MAX_BYTES.  One trailing "\n" or
 * "\r\n" is removed, nothing else.  The file is opened once and checked
 * with fstat(), so what is checked is what is read.
 *
 * secret   set to a malloc'd buffer of *len bytes plus a NUL after them (so
 *          a text secret can be used as a string); the caller releases it
 *          with secret_free().  NULL on failure.
 * len      set to the secret's length (0 on failure).
 * err      on failure receives one line naming the path and what is wrong,
 *          e.g. "/etc/x.secret" is readable by group or others (mode 0644);
 *          chmod 600 it.  Never contains any byte of the secret.  May be
 *          NULL when err_len is 0.
 * Returns 0, or -1 (with err set).
 */
int secret_file_read(const char *path, unsigned char **secret, size_t *len, char *err,
		     size_t err_len);

/*
 * secret_free - overwrite the `len` bytes of a secret from
 * secret_file_read() (and its NUL), then free it, so that it does not
 * linger in freed memory.  NULL is a no-op.
 */
void secret_free(unsigned char *secret, size_t len);

#endif

/*
 * backend_client.h - HTTPS requests to the pgAnalytics backend through
 * libcurl on GnuTLS: TLS 1.3 or nothing, the server verified against
 * ca_file (or the system store) including its host name, the client
 * certificate presented (mutual TLS), bounded connect and total times, and
 * one connection kept open between requests.
 *
 * One client is used by one thread at a time.
 */
#ifndef PGA_CORE_BACKEND_CLIENT_H
#define PGA_CORE_BACKEND_CLIENT_H

#include <stddef.h>

struct backend_tls {
	const char *ca_file;        /* "" or NULL: the system store */
	const char *client_cert;    /* PEM */
	const char *client_key;     /* PEM */
	long timeout_s;             /* whole request */
	long connect_timeout_s;
};

struct backend_response {
	long status;                /* HTTP status, 0 when no response */
	char *body;                 /* NUL-terminated, malloc'd */
	size_t body_len;
	char *config_version;       /* X-Config-Version, or NULL */
	char error[256];            /* transport failure, when status is 0 */
};

struct backend_client;

/*
 * backend_client_new - a client for base_url ("https://host[:port]").  The
 * strings in tls are copied.  Returns NULL with err filled (an http:// URL
 * is refused: credentials never travel in clear text).
 */
struct backend_client *backend_client_new(const char *base_url, const struct backend_tls *tls,
					  char *err, size_t err_len);

/*
 * backend_request - send method ("GET" or "POST") to base_url + path with
 * `headers` (n_headers "Name: value" strings) and body (POST only).
 * Returns 0 when an HTTP response arrived (whatever its status), -1 on a
 * transport failure (resp->error says which: DNS, connect, TLS, timeout).
 * Free what resp holds with backend_response_clear().
 */
int backend_request(struct backend_client *client, const char *method, const char *path,
		    const char *const *headers, size_t n_headers, const void *body,
		    size_t body_len, struct backend_response *resp);

/* backend_response_clear - free a response's buffers and zero it. */
void backend_response_clear(struct backend_response *resp);

/*
 * backend_client_set_abort - should_abort(arg) is polled (about once a
 * second) during a request; nonzero aborts it.  For a prompt shutdown.
 */
void backend_client_set_abort(struct backend_client *client, int (*should_abort)(void *arg),
			      void *arg);

/* backend_client_free - close the connection and free; NULL is fine. */
void backend_client_free(struct backend_client *client);

/* backend_global_init - once per process, before any thread uses libcurl. */
int backend_global_init(void);

#endif

/*
 * backend_auth.h - who the collector is to the backend, and the bearer
 * token that proves it.
 *
 *   auth = "token"  the backend issues the token at registration; it is
 *                   refreshed before it expires, and once after a 401.
 *   auth = "hmac"   the collector signs its own HS256 JWT with the secret
 *                   from secret_file (one hour, renewed before expiry).
 *
 * Registration (POST /api/v1/collectors/register) stores collector_id,
 * token and expiry in state_dir/credentials.json, the id again in
 * state_dir/collector_id, and an issued certificate and key in
 * state_dir/client.crt and client.key; every file mode 0600, written
 * atomically.  Secrets and tokens are never logged.
 *
 * Used by one thread at a time (the delivery thread, or --register).
 */
#ifndef PGA_CORE_BACKEND_AUTH_H
#define PGA_CORE_BACKEND_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend_client.h"

struct auth_settings {
	const char *mode;                      /* "token" or "hmac" */
	const char *secret_file;
	const char *registration_secret_file;
	const char *state_dir;
	const char *configured_id;             /* collector.id; "" when unset */
	const char *hostname;
};

struct backend_auth;

/*
 * auth_new - read the secret (required for hmac, optional for token) and
 * any stored credentials.  Returns NULL with err filled (a secret file
 * readable by group or others is refused).
 */
struct backend_auth *auth_new(const struct auth_settings *settings, char *err, size_t err_len);

/* auth_free - forget everything, wiping the secret; NULL is fine. */
void auth_free(struct backend_auth *auth);

/*
 * auth_needs_registration - true when the collector has no identity yet:
 * token mode without stored credentials, or hmac mode without an id.
 */
bool auth_needs_registration(const struct backend_auth *auth);

/*
 * auth_register - register with the backend and store what it returns.
 * Returns 0, or -1 with err filled (the backend's {code, message} when it
 * answered).
 */
int auth_register(struct backend_auth *auth, struct backend_client *client,
		  char *err, size_t err_len);

/* auth_collector_id - the id to send, or NULL before registration. */
const char *auth_collector_id(const struct backend_auth *auth);

/*
 * auth_bearer - a token valid for five more minutes at least: re-signed (hmac)
 * or refreshed through the backend (token) when needed.  Returns the token
 * (owned by auth, valid until the next call) or NULL with err filled.
 */
const char *auth_bearer(struct backend_auth *auth, struct backend_client *client,
			char *err, size_t err_len);

/* auth_invalidate - after a 401: the next auth_bearer() gets a new token. */
void auth_invalidate(struct backend_auth *auth);

/*
 * auth_signature_key - the key for the body signature: the secret when
 * there is one, else the current bearer token.  *key is owned by auth.
 */
void auth_signature_key(const struct backend_auth *auth, const unsigned char **key, size_t *len);

/* auth_token_expires_at - unix time the current token expires (0: none). */
int64_t auth_token_expires_at(const struct backend_auth *auth);

/*
 * auth_client_cert - the issued certificate and key in state_dir when
 * registration stored them, else NULL.  Owned by auth.
 */
const char *auth_issued_cert(const struct backend_auth *auth);
const char *auth_issued_key(const struct backend_auth *auth);

#endif

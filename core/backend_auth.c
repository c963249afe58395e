#include "backend_auth.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json.h>

#include "error_text.h"
#include "jwt.h"
#include "log.h"
#include "signature.h"
#include "state_store.h"

#define HMAC_TOKEN_LIFETIME_S 3600
/* A token with less than this left is renewed before use. */
#define RENEW_MARGIN_S 300

struct backend_auth {
	char *mode;
	char *state_dir;
	char *hostname;
	char *registration_secret_file;
	unsigned char *secret;        /* secret_file contents; NULL when absent */
	size_t secret_len;
	char *collector_id;
	char *token;
	int64_t expires_at;           /* unix seconds; 0 unknown */
	char *issued_cert;            /* state_dir/client.crt when stored */
	char *issued_key;
};


static bool is_hmac(const struct backend_auth *auth)
{
	return strcmp(auth->mode, "hmac") == 0;
}

static void replace_string(char **dst, const char *value)
{
	char *copy = value ? strdup(value) : NULL;

	free(*dst);
	*dst = copy;
}

/* ---- stored credentials ---------------------------------------------------- */

static char *state_path(const struct backend_auth *auth, const char *name)
{
	char *path = NULL;

	if (asprintf(&path, "%s/%s", auth->state_dir, name) < 0)
		return NULL;
	return path;
}

static void find_issued_files(struct backend_auth *auth)
{
	char *cert = state_path(auth, "client.crt"), *key = state_path(auth, "client.key");

	if (cert && key && access(cert, R_OK) == 0 && access(key, R_OK) == 0) {
		auth->issued_cert = cert;
		auth->issued_key = key;
		return;
	}
	free(cert);
	free(key);
}

/* Tokens are credentials: an old one is wiped, not just freed. */
static void replace_token(struct backend_auth *auth, const char *value)
{
	if (auth->token)
		explicit_bzero(auth->token, strlen(auth->token));
	replace_string(&auth->token, value);
}

static void load_credentials(struct backend_auth *auth)
{
	char *path = state_path(auth, "credentials.json");
	json_object *doc = path ? json_object_from_file(path) : NULL;
	json_object *value;

	free(path);
	if (!doc)
		return;
	/* A backend-issued token belongs to the id the backend registered. */
	if (json_object_object_get_ex(doc, "collector_id", &value) &&
	    (!auth->collector_id || !is_hmac(auth)))
		replace_string(&auth->collector_id, json_object_get_string(value));
	/* In hmac mode the collector signs its own tokens; a stored one is not used. */
	if (!is_hmac(auth) && json_object_object_get_ex(doc, "token", &value))
		replace_token(auth, json_object_get_string(value));
	if (!is_hmac(auth) && json_object_object_get_ex(doc, "expires_at", &value))
		auth->expires_at = json_object_get_int64(value);
	json_object_put(doc);
}

static int store_text(const struct backend_auth *auth, const char *name, const char *text,
		      char *err, size_t err_len)
{
	if (state_write_file(auth->state_dir, name, text, strlen(text), 0600) < 0)
		return error_set(err, err_len, "%s/%s: cannot store it: %s", auth->state_dir, name,
			    strerror(errno));
	return 0;
}

static int store_credentials(struct backend_auth *auth, char *err, size_t err_len)
{
	json_object *doc = json_object_new_object();
	const char *text;
	int rc;

	if (!doc)
		return error_set(err, err_len, "out of memory");
	json_object_object_add(doc, "collector_id", json_object_new_string(auth->collector_id));
	json_object_object_add(doc, "token", auth->token ? json_object_new_string(auth->token) : NULL);
	json_object_object_add(doc, "expires_at", json_object_new_int64(auth->expires_at));
	text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	rc = store_text(auth, "credentials.json", text, err, err_len);
	json_object_put(doc);
	if (rc == 0)
		rc = store_text(auth, "collector_id", auth->collector_id, err, err_len);
	return rc;
}

/* ---- lifecycle ---------------------------------------------------------------- */

static int read_secret(struct backend_auth *auth, const char *secret_file, char *err, size_t err_len)
{
	bool required = is_hmac(auth);

	if (!secret_file || !secret_file[0] || (!required && access(secret_file, F_OK) < 0)) {
		if (required)
			return error_set(err, err_len, "auth = \"hmac\" needs backend.secret_file");
		return 0;
	}
	return secret_file_read(secret_file, &auth->secret, &auth->secret_len, err, err_len);
}

struct backend_auth *auth_new(const struct auth_settings *s, char *err, size_t err_len)
{
	struct backend_auth *auth = calloc(1, sizeof(*auth));

	if (!auth) {
		error_set(err, err_len, "out of memory");
		return NULL;
	}
	auth->mode = strdup(s->mode);
	auth->state_dir = strdup(s->state_dir);
	auth->hostname = strdup(s->hostname);
	auth->registration_secret_file = strdup(s->registration_secret_file ? s->registration_secret_file : "");
	if (s->configured_id && s->configured_id[0])
		auth->collector_id = strdup(s->configured_id);
	if (!auth->mode || !auth->state_dir || !auth->hostname || !auth->registration_secret_file ||
	    read_secret(auth, s->secret_file, err, err_len) < 0) {
		auth_free(auth);
		return NULL;
	}
	load_credentials(auth);
	find_issued_files(auth);
	if (!auth->secret)
		log_msg(LOG_LVL_WARNING,
			"no backend.secret_file: payload signatures are keyed with the bearer token, so "
			"whoever terminates TLS could re-sign altered payloads; set a secret_file");
	return auth;
}

void auth_free(struct backend_auth *auth)
{
	if (!auth)
		return;
	if (auth->secret)
		explicit_bzero(auth->secret, auth->secret_len);
	free(auth->secret);
	replace_token(auth, NULL);
	free(auth->mode);
	free(auth->state_dir);
	free(auth->hostname);
	free(auth->registration_secret_file);
	free(auth->collector_id);
	free(auth->issued_cert);
	free(auth->issued_key);
	free(auth);
}

bool auth_needs_registration(const struct backend_auth *auth)
{
	if (!auth->collector_id)
		return true;
	return !is_hmac(auth) && !auth->token;
}

const char *auth_collector_id(const struct backend_auth *auth)
{
	return auth->collector_id;
}

int64_t auth_token_expires_at(const struct backend_auth *auth)
{
	return auth->expires_at;
}

const char *auth_issued_cert(const struct backend_auth *auth)
{
	return auth->issued_cert;
}

const char *auth_issued_key(const struct backend_auth *auth)
{
	return auth->issued_key;
}

/* ---- talking to the backend ------------------------------------------------------ */

/* "code: message" from an error body {code, message, details}, else the status. */
static void describe_error(const struct backend_response *resp, char *out, size_t size)
{
	json_object *doc = resp->body ? json_tokener_parse(resp->body) : NULL;
	json_object *code = NULL, *message = NULL;

	if (doc && json_object_object_get_ex(doc, "code", &code) &&
	    json_object_object_get_ex(doc, "message", &message))
		snprintf(out, size, "HTTP %ld, %s: %s", resp->status, json_object_get_string(code),
			 json_object_get_string(message));
	else
		snprintf(out, size, "HTTP %ld", resp->status);
	json_object_put(doc);
}

/* expires_at from RFC 3339 ("...Z"), else from the token's own exp claim. */
static int64_t expiry_of(const char *token, json_object *expires_at)
{
	const char *text = expires_at ? json_object_get_string(expires_at) : NULL;
	struct tm tm;
	int64_t exp = 0;

	memset(&tm, 0, sizeof(tm));
	if (text && strptime(text, "%Y-%m-%dT%H:%M:%S", &tm))
		return (int64_t)timegm(&tm);
	if (token && jwt_read_expiry(token, &exp) == 0)
		return exp;
	return 0;
}

static int store_issued(struct backend_auth *auth, json_object *doc, char *err, size_t err_len)
{
	json_object *cert = NULL, *key = NULL;
	const char *cert_text, *key_text;

	json_object_object_get_ex(doc, "certificate", &cert);
	json_object_object_get_ex(doc, "private_key", &key);
	cert_text = cert ? json_object_get_string(cert) : "";
	key_text = key ? json_object_get_string(key) : "";
	if (!cert_text[0] || !key_text[0])
		return 0;
	/* Key first: a certificate without its key would be unusable. */
	if (store_text(auth, "client.key", key_text, err, err_len) < 0 ||
	    store_text(auth, "client.crt", cert_text, err, err_len) < 0)
		return -1;
	free(auth->issued_cert);
	free(auth->issued_key);
	auth->issued_cert = NULL;
	auth->issued_key = NULL;
	find_issued_files(auth);
	return 0;
}

static int read_registration(struct backend_auth *auth, const struct backend_response *resp,
			     char *err, size_t err_len)
{
	json_object *doc = json_tokener_parse(resp->body ? resp->body : "");
	json_object *id = NULL, *token = NULL, *expires = NULL;
	int rc;

	if (!doc || !json_object_object_get_ex(doc, "collector_id", &id) ||
	    !json_object_object_get_ex(doc, "token", &token)) {
		json_object_put(doc);
		return error_set(err, err_len, "registration answer lacks collector_id or token");
	}
	json_object_object_get_ex(doc, "expires_at", &expires);
	replace_string(&auth->collector_id, json_object_get_string(id));
	replace_token(auth, json_object_get_string(token));
	auth->expires_at = expiry_of(auth->token, expires);
	rc = store_issued(auth, doc, err, err_len);
	/* hmac mode wanted only an id: it signs its own tokens. */
	if (is_hmac(auth)) {
		replace_token(auth, NULL);
		auth->expires_at = 0;
	}
	json_object_put(doc);
	return rc < 0 ? -1 : store_credentials(auth, err, err_len);
}

static char *registration_body(const struct backend_auth *auth)
{
	json_object *doc = json_object_new_object();
	char *text;

	if (!doc)
		return NULL;
	json_object_object_add(doc, "name", json_object_new_string(auth->hostname));
	json_object_object_add(doc, "hostname", json_object_new_string(auth->hostname));
	json_object_object_add(doc, "version", json_object_new_string(PGA_VERSION));
	text = strdup(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
	json_object_put(doc);
	return text;
}

int auth_register(struct backend_auth *auth, struct backend_client *client, char *err, size_t err_len)
{
	struct backend_response resp;
	unsigned char *secret = NULL;
	char *body = NULL, *header = NULL;
	size_t secret_len = 0;
	int rc = -1;

	if (!auth->registration_secret_file[0])
		return error_set(err, err_len, "registration needs backend.registration_secret_file");
	if (secret_file_read(auth->registration_secret_file, &secret, &secret_len, err, err_len) < 0)
		return -1;
	body = registration_body(auth);
	if (!body || asprintf(&header, "X-Registration-Secret: %.*s", (int)secret_len, secret) < 0) {
		error_set(err, err_len, "out of memory");
		goto out;
	}
	{
		const char *headers[] = { "Content-Type: application/json", header };

		if (backend_request(client, "POST", "/api/v1/collectors/register", headers, 2, body,
				    strlen(body), &resp) < 0) {
			error_set(err, err_len, "registration: %s", resp.error);
			goto out;
		}
	}
	if (resp.status >= 200 && resp.status < 300) {
		rc = read_registration(auth, &resp, err, err_len);
	} else {
		char why[512];

		describe_error(&resp, why, sizeof(why));
		error_set(err, err_len, "registration refused: %s", why);
	}
	backend_response_clear(&resp);
out:
	if (header)
		explicit_bzero(header, strlen(header));
	if (secret)
		explicit_bzero(secret, secret_len);
	free(header);
	free(secret);
	free(body);
	return rc;
}

static int sign_own_token(struct backend_auth *auth, char *err, size_t err_len)
{
	struct jwt_claims claims = { auth->collector_id, auth->hostname, (int64_t)time(NULL),
				     HMAC_TOKEN_LIFETIME_S };
	char *token = jwt_sign_hs256(&claims, auth->secret, auth->secret_len);

	if (!token)
		return error_set(err, err_len, "cannot sign a token");
	replace_token(auth, NULL);
	auth->token = token;
	auth->expires_at = claims.issued_at + claims.lifetime_s;
	return 0;
}

static int refresh_token(struct backend_auth *auth, struct backend_client *client, char *err,
			 size_t err_len)
{
	struct backend_response resp;
	json_object *doc, *token = NULL, *expires = NULL;
	char *bearer = NULL, why[512];
	int rc = -1;

	if (!auth->token || asprintf(&bearer, "Authorization: Bearer %s", auth->token) < 0)
		return error_set(err, err_len, "no token to refresh; register again");
	{
		const char *headers[] = { bearer, "Content-Type: application/json" };

		rc = backend_request(client, "POST", "/api/v1/collectors/refresh-token", headers, 2,
				     "{}", 2, &resp);
	}
	explicit_bzero(bearer, strlen(bearer));
	free(bearer);
	if (rc < 0)
		return error_set(err, err_len, "token refresh: %s", resp.error);
	rc = -1;
	doc = resp.status / 100 == 2 ? json_tokener_parse(resp.body ? resp.body : "") : NULL;
	if (doc && json_object_object_get_ex(doc, "token", &token)) {
		json_object_object_get_ex(doc, "expires_at", &expires);
		replace_token(auth, json_object_get_string(token));
		auth->expires_at = expiry_of(auth->token, expires);
		rc = store_credentials(auth, err, err_len);
	} else {
		describe_error(&resp, why, sizeof(why));
		/* The backend no longer knows the token: register again. */
		if (resp.status == 401 && auth->registration_secret_file[0]) {
			replace_token(auth, NULL);
			error_set(err, err_len, "token refresh refused: %s; registering again", why);
		} else {
			error_set(err, err_len, "token refresh refused: %s", why);
		}
	}
	json_object_put(doc);
	backend_response_clear(&resp);
	return rc;
}

static bool token_fresh(const struct backend_auth *auth)
{
	return auth->token && auth->expires_at > (int64_t)time(NULL) + RENEW_MARGIN_S;
}

const char *auth_bearer(struct backend_auth *auth, struct backend_client *client, char *err,
			size_t err_len)
{
	if (token_fresh(auth))
		return auth->token;
	if (is_hmac(auth)) {
		if (!auth->collector_id) {
			error_set(err, err_len, "auth = \"hmac\" needs collector.id or a registration");
			return NULL;
		}
		return sign_own_token(auth, err, err_len) == 0 ? auth->token : NULL;
	}
	return refresh_token(auth, client, err, err_len) == 0 ? auth->token : NULL;
}

void auth_invalidate(struct backend_auth *auth)
{
	auth->expires_at = 0;
}

void auth_signature_key(const struct backend_auth *auth, const unsigned char **key, size_t *len)
{
	if (auth->secret) {
		*key = auth->secret;
		*len = auth->secret_len;
	} else {
		*key = (const unsigned char *)(auth->token ? auth->token : "");
		*len = auth->token ? strlen(auth->token) : 0;
	}
}

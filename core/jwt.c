#include "jwt.h"

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "base64url.h"

#define HS256_HEADER_JSON "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define HS256_MAC_LEN 32

/* The three dot-separated parts of a JWS compact token, as base64url text. */
struct jws_parts {
	const char *header;
	size_t header_len;
	const char *payload;
	size_t payload_len;
	const char *signature;
	size_t signature_len;
	size_t signing_input_len;   /* "header.payload": the bytes the MAC covers */
};

/*
 * Split `token` at its two dots.  RFC 7515 forbids padding, so '=' is
 * refused here although base64url_decode() tolerates it: otherwise the same
 * token could be written in several ways.
 */
static int split_compact(const char *token, struct jws_parts *p)
{
	const char *dot1, *dot2;

	if (token == NULL || strchr(token, '=') != NULL)
		return -1;
	dot1 = strchr(token, '.');
	if (dot1 == NULL)
		return -1;
	dot2 = strchr(dot1 + 1, '.');
	if (dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
		return -1;
	p->header = token;
	p->header_len = (size_t)(dot1 - token);
	p->payload = dot1 + 1;
	p->payload_len = (size_t)(dot2 - p->payload);
	p->signature = dot2 + 1;
	p->signature_len = strlen(p->signature);
	p->signing_input_len = (size_t)(dot2 - token);
	return 0;
}

/* Strict JSON that must be exactly one object and nothing after it. */
static json_object *parse_json_object(const unsigned char *text, size_t len)
{
	json_tokener *tok;
	json_object *obj;

	if (len > INT_MAX || memchr(text, '\0', len) != NULL)
		return NULL;
	tok = json_tokener_new();
	if (tok == NULL)
		return NULL;
	/* Strict mode also refuses anything after the first value. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, (const char *)text, (int)len);
	if (obj != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
			    !json_object_is_type(obj, json_type_object))) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

/* A base64url part holding a JSON object; NULL when it does not. */
static json_object *decode_object_part(const char *part, size_t len)
{
	unsigned char *json;
	size_t json_len;
	json_object *obj;

	if (base64url_decode(part, len, &json, &json_len) != 0)
		return NULL;
	obj = parse_json_object(json, json_len);
	free(json);
	return obj;
}

/*
 * The NumericDate member `name` (RFC 7519 §2) of `claims`, rounded down.
 * Returns 0, 1 when absent, -1 when not a number or out of range.
 */
static int read_numeric_date(json_object *claims, const char *name, int64_t *value)
{
	json_object *member;
	double d;

	if (!json_object_object_get_ex(claims, name, &member))
		return 1;
	if (json_object_is_type(member, json_type_int)) {
		*value = json_object_get_int64(member);
		return 0;
	}
	if (!json_object_is_type(member, json_type_double))
		return -1;
	d = floor(json_object_get_double(member));
	/* Range-check before converting: an out-of-range conversion is undefined. */
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
		return -1;
	*value = (int64_t)d;
	return 0;
}

int jwt_read_expiry(const char *token, int64_t *exp)
{
	struct jws_parts parts;
	json_object *header, *claims;
	int64_t value;
	int rc;

	if (split_compact(token, &parts) != 0)
		return -1;
	header = decode_object_part(parts.header, parts.header_len);
	if (header == NULL)
		return -1;
	json_object_put(header);
	claims = decode_object_part(parts.payload, parts.payload_len);
	if (claims == NULL)
		return -1;
	rc = read_numeric_date(claims, "exp", &value);
	json_object_put(claims);
	if (rc != 0)
		return -1;
	*exp = value;
	return 0;
}

static int hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		       unsigned char mac[HS256_MAC_LEN])
{
	return gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, key_len, data, len, mac) == 0 ? 0 : -1;
}

/* json-c keeps members in insertion order, which fixes the claim order. */
static int add_claim(json_object *claims, const char *name, json_object *value)
{
	const unsigned flags = JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY;

	if (value == NULL)
		return -1;
	if (json_object_object_add_ex(claims, name, value, flags) != 0) {
		json_object_put(value);
		return -1;
	}
	return 0;
}

static json_object *build_claims(const struct jwt_claims *c)
{
	json_object *claims = json_object_new_object();

	if (claims == NULL)
		return NULL;
	if (add_claim(claims, "sub", json_object_new_string(c->collector_id)) != 0 ||
	    add_claim(claims, "collector_id", json_object_new_string(c->collector_id)) != 0 ||
	    add_claim(claims, "hostname", json_object_new_string(c->hostname)) != 0 ||
	    add_claim(claims, "type", json_object_new_string("access")) != 0 ||
	    add_claim(claims, "iat", json_object_new_int64(c->issued_at)) != 0 ||
	    add_claim(claims, "nbf", json_object_new_int64(c->issued_at)) != 0 ||
	    add_claim(claims, "exp", json_object_new_int64(c->issued_at + c->lifetime_s)) != 0) {
		json_object_put(claims);
		return NULL;
	}
	return claims;
}

/* The base64url of the claims' compact JSON; NULL when out of memory. */
static char *encode_claims(const struct jwt_claims *c)
{
	json_object *claims = build_claims(c);
	const char *json;
	char *encoded = NULL;

	if (claims == NULL)
		return NULL;
	/* Plain and without "\/": the same bytes any JSON encoder would write. */
	json = json_object_to_json_string_ext(claims, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (json != NULL)
		encoded = base64url_encode(json, strlen(json));
	json_object_put(claims);
	return encoded;
}

static bool claims_are_valid(const struct jwt_claims *c)
{
	return c != NULL && c->collector_id != NULL && c->hostname != NULL &&
	       c->lifetime_s > 0 && c->issued_at <= INT64_MAX - c->lifetime_s;
}

/* "header.payload" followed by ".signature" over it; NULL on failure. */
static char *append_signature(const char *header, const char *payload, const void *key,
			      size_t key_len)
{
	unsigned char mac[HS256_MAC_LEN];
	char *signing_input = NULL, *signature = NULL, *token = NULL;

	if (asprintf(&signing_input, "%s.%s", header, payload) < 0)
		return NULL;
	if (hmac_sha256(key, key_len, signing_input, strlen(signing_input), mac) == 0)
		signature = base64url_encode(mac, sizeof(mac));
	if (signature != NULL && asprintf(&token, "%s.%s", signing_input, signature) < 0)
		token = NULL;
	free(signature);
	free(signing_input);
	return token;
}

char *jwt_sign_hs256(const struct jwt_claims *claims, const void *key, size_t key_len)
{
	char *header, *payload, *token = NULL;

	if (!claims_are_valid(claims) || key == NULL || key_len == 0)
		return NULL;
	header = base64url_encode(HS256_HEADER_JSON, strlen(HS256_HEADER_JSON));
	payload = encode_claims(claims);
	if (header != NULL && payload != NULL)
		token = append_signature(header, payload, key, key_len);
	free(payload);
	free(header);
	return token;
}

/* Exactly "alg":"HS256", and no "crit" extension we would have to understand. */
static bool header_is_hs256(const struct jws_parts *parts)
{
	json_object *header = decode_object_part(parts->header, parts->header_len);
	json_object *alg;
	bool ok;

	if (header == NULL)
		return false;
	ok = json_object_object_get_ex(header, "alg", &alg) &&
	     json_object_is_type(alg, json_type_string) &&
	     strcmp(json_object_get_string(alg), "HS256") == 0 &&
	     !json_object_object_get_ex(header, "crit", NULL);
	json_object_put(header);
	return ok;
}

static bool signature_matches(const char *token, const struct jws_parts *parts,
			      const void *key, size_t key_len)
{
	unsigned char expected[HS256_MAC_LEN];
	unsigned char *given;
	size_t given_len;
	bool ok;

	if (base64url_decode(parts->signature, parts->signature_len, &given, &given_len) != 0)
		return false;
	ok = given_len == sizeof(expected) &&
	     hmac_sha256(key, key_len, token, parts->signing_input_len, expected) == 0 &&
	     gnutls_memcmp(given, expected, sizeof(expected)) == 0;
	free(given);
	return ok;
}

/* nbf <= now < exp; "exp" is required, "nbf" optional. */
static bool claims_are_current(json_object *claims, int64_t now)
{
	int64_t exp, nbf;
	int nbf_rc;

	if (read_numeric_date(claims, "exp", &exp) != 0 || now >= exp)
		return false;
	nbf_rc = read_numeric_date(claims, "nbf", &nbf);
	return nbf_rc == 1 || (nbf_rc == 0 && nbf <= now);
}

int jwt_verify_hs256(const char *token, const void *key, size_t key_len, int64_t now,
		     json_object **claims_out)
{
	struct jws_parts parts;
	json_object *claims;

	if (claims_out != NULL)
		*claims_out = NULL;
	if (key == NULL || key_len == 0 || split_compact(token, &parts) != 0)
		return -1;
	/* The payload is only parsed once the signature has vouched for it. */
	if (!header_is_hs256(&parts) || !signature_matches(token, &parts, key, key_len))
		return -1;
	claims = decode_object_part(parts.payload, parts.payload_len);
	if (claims == NULL || !claims_are_current(claims, now)) {
		json_object_put(claims);
		return -1;
	}
	if (claims_out != NULL)
		*claims_out = claims;
	else
		json_object_put(claims);
	return 0;
}

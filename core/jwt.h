/*
 * jwt.h - JSON Web Tokens (RFC 7519) in JWS compact form (RFC 7515): the
 * HS256 access token the collector signs itself when backend.auth is
 * "hmac", and reading the expiry of any token, e.g. one the backend issued,
 * to schedule its refresh.  HMAC-SHA256 comes from GnuTLS.
 */
#ifndef PGA_CORE_JWT_H
#define PGA_CORE_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <json.h>

/* The claims of the collector's own access token (DESIGN.md, "Backend API"). */
struct jwt_claims {
	const char *collector_id;   /* "sub" and "collector_id" */
	const char *hostname;       /* "hostname" */
	int64_t issued_at;          /* unix seconds: "iat" and "nbf" */
	int64_t lifetime_s;         /* "exp" = iat + lifetime (one hour in production) */
};

/*
 * jwt_sign_hs256 - the token "header.payload.signature", each part
 * base64url without padding.  The header is exactly
 * {"alg":"HS256","typ":"JWT"}; the payload is
 * {"sub","collector_id","hostname","type":"access","iat","nbf","exp"} in that
 * order; the signature is HMAC-SHA256(key, "header.payload").
 *
 * claims  read only; collector_id and hostname must be non-NULL, lifetime_s
 *         positive and issued_at + lifetime_s must not overflow.
 * key     the shared secret, key_len > 0 bytes; not copied or kept.
 * Returns a malloc'd NUL-terminated token the caller frees, or NULL on
 * invalid arguments, out of memory or a GnuTLS failure.
 */
char *jwt_sign_hs256(const struct jwt_claims *claims, const void *key, size_t key_len);

/*
 * jwt_read_expiry - the "exp" claim of a JWS compact token, read WITHOUT
 * verifying the signature: only to decide when to refresh a token, never to
 * trust it.  A fractional NumericDate is rounded down.
 *
 * token  NUL-terminated; three base64url parts whose first two are JSON
 *        objects.
 * exp    set on success; untouched otherwise.
 * Returns 0, or -1 when the token is malformed or has no numeric "exp".
 */
int jwt_read_expiry(const char *token, int64_t *exp);

/*
 * jwt_verify_hs256 - check an HS256 token as a receiving backend would (for
 * tests and tools; the collector itself never needs to).
 *
 * Passes when: the token is three unpadded base64url parts; the header is a
 * JSON object whose "alg" is exactly "HS256" and has no "crit"; the
 * signature matches HMAC-SHA256(key, "header.payload") (compared in
 * constant time); the payload is a JSON object with a numeric "exp" and
 * now < exp, and nbf <= now when it has "nbf".
 *
 * token       NUL-terminated.
 * key         the shared secret, key_len > 0 bytes.
 * now         unix seconds.
 * claims_out  optional; on success set to the parsed payload, which the
 *             caller releases with json_object_put().  Left NULL on failure.
 * Returns 0 when the token is valid, -1 otherwise.
 */
int jwt_verify_hs256(const char *token, const void *key, size_t key_len, int64_t now,
		     json_object **claims_out);

#endif

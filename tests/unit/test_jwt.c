/*
 * test_jwt.c - base64url (RFC 4648 §5) and the HS256 JWT: exact header and
 * claims, agreement with an HMAC written here from the RFC 2104 definition
 * and with tokens made by Python's json, base64 and hmac modules, and
 * refusal of every tampered, mislabelled or out-of-date token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "base64url.h"
#include "jwt.h"
#include "signature.h"

#define SHA256_LEN 32
#define SHA256_BLOCK 64

/* The base64url of {"alg":"HS256","typ":"JWT"}: the one header we write. */
#define HS256_HEADER_B64 "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

static const char TEST_KEY[] = "0123456789abcdef0123456789abcdef";
#define TEST_KEY_LEN (sizeof(TEST_KEY) - 1)

static const struct jwt_claims TEST_CLAIMS = {
	.collector_id = "c0ffee-42",
	.hostname = "db1.example.com",
	.issued_at = 1700000000,
	.lifetime_s = 3600,
};

/*
 * TEST_CLAIMS signed with TEST_KEY by Python:
 *   h = b64(b'{"alg":"HS256","typ":"JWT"}')
 *   p = b64(json.dumps(claims, separators=(",", ":")).encode())
 *   s = b64(hmac.new(key, (h + "." + p).encode(), hashlib.sha256).digest())
 * with b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode().
 */
static const char PYTHON_TOKEN_FOR_TEST_CLAIMS[] =
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	"eyJzdWIiOiJjMGZmZWUtNDIiLCJjb2xsZWN0b3JfaWQiOiJjMGZmZWUtNDIiLCJob3N0bmFtZSI6ImRiMS5l"
	"eGFtcGxlLmNvbSIsInR5cGUiOiJhY2Nlc3MiLCJpYXQiOjE3MDAwMDAwMDAsIm5iZiI6MTcwMDAwMDAwMCwi"
	"ZXhwIjoxNzAwMDAzNjAwfQ."
	"UAg7PLabmdMJ2VnA1D1LzJykQAVM7yew5kJspIGn72k";

/* ---- helpers -------------------------------------------------------------- */

/* Deterministic bytes, so a failure reproduces. */
static void fill_pseudo_random(unsigned char *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)(x >> 24);
	}
}

static void sha256(const void *data, size_t len, unsigned char out[SHA256_LEN])
{
	assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out), 0);
}

/*
 * HMAC-SHA256 straight from RFC 2104, with only the hash from GnuTLS:
 * H((K ^ opad) || H((K ^ ipad) || text)), K hashed first when longer than
 * a block, then zero-padded to a block.
 */
static void reference_hmac_sha256(const void *key, size_t key_len, const void *text,
				  size_t text_len, unsigned char out[SHA256_LEN])
{
	unsigned char block_key[SHA256_BLOCK] = { 0 };
	unsigned char inner_hash[SHA256_LEN];
	unsigned char *inner = malloc(SHA256_BLOCK + text_len);
	unsigned char outer[SHA256_BLOCK + SHA256_LEN];

	assert_non_null(inner);
	if (key_len > SHA256_BLOCK)
		sha256(key, key_len, block_key);
	else
		memcpy(block_key, key, key_len);
	for (size_t i = 0; i < SHA256_BLOCK; i++) {
		inner[i] = block_key[i] ^ 0x36;
		outer[i] = block_key[i] ^ 0x5c;
	}
	memcpy(inner + SHA256_BLOCK, text, text_len);
	sha256(inner, SHA256_BLOCK + text_len, inner_hash);
	memcpy(outer + SHA256_BLOCK, inner_hash, SHA256_LEN);
	sha256(outer, sizeof(outer), out);
	free(inner);
}

static void to_hex(const unsigned char *bytes, size_t len, char *hex)
{
	for (size_t i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", bytes[i]);
}

/* A token with arbitrary header and payload JSON, signed by the reference HMAC. */
static char *make_token(const char *header_json, const char *payload_json, const void *key,
			size_t key_len)
{
	unsigned char mac[SHA256_LEN];
	char *header = base64url_encode(header_json, strlen(header_json));
	char *payload = base64url_encode(payload_json, strlen(payload_json));
	char *signing_input = NULL, *signature, *token = NULL;

	assert_non_null(header);
	assert_non_null(payload);
	assert_true(asprintf(&signing_input, "%s.%s", header, payload) > 0);
	reference_hmac_sha256(key, key_len, signing_input, strlen(signing_input), mac);
	signature = base64url_encode(mac, sizeof(mac));
	assert_non_null(signature);
	assert_true(asprintf(&token, "%s.%s", signing_input, signature) > 0);
	free(signature);
	free(signing_input);
	free(payload);
	free(header);
	return token;
}

static char *sign_test_claims(void)
{
	char *token = jwt_sign_hs256(&TEST_CLAIMS, TEST_KEY, TEST_KEY_LEN);

	assert_non_null(token);
	return token;
}

/* The decoded JSON text of part `index` (0..2) of a token; caller frees. */
static char *decode_part(const char *token, int index)
{
	const char *start = token;
	unsigned char *decoded;
	size_t len, decoded_len;
	char *text;

	for (int i = 0; i < index; i++) {
		start = strchr(start, '.');
		assert_non_null(start);
		start++;
	}
	len = strcspn(start, ".");
	assert_int_equal(base64url_decode(start, len, &decoded, &decoded_len), 0);
	text = calloc(1, decoded_len + 1);
	assert_non_null(text);
	memcpy(text, decoded, decoded_len);
	free(decoded);
	return text;
}

/* ---- base64url ------------------------------------------------------------ */

static void check_encodes_to(const void *data, size_t len, const char *expected)
{
	char *text = base64url_encode(data, len);
	unsigned char *back;
	size_t back_len;

	assert_non_null(text);
	assert_string_equal(text, expected);
	assert_int_equal(base64url_decode(text, strlen(text), &back, &back_len), 0);
	assert_int_equal(back_len, len);
	if (len > 0)
		assert_memory_equal(back, data, len);
	free(back);
	free(text);
}

static void test_base64url_rfc4648_vectors(void **state)
{
	(void)state;
	/* RFC 4648 §10, without the padding. */
	check_encodes_to("", 0, "");
	check_encodes_to("f", 1, "Zg");
	check_encodes_to("fo", 2, "Zm8");
	check_encodes_to("foo", 3, "Zm9v");
	check_encodes_to("foob", 4, "Zm9vYg");
	check_encodes_to("fooba", 5, "Zm9vYmE");
	check_encodes_to("foobar", 6, "Zm9vYmFy");
	/* The two characters where the url alphabet differs: 62 '-', 63 '_'. */
	check_encodes_to("\xfb\xef\xbe", 3, "----");
	check_encodes_to("\xff\xff\xff", 3, "____");
	check_encodes_to("\xfb\xff", 2, "-_8");       /* standard base64: "+/8=" */
	check_encodes_to("\x00\x10\x83", 3, "ABCD");
}

static void test_base64url_tolerates_final_padding(void **state)
{
	unsigned char *out;
	size_t out_len;
	(void)state;

	assert_int_equal(base64url_decode("Zg==", 4, &out, &out_len), 0);
	assert_int_equal(out_len, 1);
	assert_memory_equal(out, "f", 1);
	free(out);
	assert_int_equal(base64url_decode("Zm8=", 4, &out, &out_len), 0);
	assert_int_equal(out_len, 2);
	assert_memory_equal(out, "fo", 2);
	free(out);
}

static void test_base64url_round_trips(void **state)
{
	unsigned char data[300];
	(void)state;

	for (size_t len = 0; len <= sizeof(data); len++) {
		char *text;
		unsigned char *back;
		size_t back_len;

		fill_pseudo_random(data, len, len);
		text = base64url_encode(data, len);
		assert_non_null(text);
		assert_int_equal(strlen(text), (len * 4 + 2) / 3);
		assert_int_equal(strcspn(text, "+/="), strlen(text));
		assert_int_equal(base64url_decode(text, strlen(text), &back, &back_len), 0);
		assert_int_equal(back_len, len);
		assert_memory_equal(back, data, len);
		free(back);
		free(text);
	}
}

static void check_decode_refused(const char *text, size_t len)
{
	unsigned char *out = (unsigned char *)"sentinel";
	size_t out_len = 7;

	if (base64url_decode(text, len, &out, &out_len) != -1)
		fail_msg("\"%.*s\" was accepted", (int)len, text);
	assert_null(out);
	assert_int_equal(out_len, 0);
}

static void test_base64url_rejects_invalid_text(void **state)
{
	static const char *const refused[] = {
		"Zm9v+w", "Zm/v", "Zm 9v", "Zm9v\n", "Zm9v.", "Zm9v!",   /* not in the alphabet */
		"Zg==Zm9v", "Z=g", "Zg=a", "=Zm9",                      /* '=' before the end */
		"Zg=", "Zm9v=", "Zm8==", "Zg===", "===", "=",           /* padding that no encoder writes */
		"Z", "A", "Zm9vY", "Zm9vA", "Zm9vYmFyA",                /* len % 4 == 1 */
		"Zh", "Zm9", "Zm9vYmF",                                 /* non-zero unused bits */
	};
	(void)state;

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		check_decode_refused(refused[i], strlen(refused[i]));
	check_decode_refused("Zm\0v", 4);    /* an embedded NUL is not "the end" */
}

static void test_base64url_decodes_only_given_length(void **state)
{
	unsigned char *out;
	size_t out_len;
	(void)state;

	/* The "." of a JWT follows the part: it must not be looked at. */
	assert_int_equal(base64url_decode("Zm9v.xx", 4, &out, &out_len), 0);
	assert_int_equal(out_len, 3);
	assert_memory_equal(out, "foo", 3);
	free(out);
	assert_int_equal(base64url_decode(NULL, 0, &out, &out_len), 0);
	assert_non_null(out);
	assert_int_equal(out_len, 0);
	free(out);
	check_decode_refused(NULL, 3);
	assert_null(base64url_encode(NULL, 1));
}

/* ---- HMAC: the reference implementation and signature_header_value ------ */

struct hmac_vector {
	const char *key;
	size_t key_len;
	const char *data;
	size_t data_len;
	const char *hex;
};

static void check_hmac_vector(const struct hmac_vector *v)
{
	unsigned char mac[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	char value[SIGNATURE_VALUE_LEN];

	reference_hmac_sha256(v->key, v->key_len, v->data, v->data_len, mac);
	to_hex(mac, sizeof(mac), hex);
	assert_string_equal(hex, v->hex);
	assert_int_equal(signature_header_value(v->key, v->key_len, v->data, v->data_len, value), 0);
	assert_memory_equal(value, "sha256=", 7);
	assert_string_equal(value + 7, v->hex);
}

static void test_hmac_rfc4231_vectors(void **state)
{
	static char key_131[131];
	static const char data_6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	const struct hmac_vector vectors[] = {
		/* Test case 1 */
		{ "\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b",
		  20, "Hi There", 8,
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
		/* Test case 2 */
		{ "Jefe", 4, "what do ya want for nothing?", 28,
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		/* Test case 6: a key longer than the block, hashed first */
		{ key_131, sizeof(key_131), data_6, sizeof(data_6) - 1,
		  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
	};
	(void)state;

	memset(key_131, 0xaa, sizeof(key_131));
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		check_hmac_vector(&vectors[i]);
}

/* ---- signing -------------------------------------------------------------- */

static void test_sign_matches_python(void **state)
{
	char *token = sign_test_claims();
	(void)state;

	assert_string_equal(token, PYTHON_TOKEN_FOR_TEST_CLAIMS);
	free(token);
}

static void test_sign_header_is_exact(void **state)
{
	char *token = sign_test_claims();
	char *header = decode_part(token, 0);
	(void)state;

	assert_int_equal(strcspn(token, "."), strlen(HS256_HEADER_B64));
	assert_memory_equal(token, HS256_HEADER_B64, strlen(HS256_HEADER_B64));
	assert_string_equal(header, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
	free(header);
	free(token);
}

static void test_sign_claims_are_exact(void **state)
{
	char *token = sign_test_claims();
	char *payload = decode_part(token, 1);
	json_object *claims = json_tokener_parse(payload), *member;
	(void)state;

	assert_string_equal(payload,
			    "{\"sub\":\"c0ffee-42\",\"collector_id\":\"c0ffee-42\","
			    "\"hostname\":\"db1.example.com\",\"type\":\"access\","
			    "\"iat\":1700000000,\"nbf\":1700000000,\"exp\":1700003600}");
	assert_non_null(claims);
	assert_int_equal(json_object_object_length(claims), 7);
	assert_true(json_object_object_get_ex(claims, "exp", &member));
	assert_true(json_object_is_type(member, json_type_int));
	assert_int_equal(json_object_get_int64(member), 1700003600);
	json_object_put(claims);
	free(payload);
	free(token);
}

static void test_sign_escapes_awkward_strings(void **state)
{
	struct jwt_claims c = TEST_CLAIMS;
	json_object *claims, *member;
	char *token, *payload;
	(void)state;

	c.collector_id = "id/with\"quote\\and\xc3\xa9";
	c.hostname = "host\nname";
	token = jwt_sign_hs256(&c, TEST_KEY, TEST_KEY_LEN);
	assert_non_null(token);
	/* What Python's json.dumps(claims, separators=(",", ":"), ensure_ascii=False) writes. */
	payload = decode_part(token, 1);
	assert_string_equal(payload,
			    "{\"sub\":\"id/with\\\"quote\\\\and\xc3\xa9\","
			    "\"collector_id\":\"id/with\\\"quote\\\\and\xc3\xa9\","
			    "\"hostname\":\"host\\nname\",\"type\":\"access\","
			    "\"iat\":1700000000,\"nbf\":1700000000,\"exp\":1700003600}");
	free(payload);
	assert_int_equal(jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN, c.issued_at, &claims), 0);
	assert_true(json_object_object_get_ex(claims, "sub", &member));
	assert_string_equal(json_object_get_string(member), c.collector_id);
	assert_true(json_object_object_get_ex(claims, "hostname", &member));
	assert_string_equal(json_object_get_string(member), c.hostname);
	json_object_put(claims);
	free(token);
}

static void test_signature_agrees_with_reference_hmac(void **state)
{
	char *token = sign_test_claims();
	size_t signing_input_len = (size_t)(strrchr(token, '.') - token);
	unsigned char expected[SHA256_LEN];
	unsigned char *given;
	size_t given_len;
	(void)state;

	reference_hmac_sha256(TEST_KEY, TEST_KEY_LEN, token, signing_input_len, expected);
	assert_int_equal(base64url_decode(token + signing_input_len + 1,
					  strlen(token + signing_input_len + 1), &given, &given_len), 0);
	assert_int_equal(given_len, SHA256_LEN);
	assert_memory_equal(given, expected, SHA256_LEN);
	free(given);
	free(token);
}

static void test_sign_refuses_bad_arguments(void **state)
{
	struct jwt_claims c;
	(void)state;

	assert_null(jwt_sign_hs256(NULL, TEST_KEY, TEST_KEY_LEN));
	assert_null(jwt_sign_hs256(&TEST_CLAIMS, TEST_KEY, 0));
	assert_null(jwt_sign_hs256(&TEST_CLAIMS, NULL, 8));
	c = TEST_CLAIMS;
	c.collector_id = NULL;
	assert_null(jwt_sign_hs256(&c, TEST_KEY, TEST_KEY_LEN));
	c = TEST_CLAIMS;
	c.hostname = NULL;
	assert_null(jwt_sign_hs256(&c, TEST_KEY, TEST_KEY_LEN));
	c = TEST_CLAIMS;
	c.lifetime_s = 0;
	assert_null(jwt_sign_hs256(&c, TEST_KEY, TEST_KEY_LEN));
	c = TEST_CLAIMS;
	c.issued_at = INT64_MAX - 10;
	assert_null(jwt_sign_hs256(&c, TEST_KEY, TEST_KEY_LEN));
}

/* ---- verifying ------------------------------------------------------------ */

static void test_verify_accepts_own_token(void **state)
{
	char *token = sign_test_claims();
	json_object *claims = NULL, *member;
	(void)state;

	assert_int_equal(jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN, 1700000000, &claims), 0);
	assert_non_null(claims);
	assert_true(json_object_object_get_ex(claims, "type", &member));
	assert_string_equal(json_object_get_string(member), "access");
	json_object_put(claims);
	assert_int_equal(jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN, 1700003599, NULL), 0);
	free(token);
}

static void test_verify_rejects_out_of_date(void **state)
{
	char *token = sign_test_claims();
	json_object *claims = (json_object *)&claims;   /* must be reset to NULL */
	(void)state;

	assert_int_equal(jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN, 1700003600, &claims), -1);
	assert_null(claims);
	assert_int_equal(jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN, 1700009999, NULL), -1);
	assert_int_equal(jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN, 1699999999, NULL), -1);
	free(token);
}

static void test_verify_rejects_any_changed_character(void **state)
{
	char *token = sign_test_claims();
	size_t len = strlen(token);
	int parts_seen = 0;
	(void)state;

	for (size_t i = 0; i < len; i++) {
		char saved = token[i];

		if (saved == '.') {
			parts_seen++;
			continue;
		}
		token[i] = saved == 'A' ? 'B' : 'A';
		if (jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN, 1700000000, NULL) != -1)
			fail_msg("changing character %zu (part %d) went unnoticed", i, parts_seen);
		token[i] = saved;
	}
	assert_int_equal(parts_seen, 2);
	assert_int_equal(jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN, 1700000000, NULL), 0);
	free(token);
}

static void test_verify_rejects_wrong_key(void **state)
{
	char *token = sign_test_claims();
	char other[sizeof(TEST_KEY)];
	(void)state;

	memcpy(other, TEST_KEY, sizeof(TEST_KEY));
	other[5] ^= 1;
	assert_int_equal(jwt_verify_hs256(token, other, TEST_KEY_LEN, 1700000000, NULL), -1);
	assert_int_equal(jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN - 1, 1700000000, NULL), -1);
	assert_int_equal(jwt_verify_hs256(token, TEST_KEY, 0, 1700000000, NULL), -1);
	free(token);
}

static const char VALID_PAYLOAD[] =
	"{\"sub\":\"c\",\"iat\":1700000000,\"nbf\":1700000000,\"exp\":1700003600}";

static void check_verify_refuses(const char *header_json, const char *payload_json)
{
	char *token = make_token(header_json, payload_json, TEST_KEY, TEST_KEY_LEN);

	if (jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN, 1700000000, NULL) != -1)
		fail_msg("accepted header %s payload %s", header_json, payload_json);
	free(token);
}

static void test_verify_requires_hs256(void **state)
{
	char *token;
	(void)state;

	/* Correctly signed, so that only the label is wrong. */
	check_verify_refuses("{\"alg\":\"none\",\"typ\":\"JWT\"}", VALID_PAYLOAD);
	check_verify_refuses("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", VALID_PAYLOAD);
	check_verify_refuses("{\"alg\":\"hs256\",\"typ\":\"JWT\"}", VALID_PAYLOAD);
	check_verify_refuses("{\"typ\":\"JWT\"}", VALID_PAYLOAD);
	check_verify_refuses("{\"alg\":256}", VALID_PAYLOAD);
	check_verify_refuses("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", VALID_PAYLOAD);
	check_verify_refuses("[\"HS256\"]", VALID_PAYLOAD);
	/* The unsigned form of alg "none": an empty signature. */
	token = make_token("{\"alg\":\"none\"}", VALID_PAYLOAD, TEST_KEY, TEST_KEY_LEN);
	*(strrchr(token, '.') + 1) = '\0';
	assert_int_equal(jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN, 1700000000, NULL), -1);
	free(token);
	/* The same header with a proper payload is accepted: the checks above are not vacuous. */
	token = make_token("{\"alg\":\"HS256\"}", VALID_PAYLOAD, TEST_KEY, TEST_KEY_LEN);
	assert_int_equal(jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN, 1700000000, NULL), 0);
	free(token);
}

static void test_verify_requires_sound_claims(void **state)
{
	const char *header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char *token;
	(void)state;

	check_verify_refuses(header, "{\"sub\":\"c\"}");                         /* no exp */
	check_verify_refuses(header, "{\"exp\":\"1700003600\"}");               /* exp a string */
	check_verify_refuses(header, "{\"exp\":1700003600,\"nbf\":\"0\"}");     /* nbf a string */
	check_verify_refuses(header, "{\"exp\":1700003600,\"nbf\":1700000001}");
	check_verify_refuses(header, "[1700003600]");
	check_verify_refuses(header, "{\"exp\":1700003600}x");                  /* trailing bytes */
	check_verify_refuses(header, "{\"exp\":1700003600}{}");
	check_verify_refuses(header, "{\"exp\":1700003600,}");                  /* not strict JSON */
	check_verify_refuses(header, "{\"exp\":1700003600,\"s\":\"\xff\"}");      /* not UTF-8 */
	/* nbf is optional. */
	token = make_token(header, "{\"exp\":1700003600}", TEST_KEY, TEST_KEY_LEN);
	assert_int_equal(jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN, 1700000000, NULL), 0);
	free(token);
}

static void test_verify_rejects_malformed_tokens(void **state)
{
	char *token = sign_test_claims();
	char *padded = NULL, *extra = NULL;
	(void)state;

	assert_true(asprintf(&padded, "%s=", token) > 0);
	assert_true(asprintf(&extra, "%s.", token) > 0);
	assert_int_equal(jwt_verify_hs256(padded, TEST_KEY, TEST_KEY_LEN, 1700000000, NULL), -1);
	assert_int_equal(jwt_verify_hs256(extra, TEST_KEY, TEST_KEY_LEN, 1700000000, NULL), -1);
	*strrchr(token, '.') = '\0';
	assert_int_equal(jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN, 1700000000, NULL), -1);
	assert_int_equal(jwt_verify_hs256("", TEST_KEY, TEST_KEY_LEN, 1700000000, NULL), -1);
	assert_int_equal(jwt_verify_hs256("..", TEST_KEY, TEST_KEY_LEN, 1700000000, NULL), -1);
	assert_int_equal(jwt_verify_hs256(NULL, TEST_KEY, TEST_KEY_LEN, 1700000000, NULL), -1);
	free(extra);
	free(padded);
	free(token);
}

/* The test token with its MAC re-encoded after keeping only `keep` bytes and appending `extra`. */
static char *token_with_mac_resized(size_t keep, size_t extra)
{
	char *token = sign_test_claims();
	char *dot = strrchr(token, '.');
	unsigned char mac[SHA256_LEN + 8] = { 0 };
	unsigned char *decoded;
	size_t decoded_len;
	char *signature, *resized = NULL;

	assert_int_equal(base64url_decode(dot + 1, strlen(dot + 1), &decoded, &decoded_len), 0);
	assert_int_equal(decoded_len, SHA256_LEN);
	memcpy(mac, decoded, SHA256_LEN);
	free(decoded);
	signature = base64url_encode(mac, keep + extra);
	assert_non_null(signature);
	*dot = '\0';
	assert_true(asprintf(&resized, "%s.%s", token, signature) > 0);
	free(signature);
	free(token);
	return resized;
}

static void test_verify_rejects_resized_mac(void **state)
{
	char *token;
	(void)state;

	token = token_with_mac_resized(SHA256_LEN, 0);     /* unchanged: the control */
	assert_int_equal(jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN, 1700000000, NULL), 0);
	free(token);
	token = token_with_mac_resized(SHA256_LEN, 1);
	assert_int_equal(jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN, 1700000000, NULL), -1);
	free(token);
	token = token_with_mac_resized(SHA256_LEN - 1, 0);
	assert_int_equal(jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN, 1700000000, NULL), -1);
	free(token);
	token = token_with_mac_resized(0, 0);
	assert_int_equal(jwt_verify_hs256(token, TEST_KEY, TEST_KEY_LEN, 1700000000, NULL), -1);
	free(token);
}

/* ---- reading the expiry ----------------------------------------------------- */

/*
 * Made by Python with its default json.dumps separators (", ", ": "), so
 * the JSON differs byte-wise from ours:
 *   {"alg": "HS256", "typ": "JWT"} .
 *   {"sub": "backend-issued", "type": "access", "iat": 1700000000, "exp": 1700003600}
 * signed with hmac.new(b"python-side secret", ..., hashlib.sha256).
 */
static const char PYTHON_BACKEND_TOKEN[] =
	"eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9."
	"eyJzdWIiOiAiYmFja2VuZC1pc3N1ZWQiLCAidHlwZSI6ICJhY2Nlc3MiLCAiaWF0IjogMTcwMDAwMDAwMCwgImV4"
	"cCI6IDE3MDAwMDM2MDB9."
	"DUmncS5_u2cgVvzgqPYZImB8yK3GI17T_93tlzLW8Bs";
static const char PYTHON_SECRET[] = "python-side secret";

static void test_read_expiry_of_python_token(void **state)
{
	int64_t exp = 0;
	(void)state;

	assert_int_equal(jwt_read_expiry(PYTHON_BACKEND_TOKEN, &exp), 0);
	assert_int_equal(exp, 1700003600);
	/* And the signature Python's hmac made verifies here. */
	assert_int_equal(jwt_verify_hs256(PYTHON_BACKEND_TOKEN, PYTHON_SECRET,
					  strlen(PYTHON_SECRET), 1700000000, NULL), 0);
}

static void test_read_expiry_rounds_fractional_dates_down(void **state)
{
	/* Python: {"sub": "x", "exp": 1700003600.75}, key b"k". */
	static const char token[] =
		"eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9."
		"eyJzdWIiOiAieCIsICJleHAiOiAxNzAwMDAzNjAwLjc1fQ."
		"qcTDqawqRm3kaahy48PStdh_HgMnVhriilMUOz4wAGY";
	int64_t exp = 0;
	(void)state;

	assert_int_equal(jwt_read_expiry(token, &exp), 0);
	assert_int_equal(exp, 1700003600);
}

static void test_read_expiry_of_own_token(void **state)
{
	char *token = sign_test_claims();
	int64_t exp = 0;
	(void)state;

	assert_int_equal(jwt_read_expiry(token, &exp), 0);
	assert_int_equal(exp, TEST_CLAIMS.issued_at + TEST_CLAIMS.lifetime_s);
	free(token);
}

static void check_no_expiry(const char *token)
{
	int64_t exp = 42;

	if (jwt_read_expiry(token, &exp) != -1)
		fail_msg("read an expiry from \"%s\"", token);
	assert_int_equal(exp, 42);
}

static void test_read_expiry_rejects_malformed(void **state)
{
	const char *header = "{\"alg\":\"HS256\"}";
	static const char *const payloads[] = {
		"{\"sub\":\"x\"}", "{\"exp\":\"soon\"}", "{\"exp\":null}", "[1700003600]",
		"{\"exp\":1e300}", "not json",
	};
	char *token;
	(void)state;

	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		token = make_token(header, payloads[i], "k", 1);
		check_no_expiry(token);
		free(token);
	}
	token = make_token("not json", "{\"exp\":1}", "k", 1);
	check_no_expiry(token);
	free(token);
	check_no_expiry("");
	check_no_expiry("eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9");           /* two parts */
	check_no_expiry("eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln.c2ln");  /* four parts */
	check_no_expiry("eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9=.c2ln");      /* padding */
	check_no_expiry("eyJhbGciOiJIUzI1NiJ9.e*JleHAiOjF9.c2ln");       /* bad character */
	check_no_expiry(NULL);
	/* The well-formed counterpart is read: the cases above are not vacuous. */
	token = make_token(header, "{\"exp\":1}", "k", 1);
	{
		int64_t exp = 0;

		assert_int_equal(jwt_read_expiry(token, &exp), 0);
		assert_int_equal(exp, 1);
	}
	free(token);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64url_rfc4648_vectors),
		cmocka_unit_test(test_base64url_tolerates_final_padding),
		cmocka_unit_test(test_base64url_round_trips),
		cmocka_unit_test(test_base64url_rejects_invalid_text),
		cmocka_unit_test(test_base64url_decodes_only_given_length),
		cmocka_unit_test(test_hmac_rfc4231_vectors),
		cmocka_unit_test(test_sign_matches_python),
		cmocka_unit_test(test_sign_header_is_exact),
		cmocka_unit_test(test_sign_claims_are_exact),
		cmocka_unit_test(test_sign_escapes_awkward_strings),
		cmocka_unit_test(test_signature_agrees_with_reference_hmac),
		cmocka_unit_test(test_sign_refuses_bad_arguments),
		cmocka_unit_test(test_verify_accepts_own_token),
		cmocka_unit_test(test_verify_rejects_out_of_date),
		cmocka_unit_test(test_verify_rejects_any_changed_character),
		cmocka_unit_test(test_verify_rejects_wrong_key),
		cmocka_unit_test(test_verify_requires_hs256),
		cmocka_unit_test(test_verify_requires_sound_claims),
		cmocka_unit_test(test_verify_rejects_malformed_tokens),
		cmocka_unit_test(test_verify_rejects_resized_mac),
		cmocka_unit_test(test_read_expiry_of_python_token),
		cmocka_unit_test(test_read_expiry_rounds_fractional_dates_down),
		cmocka_unit_test(test_read_expiry_of_own_token),
		cmocka_unit_test(test_read_expiry_rejects_malformed),
	};

	return cmocka_run_group_tests_name("jwt", tests, NULL, NULL);
}

#include "base64url.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

static const char ALPHABET[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#define NOT_IN_ALPHABET 0xff

/* The 6-bit value of `c`, or NOT_IN_ALPHABET. */
static unsigned sextet_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return NOT_IN_ALPHABET;
}

/* Characters for `len` bytes: 4 per full group of 3, then 2 or 3 for the rest. */
static bool encoded_length(size_t len, size_t *chars)
{
	size_t groups = len / 3, rest = len % 3;

	if (groups > (SIZE_MAX - 4) / 4)
		return false;
	*chars = groups * 4 + (rest == 0 ? 0 : rest + 1);
	return true;
}

char *base64url_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	size_t chars, o = 0, i = 0;
	char *text;

	if ((data == NULL && len > 0) || !encoded_length(len, &chars))
		return NULL;
	text = malloc(chars + 1);
	if (text == NULL)
		return NULL;
	for (; len - i >= 3; i += 3) {
		uint32_t bits = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		text[o++] = ALPHABET[bits >> 18 & 63];
		text[o++] = ALPHABET[bits >> 12 & 63];
		text[o++] = ALPHABET[bits >> 6 & 63];
		text[o++] = ALPHABET[bits & 63];
	}
	if (len - i > 0) {
		uint32_t bits = (uint32_t)in[i] << 16;

		if (len - i == 2)
			bits |= (uint32_t)in[i + 1] << 8;
		text[o++] = ALPHABET[bits >> 18 & 63];
		text[o++] = ALPHABET[bits >> 12 & 63];
		if (len - i == 2)
			text[o++] = ALPHABET[bits >> 6 & 63];
	}
	text[o] = '\0';
	return text;
}

/*
 * The length without trailing padding, or false when the padding is not
 * what an encoder would write: one or two '=' completing the last group of 4.
 */
static bool strip_padding(const char *text, size_t text_len, size_t *data_chars)
{
	size_t end = text_len;

	while (end > 0 && text[end - 1] == '=' && text_len - end < 2)
		end--;
	if (end < text_len && (text_len % 4 != 0 || end % 4 < 2))
		return false;
	*data_chars = end;
	return true;
}

/*
 * Decode `chars` characters (no padding) into `out`.  False on a character
 * outside the alphabet or non-zero bits left over after the last byte.
 */
static bool decode_sextets(const char *text, size_t chars, unsigned char *out)
{
	uint32_t bits = 0;
	unsigned pending = 0;   /* bits accumulated but not yet written */
	size_t o = 0;

	for (size_t i = 0; i < chars; i++) {
		unsigned value = sextet_value((unsigned char)text[i]);

		if (value == NOT_IN_ALPHABET)
			return false;
		bits = (bits << 6 | value) & 0xffffff;
		pending += 6;
		if (pending >= 8) {
			pending -= 8;
			out[o++] = (unsigned char)(bits >> pending);
		}
	}
	/* The 2 or 4 bits that do not make a byte must be zero (RFC 4648 §3.5). */
	return (bits & ((1u << pending) - 1)) == 0;
}

int base64url_decode(const char *text, size_t text_len, unsigned char **out,
		     size_t *out_len)
{
	size_t chars, bytes;
	unsigned char *buf;

	*out = NULL;
	*out_len = 0;
	if ((text == NULL && text_len > 0) || !strip_padding(text, text_len, &chars))
		return -1;
	if (chars % 4 == 1)
		return -1;
	bytes = chars / 4 * 3 + (chars % 4 == 0 ? 0 : chars % 4 - 1);
	/* One spare byte, so that an empty result is still a valid pointer. */
	buf = malloc(bytes + 1);
	if (buf == NULL)
		return -1;
	if (!decode_sextets(text, chars, buf)) {
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = bytes;
	return 0;
}

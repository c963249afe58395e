/*
 * pganalytics/utf8.h - the emitter's UTF-8 rule, for plugins.
 *
 * The emitter refuses a string or key that is not valid UTF-8 and drops
 * the record that holds it.  Text a plugin does not control (names read
 * from a database in another encoding, bytes from a log file) can be
 * checked, or repaired, with the same rule the emitter applies.  Header
 * only: nothing here is part of the plugin ABI.
 */
#ifndef PGANALYTICS_UTF8_H
#define PGANALYTICS_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Length of the prefix of text[0..len) that is ASCII without NUL, eight bytes at a time. */
static inline size_t pga_utf8_ascii_prefix(const unsigned char *text, size_t len)
{
	const uint64_t high_bits = 0x8080808080808080ULL, low_bits = 0x0101010101010101ULL;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t word;

		memcpy(&word, text + i, sizeof(word));
		/* A byte >= 0x80, or a zero byte (the classic has-zero-byte test). */
		if ((word & high_bits) != 0 || ((word - low_bits) & ~word & high_bits) != 0)
			break;
	}
	while (i < len && text[i] >= 0x01 && text[i] <= 0x7f)
		i++;
	return i;
}

/*
 * pga_utf8_valid_prefix - the length of the longest prefix of text[0..len)
 * that the emitter accepts: len when all of it is valid.  Refused: NUL
 * (JSON consumers stop at it), overlong forms, surrogates, code points
 * above U+10FFFF and truncated sequences (Unicode, table 3-7).
 */
static inline size_t pga_utf8_valid_prefix(const unsigned char *text, size_t len)
{
	size_t i = pga_utf8_ascii_prefix(text, len);

	while (i < len) {
		unsigned char c = text[i], lo = 0x80, hi = 0xbf;
		size_t tail;

		if (c >= 0x01 && c <= 0x7f) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			tail = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			tail = 2;
			lo = c == 0xe0 ? 0xa0 : 0x80;   /* overlong below U+0800 */
			hi = c == 0xed ? 0x9f : 0xbf;   /* surrogates U+D800..DFFF */
		} else if (c >= 0xf0 && c <= 0xf4) {
			tail = 3;
			lo = c == 0xf0 ? 0x90 : 0x80;   /* overlong below U+10000 */
			hi = c == 0xf4 ? 0x8f : 0xbf;   /* above U+10FFFF */
		} else {
			return i;                       /* NUL, stray continuation, C0/C1, F5..FF */
		}
		if (len - i <= tail || text[i + 1] < lo || text[i + 1] > hi)
			return i;
		for (size_t k = 2; k <= tail; k++)
			if (text[i + k] < 0x80 || text[i + k] > 0xbf)
				return i;
		i += tail + 1;
	}
	return len;
}

#endif

/*
 * emit_text.c - log bytes to the emitter, repaired to valid UTF-8
 * (see report.h).
 */
#include <stdlib.h>
#include <string.h>

#include <pganalytics/utf8.h>

#include "report.h"

int emit_text(const struct pga_host *h, struct pga_emitter *em, const char *key,
	      const char *text, size_t len)
{
	static const char replacement[] = "\xef\xbf\xbd";
	const unsigned char *in = (const unsigned char *)text;
	size_t valid = pga_utf8_valid_prefix(in, len);
	char *fixed;
	size_t used = 0;
	int rc;

	if (valid == len)
		return h->set_stringn(em, key, text, len);
	/* Worst case every byte becomes a three-byte U+FFFD. */
	fixed = malloc(len * 3 + 1);
	if (fixed == NULL)
		return h->set_stringn(em, key, text, valid);
	for (size_t i = 0; i < len;) {
		size_t ok = pga_utf8_valid_prefix(in + i, len - i);

		memcpy(fixed + used, in + i, ok);
		used += ok;
		i += ok;
		if (i < len) {
			memcpy(fixed + used, replacement, 3);
			used += 3;
			i++;
		}
	}
	rc = h->set_stringn(em, key, fixed, used);
	free(fixed);
	return rc;
}

/*
 * path_text.c - byte strings made valid UTF-8 for the emitter (see path_text.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pganalytics/utf8.h>

#include "path_text.h"

/* Longest repair: every byte becomes \xNN. */
#define REPAIRED_PER_BYTE 4

int emit_path_text(const struct pga_host *host, struct pga_emitter *em, const char *key,
		   const char *value)
{
	const unsigned char *in = (const unsigned char *)value;
	size_t len = strlen(value), used = 0;
	char *out;
	int rc;

	if (pga_utf8_valid_prefix(in, len) == len)
		return host->set_string(em, key, value);
	if ((out = malloc(len * REPAIRED_PER_BYTE + 1)) == NULL)
		return PGA_ENOMEM;
	for (size_t i = 0; i < len;) {
		size_t valid = pga_utf8_valid_prefix(in + i, len - i);

		memcpy(out + used, in + i, valid);
		used += valid;
		i += valid;
		if (i < len) {
			snprintf(out + used, REPAIRED_PER_BYTE + 1, "\\x%02x", in[i]);
			used += REPAIRED_PER_BYTE;
			i++;
		}
	}
	rc = host->set_stringn(em, key, out, used);
	free(out);
	return rc;
}

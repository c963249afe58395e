/*
 * path_text.h - paths, device names and filesystem types as emitter
 * strings.  They are bytes, not text: a name that is not valid UTF-8 would
 * make the emitter drop the whole record, so each byte of an invalid
 * sequence is written as the four characters \xNN instead.
 */
#ifndef PGA_DISK_PATH_TEXT_H
#define PGA_DISK_PATH_TEXT_H

#include <pganalytics/plugin.h>

/* emit_path_text - set_string of `value`, repaired as above when needed. */
int emit_path_text(const struct pga_host *host, struct pga_emitter *em, const char *key,
		   const char *value);

#endif

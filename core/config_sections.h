/*
 * config_sections.h - find the top-level sections of a libconfuse file.
 *
 * libconfuse gives every section with the same name one option schema, but
 * each `plugin NAME { }` section has the schema of its own plugin.  So the
 * configuration is parsed in passes that each see only some sections; the
 * others are blanked out (every byte but newlines becomes a space) so that
 * line numbers in libconfuse's messages stay true.
 */
#ifndef PGA_CORE_CONFIG_SECTIONS_H
#define PGA_CORE_CONFIG_SECTIONS_H

#include <stddef.h>

struct section_span {
	char *name;     /* "collector", "plugin", ... */
	char *title;    /* NULL for untitled sections */
	size_t start;   /* offset of the name */
	size_t end;     /* offset just past the closing brace */
	int line;       /* 1-based line of the name */
};

/*
 * config_find_sections - list the top-level sections of text[0..len).
 * Comments (#, //, / * * /) and quoted strings are skipped; a top-level
 * `key = value`, `key = {list}` or `func(...)` is not a section.  Text
 * that does not scan (an unterminated string or section, syntax this
 * scanner does not know) ends the list early; *stopped_line is then the
 * line where scanning stopped, else 0.  *spans is malloc'd; free it with
 * config_free_sections().  Returns 0, or -1 on out of memory.
 */
int config_find_sections(const char *text, size_t len,
			 struct section_span **spans, size_t *n_spans, int *stopped_line);

/* config_free_sections - free what config_find_sections() returned. */
void config_free_sections(struct section_span *spans, size_t n_spans);

/* config_blank_span - overwrite text[start..end) with spaces, keeping '\n'. */
void config_blank_span(char *text, size_t start, size_t end);

#endif

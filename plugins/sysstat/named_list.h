/*
 * named_list.h - what /proc/diskstats and /proc/net/dev have in common: a
 * file of one line per named thing (a device, an interface), parsed into
 * fixed-size items kept sorted by name, so that the previous cycle's item
 * of the same name is found by binary search.
 *
 * Each item begins with its name as a NUL-terminated char array.
 */
#ifndef SYSSTAT_NAMED_LIST_H
#define SYSSTAT_NAMED_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "proc_text.h"

struct named_list {
	void *items;
	size_t n, cap;
};

/* How one file's lines become items. */
struct named_list_kind {
	size_t item_size;
	size_t max_items;            /* a bound on what one file may make us allocate */
	/* parse_line - one line into *item; false for a line that holds none (then *err, unless a header). */
	bool (*parse_line)(struct text_span line, unsigned number, void *item, struct parse_error *err);
	const char *too_many;        /* the problem when max_items is reached */
	const char *listed_twice;    /* the problem when a name has two lines (one is kept) */
};

/*
 * named_list_parse - every line of text[0..len) that parse_line accepts,
 * into *list (reused and grown), sorted by name, each name once.  Returns
 * false only when out of memory.
 */
bool named_list_parse(const struct named_list_kind *kind, const char *text, size_t len,
		      struct named_list *list, struct parse_error *err);

/* named_list_find - the item named name[0..len) (not NUL-terminated), or NULL. */
const void *named_list_find(const struct named_list_kind *kind, const struct named_list *list,
			    const char *name, size_t len);

/* named_list_at - item i (i < list->n). */
const void *named_list_at(const struct named_list_kind *kind, const struct named_list *list, size_t i);

/* named_list_free - release the items; the list may be parsed into again. */
void named_list_free(struct named_list *list);

#endif

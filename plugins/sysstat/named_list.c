/*
 * named_list.c - name-sorted lists of /proc items (see named_list.h).
 */
#include "named_list.h"

#include <stdlib.h>
#include <string.h>

static char *item_at(const struct named_list_kind *kind, const struct named_list *list, size_t i)
{
	return (char *)list->items + i * kind->item_size;
}

const void *named_list_at(const struct named_list_kind *kind, const struct named_list *list, size_t i)
{
	return item_at(kind, list, i);
}

static bool grow(const struct named_list_kind *kind, struct named_list *list)
{
	size_t cap = list->cap ? list->cap * 2 : 16;
	void *items = realloc(list->items, cap * kind->item_size);

	if (items == NULL)
		return false;
	list->items = items;
	list->cap = cap;
	return true;
}

/* Items begin with their name, so strcmp on the items compares names. */
static int by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Two lines cannot describe one thing: a name listed twice keeps one of its lines. */
static void drop_duplicates(const struct named_list_kind *kind, struct named_list *list,
			    struct parse_error *err)
{
	size_t kept = 0;

	for (size_t i = 0; i < list->n; i++) {
		if (kept > 0 && strcmp(item_at(kind, list, kept - 1), item_at(kind, list, i)) == 0) {
			parse_error_set(err, 1, NULL, kind->listed_twice);
			continue;
		}
		if (kept != i)
			memcpy(item_at(kind, list, kept), item_at(kind, list, i), kind->item_size);
		kept++;
	}
	list->n = kept;
}

bool named_list_parse(const struct named_list_kind *kind, const char *text, size_t len,
		      struct named_list *list, struct parse_error *err)
{
	struct text_cursor c;
	struct text_span line;

	list->n = 0;
	text_cursor_init(&c, text, len);
	while (text_next_line(&c, &line)) {
		if (list->n == list->cap && !grow(kind, list))
			return false;
		if (!kind->parse_line(line, c.line, item_at(kind, list, list->n), err))
			continue;
		if (list->n == kind->max_items) {
			parse_error_set(err, c.line, NULL, kind->too_many);
			break;
		}
		list->n++;
	}
	if (list->n > 1)
		qsort(list->items, list->n, kind->item_size, by_name);
	drop_duplicates(kind, list, err);
	return true;
}

/* Like strcmp(item, name[0..len)), for a name that is not NUL-terminated. */
static int compare_name(const char *item, const char *name, size_t len)
{
	int cmp = strncmp(item, name, len);

	return cmp != 0 ? cmp : item[len] != '\0';
}

const void *named_list_find(const struct named_list_kind *kind, const struct named_list *list,
			    const char *name, size_t len)
{
	size_t lo = 0, hi = list->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = compare_name(item_at(kind, list, mid), name, len);

		if (cmp == 0)
			return item_at(kind, list, mid);
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void named_list_free(struct named_list *list)
{
	free(list->items);
	list->items = NULL;
	list->n = list->cap = 0;
}

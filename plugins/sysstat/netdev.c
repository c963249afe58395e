#include "netdev.h"

#include <stdlib.h>
#include <string.h>

#include "counter.h"

const char *const iface_rate_names[IF_FIELDS] = {
	"rx_bytes_per_s", "rx_packets_per_s", "rx_errors_per_s", "rx_drops_per_s",
	"tx_bytes_per_s", "tx_packets_per_s", "tx_errors_per_s", "tx_drops_per_s",
};

/* The 16 columns: receive bytes packets errs drop fifo frame compressed multicast, then transmit. */
#define NETDEV_COLUMNS 16
static const int column_of[IF_FIELDS] = { 0, 1, 2, 3, 8, 9, 10, 11 };

static bool grow(struct iface_list *list)
{
	size_t cap = list->cap ? list->cap * 2 : 16;
	struct iface_counters *items = realloc(list->items, cap * sizeof(*items));

	if (items == NULL)
		return false;
	list->items = items;
	list->cap = cap;
	return true;
}

/* The name before the line's last ':' (old kernels write "eth0:123" with no space). */
static bool split_name(struct text_span line, struct text_span *name, struct text_span *rest)
{
	const char *colon = NULL;

	for (size_t i = 0; i < line.len; i++)
		if (line.s[i] == ':')
			colon = line.s + i;
	if (colon == NULL)
		return false;
	name->s = line.s;
	name->len = (size_t)(colon - line.s);
	while (name->len > 0 && (name->s[0] == ' ' || name->s[0] == '\t')) {
		name->s++;
		name->len--;
	}
	rest->s = colon + 1;
	rest->len = line.len - (size_t)(rest->s - line.s);
	return true;
}

/* One interface line into *out; false when it is a header or malformed (then *err). */
static bool parse_line(struct text_span line, unsigned number, struct iface_counters *out,
		       struct parse_error *err)
{
	struct text_span name, rest, f[NETDEV_COLUMNS];
	uint64_t columns[NETDEV_COLUMNS];

	if (!split_name(line, &name, &rest))
		return false;   /* the "Inter-|" and " face |" headers */
	if (name.len == 0 || name.len > IFACE_NAME_MAX || memchr(name.s, '\0', name.len) ||
	    memchr(name.s, ' ', name.len)) {
		parse_error_set(err, number, &name, "not an interface name");
		return false;
	}
	if (text_split(rest, f, NETDEV_COLUMNS) != NETDEV_COLUMNS) {
		parse_error_set(err, number, &name, "expected 16 counters after the name");
		return false;
	}
	for (int i = 0; i < NETDEV_COLUMNS; i++) {
		if (!text_u64(f[i], &columns[i])) {
			parse_error_set(err, number, &f[i], "not an unsigned integer");
			return false;
		}
	}
	memcpy(out->name, name.s, name.len);
	out->name[name.len] = '\0';
	for (int i = 0; i < IF_FIELDS; i++)
		out->value[i] = columns[column_of[i]];
	return true;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct iface_counters *)a)->name,
		      ((const struct iface_counters *)b)->name);
}

/* Two lines cannot describe one interface: a name listed twice keeps one of its lines. */
static void drop_duplicates(struct iface_list *list, struct parse_error *err)
{
	size_t kept = 0;

	for (size_t i = 0; i < list->n; i++) {
		if (kept > 0 && strcmp(list->items[kept - 1].name, list->items[i].name) == 0) {
			parse_error_set(err, 1, NULL, "an interface name is listed twice");
			continue;
		}
		list->items[kept++] = list->items[i];
	}
	list->n = kept;
}

bool netdev_parse(const char *text, size_t len, struct iface_list *list,
		  struct parse_error *err)
{
	struct text_cursor c;
	struct text_span line;

	list->n = 0;
	text_cursor_init(&c, text, len);
	while (text_next_line(&c, &line)) {
		if (list->n == list->cap && !grow(list))
			return false;
		if (!parse_line(line, c.line, &list->items[list->n], err))
			continue;
		if (list->n == NETDEV_MAX_INTERFACES) {
			parse_error_set(err, c.line, NULL, "too many interfaces; the rest are ignored");
			break;
		}
		list->n++;
	}
	if (list->n > 1)
		qsort(list->items, list->n, sizeof(*list->items), by_name);
	drop_duplicates(list, err);
	return true;
}

void iface_list_free(struct iface_list *list)
{
	free(list->items);
	list->items = NULL;
	list->n = list->cap = 0;
}

const struct iface_counters *iface_find(const struct iface_list *list, const char *name)
{
	size_t lo = 0, hi = list->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(list->items[mid].name, name);

		if (cmp == 0)
			return &list->items[mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool iface_rates_between(const struct iface_counters *before, const struct iface_counters *after,
			 double elapsed_s, double rates[IF_FIELDS])
{
	uint64_t delta[IF_FIELDS];

	if (elapsed_s <= 0)
		return false;
	for (int i = 0; i < IF_FIELDS; i++)
		if (!counter_delta(before->value[i], after->value[i], &delta[i]))
			return false;
	for (int i = 0; i < IF_FIELDS; i++)
		rates[i] = (double)delta[i] / elapsed_s;
	return true;
}

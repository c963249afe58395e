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

/* One interface line into *item; false when it is a header or malformed (then *err). */
static bool parse_line(struct text_span line, unsigned number, void *item, struct parse_error *err)
{
	struct iface_counters *out = item;
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

static const struct named_list_kind iface_kind = {
	sizeof(struct iface_counters), NETDEV_MAX_INTERFACES, parse_line,
	"too many interfaces; the rest are ignored", "an interface name is listed twice",
};

bool netdev_parse(const char *text, size_t len, struct iface_list *list,
		  struct parse_error *err)
{
	return named_list_parse(&iface_kind, text, len, &list->names, err);
}

void iface_list_free(struct iface_list *list)
{
	named_list_free(&list->names);
}

const struct iface_counters *iface_find(const struct iface_list *list, const char *name)
{
	return named_list_find(&iface_kind, &list->names, name, strlen(name));
}

size_t iface_count(const struct iface_list *list)
{
	return list->names.n;
}

const struct iface_counters *iface_at(const struct iface_list *list, size_t i)
{
	return named_list_at(&iface_kind, &list->names, i);
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

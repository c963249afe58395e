/*
 * netdev.h - /proc/net/dev: per interface traffic counters and the rates
 * between two readings.
 */
#ifndef SYSSTAT_NETDEV_H
#define SYSSTAT_NETDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "named_list.h"
#include "proc_text.h"

enum iface_field {
	IF_RX_BYTES, IF_RX_PACKETS, IF_RX_ERRORS, IF_RX_DROPS,
	IF_TX_BYTES, IF_TX_PACKETS, IF_TX_ERRORS, IF_TX_DROPS, IF_FIELDS
};

/* The record's name of each rate: "rx_bytes_per_s", ... */
extern const char *const iface_rate_names[IF_FIELDS];

/* Longer than any interface name the kernel allows (15); a longer one is reported, not cut. */
#define IFACE_NAME_MAX 63
#define NETDEV_MAX_INTERFACES 65536

struct iface_counters {
	char name[IFACE_NAME_MAX + 1];
	uint64_t value[IF_FIELDS];
};

/* Sorted by name once parsed. */
struct iface_list {
	struct named_list names;
};

/*
 * netdev_parse - every interface line of /proc/net/dev text (the two
 * header lines are recognised by having no "name:") into *list, reused
 * and grown, sorted by name.  A malformed line is skipped (the first is
 * described in *err).  Returns false only when out of memory.
 */
bool netdev_parse(const char *text, size_t len, struct iface_list *list,
		  struct parse_error *err);

void iface_list_free(struct iface_list *list);

/* iface_find - the interface called `name`, or NULL. */
const struct iface_counters *iface_find(const struct iface_list *list, const char *name);
/* iface_count, iface_at - the interfaces in name order. */
size_t iface_count(const struct iface_list *list);
const struct iface_counters *iface_at(const struct iface_list *list, size_t i);

/*
 * iface_rates_between - per second over `elapsed_s`, in enum iface_field
 * order.  False after a counter reset (see counter.h).
 */
bool iface_rates_between(const struct iface_counters *before, const struct iface_counters *after,
			 double elapsed_s, double rates[IF_FIELDS]);

#endif

#include "diskstats.h"

#include <stdlib.h>
#include <string.h>

#include "counter.h"

/* diskstats counts 512-byte sectors whatever the device's sector size. */
#define SECTOR_BYTES 512.0

static bool parse_device_number(struct text_span field, uint32_t *out)
{
	uint64_t n;

	if (!text_u64(field, &n) || n > UINT32_MAX)
		return false;
	*out = (uint32_t)n;
	return true;
}

/* One line into *item; false (and *err) when it is not a device line. */
static bool parse_line(struct text_span line, unsigned number, void *item, struct parse_error *err)
{
	struct disk_counters *d = item;
	struct text_span f[3 + DISK_FIELDS];
	size_t n = text_split(line, f, 3 + DISK_FIELDS);

	if (n == 0)
		return false;
	if (n < 3 + DISK_FIELDS) {
		parse_error_set(err, number, &f[0], "fewer than 14 columns");
		return false;
	}
	if (!parse_device_number(f[0], &d->major) || !parse_device_number(f[1], &d->minor)) {
		parse_error_set(err, number, &f[0], "the device numbers are not integers");
		return false;
	}
	if (f[2].len > DISK_NAME_MAX || memchr(f[2].s, '\0', f[2].len) != NULL) {
		parse_error_set(err, number, &f[2], "not a device name");
		return false;
	}
	memcpy(d->name, f[2].s, f[2].len);
	d->name[f[2].len] = '\0';
	for (int i = 0; i < DISK_FIELDS; i++) {
		if (!text_u64(f[3 + i], &d->value[i])) {
			parse_error_set(err, number, &f[3 + i], "not an unsigned integer");
			return false;
		}
	}
	return true;
}

static const struct named_list_kind disk_kind = {
	sizeof(struct disk_counters), DISKSTATS_MAX_DEVICES, parse_line,
	"too many devices; the rest are ignored", "a device name is listed twice",
};

bool diskstats_parse(const char *text, size_t len, struct disk_list *list,
		     struct parse_error *err)
{
	return named_list_parse(&disk_kind, text, len, &list->names, err);
}

void disk_list_free(struct disk_list *list)
{
	named_list_free(&list->names);
}

static const struct disk_counters *find_span(const struct disk_list *list, const char *name,
					     size_t len)
{
	return named_list_find(&disk_kind, &list->names, name, len);
}

const struct disk_counters *disk_find(const struct disk_list *list, const char *name)
{
	return find_span(list, name, strlen(name));
}

size_t disk_count(const struct disk_list *list)
{
	return list->names.n;
}

const struct disk_counters *disk_at(const struct disk_list *list, size_t i)
{
	return named_list_at(&disk_kind, &list->names, i);
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

enum disk_kind disk_kind_of(const struct disk_list *list, const struct disk_counters *disk)
{
	const char *name = disk->name;
	size_t len = strlen(name), base = len;

	if (strncmp(name, "loop", 4) == 0)
		return DISK_LOOP;
	if (strncmp(name, "ram", 3) == 0)
		return DISK_RAM;
	while (base > 0 && is_digit(name[base - 1]))
		base--;
	if (base == len || base == 0)
		return DISK_WHOLE;
	if (!is_digit(name[base - 1]) && find_span(list, name, base) != NULL)
		return DISK_PARTITION;   /* sda1 */
	if (base >= 2 && name[base - 1] == 'p' && is_digit(name[base - 2]) &&
	    find_span(list, name, base - 1) != NULL)
		return DISK_PARTITION;   /* nvme0n1p1 */
	return DISK_WHOLE;
}

/* Every counter's increase; false when one was reset. */
static bool deltas(const struct disk_counters *before, const struct disk_counters *after,
		   uint64_t *delta)
{
	for (int i = 0; i < DISK_FIELDS; i++) {
		if (i == DISK_IN_FLIGHT)
			continue;   /* a gauge */
		if (!counter_delta(before->value[i], after->value[i], &delta[i]))
			return false;
	}
	return true;
}

bool disk_rates_between(const struct disk_counters *before, const struct disk_counters *after,
			double elapsed_s, struct disk_rates *out)
{
	uint64_t d[DISK_FIELDS] = { 0 };
	double elapsed_ms = elapsed_s * 1000.0;

	if (elapsed_s <= 0 || before->major != after->major || before->minor != after->minor ||
	    !deltas(before, after, d))
		return false;
	out->reads_per_s = (double)d[DISK_READS] / elapsed_s;
	out->writes_per_s = (double)d[DISK_WRITES] / elapsed_s;
	out->read_bytes_per_s = (double)d[DISK_READ_SECTORS] * SECTOR_BYTES / elapsed_s;
	out->write_bytes_per_s = (double)d[DISK_WRITE_SECTORS] * SECTOR_BYTES / elapsed_s;
	out->read_merges_per_s = (double)d[DISK_READ_MERGES] / elapsed_s;
	out->write_merges_per_s = (double)d[DISK_WRITE_MERGES] / elapsed_s;
	out->has_read_wait = d[DISK_READS] > 0;
	out->read_wait_ms = out->has_read_wait ? (double)d[DISK_READ_MS] / (double)d[DISK_READS] : 0;
	out->has_write_wait = d[DISK_WRITES] > 0;
	out->write_wait_ms =
		out->has_write_wait ? (double)d[DISK_WRITE_MS] / (double)d[DISK_WRITES] : 0;
	/* The kernel's busy time is sampled per request: it can exceed the interval a little. */
	out->util_pct = 100.0 * (double)d[DISK_IO_MS] / elapsed_ms;
	if (out->util_pct > 100.0)
		out->util_pct = 100.0;
	out->queue_depth = (double)d[DISK_WEIGHTED_MS] / elapsed_ms;
	return true;
}

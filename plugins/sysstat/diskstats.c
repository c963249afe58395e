#include "diskstats.h"

#include <stdlib.h>
#include <string.h>

#include "counter.h"

/* diskstats counts 512-byte sectors whatever the device's sector size. */
#define SECTOR_BYTES 512.0

static bool grow(struct disk_list *list)
{
	size_t cap = list->cap ? list->cap * 2 : 16;
	struct disk_counters *items = realloc(list->items, cap * sizeof(*items));

	if (items == NULL)
		return false;
	list->items = items;
	list->cap = cap;
	return true;
}

static bool parse_device_number(struct text_span field, uint32_t *out)
{
	uint64_t n;

	if (!text_u64(field, &n) || n > UINT32_MAX)
		return false;
	*out = (uint32_t)n;
	return true;
}

/* One line into *d; false (and *err) when it is not a device line. */
static bool parse_line(struct text_span line, unsigned number, struct disk_counters *d,
		       struct parse_error *err)
{
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

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct disk_counters *)a)->name,
		      ((const struct disk_counters *)b)->name);
}

/* Two lines cannot describe one device: a name listed twice keeps one of its lines. */
static void drop_duplicates(struct disk_list *list, struct parse_error *err)
{
	size_t kept = 0;

	for (size_t i = 0; i < list->n; i++) {
		if (kept > 0 && strcmp(list->items[kept - 1].name, list->items[i].name) == 0) {
			parse_error_set(err, 1, NULL, "a device name is listed twice");
			continue;
		}
		list->items[kept++] = list->items[i];
	}
	list->n = kept;
}

bool diskstats_parse(const char *text, size_t len, struct disk_list *list,
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
		if (list->n == DISKSTATS_MAX_DEVICES) {
			parse_error_set(err, c.line, NULL, "too many devices; the rest are ignored");
			break;
		}
		list->n++;
	}
	if (list->n > 1)
		qsort(list->items, list->n, sizeof(*list->items), by_name);
	drop_duplicates(list, err);
	return true;
}

void disk_list_free(struct disk_list *list)
{
	free(list->items);
	list->items = NULL;
	list->n = list->cap = 0;
}

/* Like strcmp(item, name[0..len)), for a name that is not NUL-terminated. */
static int compare_name(const char *item, const char *name, size_t len)
{
	int cmp = strncmp(item, name, len);

	return cmp != 0 ? cmp : item[len] != '\0';
}

static const struct disk_counters *find_span(const struct disk_list *list, const char *name,
					     size_t len)
{
	size_t lo = 0, hi = list->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = compare_name(list->items[mid].name, name, len);

		if (cmp == 0)
			return &list->items[mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct disk_counters *disk_find(const struct disk_list *list, const char *name)
{
	return find_span(list, name, strlen(name));
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

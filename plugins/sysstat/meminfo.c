#include "meminfo.h"

#include <string.h>

const struct meminfo_key meminfo_keys[MEM_FIELDS] = {
	[MEM_TOTAL] = { "MemTotal", "total_bytes", true },
	[MEM_AVAILABLE] = { "MemAvailable", "available_bytes", true },
	[MEM_FREE] = { "MemFree", "free_bytes", true },
	[MEM_BUFFERS] = { "Buffers", "buffers_bytes", true },
	[MEM_CACHED] = { "Cached", "cached_bytes", true },
	[MEM_DIRTY] = { "Dirty", "dirty_bytes", true },
	[MEM_WRITEBACK] = { "Writeback", "writeback_bytes", true },
	[MEM_SHMEM] = { "Shmem", "shmem_bytes", true },
	[MEM_SLAB] = { "Slab", "slab_bytes", true },
	[MEM_SWAP_TOTAL] = { "SwapTotal", "swap_total_bytes", true },
	[MEM_SWAP_FREE] = { "SwapFree", "swap_free_bytes", true },
	[MEM_SWAP_CACHED] = { "SwapCached", "swap_cached_bytes", true },
	[MEM_HUGE_TOTAL] = { "HugePages_Total", "huge_pages_total", false },
	[MEM_HUGE_FREE] = { "HugePages_Free", "huge_pages_free", false },
	[MEM_HUGE_RESERVED] = { "HugePages_Rsvd", "huge_pages_reserved", false },
	[MEM_HUGE_SURPLUS] = { "HugePages_Surp", "huge_pages_surplus", false },
	[MEM_HUGE_PAGE_SIZE] = { "Hugepagesize", "huge_page_size_bytes", true },
};

/* The field whose kernel name is `name` followed by ':', or MEM_FIELDS. */
static int field_of(struct text_span name)
{
	if (name.len < 2 || name.s[name.len - 1] != ':')
		return MEM_FIELDS;
	name.len--;
	for (int i = 0; i < MEM_FIELDS; i++)
		if (text_is(name, meminfo_keys[i].kernel))
			return i;
	return MEM_FIELDS;
}

static void parse_line(struct text_span line, unsigned number, struct meminfo *out,
		       struct parse_error *err)
{
	struct text_span fields[3];
	size_t n = text_split(line, fields, 3);
	int field;
	uint64_t value;

	if (n == 0 || (field = field_of(fields[0])) == MEM_FIELDS)
		return;
	if (n != (meminfo_keys[field].kilobytes ? 3u : 2u) ||
	    (n == 3 && !text_is(fields[2], "kB"))) {
		parse_error_set(err, number, &fields[0],
				meminfo_keys[field].kilobytes ? "expected \"VALUE kB\""
							      : "expected one value");
		return;
	}
	if (!text_u64(fields[1], &value) ||
	    (meminfo_keys[field].kilobytes && value > UINT64_MAX / 1024)) {
		parse_error_set(err, number, &fields[1], "not an unsigned integer of kB");
		return;
	}
	out->value[field] = meminfo_keys[field].kilobytes ? value * 1024 : value;
	out->present[field] = true;
}

void meminfo_parse(const char *text, size_t len, struct meminfo *out, struct parse_error *err)
{
	struct text_cursor c;
	struct text_span line;

	memset(out, 0, sizeof(*out));
	text_cursor_init(&c, text, len);
	while (text_next_line(&c, &line))
		parse_line(line, c.line, out, err);
}

#include "vmstat.h"

#include <string.h>

const char *const vmstat_names[VM_FIELDS] = {
	[VM_PGPGIN] = "pgpgin", [VM_PGPGOUT] = "pgpgout", [VM_PSWPIN] = "pswpin",
	[VM_PSWPOUT] = "pswpout", [VM_PGMAJFAULT] = "pgmajfault", [VM_OOM_KILL] = "oom_kill",
};

static int field_of(struct text_span name)
{
	for (int i = 0; i < VM_FIELDS; i++)
		if (text_is(name, vmstat_names[i]))
			return i;
	return VM_FIELDS;
}

void vmstat_parse(const char *text, size_t len, struct vmstat *out, struct parse_error *err)
{
	struct text_cursor c;
	struct text_span line, fields[2];

	memset(out, 0, sizeof(*out));
	text_cursor_init(&c, text, len);
	while (text_next_line(&c, &line)) {
		size_t n = text_split(line, fields, 2);
		int field;

		if (n == 0 || (field = field_of(fields[0])) == VM_FIELDS)
			continue;
		if (n != 2 || !text_u64(fields[1], &out->value[field])) {
			parse_error_set(err, c.line, &fields[0],
					"expected one unsigned integer after the name");
			continue;
		}
		out->present[field] = true;
	}
}

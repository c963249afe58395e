#include "loadavg.h"

#include <string.h>

/* "5/116" */
static bool parse_ratio(struct text_span field, uint64_t *num, uint64_t *den)
{
	const char *slash = memchr(field.s, '/', field.len);
	size_t left;

	if (slash == NULL)
		return false;
	left = (size_t)(slash - field.s);
	return text_u64((struct text_span){ field.s, left }, num) &&
	       text_u64((struct text_span){ slash + 1, field.len - left - 1 }, den);
}

bool loadavg_parse(const char *text, size_t len, struct loadavg *out, struct parse_error *err)
{
	struct text_cursor c;
	struct text_span line, fields[5];

	text_cursor_init(&c, text, len);
	if (!text_next_line(&c, &line) || text_split(line, fields, 5) < 4) {
		parse_error_set(err, 1, NULL, "expected \"AVG1 AVG5 AVG15 RUNNABLE/THREADS\"");
		return false;
	}
	if (!text_double(fields[0], &out->avg1) || !text_double(fields[1], &out->avg5) ||
	    !text_double(fields[2], &out->avg15)) {
		parse_error_set(err, 1, &fields[0], "the load averages are not numbers");
		return false;
	}
	if (!parse_ratio(fields[3], &out->runnable, &out->threads)) {
		parse_error_set(err, 1, &fields[3], "expected RUNNABLE/THREADS");
		return false;
	}
	return true;
}

#include "pressure.h"

#include <string.h>

/* "name=value" with the expected name; the value is what follows '='. */
static bool named_value(struct text_span field, const char *name, struct text_span *value)
{
	size_t n = strlen(name);

	if (field.len <= n || memcmp(field.s, name, n) != 0 || field.s[n] != '=')
		return false;
	*value = (struct text_span){ field.s + n + 1, field.len - n - 1 };
	return true;
}

static bool parse_values(const struct text_span *fields, struct pressure_line *out)
{
	struct text_span v;

	return named_value(fields[1], "avg10", &v) && text_double(v, &out->avg10) &&
	       named_value(fields[2], "avg60", &v) && text_double(v, &out->avg60) &&
	       named_value(fields[3], "avg300", &v) && text_double(v, &out->avg300) &&
	       named_value(fields[4], "total", &v) && text_u64(v, &out->total_us);
}

void pressure_parse(const char *text, size_t len, struct pressure *out, struct parse_error *err)
{
	struct text_cursor c;
	struct text_span line, fields[5];

	memset(out, 0, sizeof(*out));
	text_cursor_init(&c, text, len);
	while (text_next_line(&c, &line)) {
		size_t n = text_split(line, fields, 5);
		struct pressure_line *target;

		if (n == 0)
			continue;
		if (text_is(fields[0], "some"))
			target = &out->some;
		else if (text_is(fields[0], "full"))
			target = &out->full;
		else
			continue;
		if (n != 5 || !parse_values(fields, target)) {
			memset(target, 0, sizeof(*target));
			parse_error_set(err, c.line, &fields[0],
					"expected \"avg10=N avg60=N avg300=N total=N\"");
			continue;
		}
		target->present = true;
	}
}

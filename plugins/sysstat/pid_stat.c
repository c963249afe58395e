#include "pid_stat.h"

#include <string.h>

#include "proc_text.h"

/* Fields after the ')' closing the name: state is the first (field 3), rss field 24. */
#define RSS_AFTER_NAME (24 - 3)

/* The separators of text_split: '\n' is not one (it ends the line). */
static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/*
 * Called for every postgres process every cycle: the fields after the name
 * are walked only up to rss, not split to the end of the line.
 */
bool pid_stat_parse(const char *text, size_t len, struct pid_stat *out)
{
	const char *open = memchr(text, '(', len), *close = memrchr(text, ')', len);
	const char *p, *end = text + len;
	size_t name_len;

	if (open == NULL || close == NULL || close < open)
		return false;
	name_len = (size_t)(close - open - 1);
	if (name_len > PID_COMM_MAX)
		name_len = PID_COMM_MAX;
	memcpy(out->comm, open + 1, name_len);
	out->comm[name_len] = '\0';
	p = close + 1;
	for (int field = 0;; field++) {
		const char *start;

		while (p < end && is_space(*p))
			p++;
		if (p == end)
			return false;
		start = p;
		while (p < end && !is_space(*p))
			p++;
		if (field == RSS_AFTER_NAME)
			return text_u64((struct text_span){ start, (size_t)(p - start) },
					&out->rss_pages);
	}
}

bool pid_stat_is_postgres(const struct pid_stat *st)
{
	return strcmp(st->comm, "postgres") == 0 || strcmp(st->comm, "postmaster") == 0;
}

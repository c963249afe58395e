/*
 * pglog_parser - libFuzzer target for the pglog plugin's line parser.
 *
 * Input: one byte choosing the format, then (for stderr) a first line that
 * is the log_line_prefix, then the log lines.  Every entry handed out is
 * read part by part (so ASan sees a part outside its buffer), classified
 * as an event and masked, as the plugin does.  Entries must respect the
 * size cap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "mask.h"
#include "parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ENTRY 512

static char mask_out[MAX_ENTRY + 1];

static void on_entry(void *arg, const struct pglog_entry *e)
{
	struct pglog_event_numbers n;
	size_t total = 0;

	(void)arg;
	for (int part = 0; part < PGLOG_PART_COUNT; part++) {
		size_t len;
		const char *text = entry_part(e, part, &len);

		if (text && len)
			total += (size_t)(unsigned char)text[len - 1] + len;
		if (text && len <= MAX_ENTRY)
			mask_literals(text, len, mask_out);
	}
	if (e->used > MAX_ENTRY)
		abort();
	event_classify(e, &n);
	if (n.text && n.text_len > MAX_ENTRY)
		abort();
	(void)total;
}

static void on_problem(void *arg, uint64_t line_no, const char *what)
{
	(void)arg;
	(void)line_no;
	if (what == NULL || what[0] == '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parser_callbacks cb = { on_entry, on_problem, NULL };
	const char *text = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;
	char prefix[128] = "%m [%p] %q%u@%d %e ";
	uint64_t line_no = 0;

	if (size == 0)
		return 0;
	int format = data[0] % 3;
	if (format == PGLOG_FORMAT_STDERR) {
		const char *nl = memchr(text, '\n', len);
		size_t plen = nl ? (size_t)(nl - text) : len;

		if (plen < sizeof(prefix) && memchr(text, '\0', plen) == NULL) {
			memcpy(prefix, text, plen);
			prefix[plen] = '\0';
		}
		if (nl) {
			len -= (size_t)(nl + 1 - text);
			text = nl + 1;
		} else {
			len = 0;
		}
	}
	struct pglog_parser *p = parser_new(format, prefix, MAX_ENTRY, &cb);
	if (p == NULL)
		return 0;
	while (len > 0) {
		const char *nl = memchr(text, '\n', len);
		size_t line_len = nl ? (size_t)(nl - text) : len;

		parser_line(p, text, line_len, ++line_no);
		if (nl == NULL)
			break;
		len -= line_len + 1;
		text = nl + 1;
	}
	parser_flush(p);
	parser_abandon(p);
	parser_free(p);
	return 0;
}

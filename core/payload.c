#include "payload.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define CLOSING "]}"

struct payload {
	uint64_t seq;
	struct json_text opening;        /* `{"collector_id":...,"metrics":[` */
	struct record_batch *records;
};

/* `,"key":` (without the ',' for the first member). */
static int append_key(struct json_text *t, const char *key, bool first)
{
	if (!first && json_text_append_char(t, ',') != 0)
		return -1;
	if (json_text_append_string(t, key, strlen(key)) != 0)
		return -1;
	return json_text_append_char(t, ':');
}

/* A string member, or JSON null for NULL. */
static int append_optional_string(struct json_text *t, const char *key, const char *text,
				  bool first)
{
	if (append_key(t, key, first) != 0)
		return -1;
	if (text == NULL)
		return json_text_append_null(t);
	return json_text_append_string(t, text, strlen(text));
}

/* Everything before the first record, in the contract's key order. */
static int write_opening(struct json_text *t, const struct payload_header *h, size_t count)
{
	char stamp[CLOCK_RFC3339_LEN];

	clock_format_rfc3339(&h->created, stamp);
	if (json_text_append_char(t, '{') != 0 ||
	    append_optional_string(t, "collector_id", h->collector_id, true) != 0 ||
	    append_optional_string(t, "hostname", h->hostname, false) != 0 ||
	    append_optional_string(t, "timestamp", stamp, false) != 0 ||
	    append_optional_string(t, "version", h->version, false) != 0 ||
	    append_key(t, "seq", false) != 0 || json_text_append_uint64(t, h->seq) != 0 ||
	    append_key(t, "metrics_count", false) != 0 ||
	    json_text_append_uint64(t, (uint64_t)count) != 0 ||
	    append_key(t, "metrics", false) != 0 || json_text_append_char(t, '[') != 0)
		return -1;
	return 0;
}

struct payload *payload_build(const struct payload_header *h, struct record_batch *records)
{
	struct payload *p;

	if (records == NULL)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL || write_opening(&p->opening, h, record_batch_count(records)) != 0) {
		if (p)
			json_text_free(&p->opening);
		free(p);
		record_batch_free(records);
		return NULL;
	}
	p->seq = h->seq;
	p->records = records;
	return p;
}

void payload_free(struct payload *p)
{
	if (p == NULL)
		return;
	json_text_free(&p->opening);
	record_batch_free(p->records);
	free(p);
}

uint64_t payload_seq(const struct payload *p)
{
	return p->seq;
}

size_t payload_record_count(const struct payload *p)
{
	return record_batch_count(p->records);
}

size_t payload_text_length(const struct payload *p)
{
	return p->opening.len + record_batch_bytes(p->records) + strlen(CLOSING);
}

int payload_write(const struct payload *p, json_sink_fn sink, void *ctx)
{
	int rc = sink(ctx, p->opening.data, p->opening.len);

	if (rc == 0)
		rc = record_batch_write(p->records, sink, ctx);
	if (rc == 0)
		rc = sink(ctx, CLOSING, strlen(CLOSING));
	return rc;
}

static int append_to_text(void *ctx, const void *data, size_t len)
{
	return json_text_append(ctx, data, len);
}

char *payload_text(const struct payload *p, size_t *len)
{
	struct json_text text = { 0 };

	if (json_text_reserve(&text, payload_text_length(p) + 1) != 0 ||
	    payload_write(p, append_to_text, &text) != 0 ||
	    json_text_append_char(&text, '\0') != 0) {
		json_text_free(&text);
		return NULL;
	}
	if (len)
		*len = text.len - 1;
	return text.data;
}

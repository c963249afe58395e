#include "worker_proto.h"

#include <stdlib.h>
#include <string.h>


/* More than any plugin declares; a larger count is garbage. */
#define MAX_WIRE_OPTIONS 4096
#define MAX_WIRE_LIST 65536

static void put_option(struct wire_buf *buf, const struct option_value *v)
{
	wire_put_string(buf, v->name);
	wire_put_u32(buf, v->type);
	wire_put_string(buf, v->string);
	wire_put_i64(buf, v->integer);
	wire_put_f64(buf, v->number);
	wire_put_u8(buf, v->boolean);
	wire_put_u32(buf, (uint32_t)v->list_len);
	for (size_t i = 0; i < v->list_len; i++)
		wire_put_string(buf, v->list[i]);
}

void worker_put_setup(struct wire_buf *buf, const struct worker_setup *setup)
{
	const struct plugin_section *s = setup->section;

	wire_put_u8(buf, WOP_SETUP);
	wire_put_string(buf, s->name);
	wire_put_string(buf, setup->path);
	wire_put_string(buf, setup->state_dir);
	wire_put_i64(buf, setup->memory_limit_mb);
	wire_put_i64(buf, s->interval);
	wire_put_i64(buf, s->timeout);
	wire_put_u32(buf, (uint32_t)s->n_options);
	for (size_t i = 0; i < s->n_options; i++)
		put_option(buf, &s->options[i]);
}

/* A string from the wire as a malloc'd copy; NULL stays NULL. */
static char *get_copy(struct wire_reader *r, bool *failed)
{
	size_t len;
	const char *s = wire_get_bytes(r, &len);
	char *copy;

	if (!s)
		return NULL;
	copy = malloc(len + 1);
	if (!copy) {
		*failed = true;
		return NULL;
	}
	memcpy(copy, s, len + 1);
	return copy;
}

static void get_option(struct wire_reader *r, struct option_value *v, bool *failed)
{
	uint32_t n;

	v->name = get_copy(r, failed);
	v->type = wire_get_u32(r);
	v->string = get_copy(r, failed);
	v->integer = wire_get_i64(r);
	v->number = wire_get_f64(r);
	v->boolean = wire_get_u8(r) != 0;
	n = wire_get_u32(r);
	if (r->bad || n == 0 || n > MAX_WIRE_LIST)
		return;
	v->list = calloc(n, sizeof(*v->list));
	if (!v->list) {
		*failed = true;
		return;
	}
	v->list_len = n;
	for (uint32_t i = 0; i < n; i++)
		v->list[i] = get_copy(r, failed);
}

int worker_get_setup(struct wire_reader *r, struct worker_setup *setup,
		     struct plugin_section *section)
{
	bool failed = false;
	size_t len;
	uint32_t n;

	memset(setup, 0, sizeof(*setup));
	memset(section, 0, sizeof(*section));
	section->name = get_copy(r, &failed);
	setup->path = wire_get_bytes(r, &len);
	setup->state_dir = wire_get_bytes(r, &len);
	setup->memory_limit_mb = (long)wire_get_i64(r);
	section->interval = (long)wire_get_i64(r);
	section->timeout = (long)wire_get_i64(r);
	section->enabled = true;
	section->isolation = ISOLATION_PROCESS;
	section->memory_limit_mb = setup->memory_limit_mb;
	n = wire_get_u32(r);
	if (!r->bad && n > 0 && n <= MAX_WIRE_OPTIONS) {
		section->options = calloc(n, sizeof(*section->options));
		if (section->options)
			section->n_options = n;
		else
			failed = true;
	}
	for (size_t i = 0; i < section->n_options && !r->bad; i++)
		get_option(r, &section->options[i], &failed);
	section->bound = true;
	setup->section = section;
	if (failed || r->bad || !section->name || !setup->path || !setup->state_dir ||
	    n > MAX_WIRE_OPTIONS) {
		plugin_section_clear(section);
		return -1;
	}
	return 0;
}

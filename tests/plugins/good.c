/*
 * good - the reference test plugin: declares one option of every type,
 * emits `count` records per cycle that echo those options back, and writes
 * a marker file from shutdown() so tests can prove shutdown was called.
 */
#include <pganalytics/plugin.h>

#include <stdio.h>
#include <stdlib.h>

static const struct pga_option good_options[] = {
	{ .name = "greeting", .type = PGA_OPT_STRING,
	  .default_value = "hello", .help = "text copied into every record" },
	{ .name = "count", .type = PGA_OPT_INT, .default_value = "2",
	  .help = "records emitted per cycle" },
	{ .name = "ratio", .type = PGA_OPT_DOUBLE, .default_value = "0.5",
	  .help = "a double copied into every record" },
	{ .name = "loud", .type = PGA_OPT_BOOL, .default_value = "false",
	  .help = "a bool copied into every record" },
	{ .name = "tags", .type = PGA_OPT_STRING_LIST,
	  .default_value = "{\"a\",\"b\"}", .help = "a list copied into every record" },
	{ .name = "shutdown_marker", .type = PGA_OPT_STRING,
	  .default_value = "", .help = "file that shutdown() creates, if set" },
	{ .name = NULL },
};

struct good_state {
	const struct pga_host *host;
	struct pga_ctx *ctx;
	int64_t cycle;
};

static int good_init(const struct pga_host *host, struct pga_ctx *ctx,
		     void **state)
{
	struct good_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return PGA_ENOMEM;
	st->host = host;
	st->ctx = ctx;
	*state = st;
	return PGA_OK;
}

static void emit_tags(const struct good_state *st, struct pga_emitter *em)
{
	size_t n = st->host->config_list_size(st->ctx, "tags");

	st->host->array_begin(em, "tags");
	for (size_t i = 0; i < n; i++)
		st->host->set_string(em, NULL,
				     st->host->config_list_item(st->ctx, "tags", i));
	st->host->array_end(em);
}

static int emit_one(const struct good_state *st, struct pga_emitter *em,
		    int64_t index)
{
	const struct pga_host *h = st->host;

	h->record_begin(em, "test_good");
	h->set_string(em, "greeting", h->config_string(st->ctx, "greeting"));
	h->set_int64(em, "index", index);
	h->set_int64(em, "cycle", st->cycle);
	h->set_double(em, "ratio", h->config_double(st->ctx, "ratio"));
	h->set_bool(em, "loud", h->config_bool(st->ctx, "loud"));
	emit_tags(st, em);
	h->set_string(em, "state_dir", h->state_dir(st->ctx));
	return h->record_end(em);
}

static int good_collect(void *state, struct pga_emitter *em)
{
	struct good_state *st = state;
	int64_t count = st->host->config_int(st->ctx, "count");

	st->cycle++;
	for (int64_t i = 0; i < count; i++) {
		int rc = emit_one(st, em, i);

		if (rc != PGA_OK)
			return rc;
	}
	/* Tests wait for this line to know a cycle has happened. */
	st->host->log(st->ctx, PGA_LOG_INFO, "cycle %lld: emitted %lld records",
		      (long long)st->cycle, (long long)count);
	return PGA_OK;
}

static void good_shutdown(void *state)
{
	struct good_state *st = state;
	const char *marker = st->host->config_string(st->ctx, "shutdown_marker");

	if (marker != NULL && marker[0] != '\0') {
		FILE *f = fopen(marker, "w");

		if (f != NULL) {
			fprintf(f, "shutdown after %lld cycles\n",
				(long long)st->cycle);
			fclose(f);
		} else {
			st->host->log(st->ctx, PGA_LOG_ERROR,
				      "cannot create shutdown marker %s", marker);
		}
	}
	free(st);
}

PGA_PLUGIN_DEFINE(.name = "good", .version = "1.2.3",
		  .description = "test plugin that exercises every option type",
		  .options = good_options, .default_interval = 1,
		  .init = good_init, .collect = good_collect,
		  .shutdown = good_shutdown)

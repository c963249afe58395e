/*
 * misuse - every cycle emits 2 valid "test_misuse" records around 6 that
 * misuse the emitter in a different way each, to prove that the host drops
 * exactly the bad records, counts them as invalid and keeps the rest:
 *
 *   valid #1, duplicate key, invalid UTF-8, NaN, object_end without
 *   object_begin, reserved key "type", valid #2, record left open.
 */
#include <pganalytics/plugin.h>

#include <math.h>
#include <stdlib.h>

struct misuse_state {
	const struct pga_host *host;
	int64_t cycle;
};

static int misuse_init(const struct pga_host *host, struct pga_ctx *ctx,
		       void **state)
{
	struct misuse_state *st = calloc(1, sizeof(*st));

	(void)ctx;
	if (st == NULL)
		return PGA_ENOMEM;
	st->host = host;
	*state = st;
	return PGA_OK;
}

static void emit_valid(const struct misuse_state *st, struct pga_emitter *em,
		       int64_t ordinal)
{
	st->host->record_begin(em, "test_misuse");
	st->host->set_int64(em, "cycle", st->cycle);
	st->host->set_int64(em, "ordinal", ordinal);
	st->host->record_end(em);
}

static void emit_duplicate_key(const struct pga_host *h, struct pga_emitter *em)
{
	h->record_begin(em, "test_misuse");
	h->set_int64(em, "twice", 1);
	h->set_int64(em, "twice", 2);
	h->record_end(em);
}

static void emit_invalid_utf8(const struct pga_host *h, struct pga_emitter *em)
{
	h->record_begin(em, "test_misuse");
	h->set_string(em, "text", "bad \xff\xfe bytes");
	h->record_end(em);
}

static void emit_nan(const struct pga_host *h, struct pga_emitter *em)
{
	h->record_begin(em, "test_misuse");
	h->set_double(em, "value", NAN);
	h->record_end(em);
}

static void emit_unbalanced_end(const struct pga_host *h, struct pga_emitter *em)
{
	h->record_begin(em, "test_misuse");
	h->object_end(em);
	h->record_end(em);
}

static void emit_reserved_key(const struct pga_host *h, struct pga_emitter *em)
{
	h->record_begin(em, "test_misuse");
	h->set_string(em, "type", "spoofed");
	h->record_end(em);
}

static int misuse_collect(void *state, struct pga_emitter *em)
{
	struct misuse_state *st = state;
	const struct pga_host *h = st->host;

	st->cycle++;
	emit_valid(st, em, 1);
	emit_duplicate_key(h, em);
	emit_invalid_utf8(h, em);
	emit_nan(h, em);
	emit_unbalanced_end(h, em);
	emit_reserved_key(h, em);
	emit_valid(st, em, 2);
	/* Left open on purpose: the host must drop it when collect returns. */
	h->record_begin(em, "test_misuse");
	h->set_int64(em, "never_ended", 1);
	return PGA_OK;
}

static void misuse_shutdown(void *state)
{
	free(state);
}

PGA_PLUGIN_DEFINE(.name = "misuse", .version = "1.0",
		  .description = "test plugin that misuses the emitter",
		  .default_interval = 1,
		  .init = misuse_init, .collect = misuse_collect,
		  .shutdown = misuse_shutdown)

/*
 * wide - a benchmark plugin: each collect emits `records` records of 20
 * values (7 integers, 4 doubles, 4 strings, 2 booleans, a null, and an
 * object holding one more integer), the shape of a typical statistics
 * row.  Used by bench/isolation_bench.c to price a record in a
 * worker process against a record on a thread.
 */
#include <pganalytics/plugin.h>

#include <stdlib.h>

static const struct pga_option wide_options[] = {
	{ .name = "records", .type = PGA_OPT_INT, .default_value = "1000",
	  .help = "records per collect" },
	{ .name = NULL },
};

struct wide_state {
	const struct pga_host *host;
	int64_t records;
	int64_t serial;
};

static int wide_init(const struct pga_host *host, struct pga_ctx *ctx, void **state)
{
	struct wide_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return PGA_ENOMEM;
	st->host = host;
	st->records = host->config_int(ctx, "records");
	*state = st;
	return PGA_OK;
}

static void emit_row(const struct pga_host *h, struct pga_emitter *em, int64_t n)
{
	h->record_begin(em, "bench_wide");
	h->set_int64(em, "serial", n);
	h->set_int64(em, "seq_scan", n * 3);
	h->set_int64(em, "seq_tup_read", n * 1000 + 17);
	h->set_int64(em, "idx_scan", n * 7);
	h->set_uint64(em, "idx_tup_fetch", (uint64_t)n * 977);
	h->set_uint64(em, "n_tup_ins", (uint64_t)n * 13);
	h->set_uint64(em, "n_tup_upd", (uint64_t)n * 5);
	h->set_double(em, "bloat_ratio", (double)n / 7.0);
	h->set_double(em, "hit_ratio", 0.99);
	h->set_double(em, "last_vacuum_age_s", (double)n * 1.5);
	h->set_double(em, "size_mb", 123.25);
	h->set_string(em, "schema", "public");
	h->set_string(em, "relname", "pgbench_accounts_partition");
	h->set_string(em, "relkind", "table");
	h->set_string(em, "tablespace", "pg_default");
	h->set_bool(em, "has_index", 1);
	h->set_bool(em, "is_partition", 0);
	h->set_null(em, "last_analyze");
	h->object_begin(em, "toast");
	h->set_int64(em, "bytes", n * 8192);
	h->object_end(em);
	h->record_end(em);
}

static int wide_collect(void *state, struct pga_emitter *em)
{
	struct wide_state *st = state;

	for (int64_t i = 0; i < st->records; i++)
		emit_row(st->host, em, ++st->serial);
	return PGA_OK;
}

static void wide_shutdown(void *state)
{
	free(state);
}

PGA_PLUGIN_DEFINE(.name = "wide", .version = "1.0",
		  .description = "benchmark plugin: records of 20 fields",
		  .options = wide_options, .default_interval = 60,
		  .init = wide_init, .collect = wide_collect, .shutdown = wide_shutdown)

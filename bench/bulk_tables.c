/*
 * bulk_tables - a plugin for bench/rss_bench.py: emits `tables` rows of
 * table statistics per collect, either as one record per table (two
 * strings and 38 integers, like a per-table pg_stat row) or, with
 * `columnar`, as one record holding an array of rows of 35 integers.  It
 * reads nothing: only the collector's own cost is measured.
 */
#include <pganalytics/plugin.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define ROW_FIELDS 38
#define COLUMNAR_FIELDS 35

static const struct pga_option bulk_options[] = {
	{ .name = "tables", .type = PGA_OPT_INT, .default_value = "10000",
	  .help = "tables (rows) per collect" },
	{ .name = "columnar", .type = PGA_OPT_BOOL, .default_value = "false",
	  .help = "one record with an array of rows instead of one record per table" },
	{ .name = NULL },
};

struct bulk_state {
	const struct pga_host *host;
	struct pga_ctx *ctx;
};

static int bulk_init(const struct pga_host *host, struct pga_ctx *ctx, void **state)
{
	struct bulk_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return PGA_ENOMEM;
	st->host = host;
	st->ctx = ctx;
	*state = st;
	return PGA_OK;
}

/* Counter-like values of varied magnitude, so that digits vary as in pg_stat_*. */
static int64_t counter(int64_t row, int column)
{
	uint64_t x = (uint64_t)(row * 64 + column + 1) * 0x9e3779b97f4a7c15ULL;

	return (int64_t)((x >> 40) % (column % 3 == 0 ? 1000u : 100000000u));
}

static int emit_rows(const struct pga_host *h, struct pga_emitter *em, int64_t tables)
{
	static const char *const keys[ROW_FIELDS] = {
		"seq_scan", "seq_tup_read", "idx_scan", "idx_tup_fetch", "n_tup_ins", "n_tup_upd",
		"n_tup_del", "n_tup_hot_upd", "n_live_tup", "n_dead_tup", "n_mod_since_analyze",
		"n_ins_since_vacuum", "vacuum_count", "autovacuum_count", "analyze_count",
		"autoanalyze_count", "heap_blks_read", "heap_blks_hit", "idx_blks_read",
		"idx_blks_hit", "toast_blks_read", "toast_blks_hit", "tidx_blks_read",
		"tidx_blks_hit", "relpages", "reltuples", "relallvisible", "heap_bytes",
		"index_bytes", "toast_bytes", "total_bytes", "last_vacuum_s", "last_autovacuum_s",
		"last_analyze_s", "last_autoanalyze_s", "frozenxid_age", "minmxid_age", "oid",
	};
	char name[32];
	int rc = PGA_OK;

	for (int64_t row = 0; row < tables && rc == PGA_OK; row++) {
		snprintf(name, sizeof(name), "table_%lld", (long long)row);
		h->record_begin(em, "pg_table");
		h->set_string(em, "schema", "public");
		h->set_string(em, "relname", name);
		for (int column = 0; column < ROW_FIELDS; column++)
			h->set_int64(em, keys[column], counter(row, column));
		rc = h->record_end(em);
	}
	return rc;
}

static int emit_columnar(const struct pga_host *h, struct pga_emitter *em, int64_t tables)
{
	h->record_begin(em, "pg_tables");
	h->array_begin(em, "rows");
	for (int64_t row = 0; row < tables; row++) {
		h->array_begin(em, NULL);
		for (int column = 0; column < COLUMNAR_FIELDS; column++)
			h->set_int64(em, NULL, counter(row, column));
		h->array_end(em);
	}
	h->array_end(em);
	return h->record_end(em);
}

static int bulk_collect(void *state, struct pga_emitter *em)
{
	struct bulk_state *st = state;
	int64_t tables = st->host->config_int(st->ctx, "tables");

	if (st->host->config_bool(st->ctx, "columnar"))
		return emit_columnar(st->host, em, tables);
	return emit_rows(st->host, em, tables);
}

static void bulk_shutdown(void *state)
{
	free(state);
}

PGA_PLUGIN_DEFINE(.name = "bulk_tables", .version = "1.0.0",
		  .description = "benchmark load: many tables' statistics, nothing read",
		  .options = bulk_options, .default_interval = 60, .init = bulk_init,
		  .collect = bulk_collect, .shutdown = bulk_shutdown);

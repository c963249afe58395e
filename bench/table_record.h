/*
 * table_record.h - the record both benchmarks emit: shaped like a
 * per-table statistics row, 20 fields, so their numbers compare.
 */
#ifndef PGA_BENCH_TABLE_RECORD_H
#define PGA_BENCH_TABLE_RECORD_H

#include <stdint.h>
#include <stdio.h>

#include <pganalytics/plugin.h>

static void emit_table_record(const struct pga_host *h, struct pga_emitter *em, int i)
{
	char name[32];

	snprintf(name, sizeof(name), "table_%d", i);
	h->record_begin(em, "pg_stats");
	h->set_string(em, "schema", "public");
	h->set_string(em, "relname", name);
	h->set_int64(em, "seq_scan", i * 3);
	h->set_int64(em, "seq_tup_read", (int64_t)i * 1000);
	h->set_int64(em, "idx_scan", i * 7);
	h->set_int64(em, "idx_tup_fetch", (int64_t)i * 900);
	h->set_int64(em, "n_tup_ins", i);
	h->set_int64(em, "n_tup_upd", i / 2);
	h->set_int64(em, "n_tup_del", i / 3);
	h->set_int64(em, "n_live_tup", (int64_t)i * 10);
	h->set_int64(em, "n_dead_tup", i % 100);
	h->set_uint64(em, "heap_bytes", (uint64_t)i * 8192);
	h->set_uint64(em, "index_bytes", (uint64_t)i * 4096);
	h->set_double(em, "bloat_ratio", (double)(i % 100) / 100.0);
	h->set_bool(em, "has_toast", i % 2);
	h->object_begin(em, "vacuum");
	h->set_string(em, "last", "2026-11-27T10:00:00Z");
	h->set_int64(em, "count", i % 17);
	h->object_end(em);
	h->set_null(em, "last_analyze");
	h->record_end(em);
}

#endif

/*
 * core_bench - CPU cost of the core data path: the emitter (what a plugin
 * pays per record), the envelope and its JSON text, and gzip (what the push
 * pays); then one large columnar record, the shape a plugin reporting
 * thousands of tables uses.  Reports the median of several rounds, in CPU
 * time of this process, so that a busy machine slows it less than wall time
 * would.
 *
 * Usage: core_bench [records-per-round [rounds]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pganalytics/plugin.h>

#include "compress.h"
#include "emitter.h"
#include "payload.h"
#include "record_batch.h"
#include "table_record.h"

/* The columnar table: one record, an array of rows, each an array of ints. */
#define TABLE_ROWS 10000
#define TABLE_COLUMNS 35

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *values, size_t n)
{
	qsort(values, n, sizeof(*values), compare_doubles);
	return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

static int write_to_gzip(void *ctx, const void *data, size_t len)
{
	return gzip_writer_write(ctx, data, len);
}

/* The payload compressed as it is written, as output.c sends it to the backend. */
static int stream_gzip(const struct payload *p, int level, size_t *out_len)
{
	struct gzip_writer *gz = gzip_writer_new(level);
	unsigned char *out = NULL;

	if (gz == NULL || payload_write(p, write_to_gzip, gz) != 0) {
		gzip_writer_free(gz);
		return -1;
	}
	if (gzip_writer_finish(gz, &out, out_len) != 0)
		return -1;
	free(out);
	return 0;
}

struct path_costs {
	double *emit_ns, *json_ns, *gzip6_ns, *gzip1_ns, *stream6_ns;
	size_t json_len, gz6_len, gz1_len;
};

/* One round of the per-record path: emit, envelope, text, gzip. */
static int record_path_round(const struct pga_host *host, size_t records, size_t round,
			     struct path_costs *c)
{
	struct pga_emitter *em = emitter_create("bench");
	struct payload_header hdr = { "bench-id", "bench-host", "bench", round + 1, { 0, 0 } };
	unsigned char *gz6, *gz1;
	struct record_batch *batch;
	struct payload *payload;
	size_t stream_len;
	char *json;
	double t0, t1, t2, t3, t4, t5;

	if (em == NULL)
		return -1;
	emitter_begin_cycle(em, 0);
	t0 = cpu_seconds();
	for (size_t i = 0; i < records; i++)
		emit_table_record(host, em, (int)i);
	batch = emitter_end_cycle(em, NULL);
	t1 = cpu_seconds();
	clock_gettime(CLOCK_REALTIME, &hdr.created);
	payload = payload_build(&hdr, batch);
	json = payload ? payload_text(payload, &c->json_len) : NULL;
	t2 = cpu_seconds();
	if (json == NULL || gzip_compress(json, c->json_len, 6, &gz6, &c->gz6_len) < 0)
		return -1;
	t3 = cpu_seconds();
	if (gzip_compress(json, c->json_len, 1, &gz1, &c->gz1_len) < 0)
		return -1;
	t4 = cpu_seconds();
	if (stream_gzip(payload, 6, &stream_len) < 0)
		return -1;
	t5 = cpu_seconds();
	c->emit_ns[round] = (t1 - t0) * 1e9 / (double)records;
	c->json_ns[round] = (t2 - t1) * 1e9 / (double)records;
	c->gzip6_ns[round] = (t3 - t2) * 1e9 / (double)records;
	c->gzip1_ns[round] = (t4 - t3) * 1e9 / (double)records;
	c->stream6_ns[round] = (t5 - t4) * 1e9 / (double)records;
	free(gz6);
	free(gz1);
	free(json);
	payload_free(payload);
	emitter_destroy(em);
	return 0;
}

/* A plausible counter: varied magnitudes, so the digits vary as in pg_stat_*. */
static int64_t table_value(size_t row, size_t column)
{
	uint64_t x = (uint64_t)(row * TABLE_COLUMNS + column + 1) * 0x9e3779b97f4a7c15ULL;

	return (int64_t)((x >> 40) % (column % 3 == 0 ? 1000u : 100000000u));
}

/* One record with an array of TABLE_ROWS arrays of TABLE_COLUMNS int64 values. */
static int emit_columnar_table(const struct pga_host *h, struct pga_emitter *em)
{
	h->record_begin(em, "pg_tables");
	h->array_begin(em, "rows");
	for (size_t row = 0; row < TABLE_ROWS; row++) {
		h->array_begin(em, NULL);
		for (size_t column = 0; column < TABLE_COLUMNS; column++)
			h->set_int64(em, NULL, table_value(row, column));
		h->array_end(em);
	}
	h->array_end(em);
	return h->record_end(em);
}

/* One round of the columnar table: CPU ms into ms[round], the record's bytes. */
static int columnar_round(const struct pga_host *host, size_t round, double *ms, size_t *bytes)
{
	struct pga_emitter *em = emitter_create("bench");
	struct record_batch *batch;
	double t0;
	int rc;

	if (em == NULL)
		return -1;
	emitter_begin_cycle(em, 0);
	t0 = cpu_seconds();
	rc = emit_columnar_table(host, em);
	batch = emitter_end_cycle(em, NULL);
	ms[round] = (cpu_seconds() - t0) * 1e3;
	*bytes = batch ? record_batch_bytes(batch) : 0;
	record_batch_free(batch);
	emitter_destroy(em);
	return rc == PGA_OK && *bytes ? 0 : -1;
}

int main(int argc, char **argv)
{
	size_t records = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	size_t rounds = argc > 2 ? strtoul(argv[2], NULL, 10) : 11;
	struct path_costs c = {
		.emit_ns = calloc(rounds, sizeof(double)),
		.json_ns = calloc(rounds, sizeof(double)),
		.gzip6_ns = calloc(rounds, sizeof(double)),
		.gzip1_ns = calloc(rounds, sizeof(double)),
		.stream6_ns = calloc(rounds, sizeof(double)),
	};
	double *table_ms = calloc(rounds, sizeof(double));
	struct pga_host host = { .struct_size = sizeof(host) };
	size_t table_bytes = 0;

	if (!c.emit_ns || !c.json_ns || !c.gzip6_ns || !c.gzip1_ns || !c.stream6_ns || !table_ms ||
	    records == 0 || rounds == 0)
		return 2;
	emitter_install(&host);
	for (size_t r = 0; r < rounds; r++) {
		if (record_path_round(&host, records, r, &c) != 0 ||
		    columnar_round(&host, r, table_ms, &table_bytes) != 0)
			return 1;
	}
	printf("core data path, %zu records of 20 fields per round, %zu rounds (median CPU time)\n",
	       records, rounds);
	printf("  emit (plugin side)          %8.0f ns/record\n", median(c.emit_ns, rounds));
	printf("  envelope + JSON text        %8.0f ns/record\n", median(c.json_ns, rounds));
	printf("  gzip level 6                %8.0f ns/record, ratio %.1f\n",
	       median(c.gzip6_ns, rounds), (double)c.json_len / (double)c.gz6_len);
	printf("  gzip level 1                %8.0f ns/record, ratio %.1f\n",
	       median(c.gzip1_ns, rounds), (double)c.json_len / (double)c.gz1_len);
	printf("  envelope streamed to gzip 6 %8.0f ns/record (the backend path)\n",
	       median(c.stream6_ns, rounds));
	printf("  JSON size                   %8.0f bytes/record\n",
	       (double)c.json_len / (double)records);
	printf("columnar table: one record, %d rows of %d int64 values\n", TABLE_ROWS,
	       TABLE_COLUMNS);
	printf("  emit                        %8.1f ms CPU, %zu bytes of JSON (%.1f bytes/value)\n",
	       median(table_ms, rounds), table_bytes,
	       (double)table_bytes / (TABLE_ROWS * TABLE_COLUMNS));
	free(c.emit_ns);
	free(c.json_ns);
	free(c.gzip6_ns);
	free(c.gzip1_ns);
	free(c.stream6_ns);
	free(table_ms);
	return 0;
}

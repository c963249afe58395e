/*
 * core_bench - CPU cost of the core data path per record: the emitter
 * (what a plugin pays per record), and envelope serialization plus gzip
 * (what the push pays).  Reports the median of several rounds, in CPU time
 * of this process, so that a busy machine slows it less than wall time would.
 *
 * Usage: core_bench [records-per-round [rounds]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>
#include <pganalytics/plugin.h>

#include "compress.h"
#include "emitter.h"
#include "payload.h"
#include "table_record.h"

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


int main(int argc, char **argv)
{
	size_t records = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	size_t rounds = argc > 2 ? strtoul(argv[2], NULL, 10) : 11;
	double *emit_ns = calloc(rounds, sizeof(double));
	double *json_ns = calloc(rounds, sizeof(double));
	double *gzip6_ns = calloc(rounds, sizeof(double));
	double *gzip1_ns = calloc(rounds, sizeof(double));
	struct pga_host host = { .struct_size = sizeof(host) };
	size_t json_len = 0, gz6_len = 0, gz1_len = 0;

	if (!emit_ns || !json_ns || !gzip6_ns || !gzip1_ns || records == 0 || rounds == 0)
		return 2;
	emitter_install(&host);
	for (size_t r = 0; r < rounds; r++) {
		struct pga_emitter *em = emitter_create("bench");
		struct payload_header hdr = { "bench-id", "bench-host", "bench", r + 1, { 0, 0 } };
		const char *json;
		unsigned char *gz6, *gz1;
		json_object *batch, *envelope;
		double t0, t1, t2, t3, t4;

		emitter_begin_cycle(em, 0);
		t0 = cpu_seconds();
		for (size_t i = 0; i < records; i++)
			emit_table_record(&host, em, (int)i);
		batch = emitter_end_cycle(em, NULL);
		t1 = cpu_seconds();
		clock_gettime(CLOCK_REALTIME, &hdr.created);
		envelope = payload_build(&hdr, batch);
		json = json_object_to_json_string_length(envelope, JSON_C_TO_STRING_PLAIN, &json_len);
		t2 = cpu_seconds();
		if (gzip_compress(json, json_len, 6, &gz6, &gz6_len) < 0)
			return 1;
		t3 = cpu_seconds();
		if (gzip_compress(json, json_len, 1, &gz1, &gz1_len) < 0)
			return 1;
		t4 = cpu_seconds();
		emit_ns[r] = (t1 - t0) * 1e9 / (double)records;
		json_ns[r] = (t2 - t1) * 1e9 / (double)records;
		gzip6_ns[r] = (t3 - t2) * 1e9 / (double)records;
		gzip1_ns[r] = (t4 - t3) * 1e9 / (double)records;
		free(gz6);
		free(gz1);
		json_object_put(envelope);
		emitter_destroy(em);
	}
	printf("core data path, %zu records of 20 fields per round, %zu rounds (median CPU time)\n",
	       records, rounds);
	printf("  emit (plugin side)          %8.0f ns/record\n", median(emit_ns, rounds));
	printf("  envelope + JSON text        %8.0f ns/record\n", median(json_ns, rounds));
	printf("  gzip level 6                %8.0f ns/record, ratio %.1f\n", median(gzip6_ns, rounds),
	       (double)json_len / (double)gz6_len);
	printf("  gzip level 1                %8.0f ns/record, ratio %.1f\n", median(gzip1_ns, rounds),
	       (double)json_len / (double)gz1_len);
	printf("  JSON size                   %8.0f bytes/record\n", (double)json_len / (double)records);
	free(emit_ns);
	free(json_ns);
	free(gzip6_ns);
	free(gzip1_ns);
	return 0;
}

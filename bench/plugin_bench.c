/*
 * plugin_bench - CPU cost of one collect cycle of a real plugin .so, loaded
 * the way the collector loads it (core/loader), configured through the
 * real config code, emitting into the real emitter.  Shared by the bundled
 * plugins' benchmarks (sysstat, disk): give it the .so and its options.
 *
 * Usage: plugin_bench PLUGIN.so CYCLES [key=value ...]
 *   each key=value is written into the plugin's config section as is
 *   (strings need their quotes: proc_root="/proc").
 *
 * Each cycle is timed with CLOCK_THREAD_CPUTIME_ID around collect alone
 * (the emitter's work included, the host's batch hand-over not).  Prints
 * the median, the 90th percentile and the maximum in microseconds, and the
 * records and JSON bytes of one cycle.  Nothing is asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pganalytics/plugin.h>

#include "config.h"
#include "emitter.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "record_batch.h"

static double thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* A minimal collector config with the plugin's section, in dir/bench.conf. */
static int write_config(const char *dir, const char *name, int argc, char **argv, char *path,
			size_t path_len)
{
	FILE *f;

	snprintf(path, path_len, "%s/bench.conf", dir);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "collector {\n  state_dir = \"%s\"\n  include_dir = \"%s/none\"\n}\n", dir, dir);
	fprintf(f, "backend {\n  url = \"-\"\n}\nplugin %s {\n", name);
	for (int i = 0; i < argc; i++)
		fprintf(f, "  %s\n", argv[i]);
	fprintf(f, "}\n");
	return fclose(f);
}

/* The file name without directory and ".so": the plugin's section title. */
static void plugin_name(const char *so_path, char *name, size_t len)
{
	const char *base = strrchr(so_path, '/');
	size_t n;

	base = base ? base + 1 : so_path;
	n = strcspn(base, ".");
	snprintf(name, len, "%.*s", (int)n, base);
}

struct bench_run {
	const struct pga_plugin *desc;
	struct pga_ctx ctx;
	struct pga_emitter *em;
	void *state;
};

/* One collect: returns its CPU microseconds, or -1 if it failed. */
static double timed_cycle(struct bench_run *run, size_t *records, size_t *bytes)
{
	struct emitter_cycle_stats stats;
	struct record_batch *batch;
	double t0, t1;
	int rc;

	emitter_begin_cycle(run->em, 0);
	t0 = thread_cpu_us();
	rc = run->desc->collect(run->state, run->em);
	t1 = thread_cpu_us();
	batch = emitter_end_cycle(run->em, &stats);
	*records = (size_t)stats.records_emitted;
	*bytes = batch ? record_batch_bytes(batch) : 0;
	record_batch_free(batch);
	if (rc != PGA_OK || stats.records_invalid != 0) {
		fprintf(stderr, "collect returned %d, %llu invalid record(s): %s\n", rc,
			(unsigned long long)stats.records_invalid, stats.first_error);
		return -1;
	}
	return t1 - t0;
}

static int run_cycles(struct bench_run *run, size_t cycles)
{
	double *us = calloc(cycles, sizeof(*us));
	size_t records = 0, bytes = 0;

	if (us == NULL)
		return -1;
	for (size_t i = 0; i < cycles; i++) {
		us[i] = timed_cycle(run, &records, &bytes);
		if (us[i] < 0) {
			free(us);
			return -1;
		}
	}
	/* The first cycle has nothing before it (no rates, caches empty): reported apart. */
	printf("%s: first cycle %.1f us CPU\n", run->ctx.name, us[0]);
	qsort(us + 1, cycles - 1, sizeof(*us), compare_doubles);
	printf("%s: %zu cycles, CPU per cycle: median %.1f us, p90 %.1f us, max %.1f us; "
	       "%zu record(s), %zu bytes of JSON per cycle\n", run->ctx.name, cycles - 1,
	       us[1 + (cycles - 1) / 2], us[1 + (cycles - 1) * 9 / 10], us[cycles - 1], records,
	       bytes);
	free(us);
	return 0;
}

static int bench(const char *so_path, size_t cycles, int argc, char **argv, const char *dir)
{
	char name[64], conf[4096];
	struct plugin_image *image = NULL;
	struct plugin_section *section;
	struct bench_run run = { 0 };
	struct config *cfg;
	int rc = -1;

	plugin_name(so_path, name, sizeof(name));
	if (write_config(dir, name, argc, argv, conf, sizeof(conf)) != 0 ||
	    (cfg = config_load(conf)) == NULL)
		return -1;
	section = config_find_plugin(cfg, name);
	if (loader_open(name, so_path, &image) == LOADER_OK && section != NULL &&
	    config_bind_plugin(cfg, section, image->options, image->n_options) == 0) {
		run.desc = &image->desc;
		run.ctx = (struct pga_ctx){ .name = image->desc.name, .section = section,
					    .state_dir = dir };
		run.em = emitter_create(image->desc.name);
		image->ran = true;
		if (run.em != NULL &&
		    (!run.desc->init || run.desc->init(host_vtable(), &run.ctx, &run.state) == PGA_OK)) {
			rc = run_cycles(&run, cycles);
			if (run.desc->shutdown)
				run.desc->shutdown(run.state);
		}
		emitter_destroy(run.em);
	}
	loader_release(image);
	config_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/pga-plugin-bench.XXXXXX";
	long cycles = argc >= 3 ? strtol(argv[2], NULL, 10) : 0;
	char cleanup[64];
	int rc;

	if (argc < 3 || cycles < 2) {
		fprintf(stderr, "usage: plugin_bench PLUGIN.so CYCLES [key=value ...]\n");
		return 2;
	}
	log_open(false, LOG_LVL_WARNING);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	rc = bench(argv[1], (size_t)cycles, argc - 3, argv + 3, dir);
	snprintf(cleanup, sizeof(cleanup), "%s/bench.conf", dir);
	unlink(cleanup);
	rmdir(dir);
	return rc == 0 ? 0 : 1;
}

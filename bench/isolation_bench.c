/*
 * isolation_bench - what process isolation costs (docs/ISOLATION.md):
 * CPU per record of a plugin in a worker process against the same plugin
 * on a thread, and the memory of one idle worker.
 *
 * Usage: isolation_bench WIDE.so [RECORDS [RUNS]]
 *
 * WIDE.so is bench/wide_plugin.c (records of 20 values).  Each measurement
 * runs the real runner once (--once semantics: start, init, one collect of
 * RECORDS records, shutdown) and counts the CPU of the whole collector
 * process (every thread) plus, in process mode, the worker's (reaped, so
 * in RUSAGE_CHILDREN).  The fixed cost of a run (a thread, or spawning and
 * loading a worker) is measured with 0 records and subtracted, so what is
 * left is the cost per record.  Thread and process runs alternate RUNS
 * times; the medians, and the median of the pairs' ratios, are printed.  The
 * idle worker's Rss, Pss and private memory come from its
 * /proc/PID/smaps_rollup once it has run init.  Nothing is asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "loader.h"
#include "log.h"
#include "pending.h"
#include "runner.h"
#include "worker_main.h"
#include "worker_proto.h"

#define MAX_RUNS 31

static double cpu_seconds(void)
{
	struct rusage self, children;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &children);
	return (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + children.ru_utime.tv_sec +
			children.ru_stime.tv_sec) +
	       (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec + children.ru_utime.tv_usec +
			children.ru_stime.tv_usec) / 1e6;
}

static void make_section(struct plugin_section *s, struct option_value *records_opt,
			 enum plugin_isolation mode, long records)
{
	memset(s, 0, sizeof(*s));
	*records_opt = (struct option_value){ .name = "records", .type = PGA_OPT_INT,
					      .integer = records };
	s->name = "wide";
	s->file = "isolation_bench";
	s->enabled = true;
	s->interval = 60;
	s->timeout = 60;
	s->isolation = mode;
	s->options = records_opt;
	s->n_options = 1;
	s->bound = true;
}

/* CPU seconds of one run of RECORDS records in `mode`; -1 when records went missing. */
static double measure(struct plugin_image *image, const char *state_dir,
		      enum plugin_isolation mode, long records)
{
	struct option_value opt;
	struct plugin_section section;
	struct pending_queue *queue = pending_create((size_t)records + 16);
	struct runner_stats final;
	struct runner *runner;
	double before;

	make_section(&section, &opt, mode, records);
	before = cpu_seconds();
	runner = runner_start(image, &section, state_dir, queue, true);
	if (!runner)
		return -1;
	while (!runner_wait_exited(runner, clock_monotonic_ns() + 100 * NS_PER_MS))
		;
	runner_reap(runner, &final);
	before = cpu_seconds() - before;
	pending_destroy(queue);
	return final.records_emitted == (uint64_t)records ? before : -1;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *values, int n)
{
	qsort(values, (size_t)n, sizeof(*values), compare_doubles);
	return values[n / 2];
}

/* Microseconds of CPU per record in `mode`: a full run less an empty one. */
static double per_record_us(struct plugin_image *image, const char *state_dir,
			    enum plugin_isolation mode, long records)
{
	double empty = measure(image, state_dir, mode, 0);
	double full = measure(image, state_dir, mode, records);

	if (empty < 0 || full < 0) {
		fprintf(stderr, "isolation_bench: a run lost records\n");
		exit(1);
	}
	return (full - empty) / (double)records * 1e6;
}

/*
 * Thread and process runs alternate, so that both see the same machine
 * (other load, CPU frequency); the ratio is taken per pair.
 */
static void compare(struct plugin_image *image, const char *state_dir, long records, int runs)
{
	double thread[MAX_RUNS], process[MAX_RUNS], ratio[MAX_RUNS];

	for (int i = 0; i < runs; i++) {
		thread[i] = per_record_us(image, state_dir, ISOLATION_THREAD, records);
		process[i] = per_record_us(image, state_dir, ISOLATION_PROCESS, records);
		ratio[i] = process[i] / thread[i];
	}
	printf("isolation: %ld records of 20 values per run, median of %d alternating pairs\n",
	       records, runs);
	printf("thread:  %.3f us CPU per record\n", median(thread, runs));
	printf("process: %.3f us CPU per record (collector + worker)\n", median(process, runs));
	printf("process / thread: %+.1f%% (median of the pairs' ratios)\n",
	       (median(ratio, runs) - 1.0) * 100.0);
}

/* One line of /proc/PID/smaps_rollup, in kB (0 when absent). */
static long smaps_kb(long pid, const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, len) == 0 && line[len] == ':')
			kb += strtol(line + len + 1, NULL, 10);
	}
	fclose(f);
	return kb;
}

/* Start an idle worker (init done, waiting for its first collect) and report its memory. */
static void worker_memory(struct plugin_image *image, const char *state_dir)
{
	struct option_value opt;
	struct plugin_section section;
	struct pending_queue *queue = pending_create(16);
	struct runner_stats st;
	struct runner *runner;

	make_section(&section, &opt, ISOLATION_PROCESS, 1);
	runner = runner_start(image, &section, state_dir, queue, false);
	if (!runner)
		return;
	do {
		const struct timespec pause = { 0, 10 * 1000 * 1000 };

		nanosleep(&pause, NULL);
		runner_stats(runner, &st);
	} while (st.state != RUNNER_RUNNING || st.worker_pid == 0);
	printf("idle worker (pid %ld): Rss %ld kB, Pss %ld kB, private %ld kB\n", st.worker_pid,
	       smaps_kb(st.worker_pid, "Rss"), smaps_kb(st.worker_pid, "Pss"),
	       smaps_kb(st.worker_pid, "Private_Clean") + smaps_kb(st.worker_pid, "Private_Dirty"));
	runner_request_stop(runner);
	while (!runner_wait_exited(runner, clock_monotonic_ns() + 100 * NS_PER_MS))
		;
	runner_reap(runner, &st);
	pending_destroy(queue);
}

int main(int argc, char **argv)
{
	char state_dir[] = "/tmp/pga-isolation-bench.XXXXXX";
	long records = argc > 2 ? atol(argv[2]) : 50000;
	int runs = argc > 3 ? atoi(argv[3]) : 11;
	struct plugin_image *image;

	/* The runner starts workers from /proc/self/exe: this program. */
	if (argc > 1 && strcmp(argv[1], WORKER_ARG) == 0)
		return worker_main(argc, argv);
	if (argc < 2 || records < 1 || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: isolation_bench WIDE.so [RECORDS [RUNS (1..%d)]]\n", MAX_RUNS);
		return 2;
	}
	log_open(false, LOG_LVL_WARNING);
	if (!mkdtemp(state_dir) || loader_open("wide", argv[1], &image) != LOADER_OK)
		return 1;
	compare(image, state_dir, records, runs);
	worker_memory(image, state_dir);
	return 0;
}

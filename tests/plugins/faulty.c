/*
 * faulty - a plugin that fails the way third-party code does, to prove
 * that process isolation costs only its own records (tests/integration/
 * test_isolation.py).  Each instance runs `good_cycles` normal cycles (one
 * "test_faulty" record each, with the cycle and the process id), then
 * commits `fault` during collect, or at once in init when
 * during = "init":
 *
 *   segv    writes to an unmapped low address (SIGSEGV; not NULL, which a
 *           sanitizer build would report as undefined behaviour instead)
 *   abort   calls abort() (SIGABRT)
 *   exit    calls exit(3)
 *   spin    loops forever, ignoring its deadline
 *   hog     allocates and touches 1 MiB blocks until malloc fails, logs
 *           how many it got, then aborts (as code that does not check
 *           malloc would fail soon after)
 *   closefd closes fd 3 and opens /dev/null (it gets fd 3), as code that
 *           closes what it thinks is its own file twice; otherwise works
 *   closeall closes every descriptor from 3 up, as daemonizing code does,
 *           then opens /dev/null
 *   late    returns PGA_OK 200 ms after its deadline (a plugin a little
 *           slow, not hung)
 *   logspin logs "log spin N" in a loop forever, ignoring its deadline
 *   flood   emits 4 KB "test_flood" records until the emitter refuses one
 *           (its deadline), so that only the collector can bound the cycle
 *   none    never fails
 *
 * With spawn = "SECONDS", init first starts `sleep SECONDS` with fork and
 * exec, as plugins start helpers, inheriting what the worker did not
 * protect (descriptors, ignored signals).
 *
 * The line "faulting: FAULT" is logged just before, so tests know the
 * fault happened where they expect it.
 */
#include <pganalytics/plugin.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* hog gives up here, limit or not, so that a missing limit fails the test, not the machine. */
#define HOG_MAX_MIB 1024

static const struct pga_option faulty_options[] = {
	{ .name = "fault", .type = PGA_OPT_STRING, .default_value = "segv",
	  .help = "segv, abort, exit, spin, closefd, closeall, late, logspin, hog, flood or none" },
	{ .name = "during", .type = PGA_OPT_STRING, .default_value = "collect",
	  .help = "collect or init" },
	{ .name = "good_cycles", .type = PGA_OPT_INT, .default_value = "1",
	  .help = "normal cycles before the fault, in each instance" },
	{ .name = "spawn", .type = PGA_OPT_STRING, .default_value = "",
	  .help = "when set, init starts `sleep SPAWN` first" },
	{ .name = NULL },
};

struct faulty_state {
	const struct pga_host *host;
	struct pga_ctx *ctx;
	int64_t cycle;
};

/* Sleep until the monotonic time `until` (ns). */
static void sleep_until(uint64_t until)
{
	struct timespec at = { (time_t)(until / 1000000000ULL), (long)(until % 1000000000ULL) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) != 0)
		;
}

/* 4 KB records until record_begin or record_end says stop (the deadline). */
static void flood(const struct pga_host *host, struct pga_emitter *em)
{
	static char pad[4096];

	memset(pad, 'x', sizeof(pad) - 1);
	while (host->record_begin(em, "test_flood") == PGA_OK) {
		host->set_string(em, "pad", pad);
		if (host->record_end(em) != PGA_OK)
			break;
	}
}

/* Allocate until refused; returns the MiB obtained (all kept: a leak). */
static long hog(void)
{
	long got = 0;

	while (got < HOG_MAX_MIB) {
		char *block = malloc(1024 * 1024);

		if (block == NULL)
			break;
		memset(block, 0x5a, 1024 * 1024);
		got++;
	}
	return got;
}

/* Commit the configured fault; em is NULL in init, where flood does nothing. */
static void commit_fault(const struct pga_host *host, struct pga_ctx *ctx,
			 struct pga_emitter *em)
{
	const char *fault = host->config_string(ctx, "fault");

	host->log(ctx, PGA_LOG_INFO, "faulting: %s", fault);
	if (strcmp(fault, "segv") == 0) {
		/* Read back through volatile, so the compiler cannot see (or warn) where it points. */
		volatile uintptr_t nowhere = 64;

		*(volatile int *)nowhere = 1;
	} else if (strcmp(fault, "abort") == 0) {
		abort();
	} else if (strcmp(fault, "exit") == 0) {
		exit(3);
	} else if (strcmp(fault, "spin") == 0) {
		for (volatile unsigned long n = 0;; n++)
			;
	} else if (strcmp(fault, "closefd") == 0) {
		close(3);
		open("/dev/null", O_WRONLY);
	} else if (strcmp(fault, "closeall") == 0) {
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		open("/dev/null", O_WRONLY);
	} else if (strcmp(fault, "late") == 0) {
		sleep_until(host->deadline_ns(ctx) + 200 * 1000000ULL);
	} else if (strcmp(fault, "logspin") == 0) {
		for (long n = 0;; n++)
			host->log(ctx, PGA_LOG_INFO, "log spin %ld", n);
	} else if (strcmp(fault, "flood") == 0 && em != NULL) {
		flood(host, em);
	} else if (strcmp(fault, "hog") == 0) {
		host->log(ctx, PGA_LOG_INFO, "malloc failed after %ld MiB", hog());
		abort();
	}
}

/* A helper process, started the plain way: fork, exec, nothing closed or reset. */
static void spawn_sleep(const char *seconds)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("sleep", "sleep", seconds, (char *)NULL);
		_exit(127);
	}
}

/* Starts the sleep if asked, then faults here if during = "init". */
static int faulty_init(const struct pga_host *host, struct pga_ctx *ctx, void **state)
{
	struct faulty_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return PGA_ENOMEM;
	st->host = host;
	st->ctx = ctx;
	*state = st;
	if (host->config_string(ctx, "spawn")[0] != '\0')
		spawn_sleep(host->config_string(ctx, "spawn"));
	if (strcmp(host->config_string(ctx, "during"), "init") == 0)
		commit_fault(host, ctx, NULL);
	return PGA_OK;
}

/* One record per cycle, then the fault once good_cycles are done. */
static int faulty_collect(void *state, struct pga_emitter *em)
{
	struct faulty_state *st = state;
	const struct pga_host *h = st->host;

	st->cycle++;
	h->record_begin(em, "test_faulty");
	h->set_int64(em, "cycle", st->cycle);
	h->set_int64(em, "pid", (int64_t)getpid());
	h->record_end(em);
	h->log(st->ctx, PGA_LOG_INFO, "cycle %lld", (long long)st->cycle);
	/* A record already ended this cycle is lost with it: the cycle never returns. */
	if (st->cycle > h->config_int(st->ctx, "good_cycles"))
		commit_fault(h, st->ctx, em);
	return PGA_OK;
}

/* Frees the state. */
static void faulty_shutdown(void *state)
{
	free(state);
}

PGA_PLUGIN_DEFINE(.name = "faulty", .version = "1.0",
		  .description = "test plugin that crashes, hangs or leaks on purpose",
		  .options = faulty_options, .default_interval = 1,
		  .init = faulty_init, .collect = faulty_collect,
		  .shutdown = faulty_shutdown)

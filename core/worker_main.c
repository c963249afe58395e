#include "worker_main.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "worker_link.h"
#include "worker_proto.h"

/* Where the socket moves to, if the descriptor limit allows. */
#define WORKER_SOCKET_MIN_FD 256

#if defined(__SANITIZE_ADDRESS__)
#define BUILT_WITH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUILT_WITH_ASAN 1
#endif
#endif

struct worker {
	const char *name;             /* from argv, until SETUP says more */
	int fd;                       /* the socket, moved out of the plugin's way */
	struct wire_inbox in;
	struct plugin_section section;
	struct plugin_image *image;
	struct pga_ctx ctx;
	char *state_dir;
	void *plugin_state;
	bool init_ok;
};

/* Set once the worker's own code decides to exit: see exit_guard. */
static volatile bool exiting_on_purpose;

/*
 * A plugin that calls exit() must not run the collector's exit handlers
 * (nor the leak checker of a sanitizer build, which would blame the
 * plugin's state on the collector): leave at once with its status.
 */
static void exit_guard(int status, void *arg)
{
	(void)arg;
	if (!exiting_on_purpose)
		_exit(status);
}

/* ---- process setup ---- */

/*
 * Die with the collector.  The parent may have died before prctl: then
 * getppid() is no longer the pid it passed us.
 */
static bool tie_to_parent(const char *parent_arg)
{
	long parent = strtol(parent_arg, NULL, 10);

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		return false;
	return parent > 1 && getppid() == (pid_t)parent;
}

/* Stands in for SIG_IGN, which a process the plugin starts would inherit across exec. */
static void ignore_signal(int sig)
{
	(void)sig;
}

/*
 * The collector handles HUP, INT and TERM for the worker (a systemd stop
 * reaches every process of the service): the worker stops when told to
 * over the socket, or when the socket ends.  A broken socket must be an
 * EPIPE, not a death by SIGPIPE.
 */
static void take_signals(void)
{
	static const int caught[] = { SIGHUP, SIGINT, SIGTERM, SIGPIPE };
	struct sigaction sa;
	sigset_t all;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ignore_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		sigaction(caught[i], &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

/*
 * What the plugin starts must not hold the socket (its end would never
 * come) nor the file.  And the socket goes far from the low numbers a
 * plugin may close by mistake and reuse (fd 3 would be its first file):
 * returns where it is now.
 */
static int keep_fds_from_plugin(void)
{
	int moved = fcntl(WORKER_FD, F_DUPFD_CLOEXEC, WORKER_SOCKET_MIN_FD);

	fcntl(WORKER_PLUGIN_FD, F_SETFD, FD_CLOEXEC);
	if (moved < 0) {
		fcntl(WORKER_FD, F_SETFD, FD_CLOEXEC);
		return WORKER_FD;
	}
	close(WORKER_FD);
	return moved;
}

/*
 * Only the socket, the plugin's file and stdio: not the collector's files
 * nor other workers' sockets.
 */
static void close_inherited_fds(void)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, WORKER_PLUGIN_FD + 1, ~0U, 0) == 0)
		return;
#endif
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *entry;

	if (!dir)
		return;
	while ((entry = readdir(dir)) != NULL) {
		int fd = atoi(entry->d_name);

		if (fd > WORKER_PLUGIN_FD && fd != dirfd(dir))
			close(fd);
	}
	closedir(dir);
}

/* A plugin printing to stdout must not corrupt a payload printed there. */
static void keep_stdout_clean(void)
{
	dup2(STDERR_FILENO, STDOUT_FILENO);
}

/* ---- requests ---- */

/* The next frame from the collector; NULL at the end of the socket. */
static const unsigned char *next_frame(struct worker *w, size_t *len)
{
	const unsigned char *body;

	for (;;) {
		int got = wire_inbox_next(&w->in, &body, len);
		long n;

		if (got > 0)
			return body;
		if (got < 0)
			_exit(WORKER_EXIT_PROTOCOL);
		worker_link_check();
		n = wire_inbox_read(&w->in, w->fd);
		if (n == 0)
			return NULL;
		if (n < 0 && errno != EINTR)
			return NULL;
	}
}

/*
 * A data limit (heap and private mappings).  Not an address-space limit:
 * shared libraries and thread stacks reserve far more address space than
 * they use.  A sanitizer build's shadow memory counts against either, so
 * there the limit is not applied.
 */
static void apply_memory_limit(const struct worker *w, long megabytes)
{
	struct rlimit limit;

	if (megabytes <= 0)
		return;
#ifdef BUILT_WITH_ASAN
	log_msg(LOG_LVL_WARNING,
		"plugin %s: memory_limit_mb = %ld not applied: this collector is built with "
		"AddressSanitizer, whose shadow memory counts against any data limit",
		w->name, megabytes);
#else
	limit.rlim_cur = limit.rlim_max = (rlim_t)megabytes * 1024 * 1024;
	if (setrlimit(RLIMIT_DATA, &limit) != 0)
		log_msg(LOG_LVL_WARNING, "plugin %s: memory_limit_mb = %ld not applied: %s",
			w->name, megabytes, strerror(errno));
#endif
	(void)limit;
}

/* Load the plugin SETUP names; logs and returns false when it cannot run. */
static bool load_plugin(struct worker *w, struct wire_reader *r)
{
	struct worker_setup setup;

	if (worker_get_setup(r, &setup, &w->section) < 0) {
		log_msg(LOG_LVL_ERROR, "plugin %s: worker: malformed setup request", w->name);
		return false;
	}
	w->name = w->section.name;
	/* The file the collector checked, even if an upgrade replaced the one at the path. */
	if (loader_open_fd(w->name, setup.path, WORKER_PLUGIN_FD, &w->image) != LOADER_OK)
		return false;
	if (strcmp(w->image->desc.name, w->name) != 0) {
		loader_reject(w->name, setup.path, "not the plugin the collector checked",
			      "its descriptor names another plugin", "report this as a bug");
		return false;
	}
	w->image->ran = true;
	w->state_dir = strdup(setup.state_dir);
	w->ctx.name = w->image->desc.name;
	w->ctx.section = &w->section;
	w->ctx.state_dir = w->state_dir;
	apply_memory_limit(w, setup.memory_limit_mb);
	return w->state_dir != NULL;
}

/* CPU time of this thread: what the call cost, as a runner thread measures it. */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* The deadline and log level every INIT and COLLECT carries. */
static uint64_t begin_call(struct wire_reader *r)
{
	uint64_t deadline = wire_get_u64(r);
	uint8_t level = wire_get_u8(r);

	if (r->bad)
		_exit(WORKER_EXIT_PROTOCOL);
	log_set_level(level <= LOG_LVL_DEBUG ? (enum log_level)level : LOG_LVL_DEBUG);
	worker_link_begin_call(deadline);
	return deadline;
}

/* INIT: the plugin's init, once; a second INIT is a protocol error. */
static void serve_init(struct worker *w, struct wire_reader *r)
{
	const struct pga_plugin *d = &w->image->desc;
	uint64_t cpu = thread_cpu_ns();
	int rc = PGA_OK;

	w->ctx.deadline_ns = begin_call(r);
	if (w->init_ok)
		_exit(WORKER_EXIT_PROTOCOL);
	if (d->init)
		rc = d->init(worker_link_host(), &w->ctx, &w->plugin_state);
	w->ctx.deadline_ns = 0;
	w->init_ok = rc == PGA_OK;
	worker_link_reply(WOP_INIT, rc, thread_cpu_ns() - cpu);
}

/* COLLECT: one collect into the link's emitter; only after a successful init. */
static void serve_collect(struct worker *w, struct wire_reader *r)
{
	uint64_t cpu;
	int rc;

	w->ctx.deadline_ns = begin_call(r);
	if (!w->init_ok)
		_exit(WORKER_EXIT_PROTOCOL);
	cpu = thread_cpu_ns();
	rc = w->image->desc.collect(w->plugin_state, worker_link_emitter());
	w->ctx.deadline_ns = 0;
	worker_link_reply(WOP_COLLECT, rc, thread_cpu_ns() - cpu);
}

/* SHUTDOWN: the plugin's shutdown if its init succeeded, then the reply. */
static void serve_shutdown(struct worker *w, struct wire_reader *r)
{
	uint8_t level = wire_get_u8(r);

	log_set_level(level <= LOG_LVL_DEBUG ? (enum log_level)level : LOG_LVL_DEBUG);
	if (w->init_ok && w->image->desc.shutdown)
		w->image->desc.shutdown(w->plugin_state);
	w->init_ok = false;
	worker_link_reply(WOP_SHUTDOWN, PGA_OK, 0);
}

/* Serve requests until SHUTDOWN (true) or the end of the socket (false). */
static bool serve(struct worker *w)
{
	const unsigned char *body;
	size_t len;

	while ((body = next_frame(w, &len)) != NULL) {
		struct wire_reader r;

		wire_reader_init(&r, body, len);
		switch (wire_get_u8(&r)) {
		case WOP_INIT: serve_init(w, &r); break;
		case WOP_COLLECT: serve_collect(w, &r); break;
		case WOP_SHUTDOWN: serve_shutdown(w, &r); return true;
		default: _exit(WORKER_EXIT_PROTOCOL);
		}
	}
	return false;
}

/* Release the worker's own memory before a clean exit (the leak checker reads it). */
static void free_worker(struct worker *w)
{
	loader_release(w->image);
	plugin_section_clear(&w->section);
	free(w->state_dir);
	wire_inbox_free(&w->in);
	worker_link_close();
}

/* Read SETUP and load the plugin; answers it either way. */
static bool set_up(struct worker *w)
{
	const unsigned char *body;
	struct wire_reader r;
	size_t len;
	bool loaded;

	body = next_frame(w, &len);
	if (!body)
		return false;
	wire_reader_init(&r, body, len);
	if (wire_get_u8(&r) != WOP_SETUP)
		_exit(WORKER_EXIT_PROTOCOL);
	loaded = load_plugin(w, &r);
	worker_link_reply(WOP_SETUP, loaded ? PGA_OK : PGA_ERROR, 0);
	return loaded;
}

int worker_main(int argc, char **argv)
{
	struct worker w = { 0 };
	int status = 0;

	if (argc != 4 || !tie_to_parent(argv[3]))
		return WORKER_EXIT_PARENT_GONE;
	on_exit(exit_guard, NULL);
	take_signals();
	close_inherited_fds();
	w.fd = keep_fds_from_plugin();
	keep_stdout_clean();
	w.name = argv[2];
	worker_link_open(w.fd);
	if (!set_up(&w))
		status = WORKER_EXIT_SETUP;
	else if (!serve(&w))
		_exit(WORKER_EXIT_PARENT_GONE);   /* not told to stop: do not call the plugin */
	free_worker(&w);
	exiting_on_purpose = true;
	return status;
}

#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "emitter.h"
#include "log.h"
#include "replay.h"
#include "wire.h"
#include "worker_proto.h"

extern char **environ;

/* How often a worker that should be exiting is checked on. */
#define REAP_POLL_NS (5 * NS_PER_MS)
/* How long a runner waits for a worker it killed to be gone. */
#define REAP_KILLED_NS (1 * NS_PER_S)

/* How waiting for a worker's end came out. */
enum wait_result {
	WAIT_REAPED,          /* its status is known */
	WAIT_RUNNING,         /* it has not ended yet */
	WAIT_LOST             /* its status is gone (ECHILD: reaped by someone else) */
};

struct worker_proc {
	pid_t pid;
	int fd;                   /* the collector's end of the socketpair */
	struct wire_buf out;
	struct wire_inbox in;
	bool lost;                /* EOF, a write failure or a protocol error seen */
	bool protocol_error;
	char name[64];
};

pid_t worker_pid(const struct worker_proc *w)
{
	return w->pid;
}

/* ---- workers killed but not reaped yet ---- */

/*
 * A process in uninterruptible sleep (a hung NFS read, say) dies of
 * SIGKILL only when the sleep ends.  Its runner must not wait for that:
 * the pid is kept here, and looked at again whenever a worker starts.
 */
#define MAX_UNREAPED 64

static struct {
	pthread_mutex_t lock;
	pid_t pids[MAX_UNREAPED];
	size_t n;
} unreaped = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Keep pid to be reaped later; past MAX_UNREAPED it stays a zombie until we exit. */
static void remember_unreaped(pid_t pid)
{
	pthread_mutex_lock(&unreaped.lock);
	if (unreaped.n < MAX_UNREAPED)
		unreaped.pids[unreaped.n++] = pid;
	pthread_mutex_unlock(&unreaped.lock);
	log_msg(LOG_LVL_WARNING, "worker (pid %ld) still not reaped %llu s after SIGKILL: "
		"it will be when it ends", (long)pid,
		(unsigned long long)(REAP_KILLED_NS / NS_PER_S));
}

/* Reap those of the remembered pids that have ended since. */
static void reap_leftovers(void)
{
	pthread_mutex_lock(&unreaped.lock);
	for (size_t i = 0; i < unreaped.n;) {
		pid_t got = waitpid(unreaped.pids[i], NULL, WNOHANG);

		if (got == 0 || (got < 0 && errno == EINTR)) {
			i++;
			continue;
		}
		unreaped.pids[i] = unreaped.pids[--unreaped.n];
	}
	pthread_mutex_unlock(&unreaped.lock);
}

/* ---- spawning ---- */

/*
 * A descriptor to hand over must not be one of the worker's numbers
 * already: dup2 onto itself would leave its close-on-exec flag set, and
 * dup2 of one onto the other's number would clobber it.  Returns fd
 * itself, or a copy above them (or -1).
 */
static int fd_above_reserved(int fd)
{
	if (fd > WORKER_PLUGIN_FD)
		return fd;
	return fcntl(fd, F_DUPFD_CLOEXEC, WORKER_PLUGIN_FD + 1);
}

/*
 * Dispositions and mask are set explicitly, not inherited from whatever
 * thread starts the worker: an ignored SIGCHLD or SIGPIPE would survive
 * exec.  HUP, INT and TERM stay blocked until the worker has set its own
 * handling (a systemd stop may arrive in between).  The worker leads its
 * own process group, so that what the plugin starts can be killed with
 * it, and a Ctrl-C at a terminal reaches the collector only.
 */
static int init_spawn_attr(posix_spawnattr_t *attr)
{
	sigset_t all, blocked;
	int rc = posix_spawnattr_init(attr);

	if (rc != 0)
		return rc;
	sigfillset(&all);
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGHUP);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGTERM);
	rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETPGROUP);
	if (rc == 0)
		rc = posix_spawnattr_setpgroup(attr, 0);
	if (rc == 0)
		rc = posix_spawnattr_setsigdefault(attr, &all);
	if (rc == 0)
		rc = posix_spawnattr_setsigmask(attr, &blocked);
	if (rc != 0)
		posix_spawnattr_destroy(attr);
	return rc;
}

/*
 * posix_spawn, not fork: the collector has threads (and libcurl, GnuTLS),
 * and only exec is safe in the child of a multi-threaded fork.
 */
static int spawn(struct worker_proc *w, int child_fd, int plugin_fd)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	char parent[32];
	char *argv[] = { "pganalytics-collector", WORKER_ARG, w->name, parent, NULL };
	int rc;

	snprintf(parent, sizeof(parent), "%ld", (long)getpid());
	if (posix_spawn_file_actions_init(&actions) != 0)
		return ENOMEM;
	rc = init_spawn_attr(&attr);
	if (rc != 0) {
		posix_spawn_file_actions_destroy(&actions);
		return rc;
	}
	rc = posix_spawn_file_actions_adddup2(&actions, child_fd, WORKER_FD);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&actions, plugin_fd, WORKER_PLUGIN_FD);
	if (rc == 0)
		rc = posix_spawn(&w->pid, "/proc/self/exe", &actions, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&actions);
	return rc;
}

/* Release what launch() allocated; the process, if any, is the caller's. */
static void free_proc(struct worker_proc *w)
{
	if (w->fd >= 0)
		close(w->fd);
	wire_buf_free(&w->out);
	wire_inbox_free(&w->in);
	free(w);
}

/* Spawn the worker with its descriptors in place (fds above 4 are ours, closed after). */
static int spawn_with_fds(struct worker_proc *w, int child_end, int plugin_fd)
{
	int child_fd = fd_above_reserved(child_end);
	int image_fd = fd_above_reserved(plugin_fd);
	int rc = child_fd < 0 || image_fd < 0 ? errno : spawn(w, child_fd, image_fd);

	if (child_fd >= 0 && child_fd != child_end)
		close(child_fd);
	if (image_fd >= 0 && image_fd != plugin_fd)
		close(image_fd);
	return rc;
}

/* A socketpair and a worker on its other end; NULL after logging why. */
static struct worker_proc *launch(const char *name, int plugin_fd)
{
	struct worker_proc *w = calloc(1, sizeof(*w));
	int sv[2], rc;

	reap_leftovers();
	if (!w)
		return NULL;
	w->fd = -1;
	snprintf(w->name, sizeof(w->name), "%s", name);
	wire_buf_init(&w->out);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		log_msg(LOG_LVL_ERROR, "plugin %s: cannot create a socketpair for its worker: %s",
			name, strerror(errno));
		free_proc(w);
		return NULL;
	}
	w->fd = sv[0];
	rc = spawn_with_fds(w, sv[1], plugin_fd);
	close(sv[1]);
	if (rc != 0) {
		log_msg(LOG_LVL_ERROR, "plugin %s: cannot start its worker process: %s", name,
			strerror(rc));
		free_proc(w);
		return NULL;
	}
	return w;
}

/* ---- talking ---- */

/* Send the frame built in w->out; a failure marks the worker lost. */
static int send_frame(struct worker_proc *w)
{
	if (wire_flush(&w->out, w->fd) == 0)
		return 0;
	w->lost = true;
	return -1;
}

/* Send one request (SHUTDOWN carries no deadline) with the current log level. */
static int request(struct worker_proc *w, enum worker_op op, uint64_t deadline_ns)
{
	wire_put_u8(&w->out, (uint8_t)op);
	if (op != WOP_SHUTDOWN)
		wire_put_u64(&w->out, deadline_ns);
	wire_put_u8(&w->out, (uint8_t)log_get_level());
	return send_frame(w);
}

/* Milliseconds to poll until `until`, rounded up so that it is not missed. */
static int poll_ms(uint64_t until)
{
	uint64_t now = clock_monotonic_ns(), left;

	if (now >= until)
		return 0;
	left = (until - now + NS_PER_MS - 1) / NS_PER_MS;
	return left > 60000 ? 60000 : (int)left;
}

/* What replaying the frames held came to. */
enum drain_result {
	DRAIN_MORE,           /* no reply yet */
	DRAIN_REPLIED,        /* see the reply */
	DRAIN_BAD,            /* a malformed frame or an operation out of place */
	DRAIN_TOO_LARGE,      /* the cycle passed WORKER_MAX_CYCLE_MB */
	DRAIN_BUSY            /* DRAIN_MAX_FRAMES replayed, more held */
};

/* Frames replayed between two looks at the clock: a frame is a few KiB, often less. */
#define DRAIN_MAX_FRAMES 64

/*
 * Checked after every frame: a frame is at most a few MiB, so the cycle
 * never gets much past the bound before replaying stops.
 */
static bool cycle_too_large(const struct pga_emitter *em)
{
	return em && emitter_cycle_bytes(em) > (size_t)WORKER_MAX_CYCLE_MB * 1024 * 1024;
}

/*
 * Replay the complete frames held, until a reply or the cycle's bound, at
 * most DRAIN_MAX_FRAMES of them (DRAIN_BUSY: more are held), so that the
 * caller looks at the clock between two batches whatever the worker sends.
 */
static enum drain_result drain(struct worker_proc *w, struct pga_emitter *em,
			       struct replay_reply *reply)
{
	const unsigned char *body;
	size_t len;
	int got = 0;

	for (int i = 0; i < DRAIN_MAX_FRAMES; i++) {
		enum replay_result res;

		got = wire_inbox_next(&w->in, &body, &len);
		if (got <= 0)
			return got < 0 ? DRAIN_BAD : DRAIN_MORE;
		res = replay_frame(body, len, em, w->name, reply);
		if (res == REPLAY_REPLIED)
			return DRAIN_REPLIED;
		if (res == REPLAY_BAD)
			return DRAIN_BAD;
		if (cycle_too_large(em))
			return DRAIN_TOO_LARGE;
	}
	return DRAIN_BUSY;
}

/* Log the count of the call's log lines replay_frame left out, if any. */
static void report_suppressed(const struct worker_proc *w, const struct replay_reply *reply)
{
	if (reply->log_suppressed > 0)
		log_msg(LOG_LVL_WARNING, "plugin %s: %lu more log line(s) of this call suppressed",
			w->name, (unsigned long)reply->log_suppressed);
}

/* What a drain came to, as the call's outcome; WORKER_PENDING when it goes on. */
static enum worker_outcome drained(struct worker_proc *w, enum drain_result res,
				   const struct replay_reply *reply, enum worker_op expected,
				   struct worker_reply *out)
{
	switch (res) {
	case DRAIN_MORE:
	case DRAIN_BUSY:
		return WORKER_PENDING;
	case DRAIN_TOO_LARGE:
		return WORKER_TOO_LARGE;
	case DRAIN_REPLIED:
		if (reply->request == (int)expected) {
			out->status = reply->status;
			out->cpu_ns = reply->cpu_ns;
			return WORKER_ANSWERED;
		}
		break;
	case DRAIN_BAD:
		break;
	}
	w->protocol_error = true;
	w->lost = true;
	return WORKER_LOST;
}

/*
 * Wait for the socket to be readable until `until` and read what it has:
 * WORKER_PENDING, or how the call ended (its end, a failure, the time).
 */
static enum worker_outcome read_more(struct worker_proc *w, uint64_t until)
{
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	long n;

	if (poll(&pfd, 1, poll_ms(until)) < 0 && errno != EINTR)
		return WORKER_LOST;
	if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
		return clock_monotonic_ns() >= until ? WORKER_TIMED_OUT : WORKER_PENDING;
	n = wire_inbox_read(&w->in, w->fd);
	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
		w->lost = true;
		return WORKER_LOST;
	}
	return WORKER_PENDING;
}

/*
 * Read what the worker sent until its reply, `until`, or its end.  The
 * clock is read after every batch replayed: a worker that keeps the socket
 * full (a logging loop) is still stopped at `until`.
 */
static enum worker_outcome await_reply(struct worker_proc *w, enum worker_op expected,
				       uint64_t until, struct pga_emitter *em,
				       struct worker_reply *out)
{
	struct replay_reply reply = { 0 };
	enum worker_outcome outcome;

	for (;;) {
		enum drain_result res = drain(w, em, &reply);

		outcome = drained(w, res, &reply, expected, out);
		if (outcome != WORKER_PENDING)
			break;
		if (clock_monotonic_ns() >= until) {
			outcome = WORKER_TIMED_OUT;
			break;
		}
		if (res == DRAIN_BUSY)
			continue;
		outcome = read_more(w, until);
		if (outcome != WORKER_PENDING)
			break;
	}
	report_suppressed(w, &reply);
	return outcome;
}

enum worker_outcome worker_call(struct worker_proc *w, enum worker_op request_op,
				uint64_t deadline_ns, uint64_t until,
				struct pga_emitter *em, struct worker_reply *reply)
{
	if (w->lost || request(w, request_op, deadline_ns) < 0)
		return WORKER_LOST;
	return await_reply(w, request_op, until, request_op == WOP_COLLECT ? em : NULL, reply);
}

struct worker_proc *worker_start(const char *name, int plugin_fd,
				 const struct worker_setup *setup, uint64_t until,
				 struct worker_end *end)
{
	struct worker_proc *w = launch(name, plugin_fd);
	struct worker_reply reply;
	enum worker_outcome outcome;

	memset(end, 0, sizeof(*end));
	if (!w)
		return NULL;
	worker_put_setup(&w->out, setup);
	if (send_frame(w) < 0)
		outcome = WORKER_LOST;
	else
		outcome = await_reply(w, WOP_SETUP, until, NULL, &reply);
	if (outcome == WORKER_ANSWERED && reply.status == PGA_OK)
		return w;
	if (outcome == WORKER_TIMED_OUT)
		log_msg(LOG_LVL_ERROR, "plugin %s: its worker did not load the plugin in time", name);
	worker_finish(w, clock_monotonic_ns() + WORKER_SHUTDOWN_NS, end);
	return NULL;
}

/* ---- ending ---- */

/* What waitpid's status says, or that it could not say (see enum wait_result). */
static void fill_end(struct worker_end *end, enum wait_result waited, int status,
		     bool protocol_error)
{
	memset(end, 0, sizeof(*end));
	end->protocol_error = protocol_error;
	end->unknown = waited == WAIT_LOST;
	end->unreaped = waited == WAIT_RUNNING;
	if (waited != WAIT_REAPED)
		return;
	if (WIFSIGNALED(status)) {
		end->signaled = true;
		end->signal = WTERMSIG(status);
	} else if (WIFEXITED(status)) {
		end->status = WEXITSTATUS(status);
	}
}

/*
 * waitpid until `until`: WAIT_REAPED (status in *status), WAIT_RUNNING at
 * `until`, or WAIT_LOST when the status is gone (ECHILD: someone else
 * reaped it, which an ignored SIGCHLD would do).
 */
static enum wait_result reap_until(pid_t pid, uint64_t until, int *status)
{
	const struct timespec pause = { 0, (long)REAP_POLL_NS };

	for (;;) {
		pid_t got = waitpid(pid, status, WNOHANG);

		if (got == pid)
			return WAIT_REAPED;
		if (got < 0 && errno != EINTR)
			return WAIT_LOST;
		if (clock_monotonic_ns() >= until)
			return WAIT_RUNNING;
		nanosleep(&pause, NULL);
	}
}

/*
 * The processes the plugin started (in the worker's process group) die
 * with it.  Also after the worker is reaped: the group's id cannot be
 * reused while any member lives.  The worker itself is killed by its pid
 * too, in case the plugin moved it to another group.
 */
static void kill_group(pid_t pid)
{
	kill(-pid, SIGKILL);
}

/*
 * SIGKILL and reap, waiting REAP_KILLED_NS at most (see reap_until; a
 * pid still running then is remembered and reaped later).
 */
static enum wait_result reap_killed(pid_t pid, int *status)
{
	enum wait_result waited;

	kill_group(pid);
	kill(pid, SIGKILL);
	waited = reap_until(pid, clock_monotonic_ns() + REAP_KILLED_NS, status);
	if (waited == WAIT_RUNNING)
		remember_unreaped(pid);
	return waited;
}

bool worker_finish(struct worker_proc *w, uint64_t until, struct worker_end *end)
{
	enum wait_result waited = WAIT_RUNNING;
	int status = 0;
	bool killed = false;

	close(w->fd);
	w->fd = -1;
	/* One that broke the protocol is in no state to be waited for. */
	if (!w->protocol_error)
		waited = reap_until(w->pid, until, &status);
	if (waited == WAIT_RUNNING) {
		waited = reap_killed(w->pid, &status);
		killed = true;
	} else {
		kill_group(w->pid);
	}
	fill_end(end, waited, status, w->protocol_error);
	free_proc(w);
	return killed;
}

bool worker_kill(struct worker_proc *w, struct worker_end *end)
{
	enum wait_result waited;
	int status = 0;
	pid_t got;
	bool killed = false;

	/* Dead already (its socket may be held open by a child): a crash, not a kill. */
	while ((got = waitpid(w->pid, &status, WNOHANG)) < 0 && errno == EINTR)
		;
	if (got == w->pid) {
		waited = WAIT_REAPED;
		kill_group(w->pid);
	} else {
		waited = reap_killed(w->pid, &status);
		killed = true;
	}
	fill_end(end, waited, status, w->protocol_error);
	free_proc(w);
	return killed;
}

/* What a worker's own exit statuses (worker_proto.h) mean, as " (...)" or "". */
static const char *exit_meaning(int status)
{
	switch (status) {
	case WORKER_EXIT_SETUP: return " (the worker could not load the plugin)";
	case WORKER_EXIT_NOMEM: return " (out of memory in the worker)";
	case WORKER_EXIT_PROTOCOL: return " (the worker did not understand the collector)";
	case WORKER_EXIT_PARENT_GONE: return " (the worker lost the collector)";
	case WORKER_EXIT_SOCKET_TAKEN: return " (the plugin closed the collector's socket)";
	default: return "";
	}
}

/* The standard signals by number: sigabbrev_np needs glibc 2.32, and other C libraries lack it. */
static const struct {
	int number;
	const char *name;
} signal_names[] = {
	{ SIGHUP, "HUP" }, { SIGINT, "INT" }, { SIGQUIT, "QUIT" }, { SIGILL, "ILL" },
	{ SIGTRAP, "TRAP" }, { SIGABRT, "ABRT" }, { SIGBUS, "BUS" }, { SIGFPE, "FPE" },
	{ SIGKILL, "KILL" }, { SIGUSR1, "USR1" }, { SIGSEGV, "SEGV" }, { SIGUSR2, "USR2" },
	{ SIGPIPE, "PIPE" }, { SIGALRM, "ALRM" }, { SIGTERM, "TERM" }, { SIGCHLD, "CHLD" },
	{ SIGCONT, "CONT" }, { SIGSTOP, "STOP" }, { SIGTSTP, "TSTP" }, { SIGTTIN, "TTIN" },
	{ SIGTTOU, "TTOU" }, { SIGURG, "URG" }, { SIGXCPU, "XCPU" }, { SIGXFSZ, "XFSZ" },
	{ SIGVTALRM, "VTALRM" }, { SIGPROF, "PROF" }, { SIGWINCH, "WINCH" }, { SIGIO, "IO" },
	{ SIGSYS, "SYS" },
#ifdef SIGSTKFLT
	{ SIGSTKFLT, "STKFLT" },
#endif
#ifdef SIGPWR
	{ SIGPWR, "PWR" },
#endif
};

/* "SEGV" for SIGSEGV; NULL for a signal without a standard name. */
static const char *signal_name(int number)
{
	for (size_t i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++) {
		if (signal_names[i].number == number)
			return signal_names[i].name;
	}
	return NULL;
}

void worker_describe_end(const struct worker_end *end, char *out, size_t out_size)
{
	const char *abbrev;

	if (end->protocol_error) {
		snprintf(out, out_size, "protocol error");
	} else if (end->unknown) {
		snprintf(out, out_size, "exit status unknown (reaped elsewhere)");
	} else if (end->unreaped) {
		snprintf(out, out_size, "SIGKILL sent, not reaped yet");
	} else if (end->signaled) {
		abbrev = signal_name(end->signal);
		snprintf(out, out_size, "signal %d (SIG%s)", end->signal, abbrev ? abbrev : "?");
	} else {
		snprintf(out, out_size, "exit status %d%s", end->status, exit_meaning(end->status));
	}
}

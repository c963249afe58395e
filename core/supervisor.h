/*
 * supervisor.h - the collector's side of one plugin worker process
 * (docs/ISOLATION.md): start it, send it requests, wait for the answer
 * within a deadline while replaying what it emits, kill it, reap it and
 * say how it ended.
 *
 * Used by the plugin's runner thread only; nothing here is shared.
 * Waiting never blocks past the time the caller gives, so a hung or dead
 * worker costs its runner thread no more than the deadline (and a killed
 * one at most a second more: one stuck in uninterruptible sleep is
 * reaped later, when another worker starts).
 */
#ifndef PGA_CORE_SUPERVISOR_H
#define PGA_CORE_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <pganalytics/plugin.h>

#include "worker_proto.h"

/* How long a worker has to run the plugin's shutdown and exit. */
#define WORKER_SHUTDOWN_NS (2 * 1000000000ULL)

/*
 * The most one collect of a worker may hand the collector (its records'
 * JSON text): the collector's memory, unlike the worker's, has no
 * memory_limit_mb.  Far above a sane cycle; past it the worker is killed.
 */
#define WORKER_MAX_CYCLE_MB 64

struct worker_proc;

/* What a request came to. */
enum worker_outcome {
	WORKER_ANSWERED,      /* the reply arrived; see struct worker_reply */
	WORKER_TIMED_OUT,     /* no reply by the deadline: the caller kills it */
	WORKER_LOST,          /* the worker died, closed the socket or broke the protocol */
	WORKER_TOO_LARGE,     /* its collect emitted more than WORKER_MAX_CYCLE_MB: the caller kills it */
	WORKER_PENDING        /* internal to supervisor.c: never returned */
};

struct worker_reply {
	int status;           /* what init or collect returned */
	uint64_t cpu_ns;      /* CPU time the worker's thread used for the call */
};

/* How a reaped worker ended. */
struct worker_end {
	bool signaled;
	int signal;           /* when signaled */
	int status;           /* exit status otherwise */
	bool protocol_error;  /* it sent something malformed (and was killed) */
	bool unknown;         /* its status was gone: reaped by someone else */
	bool unreaped;        /* killed, but not ended yet (reaped later) */
};

/*
 * worker_start - spawn `pganalytics-collector --plugin-worker NAME PID`
 * (this very binary, /proc/self/exe) with one end of a socketpair as
 * WORKER_FD and plugin_fd (the plugin's checked file) as
 * WORKER_PLUGIN_FD, send it
 * SETUP and wait for its answer until `until` (CLOCK_MONOTONIC ns).
 * Returns the worker, or NULL after logging why (a worker that started
 * but refused the plugin is reaped first and *end says how it ended).
 */
struct worker_proc *worker_start(const char *name, int plugin_fd,
				 const struct worker_setup *setup, uint64_t until,
				 struct worker_end *end);

/* worker_pid - the worker's process id. */
pid_t worker_pid(const struct worker_proc *w);

/*
 * worker_call - send INIT, COLLECT or SHUTDOWN and wait for the reply
 * until `until`.  deadline_ns is what the plugin sees as its deadline.
 * During COLLECT, emitter operations are replayed into `em` (the cycle is
 * begun and ended by the caller) and log lines are logged; other requests
 * take em NULL, and an emitter operation then is a protocol error.
 */
enum worker_outcome worker_call(struct worker_proc *w, enum worker_op request,
				uint64_t deadline_ns, uint64_t until,
				struct pga_emitter *em, struct worker_reply *reply);

/*
 * worker_finish - end the worker and free it: unless it is already gone,
 * close the socket (a worker exits at its end), give it until `until` to
 * exit, then SIGKILL it.  Whatever is left of its process group (what the
 * plugin started) is killed either way.  Fills *end.  Returns true when it
 * had to be killed.
 */
bool worker_finish(struct worker_proc *w, uint64_t until, struct worker_end *end);

/*
 * worker_kill - SIGKILL the worker now, reap it and free it; fills *end.
 * Returns false when it had already ended by itself (a crash, which
 * *end describes), true when it was killed.
 */
bool worker_kill(struct worker_proc *w, struct worker_end *end);

/*
 * worker_describe_end - "signal 11 (SIGSEGV)", "exit status 3",
 * "exit status 12 (out of memory in the worker)", "protocol error",
 * "exit status unknown (reaped elsewhere)", "SIGKILL sent, not reaped yet".
 */
void worker_describe_end(const struct worker_end *end, char *out, size_t out_size);

#endif

/*
 * worker_link.h - inside a plugin worker process: the collector at the
 * other end of the socket, as the plugin sees it.
 *
 * The plugin gets a real struct pga_host.  Its config getters, clocks,
 * deadline and state_dir are served here in the worker (host.c, with the
 * options the collector sent); its emitter members encode each call as a
 * wire operation (worker_proto.h) into a batch that is sent once it holds
 * WIRE_BATCH_BYTES, and when the call in progress returns.  The collector
 * replays the operations into its real emitter, which validates them as
 * it validates a thread's.  So misuse is found and counted there, and an
 * emitter call in a worker returns PGA_OK unless the deadline has passed
 * (PGA_EDEADLINE, decided here from the deadline of the request, exactly
 * as the host's emitter decides it).
 *
 * The log sink forwards every log line as one frame at once, under a
 * lock, so that a line logged just before a crash is not lost in a batch
 * and a plugin's own threads may log too.
 *
 * One link per process; everything here is process-global.  When the
 * collector is gone (a write fails) the worker exits at once with
 * WORKER_EXIT_PARENT_GONE; when a batch cannot be built for lack of
 * memory it exits with WORKER_EXIT_NOMEM, so that no half of a record is
 * ever sent.  Before every write the socket is checked to still be the
 * one opened (a plugin may close descriptors it does not own, and open a
 * file that gets the number): if not, WORKER_EXIT_SOCKET_TAKEN.
 */
#ifndef PGA_CORE_WORKER_LINK_H
#define PGA_CORE_WORKER_LINK_H

#include <stdint.h>

#include <pganalytics/plugin.h>

#include "log.h"
#include "worker_proto.h"

/* worker_link_open - talk to the collector over fd; install the log sink. */
void worker_link_open(int fd);

/*
 * worker_link_check - exit with WORKER_EXIT_SOCKET_TAKEN unless the
 * link's descriptor is still the socket it was opened on.
 */
void worker_link_check(void);

/*
 * worker_link_host - the vtable the plugin receives: host.c's, with the
 * emitter members replaced by the encoder.
 */
const struct pga_host *worker_link_host(void);

/* worker_link_emitter - the emitter handle passed to collect. */
struct pga_emitter *worker_link_emitter(void);

/*
 * worker_link_begin_call - the request being served has this deadline
 * (CLOCK_MONOTONIC ns, 0: none): the emitter refuses calls past it.
 */
void worker_link_begin_call(uint64_t deadline_ns);

/*
 * worker_link_reply - send everything batched, then the REPLY to `request`
 * with the call's status and the CPU time it used.
 */
void worker_link_reply(enum worker_op request, int status, uint64_t cpu_ns);

/* worker_link_close - free the batch buffer (the socket stays open). */
void worker_link_close(void);

#endif

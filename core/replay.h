/*
 * replay.h - decode the operations a plugin worker sends (worker_proto.h)
 * and replay them: emitter calls into the host's real emitter (emitter.c),
 * which validates them exactly as it validates a thread's calls, log
 * lines into the collector's log.
 *
 * Everything in a frame comes from a process that may be corrupt: every
 * field is bounds-checked and a malformed frame is reported, never
 * trusted.
 */
#ifndef PGA_CORE_REPLAY_H
#define PGA_CORE_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pganalytics/plugin.h>

enum replay_result {
	REPLAY_MORE,          /* the frame held no reply: wait for more */
	REPLAY_REPLIED,       /* a reply ended the frame; see the out fields */
	REPLAY_BAD            /* malformed, or an emitter call outside collect */
};

/*
 * Log lines forwarded per call (request): past them, lines are counted in
 * log_suppressed instead, so that a plugin logging in a loop cannot flood
 * the collector's log.
 */
#define REPLAY_MAX_LOG_LINES 100

/* One call's reply, and its log lines so far: zero it before the call's first frame. */
struct replay_reply {
	int request;          /* enum worker_op answered */
	int status;
	uint64_t cpu_ns;
	uint64_t log_lines;       /* logged this call */
	uint64_t log_suppressed;  /* past REPLAY_MAX_LOG_LINES, not logged */
};

/*
 * replay_frame - replay one frame body from the worker of plugin
 * `plugin_name`.  em is the emitter of the cycle in progress, NULL outside
 * collect.  Log lines are logged with the plugin's prefix (added unless the
 * line has it), up to REPLAY_MAX_LOG_LINES per call (counted in *reply,
 * which carries over from one frame of the call to the next).  A reply
 * must be the frame's last operation.
 */
enum replay_result replay_frame(const unsigned char *body, size_t len, struct pga_emitter *em,
				const char *plugin_name, struct replay_reply *reply);

#endif

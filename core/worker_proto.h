/*
 * worker_proto.h - the operations the collector and a plugin worker
 * exchange, over the framing of wire.h (docs/ISOLATION.md).
 *
 * Collector -> worker, one operation per frame:
 *   SETUP     once, first: which plugin, where, and its bound options
 *   INIT      u64 deadline (CLOCK_MONOTONIC ns), u8 log level
 *   COLLECT   u64 deadline, u8 log level
 *   SHUTDOWN  u8 log level
 * Worker -> collector, batched several to a frame:
 *   the emitter calls (RECORD_BEGIN ... SET_NULL), each with its arguments;
 *   LOG       u8 level, string: one log line, already prefixed
 *   REPLY     u8 request, i32 status, u64 CPU ns the call used
 *
 * The worker answers each request with exactly one REPLY, after every
 * operation the call produced.  SETUP is answered with a REPLY too: a
 * status other than PGA_OK means the worker could not load the plugin
 * (it logged why) and exits.
 */
#ifndef PGA_CORE_WORKER_PROTO_H
#define PGA_CORE_WORKER_PROTO_H

#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "wire.h"

/* The worker's end of the socketpair, in the worker. */
#define WORKER_FD 3
/*
 * The plugin's file, open, in the worker: the very file the collector
 * checked, even after an upgrade replaced the one at its path.
 */
#define WORKER_PLUGIN_FD 4
/* argv[1] of a worker: `pganalytics-collector --plugin-worker NAME PARENT_PID`. */
#define WORKER_ARG "--plugin-worker"

/* Exit statuses of a worker that stops by itself (see worker_describe_end in supervisor.h). */
#define WORKER_EXIT_SETUP 10        /* the plugin could not be loaded (logged) */
#define WORKER_EXIT_NOMEM 12        /* out of memory in the worker's own code */
#define WORKER_EXIT_PROTOCOL 13     /* the collector sent something unexpected */
#define WORKER_EXIT_PARENT_GONE 14  /* the collector died or closed the socket */
#define WORKER_EXIT_SOCKET_TAKEN 15 /* the plugin closed the socket (or replaced it) */

enum worker_op {
	/* collector -> worker */
	WOP_SETUP = 1,
	WOP_INIT,
	WOP_COLLECT,
	WOP_SHUTDOWN,
	/* worker -> collector */
	WOP_RECORD_BEGIN = 16,   /* i64 unix ns of the call, string type */
	WOP_RECORD_END,
	WOP_RECORD_TIMESTAMP,    /* i64 */
	WOP_OBJECT_BEGIN,        /* string key */
	WOP_OBJECT_END,
	WOP_ARRAY_BEGIN,         /* string key */
	WOP_ARRAY_END,
	WOP_SET_INT64,           /* string key, i64 */
	WOP_SET_UINT64,          /* string key, u64 */
	WOP_SET_DOUBLE,          /* string key, f64 */
	WOP_SET_BOOL,            /* string key, u8 */
	WOP_SET_STRING,          /* string key, string value */
	WOP_SET_STRINGN,         /* string key, u64 len, string value (NULL or len bytes) */
	WOP_SET_NULL,            /* string key */
	WOP_LOG,                 /* u8 level, string text */
	WOP_REPLY                /* u8 request op, u32 status (int32), u64 cpu ns */
};

/* What SETUP carries: everything the worker needs to run the plugin. */
struct worker_setup {
	const char *path;                /* the shared object, for messages: the */
					 /* worker loads WORKER_PLUGIN_FD */
	const char *state_dir;           /* state_dir/plugins/NAME, made by the collector */
	long memory_limit_mb;            /* 0: none */
	const struct plugin_section *section;  /* bound options */
};

/* worker_put_setup - encode a SETUP operation into buf. */
void worker_put_setup(struct wire_buf *buf, const struct worker_setup *setup);

/*
 * worker_get_setup - decode a SETUP body (after its op byte) into *setup,
 * whose strings point into the body, and *section, whose options are
 * malloc'd copies (free with plugin_section_clear).  Returns 0, or -1 on a
 * malformed body or out of memory.
 */
int worker_get_setup(struct wire_reader *r, struct worker_setup *setup,
		     struct plugin_section *section);

#endif

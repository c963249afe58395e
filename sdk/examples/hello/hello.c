/*
 * hello - a minimal pgAnalytics collector plugin, meant to be copied.
 *
 * It shows the whole life of a plugin:
 *   - a declared option table (the host builds the config schema from it,
 *     so `plugin hello { greeting = "hi"; repeat = 3 }` just works and
 *     unknown keys are rejected with file and line);
 *   - init, which reads the options once and keeps the host pointers;
 *   - collect, which emits records through the host's emitter;
 *   - shutdown, which frees what init allocated.
 *
 * Build it against an installed SDK with the Makefile next to this file:
 * it needs nothing but <pganalytics/plugin.h> and the C library.
 */
#include <pganalytics/plugin.h>

#include <stdlib.h>

static const struct pga_option hello_options[] = {
	{ .name = "greeting", .type = PGA_OPT_STRING,
	  .default_value = "hello, world", .help = "text to put in each record" },
	{ .name = "repeat", .type = PGA_OPT_INT, .default_value = "1",
	  .help = "records to emit per collect" },
	{ .name = NULL }, /* the table ends with a NULL name */
};

/*
 * Everything mutable lives here, never in globals: the host may run
 * several plugins on different threads (and, later, in other processes).
 */
struct hello_state {
	const struct pga_host *host; /* valid until shutdown returns */
	struct pga_ctx *ctx;         /* identifies us in every host call */
	const char *greeting;        /* owned by the host, valid until shutdown */
	int64_t repeat;
	uint64_t started_ns;         /* for the uptime field */
	uint64_t counter;            /* records emitted so far */
};

static int hello_init(const struct pga_host *host, struct pga_ctx *ctx,
		      void **state)
{
	struct hello_state *st = calloc(1, sizeof(*st));

	if (st == NULL) {
		host->log(ctx, PGA_LOG_ERROR, "out of memory");
		return PGA_ENOMEM;
	}
	st->host = host;
	st->ctx = ctx;
	/* Options are read once; a config change re-runs init after shutdown. */
	st->greeting = host->config_string(ctx, "greeting");
	st->repeat = host->config_int(ctx, "repeat");
	if (st->repeat < 0) {
		host->log(ctx, PGA_LOG_ERROR,
			  "repeat must be 0 or more, not %lld",
			  (long long)st->repeat);
		free(st);
		return PGA_ERROR;
	}
	st->started_ns = host->monotonic_ns(ctx);
	host->log(ctx, PGA_LOG_INFO, "will say \"%s\" %lld time(s) per collect",
		  st->greeting, (long long)st->repeat);
	*state = st;
	return PGA_OK;
}

static int hello_collect(void *state, struct pga_emitter *em)
{
	struct hello_state *st = state;
	const struct pga_host *h = st->host;
	uint64_t uptime_ns = h->monotonic_ns(st->ctx) - st->started_ns;

	for (int64_t i = 0; i < st->repeat; i++) {
		/* The host adds "type", "plugin" and "timestamp" itself. */
		h->record_begin(em, "hello");
		h->set_string(em, "greeting", st->greeting);
		h->set_uint64(em, "counter", ++st->counter);
		h->set_double(em, "uptime_s", (double)uptime_ns / 1e9);
		/*
		 * record_end reports any misuse in the record (and drops it),
		 * or PGA_EDEADLINE when we are late: then stop and return.
		 */
		int rc = h->record_end(em);

		if (rc != PGA_OK)
			return rc;
	}
	return PGA_OK;
}

static void hello_shutdown(void *state)
{
	free(state);
}

/* Writes pga_plugin_entry_v1() and fills in the ABI version fields. */
PGA_PLUGIN_DEFINE(.name = "hello", .version = "1.0.0",
		  .description = "example plugin that emits a greeting",
		  .options = hello_options, .default_interval = 60,
		  .init = hello_init, .collect = hello_collect,
		  .shutdown = hello_shutdown)

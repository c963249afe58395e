/*
 * init_fail - init logs why and refuses to start; the host must report
 * "init failed", skip only this plugin and never call its collect.
 */
#include <pganalytics/plugin.h>

#include <stdlib.h>

static int init_fail_init(const struct pga_host *host, struct pga_ctx *ctx,
			  void **state)
{
	*state = NULL;
	host->log(ctx, PGA_LOG_ERROR, "cannot start: test plugin refuses");
	return PGA_ERROR;
}

static int init_fail_collect(void *state, struct pga_emitter *em)
{
	(void)state;
	(void)em;
	/* Unreachable when the host honours init's refusal; crash loudly if not. */
	abort();
}

PGA_PLUGIN_DEFINE(.name = "init_fail", .version = "1.0",
		  .description = "test plugin whose init always fails",
		  .init = init_fail_init, .collect = init_fail_collect)

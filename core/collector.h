/*
 * collector.h - the collector's run modes: the daemon (plugins on their
 * schedules, a payload every push_interval, SIGHUP reloads, SIGTERM stops),
 * a single cycle (--once) and configuration checking.
 */
#ifndef PGA_CORE_COLLECTOR_H
#define PGA_CORE_COLLECTOR_H

#include <stdbool.h>

/* Exit codes, documented in --help and the man page. */
enum exit_code {
	EXIT_OK = 0,
	EXIT_INVALID = 1,   /* invalid configuration or rejected plugin */
	EXIT_USAGE = 2,
	EXIT_RUNTIME = 3    /* output, state directory or system failure */
};

struct collector_options {
	const char *config_path;
	const char *output;        /* overrides backend.url; NULL: use the config */
	bool once;
	bool foreground;
};

/* collector_run - run as a daemon, or one cycle with opts->once.  Returns an exit code. */
int collector_run(const struct collector_options *opts);

/*
 * collector_register - register with the backend now and store the
 * credentials in state_dir (--register).  Returns EXIT_OK, EXIT_INVALID
 * (configuration) or EXIT_RUNTIME (the backend refused or is unreachable).
 */
int collector_register(const char *config_path);

/*
 * collector_check_config - validate the configuration and load (without
 * init) every enabled plugin.  Prints "configuration OK" on success.
 * Returns EXIT_OK or EXIT_INVALID.
 */
int collector_check_config(const char *config_path);

#endif

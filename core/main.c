/*
 * main.c - command line of pganalytics-collector.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pganalytics/plugin.h>

#include "backend_client.h"
#include "collector.h"
#include "inspect.h"
#include "log.h"
#include "worker_main.h"
#include "worker_proto.h"

enum command {
	CMD_RUN, CMD_CHECK_CONFIG, CMD_LIST_PLUGINS, CMD_CHECK_PLUGIN, CMD_REGISTER, CMD_VERSION, CMD_HELP
};

struct cli {
	enum command command;
	struct collector_options run;
	const char *plugin_file;
};

static void print_usage(FILE *out)
{
	fprintf(out,
		"Usage: pganalytics-collector [OPTION]...\n"
		"Collect PostgreSQL, system, log and disk metrics through plugins and ship them\n"
		"to the pgAnalytics backend.\n"
		"\n"
		"  -c, --config FILE        main configuration file\n"
		"                           (default %s)\n"
		"      --once               run every enabled plugin once, deliver one payload, exit\n"
		"  -o, --output DEST        deliver to DEST instead of backend.url:\n"
		"                             https://HOST       the backend (spooled, TLS 1.3, mTLS)\n"
		"                             -                  readable JSON on standard output\n"
		"                             file:///PATH       one JSON payload per line, appended\n"
		"                             file:///PATH.gz    one gzip member per payload, appended\n"
		"      --check-config       validate the configuration and the enabled plugins, exit\n"
		"      --list-plugins       list installed plugins: name, version, ABI, enabled, path\n"
		"      --check-plugin FILE  tell whether FILE.so would be accepted as a plugin, exit\n"
		"      --register           register with the backend, store the credentials, exit\n"
		"  -f, --foreground         log to standard error instead of syslog\n"
		"  -v, --version            print the version and the plugin ABI, exit\n"
		"  -h, --help               print this help, exit\n"
		"\n"
		"The daemon does not fork; run it under systemd.  SIGHUP reloads the\n"
		"configuration, SIGTERM and SIGINT deliver what was collected and stop.\n"
		"\n"
		"Exit status:\n"
		"  0  success\n"
		"  1  invalid configuration, or a rejected plugin (--check-config, --check-plugin)\n"
		"  2  usage error\n"
		"  3  runtime failure (output, state directory, backend refused registration)\n",
		PGA_DEFAULT_CONFIG);
}

static void print_version(void)
{
	printf("pganalytics-collector %s (plugin ABI %d.%d)\n", PGA_VERSION, PGA_ABI_MAJOR,
	       PGA_ABI_MINOR);
}

static int set_command(struct cli *cli, enum command command)
{
	if (cli->command != CMD_RUN && cli->command != command) {
		fprintf(stderr, "pganalytics-collector: --check-config, --list-plugins, "
				"--check-plugin, --register, --version and --help exclude each other\n");
		return -1;
	}
	cli->command = command;
	return 0;
}

/* Returns 0, or -1 after printing a usage error. */
static int parse_args(int argc, char **argv, struct cli *cli)
{
	enum { OPT_ONCE = 256, OPT_CHECK_CONFIG, OPT_LIST_PLUGINS, OPT_CHECK_PLUGIN, OPT_REGISTER };
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "output", required_argument, NULL, 'o' },
		{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
		{ "list-plugins", no_argument, NULL, OPT_LIST_PLUGINS },
		{ "check-plugin", required_argument, NULL, OPT_CHECK_PLUGIN },
		{ "register", no_argument, NULL, OPT_REGISTER },
		{ "foreground", no_argument, NULL, 'f' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt, rc = 0;

	cli->run.config_path = PGA_DEFAULT_CONFIG;
	while (rc == 0 && (opt = getopt_long(argc, argv, "c:o:fvh", options, NULL)) != -1) {
		switch (opt) {
		case 'c': cli->run.config_path = optarg; break;
		case 'o': cli->run.output = optarg; break;
		case 'f': cli->run.foreground = true; break;
		case OPT_ONCE: cli->run.once = true; break;
		case OPT_CHECK_CONFIG: rc = set_command(cli, CMD_CHECK_CONFIG); break;
		case OPT_LIST_PLUGINS: rc = set_command(cli, CMD_LIST_PLUGINS); break;
		case OPT_CHECK_PLUGIN:
			cli->plugin_file = optarg;
			rc = set_command(cli, CMD_CHECK_PLUGIN);
			break;
		case OPT_REGISTER: rc = set_command(cli, CMD_REGISTER); break;
		case 'v': rc = set_command(cli, CMD_VERSION); break;
		case 'h': rc = set_command(cli, CMD_HELP); break;
		default: rc = -1; break;
		}
	}
	if (rc == 0 && optind < argc) {
		fprintf(stderr, "pganalytics-collector: unexpected argument '%s'\n", argv[optind]);
		rc = -1;
	}
	if (rc < 0)
		fprintf(stderr, "Try 'pganalytics-collector --help' for more information.\n");
	return rc;
}

int main(int argc, char **argv)
{
	struct cli cli = { .command = CMD_RUN };

	/* A plugin worker the collector started (docs/ISOLATION.md): no CLI, no libcurl. */
	if (argc > 1 && strcmp(argv[1], WORKER_ARG) == 0)
		return worker_main(argc, argv);
	if (parse_args(argc, argv, &cli) < 0)
		return EXIT_USAGE;
	log_open(false, LOG_LVL_INFO);
	if (backend_global_init() < 0) {
		fprintf(stderr, "pganalytics-collector: cannot initialise libcurl\n");
		return EXIT_RUNTIME;
	}
	switch (cli.command) {
	case CMD_HELP: print_usage(stdout); return EXIT_OK;
	case CMD_VERSION: print_version(); return EXIT_OK;
	case CMD_CHECK_CONFIG: return collector_check_config(cli.run.config_path);
	case CMD_LIST_PLUGINS: return inspect_list_plugins(cli.run.config_path);
	case CMD_CHECK_PLUGIN: return inspect_check_plugin(cli.plugin_file);
	case CMD_REGISTER: return collector_register(cli.run.config_path);
	default: return collector_run(&cli.run);
	}
}

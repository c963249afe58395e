/*
 * Unit tests of the configuration: files, drop-ins, per-plugin schemas and
 * the FILE:LINE messages an operator reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_sections.h"
#include "stderr_capture.h"

struct fixture {
	char dir[64];
	char main_path[128];
	char include_dir[128];
};

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* The main file gets the fixture's include_dir prepended. */
static void write_main(struct fixture *f, const char *rest)
{
	char *text;

	assert_true(asprintf(&text, "collector {\n  include_dir = \"%s\"\n}\n%s",
			     f->include_dir, rest) > 0);
	write_file(f->main_path, text);
	free(text);
}

static void write_drop_in(struct fixture *f, const char *name, const char *text)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", f->include_dir, name);
	write_file(path, text);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/pga-config-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->main_path, sizeof(f->main_path), "%s/collector.conf", f->dir);
	snprintf(f->include_dir, sizeof(f->include_dir), "%s/collector.d", f->dir);
	mkdir(f->include_dir, 0700);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd;

	if (asprintf(&cmd, "rm -rf '%s'", f->dir) > 0) {
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", f->dir);
		free(cmd);
	}
	free(f);
	return 0;
}

static const struct pga_option good_options[] = {
	{ "greeting", PGA_OPT_STRING, "hello", "what to say" },
	{ "count", PGA_OPT_INT, "2", "how many" },
	{ "ratio", PGA_OPT_DOUBLE, "0.5", "" },
	{ "loud", PGA_OPT_BOOL, "false", "" },
	{ "tags", PGA_OPT_STRING_LIST, "{\"a\", \"b\"}", "" },
};
#define N_GOOD (sizeof(good_options) / sizeof(good_options[0]))

static struct config *load_quietly(const char *path, char **log)
{
	struct config *cfg;

	capture_start();
	cfg = config_load(path);
	*log = capture_end();
	return cfg;
}

static void test_defaults_when_sections_are_absent(void **state)
{
	struct fixture *f = *state;
	struct config *cfg;
	char *log;

	write_main(f, "");
	cfg = load_quietly(f->main_path, &log);
	assert_non_null(cfg);
	assert_int_equal(cfg->collector.push_interval, 60);
	assert_string_equal(cfg->collector.state_dir, "/var/lib/pganalytics");
	assert_string_equal(cfg->collector.log_level, "info");
	assert_string_equal(cfg->backend.auth, "token");
	assert_int_equal(cfg->backend.spool_max_mb, 256);
	assert_int_equal(cfg->n_plugins, 0);
	config_free(cfg);
	free(log);
}

static void test_drop_ins_override_in_name_order(void **state)
{
	struct fixture *f = *state;
	struct config *cfg;
	char *log;

	write_main(f, "collector {\n  push_interval = 5\n  hostname = \"main\"\n}\n");
	write_drop_in(f, "20-late.conf", "collector {\n  hostname = \"late\"\n}\n");
	write_drop_in(f, "10-early.conf", "collector {\n  hostname = \"early\"\n  log_level = \"debug\"\n}\n");
	write_drop_in(f, "ignored.txt", "this is not read {");
	cfg = load_quietly(f->main_path, &log);
	assert_non_null(cfg);
	assert_string_equal(cfg->collector.hostname, "late");
	assert_string_equal(cfg->collector.log_level, "debug");
	assert_int_equal(cfg->collector.push_interval, 5);
	assert_int_equal(cfg->n_files, 3);
	config_free(cfg);
	free(log);
}

static void test_unknown_collector_key_names_file_line_and_valid_keys(void **state)
{
	struct fixture *f = *state;
	char expected[256];
	char *log;

	write_main(f, "collector {\n  push_intervall = 5\n}\n");
	assert_null(load_quietly(f->main_path, &log));
	snprintf(expected, sizeof(expected),
		 "%s:5: no such option 'push_intervall' in section collector; valid keys: id, hostname, push_interval",
		 f->main_path);
	assert_non_null(strstr(log, expected));
	free(log);
}

static void test_error_in_drop_in_names_the_drop_in(void **state)
{
	struct fixture *f = *state;
	char expected[256];
	char *log;

	write_main(f, "");
	write_drop_in(f, "pgstats.conf", "# comment\nplugin pgstats {\n  interval = \"often\"\n}\n");
	assert_null(load_quietly(f->main_path, &log));
	snprintf(expected, sizeof(expected), "%s/pgstats.conf:3: invalid integer value for option 'interval'",
		 f->include_dir);
	assert_non_null(strstr(log, expected));
	free(log);
}

static void test_invalid_values_are_refused_with_their_line(void **state)
{
	struct fixture *f = *state;
	char *log;

	write_main(f, "collector {\n  log_level = \"chatty\"\n}\n");
	assert_null(load_quietly(f->main_path, &log));
	assert_non_null(strstr(log, "collector.conf:5: option 'log_level' must be one of error, warning, info, debug"));
	free(log);

	write_main(f, "backend {\n  auth = \"password\"\n}\n");
	assert_null(load_quietly(f->main_path, &log));
	assert_non_null(strstr(log, "collector.conf:5: option 'auth' must be \"token\" or \"hmac\""));
	free(log);

	write_main(f, "plugin p {\n  interval = 0\n}\n");
	assert_null(load_quietly(f->main_path, &log));
	assert_non_null(strstr(log, "collector.conf:5: option 'interval' must be from 1 to 604800 seconds (got 0)"));
	free(log);

	/* Beyond a week, nanosecond arithmetic could overflow: refused. */
	write_main(f, "collector {\n  push_interval = 18446744074\n}\n");
	assert_null(load_quietly(f->main_path, &log));
	free(log);
	write_main(f, "collector {\n  push_interval = 604801\n}\n");
	assert_null(load_quietly(f->main_path, &log));
	assert_non_null(strstr(log, "option 'push_interval' must be from 1 to 604800 seconds"));
	free(log);
}

static void test_timeout_longer_than_interval_is_refused(void **state)
{
	struct fixture *f = *state;
	char *log;

	write_main(f, "plugin p {\n  interval = 5\n  timeout = 9\n}\n");
	assert_null(load_quietly(f->main_path, &log));
	assert_non_null(strstr(log, "collector.conf:4: plugin \"p\": timeout (9 s) must not exceed interval (5 s)"));
	free(log);
}

static void test_plugin_section_title_must_be_a_plugin_name(void **state)
{
	struct fixture *f = *state;
	char *log;

	write_main(f, "plugin \"Bad-Name\" {\n}\n");
	assert_null(load_quietly(f->main_path, &log));
	assert_non_null(strstr(log, "collector.conf:4: invalid plugin section name \"Bad-Name\""));
	free(log);
}

static void test_duplicate_section_in_one_file_is_refused(void **state)
{
	struct fixture *f = *state;
	char *log;

	write_main(f, "plugin p {\n}\nplugin p {\n}\n");
	assert_null(load_quietly(f->main_path, &log));
	assert_non_null(strstr(log, "duplicate title 'p'"));
	free(log);
}

static void test_host_keys_are_read_before_plugins_are_known(void **state)
{
	struct fixture *f = *state;
	struct plugin_section *s;
	struct config *cfg;
	char *log;

	write_main(f, "plugin good {\n  interval = 7\n  timeout = 3\n  whatever = {1, 2}\n}\n"
		      "plugin off {\n  enabled = false\n  path = \"elsewhere/off.so\"\n}\n");
	cfg = load_quietly(f->main_path, &log);
	assert_non_null(cfg);
	s = config_find_plugin(cfg, "good");
	assert_non_null(s);
	assert_true(s->enabled);
	assert_int_equal(s->interval, 7);
	assert_int_equal(s->timeout, 3);
	assert_int_equal(s->line, 4);
	s = config_find_plugin(cfg, "off");
	assert_non_null(s);
	assert_false(s->enabled);
	assert_string_equal(s->path, "elsewhere/off.so");
	assert_null(config_find_plugin(cfg, "missing"));
	config_free(cfg);
	free(log);
}

static void test_bind_uses_defaults_and_typed_values(void **state)
{
	struct fixture *f = *state;
	const struct option_value *v;
	struct plugin_section *s;
	struct config *cfg;
	char *log;

	write_main(f, "plugin good {\n  greeting = \"hi } there # not a comment\"\n  ratio = 2.25\n  loud = true\n}\n");
	write_drop_in(f, "good.conf", "plugin good {\n  count = 7\n  tags = {\"x\", \"y\", \"z\"}\n}\n");
	cfg = load_quietly(f->main_path, &log);
	free(log);
	assert_non_null(cfg);
	s = config_find_plugin(cfg, "good");
	capture_start();
	assert_int_equal(config_bind_plugin(cfg, s, good_options, N_GOOD), 0);
	free(capture_end());
	v = plugin_option_find(s, "greeting");
	assert_string_equal(v->string, "hi } there # not a comment");
	assert_int_equal(plugin_option_find(s, "count")->integer, 7);
	assert_true(plugin_option_find(s, "ratio")->number == 2.25);
	assert_true(plugin_option_find(s, "loud")->boolean);
	v = plugin_option_find(s, "tags");
	assert_int_equal(v->list_len, 3);
	assert_string_equal(v->list[2], "z");
	assert_null(plugin_option_find(s, "nonexistent"));
	config_free(cfg);
}

static void test_bind_defaults_and_empty_list_override(void **state)
{
	struct fixture *f = *state;
	struct plugin_section *s;
	struct config *cfg;
	char *log;

	write_main(f, "plugin good {\n  tags = {}\n}\n");
	cfg = load_quietly(f->main_path, &log);
	free(log);
	s = config_find_plugin(cfg, "good");
	capture_start();
	assert_int_equal(config_bind_plugin(cfg, s, good_options, N_GOOD), 0);
	free(capture_end());
	assert_string_equal(plugin_option_find(s, "greeting")->string, "hello");
	assert_int_equal(plugin_option_find(s, "count")->integer, 2);
	assert_false(plugin_option_find(s, "loud")->boolean);
	assert_int_equal(plugin_option_find(s, "tags")->list_len, 0);
	config_free(cfg);
}

static void test_bind_rejects_undeclared_key_with_valid_keys(void **state)
{
	struct fixture *f = *state;
	struct plugin_section *s;
	struct config *cfg;
	char expected[512];
	char *log;

	/* The other plugin's unknown keys are none of good's business. */
	write_main(f, "plugin other {\n  colour = {\"red\"}\n}\nplugin good {\n  greting = \"typo\"\n}\n");
	cfg = load_quietly(f->main_path, &log);
	free(log);
	assert_non_null(cfg);
	s = config_find_plugin(cfg, "good");
	capture_start();
	assert_int_equal(config_bind_plugin(cfg, s, good_options, N_GOOD), -1);
	log = capture_end();
	snprintf(expected, sizeof(expected),
		 "%s:8: no such option 'greting' in plugin \"good\"; valid keys: enabled, interval, timeout, path, isolation, memory_limit_mb, greeting, count, ratio, loud, tags",
		 f->main_path);
	assert_non_null(strstr(log, expected));
	assert_int_equal(count_occurrences(log, "colour"), 0);
	assert_false(s->bound);
	free(log);
	config_free(cfg);
}

static void test_bind_rejects_mistyped_declared_value(void **state)
{
	struct fixture *f = *state;
	struct plugin_section *s;
	struct config *cfg;
	char *log;

	write_main(f, "plugin good {\n  count = \"many\"\n}\n");
	cfg = load_quietly(f->main_path, &log);
	free(log);
	s = config_find_plugin(cfg, "good");
	capture_start();
	assert_int_equal(config_bind_plugin(cfg, s, good_options, N_GOOD), -1);
	log = capture_end();
	assert_non_null(strstr(log, "collector.conf:5: invalid integer value for option 'count'"));
	free(log);
	config_free(cfg);
}

static void test_option_table_checks(void **state)
{
	const struct pga_option reserved[] = { { "interval", PGA_OPT_INT, "1", "" } };
	const struct pga_option twice[] = { { "a", PGA_OPT_INT, "1", "" }, { "a", PGA_OPT_STRING, "", "" } };
	const struct pga_option bad_default[] = { { "limit", PGA_OPT_INT, "lots", "" } };
	const struct pga_option bad_double[] = { { "ratio", PGA_OPT_DOUBLE, "inf", "" } };
	const struct pga_option bad_name[] = { { "Limit", PGA_OPT_INT, "1", "" } };
	const struct pga_option bad_type[] = { { "limit", 99, "1", "" } };
	char why[256];

	(void)state;
	assert_int_equal(config_check_option_table(good_options, N_GOOD, why, sizeof(why)), 0);
	assert_int_equal(config_check_option_table(reserved, 1, why, sizeof(why)), -1);
	assert_string_equal(why, "option \"interval\" is reserved for the collector");
	assert_int_equal(config_check_option_table(twice, 2, why, sizeof(why)), -1);
	assert_string_equal(why, "option \"a\" is declared twice");
	assert_int_equal(config_check_option_table(bad_default, 1, why, sizeof(why)), -1);
	assert_string_equal(why, "option \"limit\": default \"lots\" is not a valid int");
	assert_int_equal(config_check_option_table(bad_double, 1, why, sizeof(why)), -1);
	assert_int_equal(config_check_option_table(bad_name, 1, why, sizeof(why)), -1);
	assert_int_equal(config_check_option_table(bad_type, 1, why, sizeof(why)), -1);
}

static void test_section_copy_and_equality(void **state)
{
	struct fixture *f = *state;
	struct plugin_section copy, *s;
	struct config *cfg;
	char *log;

	write_main(f, "plugin good {\n  tags = {\"q\"}\n}\n");
	cfg = load_quietly(f->main_path, &log);
	free(log);
	s = config_find_plugin(cfg, "good");
	capture_start();
	config_bind_plugin(cfg, s, good_options, N_GOOD);
	free(capture_end());
	assert_int_equal(plugin_section_copy(&copy, s), 0);
	assert_true(plugin_sections_equal(&copy, s));
	copy.options[1].integer++;
	assert_false(plugin_sections_equal(&copy, s));
	copy.options[1].integer--;
	free(copy.options[4].list[0]);
	copy.options[4].list[0] = strdup("r");
	assert_false(plugin_sections_equal(&copy, s));
	plugin_section_clear(&copy);
	config_free(cfg);
}

static void test_section_scanner_skips_strings_comments_and_lists(void **state)
{
	const char *text =
		"# plugin fake { }\n"
		"collector { state_dir = \"/x}y\" }\n"
		"/* plugin hidden {\n } */\n"
		"top = { \"a\", \"}\" }\n"
		"plugin 'quoted' {\n  k = 'it''s'\n}\n"
		"plugin real { nested { a = 1 } // }\n}\n";
	struct section_span *spans;
	int stopped;
	size_t n;

	(void)state;
	assert_int_equal(config_find_sections(text, strlen(text), &spans, &n, &stopped), 0);
	assert_int_equal(stopped, 0);
	assert_int_equal(n, 3);
	assert_string_equal(spans[0].name, "collector");
	assert_null(spans[0].title);
	assert_int_equal(spans[0].line, 2);
	assert_string_equal(spans[1].title, "quoted");
	assert_int_equal(spans[1].line, 6);
	assert_string_equal(spans[2].title, "real");
	assert_int_equal(spans[2].line, 9);
	assert_int_equal(text[spans[2].end - 1], '}');
	config_free_sections(spans, n);
}

static void test_remote_overlay_may_change_plugins_and_intervals_only(void **state)
{
	struct fixture *f = *state;
	char overlay[256];
	struct config *cfg;
	char *log;

	snprintf(overlay, sizeof(overlay), "%s/remote.conf", f->dir);
	write_main(f, "collector {\n  push_interval = 60\n}\nplugin p {\n  interval = 30\n}\n");
	write_file(overlay, "collector {\n  push_interval = 10\n}\nplugin p {\n  interval = 5\n}\n");
	capture_start();
	cfg = config_load_with_overlay(f->main_path, overlay);
	free(capture_end());
	assert_non_null(cfg);
	assert_int_equal(cfg->collector.push_interval, 10);
	assert_int_equal(config_find_plugin(cfg, "p")->interval, 5);
	config_free(cfg);

	write_file(overlay, "backend {\n  url = \"https://elsewhere\"\n}\n");
	capture_start();
	assert_null(config_load_with_overlay(f->main_path, overlay));
	log = capture_end();
	assert_non_null(strstr(log, "remote.conf:1: no such option 'backend' at top level"));
	free(log);

	write_file(overlay, "collector {\n  state_dir = \"/elsewhere\"\n}\n");
	capture_start();
	assert_null(config_load_with_overlay(f->main_path, overlay));
	log = capture_end();
	assert_non_null(strstr(log, "no such option 'state_dir' in section collector; valid keys: push_interval"));
	free(log);

	write_file(overlay, "plugin p {\n  path = \"/tmp/evil.so\"\n}\n");
	capture_start();
	assert_null(config_load_with_overlay(f->main_path, overlay));
	log = capture_end();
	assert_non_null(strstr(log, "no such option 'path' in plugin \"p\"; valid keys: enabled, interval, timeout"));
	free(log);

	write_file(overlay, "plugin p {\n  conninfo = \"host=elsewhere\"\n}\n");
	capture_start();
	assert_null(config_load_with_overlay(f->main_path, overlay));
	log = capture_end();
	assert_non_null(strstr(log, "no such option 'conninfo' in plugin \"p\""));
	free(log);

	write_file(overlay, "plugin p {\n\n  enabled = \"${HOME}\"\n}\n");
	capture_start();
	assert_null(config_load_with_overlay(f->main_path, overlay));
	log = capture_end();
	assert_non_null(strstr(log, "remote.conf:3: '$' is not allowed in a configuration from the backend"));
	free(log);
}

static void test_section_scanner_reports_where_it_stopped(void **state)
{
	const char *text = "plugin a {\n}\nwhat is this\nplugin b {\n}\n";
	struct section_span *spans;
	int stopped;
	size_t n;

	(void)state;
	assert_int_equal(config_find_sections(text, strlen(text), &spans, &n, &stopped), 0);
	assert_int_equal(n, 1);
	assert_int_equal(stopped, 3);
	config_free_sections(spans, n);
}

static void test_blanking_keeps_newlines(void **state)
{
	char text[] = "ab\ncd\nef";

	(void)state;
	config_blank_span(text, 1, 7);
	assert_string_equal(text, "a \n  \n f");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults_when_sections_are_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_ins_override_in_name_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_collector_key_names_file_line_and_valid_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_in_drop_in_names_the_drop_in, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_values_are_refused_with_their_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_longer_than_interval_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plugin_section_title_must_be_a_plugin_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_section_in_one_file_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_keys_are_read_before_plugins_are_known, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_uses_defaults_and_typed_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_defaults_and_empty_list_override, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_rejects_undeclared_key_with_valid_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_rejects_mistyped_declared_value, setup, teardown),
		cmocka_unit_test(test_option_table_checks),
		cmocka_unit_test_setup_teardown(test_section_copy_and_equality, setup, teardown),
		cmocka_unit_test(test_section_scanner_skips_strings_comments_and_lists),
		cmocka_unit_test_setup_teardown(test_remote_overlay_may_change_plugins_and_intervals_only, setup, teardown),
		cmocka_unit_test(test_section_scanner_reports_where_it_stopped),
		cmocka_unit_test(test_blanking_keeps_newlines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

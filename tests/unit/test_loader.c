/*
 * Unit tests of the loader's ABI rules, against real shared objects built
 * from tests/plugins/ (and tests/abi/ for the frozen ABI 1.0 plugin).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "stderr_capture.h"

static char *plugin_file(const char *name)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	char *path;

	assert_true(asprintf(&path, "%s/tests/plugins/%s.so", build, name) > 0);
	return path;
}

/*
 * Load `name`; expect exactly one error line, starting with the standard
 * prefix and `what`.  Returns the log (caller frees).
 */
static char *rejection_log(const char *name, const char *what)
{
	struct plugin_image *image = (void *)1;
	char *path = plugin_file(name), *log, expected[512];

	capture_start();
	assert_int_equal(loader_open(name, path, &image), LOADER_REJECTED);
	log = capture_end();
	assert_null(image);
	snprintf(expected, sizeof(expected), "plugin \"%s\" (%s): %s", name, path, what);
	if (!strstr(log, expected))
		fail_msg("expected \"%s\" in: %s", expected, log);
	assert_int_equal(count_occurrences(log, "error: "), 1);
	free(path);
	return log;
}

static void expect_rejected(const char *name, const char *what)
{
	free(rejection_log(name, what));
}

static struct plugin_image *expect_loaded(const char *name)
{
	struct plugin_image *image = NULL;
	char *path = plugin_file(name), *log;

	capture_start();
	assert_int_equal(loader_open(name, path, &image), LOADER_OK);
	log = capture_end();
	assert_string_equal(log, "");
	assert_non_null(image);
	assert_string_equal(image->path, path);
	free(log);
	free(path);
	return image;
}

static void test_not_loadable_points_at_ldd(void **state)
{
	char *log;

	(void)state;
	log = rejection_log("needs_missing_lib", "cannot be loaded; libpga_vanished.so");
	assert_non_null(strstr(log, "; check its library dependencies with: ldd "));
	free(log);
}

static void test_missing_entry_symbol(void **state)
{
	(void)state;
	expect_rejected("no_entry", "not a pganalytics plugin; it does not export pga_plugin_entry_v1");
}

static void test_other_major_entry_symbol(void **state)
{
	(void)state;
	expect_rejected("abi_v2", "ABI major mismatch; it exports pga_plugin_entry_v2 (ABI 2)");
}

static void test_major_in_descriptor(void **state)
{
	(void)state;
	expect_rejected("abi_major_mismatch", "ABI major mismatch; the descriptor says ABI 2.x");
}

static void test_major_is_checked_before_anything_else(void **state)
{
	(void)state;
	expect_rejected("abi_major_first", "ABI major mismatch; the descriptor says ABI 7.x");
}

static void test_newer_minor_with_unknown_fields_set(void **state)
{
	(void)state;
	expect_rejected("newer_minor_tail", "built against a newer ABI; its ABI 1.1 descriptor sets fields");
}

static void test_newer_minor_with_zero_tail_loads(void **state)
{
	struct plugin_image *image = expect_loaded("newer_minor_zero_tail");

	(void)state;
	assert_int_equal(image->desc.abi_minor, PGA_ABI_MINOR + 1);
	assert_non_null(image->desc.collect);
	loader_release(image);
}

static void test_descriptor_too_small(void **state)
{
	(void)state;
	expect_rejected("too_small", "descriptor too small; struct_size is 16 bytes");
}

static void test_missing_required_fields(void **state)
{
	(void)state;
	expect_rejected("no_name", "descriptor incomplete; it has no name");
	expect_rejected("no_collect", "descriptor incomplete; it has no collect callback");
}

static void test_invalid_name(void **state)
{
	(void)state;
	expect_rejected("bad_name", "invalid name; \"Bad-Name\" must match [a-z0-9_]+");
}

static void test_invalid_option_table(void **state)
{
	(void)state;
	expect_rejected("bad_options", "invalid option table; option \"limit\": default \"lots\" is not a valid int");
}

static void test_good_plugin_descriptor_and_options_are_copied(void **state)
{
	struct plugin_image *image = expect_loaded("good");

	(void)state;
	assert_string_equal(image->desc.name, "good");
	assert_int_equal(image->desc.abi_major, PGA_ABI_MAJOR);
	assert_int_equal(image->desc.struct_size, sizeof(struct pga_plugin));
	assert_true(image->n_options >= 5);
	assert_string_equal(image->options[0].name, "greeting");
	assert_int_equal(image->options[0].type, PGA_OPT_STRING);
	loader_release(image);
}

static void test_frozen_abi_1_0_plugin_loads(void **state)
{
	struct plugin_image *image = expect_loaded("frozen_abi_1_0");

	(void)state;
	assert_string_equal(image->desc.name, "frozen_abi_1_0");
	assert_int_equal(image->desc.abi_major, 1);
	assert_int_equal(image->desc.abi_minor, 0);
	loader_release(image);
}

static void test_absent_file_is_not_installed_and_silent(void **state)
{
	struct plugin_image *image = NULL;
	char *log;

	(void)state;
	capture_start();
	assert_int_equal(loader_open("ghost", "/nonexistent/ghost.so", &image), LOADER_NOT_INSTALLED);
	log = capture_end();
	assert_string_equal(log, "");
	assert_null(image);
	free(log);
}

static void test_a_file_that_is_not_a_shared_object(void **state)
{
	struct plugin_image *image = NULL;
	char path[] = "/tmp/pga-loader-XXXXXX";
	int fd = mkstemp(path);
	char *log;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not elf\n", 8), 8);
	close(fd);
	capture_start();
	assert_int_equal(loader_open("junk", path, &image), LOADER_REJECTED);
	log = capture_end();
	assert_non_null(strstr(log, "plugin \"junk\" ("));
	assert_non_null(strstr(log, "): cannot be loaded; "));
	unlink(path);
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_loadable_points_at_ldd),
		cmocka_unit_test(test_missing_entry_symbol),
		cmocka_unit_test(test_other_major_entry_symbol),
		cmocka_unit_test(test_major_in_descriptor),
		cmocka_unit_test(test_major_is_checked_before_anything_else),
		cmocka_unit_test(test_newer_minor_with_unknown_fields_set),
		cmocka_unit_test(test_newer_minor_with_zero_tail_loads),
		cmocka_unit_test(test_descriptor_too_small),
		cmocka_unit_test(test_missing_required_fields),
		cmocka_unit_test(test_invalid_name),
		cmocka_unit_test(test_invalid_option_table),
		cmocka_unit_test(test_good_plugin_descriptor_and_options_are_copied),
		cmocka_unit_test(test_frozen_abi_1_0_plugin_loads),
		cmocka_unit_test(test_absent_file_is_not_installed_and_silent),
		cmocka_unit_test(test_a_file_that_is_not_a_shared_object),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of the pglog plugin's log times (plugins/pglog/log_time.c,
 * compiled in here: plugins are not part of the core library).  Zones come
 * from the system's real zoneinfo files (Debian's tzdata).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../plugins/pglog/log_time.c"

/* cmocka's assert_float_equal is single precision: too coarse for Unix seconds. */
#define assert_seconds(got, want, epsilon) assert_seconds_at(got, want, epsilon, __LINE__)

static void assert_seconds_at(double got, double want, double epsilon, int line)
{
	if (got - want > epsilon || want - got > epsilon)
		fail_msg("line %d: got %.6f seconds, want %.6f", line, got, want);
}

static double unix_time(const struct log_zone *zone, const char *text)
{
	double t = -1e18;

	assert_true(log_time_to_unix(zone, text, strlen(text), &t));
	return t;
}

static bool understood(const struct log_zone *zone, const char *text)
{
	double t;

	return log_time_to_unix(zone, text, strlen(text), &t);
}

static struct log_zone *zone(const char *name)
{
	char why[256];
	struct log_zone *z = log_zone_load(LOG_ZONEINFO_DIR, name, why, sizeof(why));

	if (z == NULL)
		fail_msg("%s", why);
	return z;
}

static void test_utc_and_numeric_zones_need_no_table(void **state)
{
	(void)state;
	assert_seconds(unix_time(NULL, "2026-11-27 21:15:02.345 UTC"), 1795814102.345, 1e-6);
	assert_seconds(unix_time(NULL, "2026-11-27 10:00:00 -03"), 1795784400.0, 1e-6);
	assert_seconds(unix_time(NULL, "2026-11-27 10:00:00 +0530"), 1795753800.0, 1e-6);
	assert_seconds(unix_time(NULL, "2026-11-27 10:00:00 +05:30"), 1795753800.0, 1e-6);
	assert_seconds(unix_time(NULL, "2024-02-29 23:59:59 GMT"), 1709251199.0, 1e-6);
	assert_seconds(unix_time(NULL, "1969-12-31 23:00:00 UTC"), -3600.0, 1e-6);
	assert_false(understood(NULL, "2026-11-27 21:15:02 CET"));
}

static void test_abbreviations_of_the_servers_zone(void **state)
{
	struct log_zone *berlin = zone("Europe/Berlin"), *kolkata = zone("Asia/Kolkata");

	(void)state;
	assert_seconds(unix_time(berlin, "2026-11-27 21:15:02 CET"), 1795810502.0, 1e-6);
	assert_seconds(unix_time(berlin, "2026-07-01 12:00:00.5 CEST"), 1782900000.5, 1e-6);
	assert_seconds(unix_time(kolkata, "2026-11-27 10:00:00 IST"), 1795753800.0, 1e-6);
	assert_false(understood(berlin, "2026-11-27 10:00:00 IST"));
	assert_seconds(unix_time(berlin, "2026-11-27 21:15:02 UTC"), 1795814102.0, 1e-6);
	log_zone_free(berlin);
	log_zone_free(kolkata);
}

static void test_epoch_seconds_of_percent_n(void **state)
{
	(void)state;
	assert_seconds(unix_time(NULL, "1795814102.345"), 1795814102.345, 1e-6);
	assert_false(understood(NULL, "17958x3702"));
	assert_false(understood(NULL, ""));
}

static void test_malformed_times_are_refused(void **state)
{
	static const char *const bad[] = {
		"2026-13-27 21:15:02 UTC", "2026-11-27 24:15:02 UTC", "2026-11-27 21:15:02",
		"2026-11-27 21:15:02 ", "2026-11-27T21:15:02 UTC", "2026-11-27 21:15:02 +99",
		"2026/11/27 21:15:02 UTC", "2026-11-27 21:15:02.3 +05:3x",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (understood(NULL, bad[i]))
			fail_msg("understood %s", bad[i]);
}

static void test_zone_names_and_files_are_checked(void **state)
{
	char why[256];

	(void)state;
	assert_null(log_zone_load(LOG_ZONEINFO_DIR, "../../etc/passwd", why, sizeof(why)));
	assert_non_null(strstr(why, "is not a time zone name"));
	assert_null(log_zone_load(LOG_ZONEINFO_DIR, "No/Such_Zone", why, sizeof(why)));
	assert_non_null(strstr(why, "cannot read"));
	assert_null(log_zone_load("/etc", "hostname", why, sizeof(why)));
	assert_non_null(strstr(why, "is not a tzfile"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utc_and_numeric_zones_need_no_table),
		cmocka_unit_test(test_abbreviations_of_the_servers_zone),
		cmocka_unit_test(test_epoch_seconds_of_percent_n),
		cmocka_unit_test(test_malformed_times_are_refused),
		cmocka_unit_test(test_zone_names_and_files_are_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_worker_end.c - how the end of a plugin worker is told in the log
 * and the self-metrics (worker_describe_end in supervisor.c): signals by
 * their standard names, the worker's own exit statuses by their meaning,
 * a lost or not yet known status never as a clean exit.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "supervisor.h"

/* worker_describe_end of *end, in a static buffer. */
static const char *described(const struct worker_end *end)
{
	static char text[128];

	worker_describe_end(end, text, sizeof(text));
	return text;
}

static void test_signals_are_named(void **state)
{
	struct worker_end end = { .signaled = true };
	char want[64];
	static const struct {
		int number;
		const char *name;
	} cases[] = { { SIGSEGV, "SEGV" }, { SIGABRT, "ABRT" }, { SIGKILL, "KILL" },
		      { SIGBUS, "BUS" }, { SIGFPE, "FPE" }, { SIGXCPU, "XCPU" }, { SIGSYS, "SYS" } };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		end.signal = cases[i].number;
		snprintf(want, sizeof(want), "signal %d (SIG%s)", cases[i].number, cases[i].name);
		assert_string_equal(described(&end), want);
	}
	end.signal = SIGRTMIN + 3;
	snprintf(want, sizeof(want), "signal %d (SIG?)", SIGRTMIN + 3);
	assert_string_equal(described(&end), want);
}

static void test_exit_statuses_and_lost_ones(void **state)
{
	struct worker_end end = { .status = 3 };

	(void)state;
	assert_string_equal(described(&end), "exit status 3");
	end.status = WORKER_EXIT_SOCKET_TAKEN;
	assert_string_equal(described(&end), "exit status 15 (the plugin closed the collector's socket)");
	end.status = 0;
	end.unknown = true;
	assert_string_equal(described(&end), "exit status unknown (reaped elsewhere)");
	end.unknown = false;
	end.unreaped = true;
	assert_string_equal(described(&end), "SIGKILL sent, not reaped yet");
	end.unreaped = false;
	end.protocol_error = true;
	assert_string_equal(described(&end), "protocol error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signals_are_named),
		cmocka_unit_test(test_exit_statuses_and_lost_ones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

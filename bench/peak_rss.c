/*
 * peak_rss - run a command and print its peak resident set size and CPU
 * time: "maxrss_kb user_s system_s exit_status" on standard error's last
 * line.  bench/rss_bench.py uses it instead of measuring from Python:
 * ru_maxrss keeps the size the child had before exec, and a child forked
 * from Python starts as big as Python.  Forked from this small program,
 * the collector's own peak is what shows.
 *
 * Usage: peak_rss COMMAND [ARG...]
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage usage;
	int status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: peak_rss COMMAND [ARG...]\n");
		return 2;
	}
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &usage) != pid)
		return 1;
	fprintf(stderr, "%ld %.6f %.6f %d\n", usage.ru_maxrss,
		(double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6,
		(double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6,
		WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}

/*
 * pid_stat.h - the two things the postgres process count needs from
 * /proc/PID/stat: the command name and the resident set size.
 *
 *     1234 (postgres) S 1 1234 ... (rss is the 24th field)
 *
 * The name is between the first '(' and the LAST ')': a process may
 * call itself "a) b (c" and the fields after it must still be found.
 */
#ifndef SYSSTAT_PID_STAT_H
#define SYSSTAT_PID_STAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kernel keeps at most 15 bytes of a command name (TASK_COMM_LEN - 1). */
#define PID_COMM_MAX 15

struct pid_stat {
	char comm[PID_COMM_MAX + 1];   /* cut to PID_COMM_MAX bytes */
	uint64_t rss_pages;
};

/* pid_stat_parse - false when the text does not have the kernel's shape. */
bool pid_stat_parse(const char *text, size_t len, struct pid_stat *out);

/* pid_stat_is_postgres - the command is "postgres" or "postmaster". */
bool pid_stat_is_postgres(const struct pid_stat *st);

#endif

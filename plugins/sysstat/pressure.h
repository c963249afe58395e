/*
 * pressure.h - one /proc/pressure/{cpu,memory,io} file (pressure stall
 * information, Linux 4.20 and later):
 *     some avg10=1.44 avg60=0.82 avg300=0.75 total=399858044
 *     full avg10=0.00 avg60=0.00 avg300=0.00 total=0
 */
#ifndef SYSSTAT_PRESSURE_H
#define SYSSTAT_PRESSURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc_text.h"

struct pressure_line {
	bool present;
	double avg10, avg60, avg300;   /* percent */
	uint64_t total_us;             /* stall time since boot, microseconds */
};

/* "full" is absent from the cpu file before Linux 5.13. */
struct pressure {
	struct pressure_line some, full;
};

/*
 * pressure_parse - the "some" and "full" lines.  A malformed line is left
 * out (the first is described in *err).
 */
void pressure_parse(const char *text, size_t len, struct pressure *out, struct parse_error *err);

#endif

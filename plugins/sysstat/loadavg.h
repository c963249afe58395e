/* loadavg.h - /proc/loadavg: "0.45 0.54 0.66 5/116 12446". */
#ifndef SYSSTAT_LOADAVG_H
#define SYSSTAT_LOADAVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc_text.h"

struct loadavg {
	double avg1, avg5, avg15;
	uint64_t runnable, threads;   /* scheduling entities runnable now / in all */
};

/* loadavg_parse - false (and *err says why) unless the text has the kernel's shape. */
bool loadavg_parse(const char *text, size_t len, struct loadavg *out, struct parse_error *err);

#endif

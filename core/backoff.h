/*
 * backoff.h - how long a failing plugin waits before its next try.
 */
#ifndef PGA_CORE_BACKOFF_H
#define PGA_CORE_BACKOFF_H

#include <stdint.h>

/* The wait never exceeds this, nor BACKOFF_MAX_INTERVALS intervals. */
#define BACKOFF_CAP_NS (300ULL * 1000000000ULL)
#define BACKOFF_MAX_INTERVALS 8

/*
 * backoff_delay_ns - the wait after `failures` consecutive failures of a
 * plugin that runs every interval_ns: interval * 2^failures, capped at
 * min(BACKOFF_MAX_INTERVALS intervals, BACKOFF_CAP_NS) but never below one
 * interval.  failures 0 gives the interval.
 */
uint64_t backoff_delay_ns(uint64_t interval_ns, uint64_t failures);

#endif

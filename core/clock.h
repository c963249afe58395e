/*
 * clock.h - the two clocks the collector reads: CLOCK_MONOTONIC for
 * intervals and deadlines, and CLOCK_REALTIME formatted as RFC 3339 for
 * timestamps that leave the host.
 */
#ifndef PGA_CORE_CLOCK_H
#define PGA_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_S 1000000000ULL
#define NS_PER_MS 1000000ULL

/* Room for "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 chars) plus NUL, with slack. */
#define CLOCK_RFC3339_LEN 32

/*
 * clock_monotonic_ns - CLOCK_MONOTONIC in nanoseconds.  Never goes back and
 * never jumps with wall-clock changes, so it is what deadlines compare with.
 * Returns 0 only if the clock cannot be read (not expected on Linux).
 */
uint64_t clock_monotonic_ns(void);

/*
 * clock_format_rfc3339 - write `utc` (seconds and nanoseconds since the
 * epoch, as CLOCK_REALTIME gives them) to `out` as
 * "2026-11-27T15:04:05.123Z": UTC, milliseconds truncated, always exactly
 * 24 characters plus NUL.  Times outside the years 0000..9999, which RFC 3339
 * cannot express, are clamped to the nearest end of that range; an
 * out-of-range tv_nsec is clamped to 0..999999999.  `utc` is only read.
 */
void clock_format_rfc3339(const struct timespec *utc, char out[CLOCK_RFC3339_LEN]);

#endif

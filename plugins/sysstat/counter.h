/*
 * counter.h - the increase of a kernel counter between two readings.
 *
 * A counter that went down either wrapped (a 32-bit field, or a 64-bit
 * one, past its maximum) or was reset (its device was removed and created
 * again between the readings).  A wrap is only believed when the earlier
 * value was in the top quarter of its width and the later one is in the
 * bottom quarter; anything else that went down is a reset, and the
 * caller skips the rate rather than report a spike.  The width is guessed
 * from the earlier value: 32 bits while it fits, else 64.
 */
#ifndef SYSSTAT_COUNTER_H
#define SYSSTAT_COUNTER_H

#include <stdbool.h>
#include <stdint.h>

/* counter_delta - *delta is after - before, modulo the width; false for a reset. */
bool counter_delta(uint64_t before, uint64_t after, uint64_t *delta);

#endif

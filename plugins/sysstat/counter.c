#include "counter.h"

static bool wrapped_at_32_bits(uint64_t before, uint64_t after)
{
	const uint64_t quarter = (uint64_t)1 << 30;

	return before <= UINT32_MAX && before >= ((uint64_t)UINT32_MAX + 1) - quarter &&
	       after < quarter;
}

static bool wrapped_at_64_bits(uint64_t before, uint64_t after)
{
	const uint64_t quarter = (uint64_t)1 << 62;

	return before > UINT32_MAX && before >= 0 - quarter && after < quarter;
}

bool counter_delta(uint64_t before, uint64_t after, uint64_t *delta)
{
	if (after >= before) {
		*delta = after - before;
		return true;
	}
	if (wrapped_at_32_bits(before, after)) {
		*delta = ((uint64_t)UINT32_MAX + 1) - before + after;
		return true;
	}
	if (wrapped_at_64_bits(before, after)) {
		*delta = after - before;   /* unsigned arithmetic is modulo 2^64 */
		return true;
	}
	return false;
}

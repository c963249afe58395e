#include "backoff.h"

uint64_t backoff_delay_ns(uint64_t interval_ns, uint64_t failures)
{
	uint64_t cap = BACKOFF_CAP_NS, delay = interval_ns;

	if (interval_ns <= BACKOFF_CAP_NS / BACKOFF_MAX_INTERVALS)
		cap = BACKOFF_MAX_INTERVALS * interval_ns;
	if (cap < interval_ns)
		cap = interval_ns;
	for (uint64_t i = 0; i < failures && delay < cap; i++)
		delay *= 2;
	return delay < cap ? delay : cap;
}

#include "clock.h"

#include <stdio.h>

uint64_t clock_monotonic_ns(void)
{
	struct timespec now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
		return 0;
	return (uint64_t)now.tv_sec * UINT64_C(1000000000) + (uint64_t)now.tv_nsec;
}

/*
 * RFC 3339 has four-digit years only; clamping keeps the promise of a fixed
 * 24-character string even for a garbage clock value.
 */
static void clamp_to_rfc3339_range(struct tm *tm, long *millis)
{
	if (tm->tm_year + 1900 > 9999) {
		*tm = (struct tm){ .tm_year = 9999 - 1900, .tm_mon = 11, .tm_mday = 31,
				   .tm_hour = 23, .tm_min = 59, .tm_sec = 59 };
		*millis = 999;
	} else if (tm->tm_year + 1900 < 0) {
		*tm = (struct tm){ .tm_year = -1900, .tm_mon = 0, .tm_mday = 1 };
		*millis = 0;
	}
}

void clock_format_rfc3339(const struct timespec *utc, char out[CLOCK_RFC3339_LEN])
{
	struct tm tm;
	long nsec = utc->tv_nsec;
	long millis;
	unsigned year, month, day, hour, minute, second;

	if (nsec < 0)
		nsec = 0;
	else if (nsec > 999999999L)
		nsec = 999999999L;
	millis = nsec / 1000000L;

	if (gmtime_r(&utc->tv_sec, &tm) == NULL) {
		/* Only a year that overflows int fails; its sign tells which end. */
		tm = (struct tm){ .tm_year = utc->tv_sec < 0 ? -1901 : 10000 };
	}
	clamp_to_rfc3339_range(&tm, &millis);

	/* Reduce each field to its printed width so the length is provable. */
	year = (unsigned)(tm.tm_year + 1900) % 10000u;
	month = (unsigned)(tm.tm_mon + 1) % 100u;
	day = (unsigned)tm.tm_mday % 100u;
	hour = (unsigned)tm.tm_hour % 100u;
	minute = (unsigned)tm.tm_min % 100u;
	second = (unsigned)tm.tm_sec % 100u;
	snprintf(out, CLOCK_RFC3339_LEN, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", year,
		 month, day, hour, minute, second, (unsigned)millis % 1000u);
}

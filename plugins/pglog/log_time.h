/*
 * log_time.h - the time of a log entry as Unix seconds.
 *
 * PostgreSQL writes times in log_timezone as "2026-11-27 21:15:02.345 CET"
 * (%m, csvlog, jsonlog) or "... CET" without milliseconds (%t), or as Unix
 * seconds (%n).  A zone abbreviation means nothing on its own ("IST" is
 * three zones), so it is looked up among the abbreviations of the server's
 * log_timezone, read from its tzfile(5) in the system's zoneinfo directory.
 * UTC, GMT and numeric abbreviations ("-03", "+0530") need no table.
 */
#ifndef PGLOG_LOG_TIME_H
#define PGLOG_LOG_TIME_H

#include <stdbool.h>
#include <stddef.h>

#define LOG_ZONEINFO_DIR "/usr/share/zoneinfo"

struct log_zone;

/*
 * log_zone_load - the abbreviations of zone `name` (an IANA name such as
 * "Europe/Berlin") from dir/name.  NULL with why set when the name is not
 * a plain relative path, the file is missing or it is not a tzfile; NULL
 * with why = "" when out of memory.  Free with log_zone_free.
 */
struct log_zone *log_zone_load(const char *dir, const char *name, char *why, size_t why_len);
void log_zone_free(struct log_zone *z);

/*
 * log_time_to_unix - text[0..len) as seconds since 1970-01-01 UTC into
 * *out.  zone may be NULL: only UTC, GMT and numeric zones are then
 * understood.  False when the text is no time or its zone is unknown.
 */
bool log_time_to_unix(const struct log_zone *zone, const char *text, size_t len, double *out);

#endif

/*
 * log_time.c - log entry times as Unix seconds (see log_time.h).
 *
 * A tzfile (RFC 8536) holds local time types {UTC offset, is_dst,
 * abbreviation} and the transitions between them.  An abbreviation gets
 * the offset of the last transition to a type that carries it, so that a
 * zone that changed its offset keeps today's meaning.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log_time.h"

#define MAX_TZFILE_BYTES (1 << 20)
#define MAX_ABBREVIATION 15

struct zone_abbreviation {
	char name[MAX_ABBREVIATION + 1];
	int32_t utc_offset;
};

struct log_zone {
	struct zone_abbreviation *abbreviations;
	size_t count;
};

/* The tzfile header's six counts, in file order. */
struct tz_counts {
	uint32_t isut, isstd, leap, time, type, chars;
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool read_header(const unsigned char *p, size_t len, struct tz_counts *c)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return false;
	*c = (struct tz_counts){ be32(p + 20), be32(p + 24), be32(p + 28), be32(p + 32), be32(p + 36),
				 be32(p + 40) };
	return c->type > 0 && c->type <= 256 && c->chars <= 65536 && c->time <= 1000000 &&
	       c->leap <= 1000000 && c->isut <= 256 && c->isstd <= 256;
}

/* Bytes of the data block after a header, with times of time_size bytes. */
static size_t block_size(const struct tz_counts *c, size_t time_size)
{
	return (size_t)c->time * (time_size + 1) + (size_t)c->type * 6 + c->chars +
	       (size_t)c->leap * (time_size + 4) + c->isstd + c->isut;
}

static void set_abbreviation(struct log_zone *z, const char *name, int32_t offset)
{
	size_t i;

	for (i = 0; i < z->count; i++)
		if (strcmp(z->abbreviations[i].name, name) == 0)
			break;
	if (i == z->count) {
		snprintf(z->abbreviations[i].name, sizeof(z->abbreviations[i].name), "%s", name);
		z->count++;
	}
	z->abbreviations[i].utc_offset = offset;
}

/* The type's abbreviation into name; false when it points outside the characters. */
static bool type_abbreviation(const unsigned char *types, const unsigned char *chars, uint32_t n_chars,
			      uint32_t type, char name[MAX_ABBREVIATION + 1], int32_t *offset)
{
	const unsigned char *t = types + (size_t)type * 6;
	uint32_t at = t[5];
	size_t len = 0;

	if (at >= n_chars)
		return false;
	while (at + len < n_chars && chars[at + len] && len < MAX_ABBREVIATION)
		len++;
	memcpy(name, chars + at, len);
	name[len] = '\0';
	*offset = (int32_t)be32(t);
	return len > 0;
}

/* Every type's abbreviation, then again in transition order, so the last transition wins. */
static bool read_block(struct log_zone *z, const unsigned char *p, const struct tz_counts *c,
		       size_t time_size)
{
	const unsigned char *indices = p + (size_t)c->time * time_size;
	const unsigned char *types = indices + c->time;
	const unsigned char *chars = types + (size_t)c->type * 6;
	char name[MAX_ABBREVIATION + 1];
	int32_t offset;

	z->abbreviations = calloc(c->type, sizeof(*z->abbreviations));
	if (z->abbreviations == NULL)
		return false;
	for (uint32_t type = 0; type < c->type; type++)
		if (type_abbreviation(types, chars, c->chars, type, name, &offset))
			set_abbreviation(z, name, offset);
	for (uint32_t i = 0; i < c->time; i++)
		if (indices[i] < c->type && type_abbreviation(types, chars, c->chars, indices[i], name, &offset))
			set_abbreviation(z, name, offset);
	return true;
}

/* Version 2+ files repeat the data with 64-bit times after the first block; that block is the complete one. */
static bool parse_tzfile(struct log_zone *z, const unsigned char *p, size_t len)
{
	struct tz_counts c;
	size_t first;

	if (!read_header(p, len, &c))
		return false;
	first = 44 + block_size(&c, 4);
	if (p[4] >= '2' && first < len) {
		p += first;
		len -= first;
		if (!read_header(p, len, &c) || 44 + block_size(&c, 8) > len)
			return false;
		return read_block(z, p + 44, &c, 8);
	}
	return first <= len && read_block(z, p + 44, &c, 4);
}

/* IANA names are relative paths of [A-Za-z0-9_+-] parts: nothing may climb out of the directory. */
static bool plain_zone_name(const char *name)
{
	if (name[0] == '\0' || name[0] == '/' || strstr(name, ".."))
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") ==
	       strlen(name);
}

static unsigned char *read_small_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	unsigned char *data;

	if (f == NULL)
		return NULL;
	data = malloc(MAX_TZFILE_BYTES);
	*len = data ? fread(data, 1, MAX_TZFILE_BYTES, f) : 0;
	fclose(f);
	return data;
}

struct log_zone *log_zone_load(const char *dir, const char *name, char *why, size_t why_len)
{
	struct log_zone *z;
	unsigned char *data;
	char path[4096];
	size_t len = 0;

	why[0] = '\0';
	if (!plain_zone_name(name)) {
		snprintf(why, why_len, "log_timezone \"%s\" is not a time zone name", name);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((data = read_small_file(path, &len)) == NULL) {
		snprintf(why, why_len, "log_timezone \"%s\": cannot read %s", name, path);
		return NULL;
	}
	z = calloc(1, sizeof(*z));
	if (z && !parse_tzfile(z, data, len)) {
		snprintf(why, why_len, "log_timezone \"%s\": %s is not a tzfile", name, path);
		log_zone_free(z);
		z = NULL;
	}
	free(data);
	return z;
}

void log_zone_free(struct log_zone *z)
{
	if (z == NULL)
		return;
	free(z->abbreviations);
	free(z);
}

/* ---- reading a time ---- */

/* n digits at *p as a number; advances *p.  -1 when they are not all digits. */
static int digits(const char **p, const char *end, int n)
{
	int v = 0;

	if (end - *p < n)
		return -1;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* "+05", "-0330", "+05:30": seconds east of UTC. */
static bool numeric_offset(const char *z, size_t len, int32_t *offset)
{
	const char *p = z + 1, *end = z + len;
	int h, m = 0;

	if (len < 3 || (z[0] != '+' && z[0] != '-') || (h = digits(&p, end, 2)) < 0)
		return false;
	if (p < end && *p == ':')
		p++;
	if (p < end && (m = digits(&p, end, 2)) < 0)
		return false;
	if (p != end || h > 15 || m > 59)
		return false;
	*offset = (z[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
	return true;
}

static bool zone_offset(const struct log_zone *zone, const char *z, size_t len, int32_t *offset)
{
	if ((len == 3 && (memcmp(z, "UTC", 3) == 0 || memcmp(z, "GMT", 3) == 0)) ||
	    (len == 1 && z[0] == 'Z')) {
		*offset = 0;
		return true;
	}
	if (numeric_offset(z, len, offset))
		return true;
	for (size_t i = 0; zone && i < zone->count; i++)
		if (strlen(zone->abbreviations[i].name) == len && memcmp(zone->abbreviations[i].name, z, len) == 0) {
			*offset = zone->abbreviations[i].utc_offset;
			return true;
		}
	return false;
}

/* "1732742102.345" (%n). */
static bool epoch_seconds(const char *text, size_t len, double *out)
{
	const char *p = text, *end = text + len;
	double v = 0, scale = 1;

	if (len == 0 || len > 24)
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (*p - '0');
	if (p < end && *p == '.')
		for (p++; p < end && *p >= '0' && *p <= '9'; p++)
			v += (*p - '0') * (scale /= 10);
	*out = v;
	return p == end && p > text;
}

bool log_time_to_unix(const struct log_zone *zone, const char *text, size_t len, double *out)
{
	const char *p = text, *end = text + len;
	int y, mo, d, h, mi, s;
	double fraction = 0, scale = 1;
	int32_t offset;

	if (len < 19 || text[4] != '-')
		return epoch_seconds(text, len, out);
	if ((y = digits(&p, end, 4)) < 0 || *p++ != '-' || (mo = digits(&p, end, 2)) < 1 || mo > 12 ||
	    *p++ != '-' || (d = digits(&p, end, 2)) < 1 || d > 31 || *p++ != ' ' ||
	    (h = digits(&p, end, 2)) < 0 || h > 23 || p >= end || *p++ != ':' ||
	    (mi = digits(&p, end, 2)) < 0 || mi > 59 || p >= end || *p++ != ':' ||
	    (s = digits(&p, end, 2)) < 0 || s > 60)
		return false;
	if (p < end && *p == '.')
		for (p++; p < end && *p >= '0' && *p <= '9'; p++)
			fraction += (*p - '0') * (scale /= 10);
	if (p >= end || *p++ != ' ' || !zone_offset(zone, p, (size_t)(end - p), &offset))
		return false;
	*out = (double)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset) + fraction;
	return true;
}

/*
 * mountinfo.c - the /proc/<pid>/mountinfo parser (see mountinfo.h).
 */
#include <stdlib.h>
#include <string.h>

#include "mountinfo.h"

/* Fields before the optional ones: ID PARENT MAJOR:MINOR ROOT MOUNT_POINT OPTIONS. */
#define FIXED_FIELDS 6
/* A device number part larger than this is not a device number (MINORBITS is 20). */
#define MAX_DEVICE_PART 0xFFFFFFFu

/* Walks the fields of one line, which ends at `end`. */
struct field_cursor {
	char *next;
	char *end;
};

static bool is_separator(char c)
{
	return c == ' ' || c == '\t';
}

/* The next field, NUL-terminated in place; NULL when the line has no more. */
static char *next_field(struct field_cursor *cur)
{
	char *start;

	while (cur->next < cur->end && is_separator(*cur->next))
		cur->next++;
	if (cur->next >= cur->end)
		return NULL;
	start = cur->next;
	while (cur->next < cur->end && !is_separator(*cur->next))
		cur->next++;
	if (cur->next < cur->end)
		*cur->next++ = '\0';
	else
		*cur->end = '\0';
	return start;
}

static bool is_octal(char c)
{
	return c >= '0' && c <= '7';
}

/*
 * Decode \ooo escapes in place.  A backslash not followed by three octal
 * digits of at most 0377 is kept as it is.  False when an escape decodes to
 * NUL, which no C string can hold.
 */
static bool unescape(char *s)
{
	char *out = s;

	for (const char *in = s; *in;) {
		if (in[0] == '\\' && is_octal(in[1]) && is_octal(in[2]) && is_octal(in[3]) &&
		    in[1] <= '3') {
			int value = (in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0');

			if (value == 0)
				return false;
			*out++ = (char)value;
			in += 4;
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
	return true;
}

static bool parse_number(const char **p, unsigned *out)
{
	unsigned long value = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		value = value * 10 + (unsigned long)(*s - '0');
		if (value > MAX_DEVICE_PART)
			return false;
	}
	*out = (unsigned)value;
	*p = s;
	return true;
}

static bool parse_device(const char *field, unsigned *major, unsigned *minor)
{
	const char *p = field;

	return parse_number(&p, major) && *p++ == ':' && parse_number(&p, minor) && *p == '\0';
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Skip the optional fields up to and including the "-" separator. */
static bool skip_optional_fields(struct field_cursor *cur)
{
	const char *field;

	while ((field = next_field(cur)) != NULL)
		if (strcmp(field, "-") == 0)
			return true;
	return false;
}

const char *mountinfo_parse_line(char *line, size_t len, struct mount_entry *out)
{
	struct field_cursor cur = { line, line + len };
	char *fixed[FIXED_FIELDS];
	char *fstype, *source;

	if (memchr(line, '\0', len))
		return "a NUL byte in the line";
	for (int i = 0; i < FIXED_FIELDS; i++)
		if ((fixed[i] = next_field(&cur)) == NULL)
			return "fewer than the 6 fields before the optional ones";
	if (!all_digits(fixed[0]) || !all_digits(fixed[1]))
		return "the mount ID or parent ID is not a number";
	if (!parse_device(fixed[2], &out->major, &out->minor))
		return "the device field is not MAJOR:MINOR";
	if (!skip_optional_fields(&cur))
		return "no \"-\" field after the optional fields";
	if ((fstype = next_field(&cur)) == NULL || (source = next_field(&cur)) == NULL)
		return "no filesystem type or source after the \"-\" field";
	if (!unescape(fixed[3]) || !unescape(fixed[4]) || !unescape(fstype) || !unescape(source))
		return "an escape that decodes to a NUL byte";
	if (fixed[4][0] != '/')
		return "the mount point is not an absolute path";
	out->root = fixed[3];
	out->mount_point = fixed[4];
	out->fstype = fstype;
	out->source = source;
	return NULL;
}

static int append_entry(struct mount_table *table, const struct mount_entry *entry)
{
	if (table->count == table->capacity) {
		size_t capacity = table->capacity ? table->capacity * 2 : 64;
		struct mount_entry *grown = realloc(table->entries, capacity * sizeof(*grown));

		if (!grown)
			return -1;
		table->entries = grown;
		table->capacity = capacity;
	}
	table->entries[table->count++] = *entry;
	return 0;
}

static void count_bad_line(struct mount_table *table, const char *why)
{
	if (table->bad_lines++ == 0) {
		table->first_bad_line = table->lines;
		table->first_bad_reason = why;
	}
}

int mountinfo_parse(char *text, size_t len, struct mount_table *table)
{
	char *p = text, *end = text + len;

	table->count = 0;
	table->lines = table->bad_lines = table->first_bad_line = 0;
	table->first_bad_reason = NULL;
	while (p < end) {
		char *newline = memchr(p, '\n', (size_t)(end - p));
		char *line_end = newline ? newline : end;
		struct mount_entry entry;
		const char *why;

		table->lines++;
		why = mountinfo_parse_line(p, (size_t)(line_end - p), &entry);
		if (why)
			count_bad_line(table, why);
		else if (append_entry(table, &entry) < 0)
			return -1;
		p = line_end + 1;
	}
	return 0;
}

/* True when `mount_point` is `path` or a parent directory of it. */
static bool holds(const char *mount_point, const char *path)
{
	size_t len = strlen(mount_point);

	if (len == 1)
		return path[0] == '/';
	return strncmp(mount_point, path, len) == 0 && (path[len] == '/' || path[len] == '\0');
}

const struct mount_entry *mount_table_find(const struct mount_table *table, const char *path)
{
	const struct mount_entry *best = NULL;
	size_t best_len = 0;

	for (size_t i = 0; i < table->count; i++) {
		const struct mount_entry *e = &table->entries[i];
		size_t len = strlen(e->mount_point);

		if (holds(e->mount_point, path) && (!best || len >= best_len)) {
			best = e;
			best_len = len;
		}
	}
	return best;
}

void mount_table_free(struct mount_table *table)
{
	free(table->entries);
	memset(table, 0, sizeof(*table));
}

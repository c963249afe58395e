/*
 * mountinfo.h - parse /proc/<pid>/mountinfo (proc(5)) and find the mount
 * that holds a path.
 *
 * A line is
 *     ID PARENT MAJOR:MINOR ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
 * with any number of optional fields (shared:N, master:N, ...) ended by a
 * field that is exactly "-".  The kernel writes space, tab, newline and
 * backslash inside a field as \040, \011, \012 and \134; every \ooo octal
 * escape is decoded.  Nothing in a line is trusted: a line with too few
 * fields, no separator, a malformed device number, a mount point that is not
 * absolute or a NUL byte is skipped and counted, never guessed at.
 */
#ifndef PGA_DISK_MOUNTINFO_H
#define PGA_DISK_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>

/* One mount; the strings point into the text given to mountinfo_parse(). */
struct mount_entry {
	unsigned major, minor;
	const char *root;          /* the directory of the filesystem mounted here */
	const char *mount_point;
	const char *fstype;
	const char *source;        /* the device or "none", "tmpfs", ... */
};

struct mount_table {
	struct mount_entry *entries;
	size_t count, capacity;
	size_t lines;              /* lines seen, bad ones included */
	size_t bad_lines;
	size_t first_bad_line;     /* 1-based; 0 when every line parsed */
	const char *first_bad_reason;  /* a static string, NULL when none */
};

/*
 * mountinfo_parse_line - parse one line (without its newline) of `len`
 * bytes in place: fields are unescaped and NUL-terminated inside `line`
 * (line[len] must be writable: the last field's NUL goes there), and `out`
 * points into it.  Returns NULL on success, else a static
 * description of what is wrong (the line may then be partly modified).
 */
const char *mountinfo_parse_line(char *line, size_t len, struct mount_entry *out);

/*
 * mountinfo_parse - parse every line of `text` (`len` bytes, no NUL needed,
 * but text[len] must be writable) in place into `table`, which is emptied first but keeps its array.  The
 * entries point into `text`, which must outlive their use.  Bad lines are
 * counted in the table.  Returns 0, or -1 when out of memory (the table
 * then holds the lines parsed so far).
 */
int mountinfo_parse(char *text, size_t len, struct mount_table *table);

/*
 * mount_table_find - the mount holding the absolute, symlink-free `path`:
 * the longest mount point that is `path` or one of its parent
 * directories; of equal ones the last listed, which is the one mounted on
 * top.  NULL when none is.
 */
const struct mount_entry *mount_table_find(const struct mount_table *table, const char *path);

/* mount_table_free - free the entry array; the table is left empty. */
void mount_table_free(struct mount_table *table);

#endif

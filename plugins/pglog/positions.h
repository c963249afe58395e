/*
 * positions.h - where each followed log file was read up to, kept in a
 * file of the plugin's state directory and replaced atomically
 * (state_file.h), so that a restart or a crash resumes exactly where the
 * last completed cycle stopped.
 *
 * One line per file: "dev inode offset line_no signature path", the path
 * last with backslash and newline escaped.  The signature is a hash of the
 * bytes just before offset: a file that was truncated and rewritten past
 * that offset (copytruncate between two looks) no longer matches it.
 */
#ifndef PGLOG_POSITIONS_H
#define PGLOG_POSITIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct position {
	uint64_t dev, ino, offset, line_no, signature;
	char *path;
};

/*
 * positions_load - read `file`.  Returns the number of positions (in
 * *out, free with positions_free), 0 when there is none, -1 when the file
 * does not exist and -2 when it cannot be read or is damaged (*why says how).
 */
long positions_load(const char *file, struct position **out, const char **why);
/* positions_save - replace `file` with these positions; 0, or -1 with errno set. */
int positions_save(const char *file, const struct position *p, size_t n);
void positions_free(struct position *p, size_t n);

#endif

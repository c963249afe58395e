/*
 * state_file.h - small text files of the plugin's state directory
 * (positions, the log settings last read from the server), replaced
 * atomically: a temporary file, fsync, rename, fsync of the directory.  A
 * crash leaves either the old file or the new one, never half of one.
 */
#ifndef PGLOG_STATE_FILE_H
#define PGLOG_STATE_FILE_H

#include <stdio.h>

/*
 * state_file_replace - write `file` anew through write(f, arg).  0, or -1
 * with errno set (the old file is then left as it was).
 */
int state_file_replace(const char *file, void (*write)(FILE *f, const void *arg), const void *arg);

/* state_file_put_text - text with backslash and newline escaped, then a newline. */
void state_file_put_text(FILE *f, const char *text);

/* state_file_unescape - the text state_file_put_text wrote (without its newline); malloc'd, NULL when out of memory. */
char *state_file_unescape(const char *escaped);

#endif

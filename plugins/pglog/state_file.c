/*
 * state_file.c - atomically replaced state files (see state_file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state_file.h"

void state_file_put_text(FILE *f, const char *text)
{
	for (; *text; text++) {
		if (*text == '\\')
			fputs("\\\\", f);
		else if (*text == '\n')
			fputs("\\n", f);
		else
			fputc(*text, f);
	}
	fputc('\n', f);
}

char *state_file_unescape(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (; *s; s++) {
		if (*s == '\\' && s[1] == 'n') {
			*o++ = '\n';
			s++;
		} else if (*s == '\\' && s[1] == '\\') {
			*o++ = '\\';
			s++;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

static int fsync_directory_of(const char *file)
{
	char *copy = strdup(file);
	int fd, rc;

	if (copy == NULL)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int state_file_replace(const char *file, void (*write)(FILE *f, const void *arg), const void *arg)
{
	size_t tmp_len = strlen(file) + 5;
	char *tmp = malloc(tmp_len);
	FILE *f;
	int failed;

	if (tmp == NULL)
		return -1;
	snprintf(tmp, tmp_len, "%s.tmp", file);
	f = fopen(tmp, "we");
	if (f == NULL) {
		free(tmp);
		return -1;
	}
	write(f, arg);
	failed = fflush(f) != 0 || fsync(fileno(f)) != 0;
	failed |= fclose(f) != 0;
	if (failed || rename(tmp, file) != 0 || fsync_directory_of(file) != 0) {
		int saved = errno;
		unlink(tmp);
		free(tmp);
		errno = saved;
		return -1;
	}
	free(tmp);
	return 0;
}

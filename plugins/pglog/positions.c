/*
 * positions.c - the persisted read positions (see positions.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "positions.h"

#define POSITIONS_HEADER "pglog-positions 1\n"

static void write_escaped(FILE *f, const char *path)
{
	for (; *path; path++) {
		if (*path == '\\')
			fputs("\\\\", f);
		else if (*path == '\n')
			fputs("\\n", f);
		else
			fputc(*path, f);
	}
	fputc('\n', f);
}

static char *unescape(const char *s)
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

int positions_save(const char *file, const struct position *p, size_t n)
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
	fputs(POSITIONS_HEADER, f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %016" PRIx64 " ",
			p[i].dev, p[i].ino, p[i].offset, p[i].line_no, p[i].signature);
		write_escaped(f, p[i].path);
	}
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

void positions_free(struct position *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].path);
	free(p);
}

static bool parse_line(char *line, struct position *pos)
{
	unsigned long long dev, ino, offset, line_no, sig;
	int used = 0;

	line[strcspn(line, "\n")] = '\0';
	if (sscanf(line, "%llu %llu %llu %llu %llx %n", &dev, &ino, &offset, &line_no, &sig,
		   &used) != 5 || used == 0 || line[used] == '\0')
		return false;
	*pos = (struct position){ dev, ino, offset, line_no, sig, unescape(line + used) };
	return pos->path != NULL;
}

long positions_load(const char *file, struct position **out, const char **why)
{
	FILE *f = fopen(file, "re");
	char *line = NULL;
	size_t cap = 0, n = 0;
	struct position *list = NULL;
	long result;

	*out = NULL;
	if (f == NULL) {
		*why = strerror(errno);
		return errno == ENOENT ? -1 : -2;
	}
	if (getline(&line, &cap, f) < 0 || strcmp(line, POSITIONS_HEADER) != 0) {
		*why = "no pglog-positions header";
		result = -2;
		goto done;
	}
	while (getline(&line, &cap, f) > 0) {
		struct position *grown = realloc(list, (n + 1) * sizeof(*list));
		if (grown == NULL || !parse_line(line, &grown[n])) {
			*why = grown ? "a damaged line" : "out of memory";
			list = grown ? grown : list;
			positions_free(list, n);
			list = NULL;
			result = -2;
			goto done;
		}
		list = grown;
		n++;
	}
	*out = list;
	result = (long)n;
done:
	free(line);
	fclose(f);
	return result;
}

/*
 * positions.c - the persisted read positions (see positions.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "positions.h"
#include "state_file.h"

#define POSITIONS_HEADER "pglog-positions 1\n"

struct position_list {
	const struct position *p;
	size_t n;
};

static void write_positions(FILE *f, const void *arg)
{
	const struct position_list *list = arg;

	fputs(POSITIONS_HEADER, f);
	for (size_t i = 0; i < list->n; i++) {
		const struct position *p = &list->p[i];

		fprintf(f, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %016" PRIx64 " ",
			p->dev, p->ino, p->offset, p->line_no, p->signature);
		state_file_put_text(f, p->path);
	}
}

int positions_save(const char *file, const struct position *p, size_t n)
{
	struct position_list list = { p, n };

	return state_file_replace(file, write_positions, &list);
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
	*pos = (struct position){ dev, ino, offset, line_no, sig, state_file_unescape(line + used) };
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

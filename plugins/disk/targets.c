/*
 * targets.c - which paths a cycle reports (see targets.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "targets.h"

const char *target_role_name(enum target_role role)
{
	switch (role) {
	case TARGET_DATA_DIRECTORY: return "data_directory";
	case TARGET_WAL: return "wal";
	case TARGET_TABLESPACE: return "tablespace";
	case TARGET_LOG_DIRECTORY: return "log_directory";
	case TARGET_EXTRA: return "extra";
	}
	return "?";
}

static bool is_set(const char *s)
{
	return s && s[0];
}

/* `path`, or data_directory/path when it is relative; NULL when neither can be. */
static char *resolve(const char *path, const char *data_directory)
{
	char *out = NULL;

	if (path[0] == '/')
		return strdup(path);
	if (!is_set(data_directory))
		return NULL;
	if (asprintf(&out, "%s/%s", data_directory, path) < 0)
		return NULL;
	return out;
}

/* Takes ownership of `path` (and `name`), also on failure.  A NULL path is skipped. */
static int add(struct target_list *list, enum target_role role, char *path, char *name,
	       int64_t oid, bool measure_size)
{
	struct target *t;

	if (!path) {
		free(name);
		return 0;
	}
	if (list->count == list->capacity) {
		size_t capacity = list->capacity ? list->capacity * 2 : 16;
		struct target *grown = realloc(list->items, capacity * sizeof(*grown));

		if (!grown) {
			free(path);
			free(name);
			return -1;
		}
		list->items = grown;
		list->capacity = capacity;
	}
	t = &list->items[list->count++];
	*t = (struct target){ role, path, name, oid, measure_size };
	return 0;
}

static void clear(struct target_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->items[i].path);
		free(list->items[i].name);
	}
	list->count = 0;
}

static const char *log_directory(const struct configured_paths *configured,
				 const struct server_paths *server)
{
	if (is_set(configured->log_directory))
		return configured->log_directory;
	/* Without the logging collector the server writes no files there. */
	if (server->logging_collector && is_set(server->log_directory))
		return server->log_directory;
	return NULL;
}

static int add_tablespaces(struct target_list *list, const struct server_paths *server,
			   const char *data_directory)
{
	for (size_t i = 0; i < server->n_tablespaces; i++) {
		const struct tablespace *t = &server->tablespaces[i];
		char *name = strdup(t->name);

		if (!name || add(list, TARGET_TABLESPACE, resolve(t->location, data_directory), name,
				 t->oid, false) < 0)
			return -1;
	}
	return 0;
}

int targets_build(struct target_list *list, const struct configured_paths *configured,
		  const struct server_paths *server)
{
	const char *data_directory = is_set(configured->data_directory)
		? configured->data_directory : server->data_directory;
	const char *log = log_directory(configured, server);

	clear(list);
	if (is_set(data_directory)) {
		char *wal = NULL;

		if (add(list, TARGET_DATA_DIRECTORY, strdup(data_directory), NULL, 0, false) < 0 ||
		    asprintf(&wal, "%s/pg_wal", data_directory) < 0 ||
		    add(list, TARGET_WAL, wal, NULL, 0, true) < 0)
			return -1;
	}
	if (add_tablespaces(list, server, data_directory) < 0)
		return -1;
	if (log && add(list, TARGET_LOG_DIRECTORY, resolve(log, data_directory), NULL, 0, true) < 0)
		return -1;
	for (size_t i = 0; i < configured->n_extra; i++)
		if (is_set(configured->extra[i]) &&
		    add(list, TARGET_EXTRA, strdup(configured->extra[i]), NULL, 0, false) < 0)
			return -1;
	return 0;
}

void targets_free(struct target_list *list)
{
	clear(list);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

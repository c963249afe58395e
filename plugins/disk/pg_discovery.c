/*
 * pg_discovery.c - the server's paths through libpq (see pg_discovery.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pg_discovery.h"
#include "pg_session.h"

/*
 * One round trip.  data_directory and log_directory are superuser-only
 * settings: pg_settings leaves their rows out for a role that is neither a
 * superuser nor a member of pg_read_all_settings, where current_setting()
 * would fail the whole statement.  pg_tablespace_location() needs no
 * privilege, so tablespaces are read either way.
 */
static const char DISCOVERY_SQL[] =
	"/* pganalytics */ "
	"SELECT 'setting', name, NULL::oid, setting FROM pg_settings "
	"WHERE name IN ('data_directory', 'log_directory', 'logging_collector') "
	"UNION ALL SELECT 'tablespace', spcname, oid, pg_tablespace_location(oid) "
	"FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global') "
	"UNION ALL SELECT 'role', current_user, NULL, NULL";

struct pg_discovery {
	struct pg_session *session;
};

struct pg_discovery *pg_discovery_create(const char *conninfo, int64_t statement_timeout_ms,
					 char *why, size_t why_len)
{
	struct pg_discovery *pd;
	struct pg_session *session = pg_session_create(conninfo, statement_timeout_ms, why, why_len);

	if (!session)
		return NULL;
	if ((pd = calloc(1, sizeof(*pd))) == NULL) {
		pg_session_free(session);
		return NULL;
	}
	pd->session = session;
	return pd;
}

static char *column(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : strdup(PQgetvalue(res, row, col));
}

static void read_setting(const PGresult *res, int row, struct server_paths *out)
{
	const char *name = PQgetvalue(res, row, 1);

	if (strcmp(name, "data_directory") == 0)
		out->data_directory = column(res, row, 3);
	else if (strcmp(name, "log_directory") == 0)
		out->log_directory = column(res, row, 3);
	else if (strcmp(name, "logging_collector") == 0)
		out->logging_collector = strcmp(PQgetvalue(res, row, 3), "on") == 0;
}

static bool read_tablespace(const PGresult *res, int row, struct server_paths *out)
{
	struct tablespace *t = &out->tablespaces[out->n_tablespaces];

	t->name = column(res, row, 1);
	t->oid = strtoll(PQgetvalue(res, row, 2), NULL, 10);
	t->location = column(res, row, 3);
	if (!t->name || !t->location) {
		free(t->name);
		free(t->location);
		return false;
	}
	out->n_tablespaces++;
	return true;
}

static bool read_rows(const PGresult *res, struct server_paths *out, const char **role)
{
	int rows = PQntuples(res);

	memset(out, 0, sizeof(*out));
	out->known = true;
	out->tablespaces = calloc((size_t)rows + 1, sizeof(*out->tablespaces));
	if (!out->tablespaces)
		return false;
	for (int row = 0; row < rows; row++) {
		const char *kind = PQgetvalue(res, row, 0);

		if (strcmp(kind, "setting") == 0)
			read_setting(res, row, out);
		else if (strcmp(kind, "tablespace") == 0 && !read_tablespace(res, row, out))
			return false;
		else if (strcmp(kind, "role") == 0)
			*role = PQgetvalue(res, row, 1);
	}
	return true;
}

static enum discovery_result read_paths(const PGresult *res, struct server_paths *out, char *err,
				       size_t err_len)
{
	struct server_paths fresh;
	const char *role = "?";
	enum discovery_result result = DISCOVERY_OK;

	if (!read_rows(res, &fresh, &role)) {
		snprintf(err, err_len, "out of memory reading the paths from the server");
		server_paths_clear(&fresh);
		return DISCOVERY_FAILED;
	}
	if (!fresh.data_directory || !fresh.log_directory) {
		snprintf(err, err_len, "role \"%s\" may not read data_directory and log_directory: "
			 "it needs to be a superuser or a member of pg_read_all_settings "
			 "(GRANT pg_read_all_settings TO \"%s\")",
			 role, role);
		result = DISCOVERY_PARTIAL;
	}
	server_paths_clear(out);
	*out = fresh;
	return result;
}

enum discovery_result pg_discovery_read(struct pg_discovery *pd, struct server_paths *out,
					char *err, size_t err_len)
{
	PGresult *res = pg_session_query(pd->session, DISCOVERY_SQL, "cannot read the paths from",
					 err, err_len);
	enum discovery_result result;

	if (!res)
		return DISCOVERY_FAILED;
	if (PQnfields(res) != 4) {
		snprintf(err, err_len, "cannot read the paths: the server answered %d columns, not 4",
			 PQnfields(res));
		PQclear(res);
		return DISCOVERY_FAILED;
	}
	result = read_paths(res, out, err, err_len);
	PQclear(res);
	return result;
}

void pg_discovery_free(struct pg_discovery *pd)
{
	if (!pd)
		return;
	pg_session_free(pd->session);
	free(pd);
}

void server_paths_clear(struct server_paths *paths)
{
	for (size_t i = 0; i < paths->n_tablespaces; i++) {
		free(paths->tablespaces[i].name);
		free(paths->tablespaces[i].location);
	}
	free(paths->tablespaces);
	free(paths->data_directory);
	free(paths->log_directory);
	memset(paths, 0, sizeof(*paths));
}

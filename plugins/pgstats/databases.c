/*
 * databases.c - which databases get a per-database record, and one
 * persistent connection to each.  The list is re-read every cycle from
 * pg_database, so a database created or dropped between cycles is picked
 * up or let go without a reload.  The instance connection's own database
 * reuses that connection.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "pgstats.h"

#define MAX_DATABASES 4096

struct database_set {
	struct pg_link *links;    /* one per database selected in the last cycle */
	size_t n_links;
};

static const char list_sql[] =
	QUERY_TAG "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate "
	"AND datconnlimit <> -2 AND has_database_privilege(oid, 'CONNECT') ORDER BY datname";

struct database_set *databases_create(void)
{
	return calloc(1, sizeof(struct database_set));
}

static void free_link(struct pg_link *link)
{
	pg_link_close(link);
	free(link->datname);
}

void databases_destroy(struct database_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n_links; i++)
		free_link(&set->links[i]);
	free(set->links);
	free(set);
}

static bool matches_list(struct pgstats *st, const char *option, const char *datname)
{
	size_t n = st->host->config_list_size(st->ctx, option);

	for (size_t i = 0; i < n; i++)
		if (fnmatch(st->host->config_list_item(st->ctx, option, i), datname, 0) == 0)
			return true;
	return false;
}

static bool selected(struct pgstats *st, const char *datname)
{
	return matches_list(st, "databases", datname) &&
	       !matches_list(st, "exclude_databases", datname);
}

static struct pg_link *find_link(struct database_set *set, const char *datname)
{
	/* A link already moved to the new list has no name left. */
	for (size_t i = 0; i < set->n_links; i++)
		if (set->links[i].datname && strcmp(set->links[i].datname, datname) == 0)
			return &set->links[i];
	return NULL;
}

/*
 * The links for this cycle's databases, in the server's order: existing
 * links are kept (with their connections and backoff), new ones start
 * unconnected, and the links of databases no longer selected are closed.
 */
static int update_links(struct pgstats *st, const PGresult *list)
{
	struct database_set *set = st->databases;
	size_t n = 0, rows = (size_t)PQntuples(list);
	struct pg_link *links = calloc(rows ? rows : 1, sizeof(*links));

	if (!links)
		return PGA_ENOMEM;
	for (size_t row = 0; row < rows; row++) {
		const char *datname = PQgetvalue(list, (int)row, 0);
		struct pg_link *old;

		if (!selected(st, datname))
			continue;
		if (n == MAX_DATABASES) {
			st->host->log(st->ctx, PGA_LOG_WARNING, "more than %d databases selected: "
				      "%s and the ones after it are left out", MAX_DATABASES, datname);
			break;
		}
		old = find_link(set, datname);
		if (old) {
			links[n++] = *old;
			*old = (struct pg_link){ 0 };
		} else if ((links[n].datname = strdup(datname))) {
			n++;
		}
	}
	for (size_t i = 0; i < set->n_links; i++)
		free_link(&set->links[i]);
	free(set->links);
	set->links = links;
	set->n_links = n;
	return PGA_OK;
}

static int collect_database(struct pgstats *st, struct pg_link *link, struct pga_emitter *em)
{
	const char *main_db = PQdb(st->main.conn);
	int rc;

	if (strcmp(link->datname, main_db) == 0)
		return relations_collect(st, &st->main, em);
	if (!pg_link_ready(st, link))
		return PGA_OK;
	rc = relations_collect(st, link, em);
	if (rc == PGA_ERROR) {
		st->host->log(st->ctx, PGA_LOG_WARNING, "database %s: connection lost: %s",
			      link->datname, PQerrorMessage(link->conn));
		pg_link_close(link);
		return PGA_OK;
	}
	return rc;
}

int databases_collect(struct pgstats *st, struct pga_emitter *em)
{
	PGresult *list = PQexec(st->main.conn, list_sql);
	int rc;

	if (PQresultStatus(list) != PGRES_TUPLES_OK) {
		char message[512];

		st->host->log(st->ctx, PGA_LOG_ERROR, "listing databases: %s",
			      pg_result_error_line(list, message, sizeof(message)));
		PQclear(list);
		return PQstatus(st->main.conn) == CONNECTION_BAD ? PGA_ERROR : PGA_OK;
	}
	rc = update_links(st, list);
	PQclear(list);
	/* A record the emitter refused (it counts it) does not stop the other databases. */
	for (size_t i = 0; i < st->databases->n_links && rc != PGA_ERROR && rc != PGA_EDEADLINE;
	     i++)
		if (!st->host->deadline_exceeded(st->ctx))
			rc = collect_database(st, &st->databases->links[i], em);
	return rc;
}

/*
 * pgstats.h - the parts of the pgstats plugin and the state they share.
 *
 * A cycle: the instance connection (the database named in conninfo) reads
 * the instance-level statistics in one pipelined round trip (instance.c)
 * and pg_stat_statements (statements.c); then every database selected by
 * `databases` (databases.c) is visited on its own persistent connection for
 * its tables, indexes and functions (relations.c).  Each part emits its own
 * `pg_stats` record, so a failure in one loses only that part.
 */
#ifndef PGSTATS_PGSTATS_H
#define PGSTATS_PGSTATS_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <pganalytics/plugin.h>

/* Prefixed to every statement, so the server's logs and pg_stat_statements show who ran it. */
#define QUERY_TAG "/* pganalytics */ "

/* Oldest and newest major versions whose catalogs the queries are written for. */
#define PGSTATS_MIN_VERSION 130000
#define PGSTATS_MAX_TESTED_VERSION 189999

struct pgstats_config {
	const char *conninfo;
	const char *password_file;   /* NULL: libpq's default (PGPASSFILE, ~/.pgpass) */
	int64_t statement_timeout_ms;
	int64_t lock_timeout_ms;
	int64_t max_tables;
	int64_t max_indexes;
	int64_t sizes_interval_s;
	int64_t settings_interval_s;
	int64_t statements_top;
	int64_t statements_text_interval_s;
	bool collect_statements;
};

/* One persistent connection and what is known about its server. */
struct pg_link {
	PGconn *conn;
	char *datname;              /* the database it is (to be) connected to; NULL: conninfo's */
	int server_version;         /* server_version_num, 0 before the first connect */
	unsigned failures;          /* consecutive failed connects, for the backoff */
	uint64_t retry_at_ns;       /* no connect attempt before this monotonic time */
	bool privilege_warned;      /* the "grant pg_monitor" message was logged for this link */
	uint64_t sizes_at_ns;       /* when relation sizes were last read; 0: never */
	uint32_t failing_sections;  /* per-database statements failing now (logged once) */
	uint32_t truncated_sections;/* per-database statements cut by a bound now (logged once) */
};

struct instance_state;
struct statements_state;
struct database_set;

struct pgstats {
	const struct pga_host *host;
	struct pga_ctx *ctx;
	struct pgstats_config cfg;
	char *display;              /* conninfo with the password masked, for messages */
	struct pg_link main;        /* the conninfo's own database */
	struct instance_state *instance;
	struct statements_state *statements;
	struct database_set *databases;
	bool version_warned;        /* the "newer than tested" message was logged */
};

/* connection.c */

/*
 * pg_link_ready - make sure `link` has a working connection: reuse it when
 * its status is OK, otherwise connect (to link->datname, or the conninfo's
 * database when NULL) unless its backoff has not expired.  The session is
 * read-only, with the configured timeouts, application_name
 * pganalytics-collector and client_encoding UTF8.  Returns true when
 * connected; on failure logs the reason (password masked) once per failure
 * streak and schedules the next attempt with a capped exponential backoff.
 */
bool pg_link_ready(struct pgstats *st, struct pg_link *link);

/* pg_link_close - close the connection (if any); the link can be reused. */
void pg_link_close(struct pg_link *link);

/*
 * pg_masked_conninfo - `conninfo` with every password replaced by
 * asterisks, for messages.  Returns a malloc'd string (never NULL unless
 * out of memory).
 */
char *pg_masked_conninfo(const char *conninfo);

/* Monotonic nanoseconds, for backoff and rates. */
uint64_t pgstats_now_ns(void);

/*
 * pg_error_is_privilege - true when `res` failed with insufficient_privilege
 * (SQLSTATE 42501).
 */
bool pg_error_is_privilege(const PGresult *res);

/*
 * pg_result_error_line - the primary error message of `res` without its
 * trailing newline, copied into buf (size bytes).  Returns buf.
 */
const char *pg_result_error_line(const PGresult *res, char *buf, size_t size);

/* instance.c */

struct instance_state *instance_create(void);
void instance_destroy(struct instance_state *is);

/*
 * instance_collect - emit the instance-level `pg_stats` record (scope
 * "instance") read over st->main in one pipelined round trip.  Parts the
 * server refuses are listed under "errors" and the rest is still emitted.
 * Returns PGA_OK, PGA_ERROR when the connection failed (the caller closes
 * it), or PGA_EDEADLINE.
 */
int instance_collect(struct pgstats *st, struct pga_emitter *em);

/* statements.c */

struct statements_state *statements_create(void);
void statements_destroy(struct statements_state *ss);

/*
 * statements_collect - emit one `pg_stats` record (scope "statements") when
 * pg_stat_statements is installed in the instance connection's database;
 * nothing when it is not.  Returns PGA_OK, PGA_ERROR when the connection
 * failed (the caller closes it), or PGA_EDEADLINE.
 */
int statements_collect(struct pgstats *st, struct pga_emitter *em);

/* databases.c */

struct database_set *databases_create(void);
void databases_destroy(struct database_set *set);

/*
 * databases_collect - re-read the list of databases to visit (the
 * `databases` and `exclude_databases` options; "*" and shell patterns
 * match every connectable non-template database) and emit each one's
 * relations record through relations_collect.  A database that cannot be
 * reached is logged and retried with backoff; the others go on.
 */
int databases_collect(struct pgstats *st, struct pga_emitter *em);

/* relations.c */

/*
 * relations_collect - emit the per-database `pg_stats` records of the
 * database `link` is connected to: tables, indexes and functions (and,
 * every sizes_interval_s, their sizes, under the lock guard) in chunks of
 * at most 10,000 rows, then the summary record (scope "database").
 * Returns PGA_OK (a record the emitter refused was ended, and so
 * counted), PGA_ERROR when the connection failed, or PGA_EDEADLINE.
 */
int relations_collect(struct pgstats *st, struct pg_link *link, struct pga_emitter *em);

#endif

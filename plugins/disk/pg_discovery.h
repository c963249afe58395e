/*
 * pg_discovery.h - ask a running PostgreSQL server where its files are:
 * data_directory, log_directory (when logging_collector is on) and the
 * location of every tablespace.
 *
 * One persistent connection, opened as pgstats opens its own (the plugin
 * shares no code with pgstats: each plugin is its own .so):
 * application_name=pganalytics-collector, read-only transactions, a
 * statement_timeout and search_path=pg_catalog,pg_temp.  The password in
 * the conninfo is never written into a message.
 */
#ifndef PGA_DISK_PG_DISCOVERY_H
#define PGA_DISK_PG_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tablespace {
	char *name;
	int64_t oid;
	char *location;     /* as pg_tablespace_location() says; may be relative */
};

struct server_paths {
	bool known;                /* read from the server at least once */
	char *data_directory;      /* NULL when the role may not read it */
	char *log_directory;       /* as configured on the server; NULL as above */
	bool logging_collector;
	struct tablespace *tablespaces;   /* user tablespaces only (not pg_default, pg_global) */
	size_t n_tablespaces;
};

struct pg_discovery;

/*
 * pg_discovery_create - check `conninfo` (copied) and prepare, without
 * connecting.  On a conninfo libpq cannot parse returns NULL and writes
 * why into why[why_len] (quoted parts hidden: they may be the password).
 * NULL with why = "" means out of memory.
 */
struct pg_discovery *pg_discovery_create(const char *conninfo, int64_t statement_timeout_ms,
					 char *why, size_t why_len);

enum discovery_result {
	DISCOVERY_OK,          /* every path read */
	DISCOVERY_PARTIAL,     /* tablespaces read, but not the settings: err says why */
	DISCOVERY_FAILED       /* nothing read: err says why; *out untouched */
};

/*
 * pg_discovery_read - connect if needed and read the paths into *out
 * (replacing what it held).  A connection that broke since the last cycle
 * is reopened once.  err receives one line for the log (no password).
 */
enum discovery_result pg_discovery_read(struct pg_discovery *pd, struct server_paths *out,
					char *err, size_t err_len);

/* pg_discovery_free - close the connection and free; NULL is fine. */
void pg_discovery_free(struct pg_discovery *pd);

/* server_paths_clear - free what *paths holds and zero it. */
void server_paths_clear(struct server_paths *paths);

#endif

"""Every string the pgstats plugin emits is valid UTF-8, whatever the
encodings of the databases it reads (pg_value.c).

The collector connects with client_encoding UTF8.  From a LATIN1 database
the server converts, so names arrive as valid UTF-8.  From a SQL_ASCII
database it cannot: it checks that the bytes are valid UTF-8 and refuses
the row (SQLSTATE 22021) when they are not.  And shared catalogs
(pg_database) or texts other backends stored are sent as the bytes they
were written with, without any check: a database created with a raw 0xE9
byte in its name (from a SQL_ASCII database) reaches the plugin as invalid
UTF-8, which pg_value.c replaces with '?' so that the emitter does not drop
the whole record for it."""

from harness import check, check_logged_once, lines_containing, plugin_health
from pg import PostgresServer
from pgstats_schema import database_summary, section_rows
from test_pgstats import instance_record, pg_records, pgstats_config

# "café" in LATIN1 (and in SQL_ASCII, where 0xE9 is just a byte).
CAFE_LATIN1 = r"'\x636166e9'::bytea"


def create_database(server, name, encoding):
    server.psql("CREATE DATABASE %s ENCODING '%s' LC_COLLATE 'C' LC_CTYPE 'C' "
                "TEMPLATE template0" % (name, encoding))


def create_table_named(server, dbname, name_bytes, encoding):
    """A table whose name is `name_bytes` (a bytea literal) in `encoding`,
    built on the server so that no client conversion touches it."""
    server.psql("DO $$BEGIN EXECUTE format('CREATE TABLE %%I (n int)', "
                "convert_from(%s, '%s')); END$$" % (name_bytes, encoding), dbname=dbname)


def check_healthy(result, payload):
    """No failed cycle, and no record the emitter refused (invalid UTF-8 would be)."""
    health = plugin_health(payload, "pgstats")
    check(health is not None and health["failures"] == 0,
          "pgstats failed a cycle: %r" % health)
    check(not lines_containing(result.stderr, "invalid record"),
          "records were dropped:\n" + result.stderr)


def relnames(payload, datname):
    return [row["relname"] for row in section_rows(payload, datname, "tables")]


def errors_of(summary, part):
    return [e for e in summary.get("errors", []) if e["part"] == part]


def test_latin1_names_arrive_converted(case):
    server = PostgresServer(case)
    create_database(server, "latin1db", "LATIN1")
    create_table_named(server, "latin1db", CAFE_LATIN1, "LATIN1")
    result, payload = case.once(pgstats_config(case, server,
                                               databases=["latin1db", "postgres"]))
    check_healthy(result, payload)
    check(relnames(payload, "latin1db") == ["caf\u00e9"],
          "tables of latin1db: %r" % relnames(payload, "latin1db"))
    summary = database_summary(payload, "latin1db")
    check(not summary.get("errors"), "errors: %r" % summary.get("errors"))
    database_summary(payload, "postgres")


def test_sql_ascii_raw_byte_table_fails_its_section_alone(case):
    server = PostgresServer(case)
    create_database(server, "rawdb", "SQL_ASCII")
    create_table_named(server, "rawdb", CAFE_LATIN1, "SQL_ASCII")
    server.psql("CREATE TABLE plain (id int PRIMARY KEY)", dbname="rawdb")
    create_database(server, "latin1db", "LATIN1")
    create_table_named(server, "latin1db", CAFE_LATIN1, "LATIN1")
    result, payload = case.once(pgstats_config(case, server,
                                               databases=["latin1db", "postgres", "rawdb"]))
    check_healthy(result, payload)
    summary = database_summary(payload, "rawdb")
    # What the server does: it will not send "caf\xe9" to a UTF8 client and
    # refuses the tables statement with 22021; the other sections go on.
    refused = errors_of(summary, "tables")
    check(len(refused) == 1 and refused[0]["sqlstate"] == "22021"
          and "invalid byte sequence" in refused[0]["message"],
          "tables of rawdb should be refused with 22021: errors %r, tables %r"
          % (summary.get("errors"), relnames(payload, "rawdb")))
    check(summary["tables"]["complete"] is False, "tables: %r" % summary["tables"])
    check(len(summary.get("errors", [])) == 1, "other sections failed too: %r"
          % summary.get("errors"))
    check(summary["indexes"]["complete"] and summary["indexes"]["count"] == 1
          and summary["functions"]["complete"], "the other sections: %r" % summary)
    check(relnames(payload, "latin1db") == ["caf\u00e9"],
          "the LATIN1 database's record lost its table")
    database_summary(payload, "postgres")
    check(len(pg_records(payload, "database")) == 3, "database records: %r"
          % [r["database"] for r in pg_records(payload, "database")])


def test_raw_byte_database_name_is_replaced(case):
    server = PostgresServer(case)
    create_database(server, "rawdb", "SQL_ASCII")
    # From a SQL_ASCII session the name keeps its 0xE9 byte in pg_database,
    # which every database then reads as it is.
    server.psql("SELECT format('CREATE DATABASE %%I', convert_from(%s, 'SQL_ASCII'))\\gexec"
                % r"'\x7067615f7261775fe9'::bytea", dbname="rawdb")
    # Every database, so the raw-named one is visited over its own connection too.
    result, payload = case.once(pgstats_config(case, server))
    check_healthy(result, payload)
    names = [d["datname"] for d in instance_record(payload)["databases"]]
    check("pga_raw_?" in names, "the raw name is not reported as 'pga_raw_?': %r" % names)
    check("rawdb" in names and "postgres" in names, "databases: %r" % names)
    visited = [r["database"] for r in pg_records(payload, "database")]
    check("pga_raw_?" in visited and "rawdb" in visited,
          "per-database records of the raw-named database are missing: %r" % visited)


def test_sql_ascii_query_text_stops_texts_not_counters(case):
    server = PostgresServer(case, shared_preload_libraries="pg_stat_statements")
    server.psql("CREATE EXTENSION pg_stat_statements")
    create_database(server, "rawdb", "SQL_ASCII")
    server.psql("SELECT format('SELECT 1 AS %%I', convert_from(%s, 'SQL_ASCII'))\\gexec"
                % CAFE_LATIN1, dbname="rawdb")
    result, payload = case.once(pgstats_config(case, server, databases=["postgres"]))
    check_healthy(result, payload)
    records = pg_records(payload, "statements")
    check(len(records) == 1 and records[0]["statements"]["rows"],
          "the counters must still be reported: %r" % records)
    # pg_stat_statements converts every text it returns to the database's
    # encoding, and that text cannot be: no texts at all while it is there.
    check("texts" not in records[0], "texts: %r" % records[0].get("texts"))
    text = check_logged_once(result.stderr, "warning",
                             "plugin pgstats: pg_stat_statements: reading query texts: "
                             "invalid byte sequence")
    check("SQL_ASCII" in text and "pg_stat_statements_reset()" in text,
          "the message does not explain: %r" % text)

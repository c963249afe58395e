"""The pg_stat_statements part of the pgstats plugin (scope "statements")
against real PostgreSQL servers started per test by pg.PostgresServer:
absent, installed but not loaded, every extension version of 13 to 18, an
extension older than its server, the top-N bound, query texts sent once
(and again after statements_text_interval_s), a role without
pg_read_all_stats, texts cut by the server at 64 KiB of UTF-8 whatever the
database's encoding, texts beyond one record's budget sent in the next
cycle.  The SQL_ASCII case is in test_pgstats_values.py."""

import json
import os

from harness import (check, check_logged_once, lines_containing, plugin_health,
                     read_payload_file, records, wait_until)
from pg import PostgresServer, for_each_version

PRELOAD = {"shared_preload_libraries": "pg_stat_statements"}

# The extension version CREATE EXTENSION installs on each server version.
EXTVERSION = {13: "1.8", 14: "1.9", 15: "1.10", 16: "1.10", 17: "1.11", 18: "1.12"}

# Columns that tell the extension versions apart: (first version, last or None).
VERSIONED_COLUMNS = {
    "toplevel": ((1, 9), None),
    "blk_read_time": ((1, 8), (1, 10)),
    "temp_blk_read_time": ((1, 10), None),
    "jit_functions": ((1, 10), None),
    "shared_blk_read_time": ((1, 11), None),
    "local_blk_write_time": ((1, 11), None),
    "jit_deform_count": ((1, 11), None),
    "stats_since": ((1, 11), None),
    "minmax_stats_since": ((1, 11), None),
    "wal_buffers_full": ((1, 12), None),
    "parallel_workers_launched": ((1, 12), None),
}
ALWAYS_COLUMNS = ("userid", "dbid", "queryid", "plans", "calls", "total_exec_time",
                  "mean_exec_time", "rows", "shared_blks_hit", "temp_blks_written",
                  "wal_records", "wal_fpi", "wal_bytes")

# count(*) OVER () of the counters statement, for "total": never a column of the record.
ENTRIES_COLUMN = "pga_entries"

# A statement no one else runs: its table's OID makes its queryid unique.
MARKER_TABLE = "pga_statements_marker"
MARKER_CALLS = 7


def pgstats_path(case):
    """The bundled plugin, built in build/plugins (not with the test plugins)."""
    return os.path.join(case.env.build_dir, "plugins", "pgstats.so")


def pgstats_plugins(case, server, **extra):
    options = {"conninfo": server.conninfo(), "interval": 1, "path": pgstats_path(case)}
    options.update(extra)
    return {"pgstats": options}


def statement_records(payload):
    return [r for r in records(payload, "pg_stats") if r.get("scope") == "statements"]


def statement_record(payload):
    found = statement_records(payload)
    check(len(found) == 1, "expected one statements record, got %d" % len(found))
    return found[0]


def version_tuple(text):
    return tuple(int(part) for part in text.split("."))


def run_marker(server, calls=MARKER_CALLS):
    """Create the marker table (once) and query it `calls` times."""
    server.psql("CREATE TABLE IF NOT EXISTS %s (n int)" % MARKER_TABLE)
    server.psql("SELECT count(*) FROM %s;\n" % MARKER_TABLE * calls)


def rows_as_dicts(record):
    columns = record["statements"]["columns"]
    return [dict(zip(columns, row)) for row in record["statements"]["rows"]]


def text_key(text):
    return (text["dbid"], text["userid"], text["queryid"], text.get("toplevel"))


def row_key(row):
    return (row["dbid"], row["userid"], row["queryid"], row.get("toplevel"))


def marker_texts(record):
    return [t for t in record.get("texts", [])
            if "FROM %s" % MARKER_TABLE in t["query"]]


def check_healthy(payload):
    health = plugin_health(payload, "pgstats")
    check(health is not None and health["failures"] == 0,
          "pgstats failed a cycle: %r" % health)
    check([r for r in records(payload, "pg_stats") if r.get("scope") == "instance"],
          "the instance record is missing")


def check_record_shape(record, extversion):
    """The record's members and the columns of `extversion`."""
    check(record["extversion"] == extversion, "extversion %r, expected %r"
          % (record["extversion"], extversion))
    statements = record["statements"]
    columns = statements["columns"]
    check("query" not in columns, "the (null) query column is shipped: %r" % columns)
    check(ENTRIES_COLUMN not in columns, "the entries count is shipped as a column")
    check(len(set(columns)) == len(columns), "duplicate columns: %r" % columns)
    for column in ALWAYS_COLUMNS:
        check(column in columns, "column %s missing for %s: %r" % (column, extversion, columns))
    have = version_tuple(extversion)
    for column, (first, last) in VERSIONED_COLUMNS.items():
        expected = have >= first and (last is None or have <= last)
        check((column in columns) == expected, "%s: column %s should be %s: %r"
              % (extversion, column, "present" if expected else "absent", columns))
    for row in statements["rows"]:
        check(len(row) == len(columns), "a row of %d values for %d columns"
              % (len(row), len(columns)))
    check(statements["count"] == len(statements["rows"]), "count %r for %d rows"
          % (statements["count"], len(statements["rows"])))
    check(statements["total"] >= statements["count"], "total %r below count %r"
          % (statements["total"], statements["count"]))
    if have >= (1, 9):
        check(isinstance(record["info"]["dealloc"], int) and "stats_reset" in record["info"],
              "pg_stat_statements_info: %r" % record.get("info"))
    else:
        check("info" not in record, "info before 1.9: %r" % record.get("info"))
    for text in record.get("texts", []):
        check(("toplevel" in text) == (have >= (1, 9)),
              "toplevel in a text of %s: %r" % (extversion, text))
        check(isinstance(text["query"], str) and isinstance(text["queryid"], int),
              "text %r" % text)


def check_marker(record, calls=MARKER_CALLS):
    """The marker statement is reported with its text and its calls."""
    texts = marker_texts(record)
    check(len(texts) == 1, "expected the marker's text once, got %r" % texts)
    rows = [r for r in rows_as_dicts(record) if row_key(r) == text_key(texts[0])]
    check(len(rows) == 1, "no row for the marker's key %r" % (text_key(texts[0]),))
    check(rows[0]["calls"] == calls, "marker calls %r, ran it %d times"
          % (rows[0]["calls"], calls))
    check(isinstance(rows[0]["total_exec_time"], float), "total_exec_time %r"
          % rows[0]["total_exec_time"])


def run_cycles(case, server, cycles=3, **options):
    """Run the daemon until pgstats has reported `cycles` instance records;
    returns (stderr, payloads)."""
    path = case.path("cycles.jsonl")
    case.write_config(pgstats_plugins(case, server, **options), push_interval=1)
    daemon = case.start_daemon("--output", "file://" + path)

    def enough():
        daemon.check_running()
        payloads = read_payload_file(path)
        done = sum(1 for p in payloads for r in records(p, "pg_stats")
                   if r.get("scope") == "instance")
        return payloads if done >= cycles else None
    payloads = wait_until(enough, "%d pgstats cycles" % cycles)
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    return daemon.stderr(), payloads


def test_absent_extension_is_logged_once_and_emits_nothing(case):
    server = PostgresServer(case, **PRELOAD)
    stderr, payloads = run_cycles(case, server)
    check(not [r for p in payloads for r in statement_records(p)],
          "a statements record without the extension")
    text = check_logged_once(stderr, "info", 'plugin pgstats: pg_stat_statements is not '
                             'installed in database "postgres"')
    check("shared_preload_libraries" in text and "CREATE EXTENSION pg_stat_statements" in text,
          "the message does not say how to install it: %r" % text)
    check_healthy(payloads[-1])


def test_installed_but_not_loaded_warns_once_and_the_rest_goes_on(case):
    server = PostgresServer(case)
    server.psql("CREATE EXTENSION pg_stat_statements")
    stderr, payloads = run_cycles(case, server)
    check(not [r for p in payloads for r in statement_records(p)],
          "a statements record although it is not loaded")
    text = check_logged_once(stderr, "warning", 'plugin pgstats: pg_stat_statements is '
                             'installed in database "postgres" but not loaded')
    check("shared_preload_libraries" in text, "no fix in %r" % text)
    check_healthy(payloads[-1])


@for_each_version
def test_columns_texts_and_calls_of_each_version(case, version):
    server = PostgresServer(case, version=version, **PRELOAD)
    server.psql("CREATE EXTENSION pg_stat_statements")
    run_marker(server)
    result, payload = case.once(pgstats_plugins(case, server))
    check_healthy(payload)
    record = statement_record(payload)
    check_record_shape(record, EXTVERSION[version])
    check_marker(record)
    check(not lines_containing(result.stderr, "pg_stat_statements"),
          "unexpected messages:\n%s" % "\n".join(lines_containing(result.stderr,
                                                                   "pg_stat_statements")))


def test_columns_follow_the_extension_not_the_server(case):
    server = PostgresServer(case, **PRELOAD)
    server.psql("CREATE EXTENSION pg_stat_statements VERSION '1.8'")
    run_marker(server)
    _, payload = case.once(pgstats_plugins(case, server))
    record = statement_record(payload)
    check_record_shape(record, "1.8")
    check_marker(record)
    check(server.version >= 14, "this test needs a server newer than the extension")


def test_top_n_bound(case):
    server = PostgresServer(case, **PRELOAD)
    server.psql("CREATE EXTENSION pg_stat_statements")
    server.psql("".join("CREATE TABLE top_%d (n int);\nSELECT * FROM top_%d;\n" % (i, i)
                        for i in range(12)))
    entries = int(server.psql("SELECT count(*) FROM pg_stat_statements").strip())
    _, payload = case.once(pgstats_plugins(case, server, statements_top=3))
    statements = statement_record(payload)["statements"]
    check(len(statements["rows"]) == 3 and statements["count"] == 3,
          "statements_top = 3 gave %d rows, count %r"
          % (len(statements["rows"]), statements["count"]))
    check(ENTRIES_COLUMN not in statements["columns"] and
          all(len(row) == len(statements["columns"]) for row in statements["rows"]),
          "the entries column leaked into the rows: %r" % statements["columns"])
    check(statements["total"] >= entries > 3, "total %r, psql saw %d entries"
          % (statements["total"], entries))
    times = [row[statements["columns"].index("total_exec_time")] for row in statements["rows"]]
    check(times == sorted(times, reverse=True), "not by total_exec_time: %r" % times)


def wait_for_statement_records(daemon, path, count):
    """The statements records of the daemon's payloads, once there are `count`."""
    def enough():
        daemon.check_running()
        found = [r for p in read_payload_file(path) for r in statement_records(p)]
        return found if len(found) >= count else None
    return wait_until(enough, "%d statements records in %s" % (count, path))


def test_texts_are_sent_once_then_after_the_interval(case):
    server = PostgresServer(case, **PRELOAD)
    server.psql("CREATE EXTENSION pg_stat_statements")
    run_marker(server)
    path = case.path("out.jsonl")
    case.write_config(pgstats_plugins(case, server, statements_text_interval_s=3600),
                      push_interval=1)
    daemon = case.start_daemon("--output", "file://" + path)
    first, second = wait_for_statement_records(daemon, path, 2)[:2]
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    check_marker(first)
    sent = {text_key(t) for t in first["texts"]}
    again = sent & {text_key(t) for t in second.get("texts", [])}
    check(not again, "texts sent again on the second cycle: %r" % sorted(again))
    check(sent & {row_key(r) for r in rows_as_dicts(second)},
          "the second cycle reports none of the first cycle's entries")

    # With statements_text_interval_s = 2 the marker's text comes back.
    path = case.path("out2.jsonl")
    case.write_config(pgstats_plugins(case, server, statements_text_interval_s=2),
                      push_interval=1)
    daemon = case.start_daemon("--output", "file://" + path)

    def marker_sent_twice():
        found = wait_for_statement_records(daemon, path, 1)
        return len([r for r in found if marker_texts(r)]) >= 2
    wait_until(marker_sent_twice, "the marker's text a second time")
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    found = [r for p in read_payload_file(path) for r in statement_records(p)]
    check(not marker_texts(found[1]), "the text came again on the very next cycle")


def test_role_without_read_all_stats_sees_its_own_texts_only(case):
    server = PostgresServer(case, **PRELOAD)
    server.psql("CREATE EXTENSION pg_stat_statements; CREATE ROLE pga_plain LOGIN")
    run_marker(server)
    server.psql("SELECT 4711 AS plain_marker", user="pga_plain")
    result, payload = case.once({"pgstats": {"conninfo": server.conninfo(user="pga_plain"),
                                             "path": pgstats_path(case)}})
    check_healthy(payload)
    record = statement_record(payload)
    plain = int(server.psql("SELECT oid FROM pg_roles WHERE rolname = 'pga_plain'").strip())
    rows = rows_as_dicts(record)
    others = [r for r in rows if r["userid"] != plain]
    check(others and all(r["queryid"] is None for r in others),
          "other roles' entries should be there without a queryid: %r" % others[:3])
    check(any(r["userid"] == plain and r["queryid"] is not None for r in rows),
          "the role's own entries are missing")
    texts = record.get("texts", [])
    check(texts and all(t["userid"] == plain for t in texts),
          "texts of other roles, or none of its own: %r" % texts)
    check(not any("insufficient privilege" in t["query"] for t in texts),
          "a placeholder text was shipped")
    check(not lines_containing(result.stderr, "pg_stat_statements:"),
          "errors logged:\n" + result.stderr)


# One long statement per character width: "SELECT count(*) FROM <table>
# /* ... */" with the comment made of 2-, 3- or 4-byte characters, and the
# prefix padded so that byte 65,536 falls 1, 2 or 3 bytes into a character.
# Each reads its own table, so each has its own queryid.
LONG_TEXTS = (("pg_am", "\u00e9", 1), ("pg_namespace", "\u20ac", 2),
              ("pg_language", "\U0001F600", 3))
TEXT_MAX_BYTES = 65536


def long_statement(table, char, back):
    """A statement over 64 KiB whose cut must step back `back` bytes."""
    width = len(char.encode("utf-8"))
    prefix = "SELECT count(*) FROM %s /* long_text_marker " % table
    # Byte 65,536 must be the (back + 1)th byte of a character.
    while (TEXT_MAX_BYTES - len(prefix)) % width != back:
        prefix += " "
    return prefix + char * (80000 // width) + " */"


def check_cut_text(texts, table, statement, back):
    found = [t for t in texts if "FROM %s " % table in t["query"]]
    check(len(found) == 1, "the long text over %s is missing" % table)
    text = found[0]["query"]
    check(found[0].get("truncated") is True, "no truncated flag: %r" % sorted(found[0]))
    check(len(text.encode("utf-8")) == TEXT_MAX_BYTES - back,
          "%s: cut to %d bytes, expected %d" % (table, len(text.encode("utf-8")),
                                                  TEXT_MAX_BYTES - back))
    check(statement.startswith(text), "the cut text is not the statement's beginning")


def test_long_texts_are_cut_at_64_kib_of_utf8(case):
    server = PostgresServer(case, **PRELOAD)
    server.psql("CREATE EXTENSION pg_stat_statements")
    statements = [long_statement(*spec) for spec in LONG_TEXTS]
    server.psql("".join(statement + ";\n" for statement in statements))
    _, payload = case.once(pgstats_plugins(case, server))
    texts = statement_record(payload).get("texts", [])
    for (table, _, back), statement in zip(LONG_TEXTS, statements):
        check_cut_text(texts, table, statement, back)
    short = [t for t in texts if "long_text_marker" not in t["query"]]
    check(short and not any("truncated" in t for t in short),
          "short texts flagged: %r" % [t for t in short if "truncated" in t][:1])


def test_texts_are_cut_by_utf8_bytes_in_a_latin1_database(case):
    """In LATIN1, 40,000 'é' take 40,000 bytes, but 80,000 in UTF-8: the cut
    counts the bytes the record carries, not the database's."""
    server = PostgresServer(case, **PRELOAD)
    server.psql("CREATE DATABASE latin1db ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' "
                "TEMPLATE template0")
    server.psql("CREATE EXTENSION pg_stat_statements", dbname="latin1db")
    statement = long_statement("pg_am", "\u00e9", 1)
    server.psql("SET client_encoding = 'UTF8';\n%s;\n" % statement, dbname="latin1db")
    _, payload = case.once(pgstats_plugins(case, server,
                                           conninfo=server.conninfo("latin1db")))
    check_cut_text(statement_record(payload).get("texts", []), "pg_am", statement, 1)


def test_texts_over_the_record_budget_follow_in_the_next_cycle(case):
    server = PostgresServer(case, **PRELOAD)
    server.psql("CREATE EXTENSION pg_stat_statements")
    # 110 distinct statements with 64 KiB texts: about 7 MiB, more than one
    # record carries (6 MiB of texts).
    server.psql("".join("CREATE TABLE big_%d (n int);\n"
                        "SELECT count(*) FROM big_%d /* %s */;\n" % (i, i, "x" * 66000)
                        for i in range(110)))
    path = case.path("out.jsonl")
    case.write_config(pgstats_plugins(case, server), push_interval=1)
    daemon = case.start_daemon("--output", "file://" + path)
    found = wait_for_statement_records(daemon, path, 2)
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    per_cycle = [[text_key(t) for t in r.get("texts", []) if "FROM big_" in t["query"]]
                 for r in found[:2]]
    check(0 < len(per_cycle[0]) < 110, "the first record has %d of the 110 long texts"
          % len(per_cycle[0]))
    check(len(set(per_cycle[0] + per_cycle[1])) == len(per_cycle[0] + per_cycle[1]) == 110,
          "the long texts over two cycles: %d + %d, expected 110 once each"
          % (len(per_cycle[0]), len(per_cycle[1])))
    for record in found[:2]:
        size = len(json.dumps(record, separators=(",", ":")).encode("utf-8"))
        check(size < 16 * 1024 * 1024, "a record of %d bytes" % size)

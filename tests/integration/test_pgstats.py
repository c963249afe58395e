"""The pgstats plugin against real PostgreSQL servers (started per test by
pg.PostgresServer as the unprivileged postgres user), on every version the
suite covers (13 to 18) where the behaviour depends on the version."""

import os
import signal
import subprocess
import time

from fake_pg import FakePostgres
from harness import (check, check_logged_once, lines_containing, parse_json_lines, plugin_health, records,
                     wait_until)
from pg import PostgresServer, find_psql, for_each_version
from pgstats_schema import (check_database_records, check_instance_record, database_summary,
                            section_rows)


def pgstats_path(case):
    """The bundled plugin, built in build/plugins (not with the test plugins)."""
    return os.path.join(case.env.build_dir, "plugins", "pgstats.so")


def pgstats_config(case, server, **extra):
    options = {"conninfo": server.conninfo(), "interval": 1, "path": pgstats_path(case)}
    options.update(extra)
    return {"pgstats": options, "second": {}}


def pg_records(payload, scope):
    return [r for r in records(payload, "pg_stats") if r.get("scope") == scope]


def instance_record(payload):
    found = pg_records(payload, "instance")
    check(len(found) == 1, "expected one instance record, got %d" % len(found))
    return found[0]


def row_named(rows, key, value):
    found = [r for r in rows if r.get(key) == value]
    check(len(found) == 1, "no single row with %s = %r in %r" % (key, value, rows))
    return found[0]


class Session:
    """A psql session kept open in the background (to hold a lock), run as
    the server's user like PostgresServer.psql."""

    def __init__(self, server, dbname="postgres"):
        argv = [find_psql(server.bindir), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                "-d", server.conninfo(dbname)]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, text=True, env=env,
                                        cwd=server.base_dir)
        server.case.cleanups.insert(0, self.close)

    def send(self, sql):
        self.process.stdin.write(sql + "\n")
        self.process.stdin.flush()

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@for_each_version
def test_every_statement_succeeds_and_matches_the_schema(case, version):
    server = PostgresServer(case, version=version)
    server.psql("CREATE DATABASE appdb")
    server.psql("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'x');"
                "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$BEGIN RETURN 1; END$$;"
                "SET track_functions = 'pl'; SELECT f();", dbname="appdb")
    # Before 15 the statistics collector receives counters asynchronously.
    wait_until(lambda: server.psql("SELECT n_tup_ins FROM pg_stat_user_tables",
                                   dbname="appdb").strip() == "1", "the insert in the statistics")
    _, payload = case.once(pgstats_config(case, server))
    record = instance_record(payload)
    check_instance_record(record, server.version)
    check(record["instance"]["server_version_num"] == server.version_num,
          "server_version_num %r, server says %r"
          % (record["instance"]["server_version_num"], server.version_num))
    check(record["instance"]["in_recovery"] is False, "a primary reported in recovery")
    check(any(c["state"] == "active" for c in record["connections"]),
          "the collector's own active connection is missing: %r" % record["connections"])
    check(record["settings_changed"] is False and
          row_named(record["settings"], "name", "max_connections")["setting"] == "100",
          "settings are not sent on the first cycle")
    for datname in ("appdb", "postgres"):
        check_database_records(payload, datname, server.version)
    for section in ("tables", "indexes", "functions", "table_sizes", "index_sizes"):
        check(section_rows(payload, "appdb", section), "appdb has no %s rows" % section)
    table = row_named(section_rows(payload, "appdb", "tables"), "relname", "t")
    check(table["n_tup_ins"] == 1, "row of table t: %r" % table)
    sizes = row_named(section_rows(payload, "appdb", "table_sizes"), "relid", table["relid"])
    check(sizes["heap_bytes"] == 8192 and sizes["size_skipped"] is False
          and sizes["total_bytes"] == sizes["heap_bytes"] + sizes["toast_bytes"]
          + sizes["indexes_bytes"], "sizes of table t: %r" % sizes)
    index = row_named(section_rows(payload, "appdb", "indexes"), "indexrelname", "t_pkey")
    check(index["is_primary"] is True, "t_pkey: %r" % index)
    check(row_named(section_rows(payload, "appdb", "index_sizes"), "indexrelid",
                    index["indexrelid"])["size_bytes"] >= 8192, "size of t_pkey")


def test_every_statement_is_tagged_and_read_only(case):
    server = PostgresServer(case, log_statement="all", log_line_prefix="%a|",
                            shared_preload_libraries="pg_stat_statements")
    server.psql("CREATE EXTENSION pg_stat_statements")
    _, payload = case.once(pgstats_config(case, server))
    check(pg_records(payload, "statements"), "pg_stat_statements was not read")
    lines = [l for l in server.log_text().splitlines()
             if l.startswith("pganalytics-collector|") and "statement:" in l
             or l.startswith("pganalytics-collector|") and "execute" in l]
    check(len(lines) >= 4, "too few statements logged:\n" + "\n".join(lines))
    untagged = [l for l in lines if "/* pganalytics */" not in l]
    check(not untagged, "statements without the tag:\n" + "\n".join(untagged))
    check(server.psql("SELECT count(*) FROM pg_stat_activity "
                      "WHERE application_name = 'pganalytics-collector'").strip() == "0",
          "a session is left after --once")


def test_lock_guard_skips_sizes_of_locked_tables(case):
    server = PostgresServer(case)
    server.psql("CREATE TABLE granted_lock (id int PRIMARY KEY);"
                "CREATE TABLE waiting_lock (id int PRIMARY KEY);"
                "CREATE TABLE free (id int PRIMARY KEY);"
                "CREATE TABLE indexed (id int); CREATE INDEX indexed_id ON indexed (id);"
                "CREATE TABLE toasted (v text);")
    toast_index = server.psql("SELECT i.indexrelid::regclass FROM pg_index i JOIN pg_class c "
                              "ON i.indrelid = c.reltoastrelid WHERE c.relname = 'toasted'")
    holder = Session(server)
    holder.send("BEGIN; LOCK TABLE granted_lock IN ACCESS EXCLUSIVE MODE; "
                "LOCK TABLE waiting_lock IN ACCESS SHARE MODE; "
                "ALTER INDEX indexed_id SET TABLESPACE pg_default; "
                "REINDEX INDEX %s;" % toast_index.strip())
    locked = ("SELECT string_agg(relation::regclass || CASE WHEN granted THEN '' "
              "ELSE ' (waiting)' END, ', ' ORDER BY relation::regclass::text) FROM pg_locks "
              "WHERE mode = 'AccessExclusiveLock' AND locktype = 'relation'")
    held = "granted_lock, indexed_id, %s" % toast_index.strip()
    wait_until(lambda: server.psql(locked).strip() == held, "the holder's AccessExclusiveLocks")
    waiter = Session(server)
    waiter.send("BEGIN; LOCK TABLE waiting_lock IN ACCESS EXCLUSIVE MODE;")
    wait_until(lambda: server.psql(locked).strip() == held + ", waiting_lock (waiting)",
               "the waiting AccessExclusiveLock")
    _, payload = case.once(pgstats_config(case, server, lock_timeout_ms=60000,
                                          statement_timeout_ms=60000, databases=["postgres"]))
    summary = database_summary(payload, "postgres")
    check(summary["table_sizes"] == {"count": 5, "records": 1, "size_skipped": 4,
                                     "complete": True}, "table_sizes: %r" % summary)
    relids = {row["relname"]: row["relid"] for row in section_rows(payload, "postgres", "tables")}
    sizes = section_rows(payload, "postgres", "table_sizes")
    for name in ("granted_lock", "waiting_lock", "indexed", "toasted"):
        row = row_named(sizes, "relid", relids[name])
        check(row["size_skipped"] is True and row["total_bytes"] is None
              and row["heap_bytes"] is None, "%s was measured: %r" % (name, row))
    free = row_named(sizes, "relid", relids["free"])
    check(free["size_skipped"] is False and free["total_bytes"] == 8192 and
          free["indexes_bytes"] == 8192, "free: %r" % free)
    index_oids = {row["indexrelname"]: row["indexrelid"]
                  for row in section_rows(payload, "postgres", "indexes")}
    check(row_named(section_rows(payload, "postgres", "index_sizes"), "indexrelid",
                    index_oids["indexed_id"])["size_bytes"] is None,
          "an index under an AccessExclusiveLock was measured")
    instance = instance_record(payload)
    check(any(b["blocking_pid"] for b in instance["blocking"]),
          "the waiting session is not in blocking: %r" % instance["blocking"])
    check(instance["activity"]["waiting_for_lock"] == 1, "activity: %r" % instance["activity"])
    check(any(l["mode"] == "AccessExclusiveLock" and l["waiting"] == 1
              for l in instance["locks"]), "locks: %r" % instance["locks"])
    check(any(h["kind"] == "backend" for h in instance["xmin_holders"])
          or instance["xmin_holders"] == [], "xmin_holders: %r" % instance["xmin_holders"])


def test_functions_in_public_cannot_stand_in_for_pg_catalog(case):
    server = PostgresServer(case)
    server.psql("CREATE ROLE mallory LOGIN; GRANT CREATE ON SCHEMA public TO mallory;")
    server.psql("CREATE TABLE t (id int PRIMARY KEY);"
                "CREATE FUNCTION public.pg_relation_size(oid) RETURNS bigint LANGUAGE sql "
                "AS 'SELECT 424242::bigint'", user="mallory")
    _, payload = case.once(pgstats_config(case, server, databases=["postgres"]))
    sizes = section_rows(payload, "postgres", "table_sizes")
    check(sizes and all(row["heap_bytes"] != 424242 for row in sizes),
          "a function another role put in public ran in the collector's session: %r" % sizes)


def test_databases_are_discovered_each_cycle_with_include_and_exclude(case):
    server = PostgresServer(case)
    for name in ("app_one", "app_two", "other"):
        server.psql("CREATE DATABASE %s" % name)
    server.psql("CREATE DATABASE closed; UPDATE pg_database SET datallowconn = false "
                "WHERE datname = 'closed'")
    config = pgstats_config(case, server, databases=["app_*", "postgres"],
                            exclude_databases=["app_two"])
    case.write_config(config, push_interval=1)
    out = case.path("out.jsonl")
    daemon = case.start_daemon("--output", "file://" + out)

    def seen():
        return {r["database"] for p in parse_json_lines(open(out).read())
                for r in pg_records(p, "database")} if os.path.exists(out) else set()
    wait_until(lambda: {"app_one", "postgres"} <= seen(), "records of app_one and postgres")
    server.psql("CREATE DATABASE app_three")
    wait_until(lambda: "app_three" in seen(), "a database created while running")
    summaries = [r for p in parse_json_lines(open(out).read()) for r in pg_records(p, "database")
                 if r["database"] == "app_one"]
    check("table_sizes" in summaries[0] and all("table_sizes" not in r for r in summaries[1:]),
          "sizes must be read on the first cycle and then every sizes_interval_s only")
    check(not seen() & {"app_two", "other", "closed", "template0", "template1"},
          "databases outside the selection: %r" % seen())
    connected = server.psql("SELECT string_agg(datname, ',' ORDER BY datname) FROM "
                            "pg_stat_activity WHERE application_name = "
                            "'pganalytics-collector'").strip()
    check(connected == "app_one,app_three,postgres",
          "one persistent session per database expected, got %r" % connected)
    check(daemon.terminate() == 0, "exit status after SIGTERM")


def test_max_tables_bounds_the_tables_and_says_so(case):
    server = PostgresServer(case)
    server.psql("".join("CREATE TABLE t%d (id int PRIMARY KEY);" % i for i in range(5))
                + "INSERT INTO t3 VALUES (1), (2);")
    result, payload = case.once(pgstats_config(case, server, databases=["postgres"], max_tables=2,
                                          max_indexes=3))
    summary = database_summary(payload, "postgres")
    check(summary["tables"] == {"count": 2, "records": 1, "truncated": True, "total": 5,
                                "complete": True}, "tables: %r" % summary["tables"])
    check(row_named(section_rows(payload, "postgres", "tables"), "relname", "t3"),
          "the busiest table must be kept")
    check(summary["indexes"]["count"] == 3 and summary["indexes"]["total"] == 5,
          "indexes: %r" % summary["indexes"])
    check(summary["table_sizes"]["count"] == 2 and summary["index_sizes"]["count"] == 3,
          "sizes must be read for the reported relations only: %r" % summary)
    check(len(lines_containing(result.stderr, "busiest are reported")) == 2,
          "one warning per bounded section:\n" + result.stderr)


def test_role_without_pg_monitor_gets_one_message_and_the_rest(case):
    server = PostgresServer(case)
    server.psql("CREATE ROLE watcher LOGIN; CREATE ROLE owner LOGIN;"
                "CREATE TABLE hidden (id int PRIMARY KEY); ALTER TABLE hidden OWNER TO owner")
    config = pgstats_config(case, server, conninfo=server.conninfo(user="watcher"))
    result, payload = case.once(config)
    warnings = lines_containing(result.stderr, "GRANT pg_monitor TO")
    check(len(warnings) == 1, "expected one message naming the grant:\n" + result.stderr)
    record = instance_record(payload)
    check(record["instance"]["pg_monitor"] is False and record["databases"],
          "instance record without pg_monitor: %r" % record["instance"])
    check(section_rows(payload, "postgres", "tables"),
          "tables of other roles are visible without pg_monitor")
    server.psql("GRANT pg_monitor TO watcher")
    result, payload = case.once(config)
    check(not lines_containing(result.stderr, "GRANT pg_monitor"),
          "the message repeats after the grant:\n" + result.stderr)
    check(instance_record(payload)["instance"]["pg_monitor"] is True, "pg_monitor not seen")


def test_reconnects_after_a_server_restart(case):
    server = PostgresServer(case)
    case.write_config(pgstats_config(case, server), push_interval=1)
    out = case.path("out.jsonl")
    daemon = case.start_daemon("--output", "file://" + out)

    def payloads():
        return parse_json_lines(open(out).read()) if os.path.exists(out) else []
    wait_until(lambda: any(pg_records(p, "instance") for p in payloads()), "a first record")
    server.stop()
    daemon.wait_for_log("cannot connect")
    wait_until(lambda: any(plugin_health(p, "pgstats")["failures"] >= 1 for p in payloads()
                           if records(p, "collector")), "a failure while the server is down")
    before = len(payloads())
    server.start()
    wait_until(lambda: any(pg_records(p, "instance") for p in payloads()[before:]),
               "records after the restart", timeout=60)
    check(len(lines_containing(daemon.stderr(), "cannot connect")) == 1,
          "a connection failure must be logged once per streak, not every cycle")
    check(any(records(p, "test_second") for p in payloads()[1:before]),
          "other plugins stopped while the server was down")
    check(daemon.terminate() == 0, "exit status after SIGTERM")


def test_wal_rate_and_settings_change_are_reported(case):
    server = PostgresServer(case)
    case.write_config(pgstats_config(case, server, databases=[]), push_interval=1)
    out = case.path("out.jsonl")
    daemon = case.start_daemon("--output", "file://" + out)

    def instances():
        return [r for p in parse_json_lines(open(out).read()) for r in pg_records(p, "instance")
                ] if os.path.exists(out) else []
    wait_until(lambda: len(instances()) >= 2, "two instance records")
    check("settings" in instances()[0] and "settings" not in instances()[1],
          "unchanged settings must not be sent again within settings_interval_s")
    check("database_sizes" in instances()[0] and "database_sizes" not in instances()[1],
          "database sizes must be read on the first cycle, then every sizes_interval_s")
    check(instances()[1]["instance"]["wal_bytes_per_s"] >= 0, "no WAL rate on cycle two")
    server.psql("ALTER SYSTEM SET work_mem = '7MB'; SELECT pg_reload_conf();")
    wait_until(lambda: any(r.get("settings_changed") for r in instances()),
               "a settings record after the change")
    changed = [r for r in instances() if r.get("settings_changed")][0]
    check(row_named(changed["settings"], "name", "work_mem")["setting"] == "7168",
          "work_mem in the changed settings")
    check(daemon.terminate() == 0, "exit status after SIGTERM")


def test_password_is_masked_and_an_unreachable_server_is_a_failure(case):
    server = PostgresServer(case)
    conninfo = server.conninfo().replace("port=", "port=1") + " password=sekrit-4711"
    result, payload = case.once({"pgstats": {"conninfo": conninfo, "path": pgstats_path(case)},
                                 "second": {}})
    check("sekrit-4711" not in result.stderr, "the password appears in the log")
    check("password=*****" in result.stderr, "the masked conninfo is not shown:\n"
          + result.stderr)
    health = plugin_health(payload, "pgstats")
    check(health["failures"] == 1, "pgstats failure not counted: %r" % health)
    check(records(payload, "test_second"), "other plugins must still deliver")
    check(not records(payload, "pg_stats"), "a record from an unreachable server")


def test_a_server_older_than_13_is_refused_with_a_message(case):
    fake = FakePostgres(case, "12.22")
    result, payload = case.once({"pgstats": {"conninfo": fake.conninfo(),
                                             "path": pgstats_path(case)}, "second": {}})
    check_logged_once(result.stderr, "error", "plugin pgstats: PostgreSQL 12.22 is not supported")
    check(not fake.queries, "statements were sent to an unsupported server: %r" % fake.queries)
    check(plugin_health(payload, "pgstats")["failures"] == 1, "the refusal is not a failure")
    check(records(payload, "test_second"), "other plugins must still deliver")


def test_a_server_newer_than_18_is_read_with_a_warning(case):
    fake = FakePostgres(case, "19.1")
    result, _ = case.once({"pgstats": {"conninfo": fake.conninfo(), "path": pgstats_path(case)},
                           "second": {}})
    check_logged_once(result.stderr, "warning", "plugin pgstats: PostgreSQL 19 is newer than")
    check(fake.queries, "nothing was asked of a server newer than the newest tested")

"""The pgstats plugin against a real PostgreSQL server (started per test
by pg.PostgresServer as the unprivileged postgres user)."""

import os

from harness import check, records, plugin_health, wait_until
from pg import PostgresServer


def pgstats_path(case):
    """The bundled plugin, built in build/plugins (not with the test plugins)."""
    return os.path.join(case.env.build_dir, "plugins", "pgstats.so")


def pgstats_config(case, server, **extra):
    options = {"conninfo": server.conninfo(), "interval": 1, "path": pgstats_path(case)}
    options.update(extra)
    return {"pgstats": options, "second": {}}


def pg_record(payload):
    found = records(payload, "pg_stats")
    check(len(found) == 1, "expected one pg_stats record, got %d" % len(found))
    return found[0]


def test_instance_databases_and_connections_are_reported(case):
    server = PostgresServer(case)
    server.psql("CREATE DATABASE appdb")
    _, payload = case.once(pgstats_config(case, server))
    record = pg_record(payload)
    instance = record["instance"]
    check(instance["server_version_num"] == server.version_num,
          "server_version_num %r, server says %r"
          % (instance["server_version_num"], server.version_num))
    check(instance["in_recovery"] is False, "a primary reported in recovery")
    check(isinstance(instance["uptime_s"], float) and instance["uptime_s"] >= 0,
          "uptime_s %r" % instance["uptime_s"])
    names = [d["datname"] for d in record["databases"]]
    check("appdb" in names and "postgres" in names, "databases %r" % names)
    postgres = [d for d in record["databases"] if d["datname"] == "postgres"][0]
    check(isinstance(postgres["xact_commit"], int) and postgres["numbackends"] >= 1,
          "pg_stat_database row for postgres: %r" % postgres)
    if server.version_num >= 140000:
        check("sessions" in postgres, "PostgreSQL 14+ has sessions in pg_stat_database")
    check(any(c["state"] == "active" and c["count"] >= 1 for c in record["connections"]),
          "the collector's own active connection is missing: %r" % record["connections"])


def test_one_persistent_connection_named_for_the_collector(case):
    server = PostgresServer(case)
    case.write_config(pgstats_config(case, server), push_interval=1)
    daemon = case.start_daemon("--output", "file://" + case.path("out.jsonl"))
    def connected():
        daemon.check_running()
        return server.psql("SELECT count(*) FROM pg_stat_activity "
                            "WHERE application_name = 'pganalytics-collector'").strip()
    wait_until(lambda: connected() == "1", "the collector's session")
    daemon.wait_for_log("plugin second: cycle 3")
    check(connected() == "1", "more than one session, or a new one per cycle")
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

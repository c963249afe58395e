"""The pglog plugin with a conninfo: format, files, log_line_prefix and
log_timezone come from a real server (pg.PostgresServer), follow its
changes, and survive a restart of the collector while the server is down.
Each `--once` run on the case's state_dir is a restart of the collector."""

import os
import time

from harness import check, lines_containing, records
from pg import PostgresServer

RICH_PREFIX = "%m [%p] %q%u@%d %e "


def discovering_options(case, server, user="postgres", **extra):
    """pglog told nothing but how to reach the server (log_path and the
    prefix left at defaults that do not fit this server)."""
    options = {"conninfo": server.conninfo(user=user), "start_at": "beginning",
               "max_events": 1000,
               "path": os.path.join(case.env.build_dir, "plugins", "pglog.so")}
    options.update(extra)
    return options


def run_pglog(case, options):
    result, payload = case.once({"pglog": options})
    found = records(payload, "pg_log")
    check(len(found) == 1, "expected one pg_log record\n%s" % result.stderr)
    return found[0], result.stderr


def failing_query(server, sql="SELECT * FROM no_such_table"):
    try:
        server.psql(sql)
    except AssertionError:
        return
    raise AssertionError("%r did not fail" % sql)


def test_format_files_and_prefix_come_from_the_server(case):
    server = PostgresServer(case, logging_collector=True, log_destination="stderr,csvlog",
                            log_line_prefix=RICH_PREFIX, log_filename="pg-%Y%m%d-%H%M%S.log")
    failing_query(server)
    rec, _ = run_pglog(case, discovering_options(case, server))
    source = rec["source"]
    check(source["from"] == "server", source)
    check(rec["format"] == "csvlog", "csvlog is richer than stderr: %r" % rec["format"])
    check(source["log_path"] == os.path.join(server.data_dir, "log", "pg-*-*.csv"), source)
    check(source["log_line_prefix"] == RICH_PREFIX, source)
    check(source.get("log_timezone"), "log_timezone not reported: %r" % source)
    check(rec["sqlstate"].get("42P01") == 1, rec["sqlstate"])
    check(all(f["path"].endswith(".csv") for f in rec["files"]) and rec["files"], rec["files"])
    check(rec["records_malformed"] == 0 and rec["lines_unparsed"] == 0, rec)


def test_a_changed_prefix_rebuilds_the_parser(case):
    # Not on the command line: ALTER SYSTEM could not override it there.
    server = PostgresServer(case, logging_collector=True, log_destination="stderr")
    failing_query(server)
    options = discovering_options(case, server)
    first, _ = run_pglog(case, options)
    check(first["source"]["log_line_prefix"] == "%m [%p] ", first["source"])
    check(first["sqlstate"] == {}, "the default prefix has no %%e: %r" % first["sqlstate"])
    check(first["errors"] and first["lines_unparsed"] == 0, first)

    server.psql("ALTER SYSTEM SET log_line_prefix = '%s'" % RICH_PREFIX)
    server.psql("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 30
    while server.psql("SHOW log_line_prefix").strip() != RICH_PREFIX.strip():
        check(time.monotonic() < deadline, "the server never took the new log_line_prefix")
        time.sleep(0.1)
    failing_query(server)
    second, stderr = run_pglog(case, options)
    check(second["source"]["log_line_prefix"] == RICH_PREFIX, second["source"])
    check(second["sqlstate"].get("42P01") == 1, "the new prefix's %%e was not read: %r"
          % second["sqlstate"])
    check(any(d["name"] == "postgres" for d in second.get("databases", [])),
          "the new prefix's %%d was not read: %r" % second.get("databases"))
    check(lines_containing(stderr, "with log_line_prefix '%s'" % RICH_PREFIX),
          "the change was not logged:\n%s" % stderr)


def test_role_without_settings_privilege_follows_log_path(case):
    server = PostgresServer(case, logging_collector=True, log_destination="stderr",
                            log_line_prefix=RICH_PREFIX)
    server.psql("CREATE ROLE watcher LOGIN")
    failing_query(server)
    log_dir = os.path.join(server.data_dir, "log")
    rec, stderr = run_pglog(case, discovering_options(case, server, user="watcher",
                                                      log_path=log_dir))
    source = rec["source"]
    check(source["from"] == "server" and source["log_path"] == log_dir, source)
    check(source["log_line_prefix"] == RICH_PREFIX, "the prefix is readable by anyone: %r" % source)
    check("GRANT pg_read_all_settings TO \"watcher\"" in source.get("problem", ""), source)
    check(len(lines_containing(stderr, "GRANT pg_read_all_settings")) == 1, stderr)
    check(rec["sqlstate"].get("42P01") == 1, rec["sqlstate"])


def test_restart_while_the_server_is_down_reads_its_files(case):
    server = PostgresServer(case, logging_collector=True, log_destination="csvlog",
                            log_line_prefix=RICH_PREFIX)
    options = discovering_options(case, server)
    first, _ = run_pglog(case, options)
    check(first["source"]["from"] == "server", first["source"])
    server.stop()
    rec, stderr = run_pglog(case, options)
    check(rec["source"]["from"] == "saved", rec["source"])
    check(rec["source"]["log_path"] == first["source"]["log_path"], rec["source"])
    check("cannot connect to PostgreSQL" in rec["source"].get("problem", ""), rec["source"])
    check(rec["event_counts"].get("server_shutdown") == 1,
          "the shutdown, logged while the server went down, was not read: %r" % rec["event_counts"])
    check(rec["format"] == "csvlog", rec["format"])
    server.start()
    again, _ = run_pglog(case, options)
    check(again["source"]["from"] == "server" and "problem" not in again["source"], again["source"])
    check(again["event_counts"].get("server_start") == 1, again["event_counts"])


def test_first_start_waits_for_the_server(case):
    server = PostgresServer(case, logging_collector=True, log_destination="stderr",
                            log_line_prefix=RICH_PREFIX)
    server.stop()
    options = discovering_options(case, server, start_at="end")
    rec, _ = run_pglog(case, options)
    check(rec["source"].get("waiting_for_server") is True and rec["files"] == [], rec)
    check(not os.path.exists(os.path.join(case.state_dir, "plugins", "pglog", "source")),
          "a source was saved before the server ever answered")
    server.start()
    rec, _ = run_pglog(case, options)
    check(rec["source"]["from"] == "server" and rec["files"], rec)
    check(rec["lines"] == 0, "start_at = end still applies once the server answers: %r" % rec)
    failing_query(server)
    rec, _ = run_pglog(case, options)
    check(rec["sqlstate"].get("42P01") == 1, rec)


def test_bad_conninfo_is_refused_without_its_password(case):
    options = {"conninfo": "host=/tmp password='secret-pw' bogus_key=1",
               "path": os.path.join(case.env.build_dir, "plugins", "pglog.so"),
               "log_path": case.path("nothing.log")}
    case.write_config({"pglog": options})
    result = case.run("--once", "--output", "-")
    check(lines_containing(result.stderr, "conninfo is not a valid libpq connection string")
          and "secret-pw" not in result.stderr, result.stderr)


def test_event_times_follow_the_servers_log_timezone(case):
    """A zone whose abbreviation means nothing alone (IST): the server's
    log_timezone, read through libpq, gives the events their Unix time."""
    before = time.time()
    server = PostgresServer(case, logging_collector=True, log_destination="stderr",
                            log_line_prefix=RICH_PREFIX, log_timezone="Asia/Kolkata",
                            log_checkpoints=True)
    server.psql("CHECKPOINT")
    rec, _ = run_pglog(case, discovering_options(case, server))
    after = time.time()
    check(rec["source"]["log_timezone"] == "Asia/Kolkata", rec["source"])
    events = [e for e in rec["events"] if e["kind"] in ("server_start", "checkpoint_complete")]
    check(len(events) >= 2 and all(e["log_time"].endswith(" IST") for e in events), events)
    # The events happened during this test: their times lie between its clock readings.
    check(all(before - 1 <= e["time"] <= after + 1 for e in events),
          "times %r not within [%.3f, %.3f]" % ([e.get("time") for e in events], before, after))

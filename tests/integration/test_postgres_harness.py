"""pg.PostgresServer, the real PostgreSQL the plugin tests connect to:
these prove the harness itself before any plugin relies on it."""

import os
import subprocess

from harness import check
from pg import PostgresServer


def test_server_starts_answers_on_its_socket_only_and_stops(case):
    server = PostgresServer(case)
    check(server.psql("SELECT 1").strip() == "1",
          "SELECT 1 answered %r" % server.psql("SELECT 1"))
    check(server.version_num >= 130000,
          "server_version_num %r, expected >= 130000" % server.version_num)
    check(os.path.isfile(os.path.join(server.data_dir, "PG_VERSION")),
          "no cluster in data_dir %s" % server.data_dir)
    check(server.data_dir.startswith(case.tmp + os.sep),
          "data_dir %s is not under case.tmp" % server.data_dir)
    socket = os.path.join(server.socket_dir, ".s.PGSQL.%d" % server.port)
    check(os.path.exists(socket), "no Unix socket %s" % socket)
    listen = server.psql("SHOW listen_addresses").strip()
    check(listen == "", "listen_addresses is %r: the server must not use TCP"
          % listen)

    # The collector connects as the test runner (root in CI), not as the
    # server user: conninfo() alone must get it in.
    psql = os.path.join(server.bindir, "psql")
    done = subprocess.run([psql if os.access(psql, os.X_OK) else "psql", "-X",
                           "-A", "-t", "-d", server.conninfo(),
                           "-c", "SELECT current_user, current_database()"],
                          capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items()
                               if not k.startswith("PG")})
    check(done.returncode == 0 and done.stdout.strip() == "postgres|postgres",
          "psql %r as the test runner: status %d, stdout %r, stderr %r"
          % (server.conninfo(), done.returncode, done.stdout, done.stderr))

    server.psql("CREATE DATABASE other; ", dbname="postgres")
    server.psql("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2);",
                dbname="other")
    check(server.psql("SELECT sum(x) FROM t", dbname="other").strip() == "3",
          "dbname= is not honoured")

    server.stop()
    check(not os.path.exists(socket), "socket %s left after stop()" % socket)
    server.stop()   # twice is harmless; case.finish() calls it again
    server.start()  # the same cluster again, its data kept
    check(server.psql("SELECT count(*) FROM t", dbname="other").strip() == "2",
          "data lost across stop() and start()")


def test_settings_are_applied_and_servers_are_independent(case):
    tuned = PostgresServer(case, work_mem="7MB", logging_collector=True,
                           shared_preload_libraries="pg_stat_statements",
                           **{"pg_stat_statements.track": "all"})
    plain = PostgresServer(case)   # at the same time, in the same test
    check(tuned.data_dir != plain.data_dir
          and tuned.socket_dir != plain.socket_dir,
          "two servers share a directory: %s, %s"
          % (tuned.conninfo(), plain.conninfo()))

    shown = tuned.psql("SHOW work_mem; SHOW logging_collector; "
                       "SHOW shared_preload_libraries; "
                       "SHOW pg_stat_statements.track").split()
    check(shown == ["7MB", "on", "pg_stat_statements", "all"],
          "settings not applied: SHOW gave %s" % shown)
    check(plain.psql("SHOW work_mem").strip() == "4MB",
          "the second server has work_mem %r, expected the default 4MB"
          % plain.psql("SHOW work_mem").strip())

    # What the pgstats plugin tests need: pg_stat_statements loaded.
    tuned.psql("CREATE EXTENSION pg_stat_statements")
    tuned.psql("SELECT 42 AS answer")
    calls = tuned.psql("SELECT count(*) FROM pg_stat_statements "
                       "WHERE query LIKE 'SELECT $1 AS answer%'").strip()
    check(calls == "1", "pg_stat_statements saw %r matching statements" % calls)

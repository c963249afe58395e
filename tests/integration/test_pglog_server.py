"""The pglog plugin on the logs of real PostgreSQL servers (pg.PostgresServer
with logging_collector on), in each format: the events the server really
writes are reported, and across pg_rotate_logfile(), a copytruncate and
collector restarts every line is read exactly once."""

import glob
import os
import subprocess
import time

from harness import check, records
from pg import PostgresServer, find_psql

PREFIX = "%m [%p] %q%u@%d %e "
EXTENSION = {"stderr": ".log", "csvlog": ".csv", "jsonlog": ".json"}


def start_server(case, destination, **settings):
    options = dict(logging_collector=True, log_destination=destination,
                   log_line_prefix=PREFIX, log_min_duration_statement=0,
                   log_checkpoints=True, autovacuum=False, log_file_mode="0640")
    options.update(settings)
    return PostgresServer(case, **options)


def run_pglog(case, server, destination, **extra):
    options = {"log_path": os.path.join(server.data_dir, "log"), "format": destination,
               "log_line_prefix": PREFIX, "start_at": "beginning", "max_events": 1000,
               "path": os.path.join(case.env.build_dir, "plugins", "pglog.so")}
    options.update(extra)
    result, payload = case.once({"pglog": options})
    found = records(payload, "pg_log")
    check(len(found) == 1, "expected one pg_log record\n%s" % result.stderr)
    return found[0]


def failed_login(server, user, password):
    """A psql connection with a wrong password (run as root: only the client)."""
    argv = [find_psql(server.bindir), "-X", "-w", "-c", "SELECT 1", "-d",
            server.conninfo(user=user) + " password=" + password]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    check(done.returncode != 0, "the login with a wrong password succeeded")


def require_password(server, user):
    hba = os.path.join(server.data_dir, "pg_hba.conf")
    with open(hba, "w") as f:
        f.write("local all %s scram-sha-256\nlocal all all trust\n" % user)
    server.psql("SELECT pg_reload_conf()")


def server_events(case, server, destination):
    server.psql("CREATE ROLE alice LOGIN PASSWORD 'right'")
    require_password(server, "alice")
    server.psql("CREATE TABLE t (id int); INSERT INTO t SELECT 1")
    server.psql("SELECT pg_sleep(0.01), 'secret' FROM t WHERE id = 1")
    try:
        server.psql("SELECT * FROM missing_table")
    except AssertionError:
        pass
    server.psql("CHECKPOINT")
    failed_login(server, "alice", "wrong")
    return run_pglog(case, server, destination)


def check_server_events(rec):
    kinds = rec["event_counts"]
    for kind in ("slow_statement", "checkpoint_starting", "checkpoint_complete", "auth_failure",
                 "server_start"):
        check(kinds.get(kind, 0) >= 1, "no %s event in %r" % (kind, kinds))
    check(rec["sqlstate"].get("42P01") == 1 and rec["sqlstate"].get("28P01") == 1, rec["sqlstate"])
    slow = [e for e in rec["events"] if e["kind"] == "slow_statement"
            and "pg_sleep" in e.get("statement", "")]
    check(slow and slow[0]["statement"] == "SELECT pg_sleep(?), ? FROM t WHERE id = ?"
          and slow[0]["duration_ms"] >= 10 and slow[0]["database"] == "postgres", slow)
    check(rec["lines_unparsed"] == 0 and rec["records_malformed"] == 0, rec)
    errors = [e for e in rec["errors"] if e.get("sqlstate") == "42P01"]
    check(errors and "missing_table" in errors[0]["message"], rec["errors"])


def test_stderr_events_of_a_real_server(case):
    server = start_server(case, "stderr")
    check_server_events(server_events(case, server, "stderr"))


def test_csvlog_events_of_a_real_server(case):
    server = start_server(case, "csvlog")
    check_server_events(server_events(case, server, "csvlog"))


def test_jsonlog_events_of_a_real_server(case):
    server = start_server(case, "jsonlog", log_destination="jsonlog")
    if server.version < 15:
        return
    check_server_events(server_events(case, server, "jsonlog"))


def file_lines(server, destination):
    total = 0
    for path in glob.glob(os.path.join(server.data_dir, "log", "*" + EXTENSION[destination])):
        with open(path, "rb") as f:
            total += f.read().count(b"\n")
    return total


def read_until_quiet(case, server, destination):
    """Lines read by runs of the collector (each one a restart) until a run reads none."""
    total = 0
    for _ in range(20):
        rec = run_pglog(case, server, destination)
        total += rec["lines"]
        if rec["lines"] == 0:
            return total
    raise AssertionError("the server never stopped logging")


def test_rotation_and_restarts_lose_and_repeat_nothing(case):
    server = start_server(case, "stderr", log_min_duration_statement=-1, log_statement="all",
                          log_checkpoints=False)
    read = read_until_quiet(case, server, "stderr")
    for i in range(50):
        server.psql("SELECT %d" % i)
        if i % 10 == 0:
            time.sleep(1.1)    # log_filename has one-second resolution
            server.psql("SELECT pg_rotate_logfile()")
    server.psql("SELECT 'multi\nline\nstatement'")
    read += read_until_quiet(case, server, "stderr")
    files = glob.glob(os.path.join(server.data_dir, "log", "*.log"))
    check(len(files) >= 5, "pg_rotate_logfile() made only %d files" % len(files))
    check(read == file_lines(server, "stderr"),
          "read %d lines, the files hold %d" % (read, file_lines(server, "stderr")))


def test_copytruncate_of_a_real_servers_file(case):
    server = start_server(case, "stderr", log_min_duration_statement=-1, log_statement="all",
                          log_checkpoints=False, log_rotation_age=0)
    read_until_quiet(case, server, "stderr")
    current = sorted(glob.glob(os.path.join(server.data_dir, "log", "*.log")))[-1]
    subprocess.run(["cp", current, current + ".1"], check=True)
    with open(current, "r+") as f:
        f.truncate(0)
    for i in range(20):
        server.psql("SELECT %d" % i)
    after = read_until_quiet(case, server, "stderr")
    with open(current, "rb") as f:
        in_file = f.read().count(b"\n")
    check(after == in_file, "read %d lines after the truncation, the file holds %d" % (after, in_file))

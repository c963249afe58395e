"""The pglog plugin on the logs of real PostgreSQL servers (pg.PostgresServer
with logging_collector on), in each format on every version that has it:
the events the server really writes (provoked: autovacuum, temporary
files, lock waits, a deadlock, a restart, refused connections...) are
reported with the values the server wrote, and across pg_rotate_logfile(),
a copytruncate and collector restarts every line is read exactly once."""

import csv
import glob
import io
import json
import os
import re
import subprocess
import time

from harness import TestFailure, check, records, wait_until
from pg import PostgresServer, available_versions, find_psql, for_each_version

PREFIX = "%m [%p] %q%u@%d %e "
EXTENSION = {"stderr": ".log", "csvlog": ".csv", "jsonlog": ".json"}


def start_server(case, destination, version=None, **settings):
    options = dict(logging_collector=True, log_destination=destination,
                   log_line_prefix=PREFIX, log_min_duration_statement=0,
                   log_checkpoints=True, autovacuum=False, log_file_mode="0640")
    options.update(settings)
    return PostgresServer(case, version=version, **options)


def run_pglog(case, server, destination, **extra):
    options = {"log_path": os.path.join(server.data_dir, "log"), "format": destination,
               "log_line_prefix": PREFIX, "start_at": "beginning", "max_events": 1000,
               "path": os.path.join(case.env.build_dir, "plugins", "pglog.so")}
    options.update(extra)
    result, payload = case.once({"pglog": options})
    found = records(payload, "pg_log")
    check(len(found) == 1, "expected one pg_log record\n%s" % result.stderr)
    return found[0]


def client_environment():
    """Ours without PG* variables, for psql run as the caller (only the client)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def failed_login(server, user, password):
    """A psql connection with a wrong password (run as root: only the client)."""
    argv = [find_psql(server.bindir), "-X", "-w", "-c", "SELECT 1", "-d",
            server.conninfo(user=user) + " password=" + password]
    done = subprocess.run(argv, capture_output=True, text=True, env=client_environment(), timeout=60)
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
    names = {key: {n["name"] for n in rec[key]} for key in ("databases", "users", "applications")}
    check({"postgres"} <= names["databases"] and {"postgres", "alice"} <= names["users"], names)
    if rec["format"] != "stderr":       # the prefix has no %a
        check("psql" in names["applications"], names)
    errors = [e for e in rec["errors"] if e.get("sqlstate") == "42P01"]
    check(errors and "missing_table" in errors[0]["message"], rec["errors"])


def for_versions_from(first):
    """Decorator: pg.for_each_version, from major version `first` on."""
    def decorate(test):
        test.parameters = [v for v in available_versions() if v >= first]
        return test
    return decorate


@for_each_version
def test_stderr_events_of_a_real_server(case, version):
    server = start_server(case, "stderr", version)
    check_server_events(server_events(case, server, "stderr"))


@for_each_version
def test_csvlog_events_of_a_real_server(case, version):
    server = start_server(case, "csvlog", version)
    check_server_events(server_events(case, server, "csvlog"))


@for_versions_from(15)      # jsonlog is new in PostgreSQL 15
def test_jsonlog_events_of_a_real_server(case, version):
    server = start_server(case, "jsonlog", version)
    check_server_events(server_events(case, server, "jsonlog"))


class Session:
    """A psql connection fed one statement at a time (its stdin stays
    open), so that one session can hold a lock while another waits on it.
    Run as the caller (only the client); its stderr is kept for checks."""

    def __init__(self, case, server, name):
        self.name = name
        self.stderr_path = case.path("session-%s.stderr" % name)
        argv = [find_psql(server.bindir), "-X", "-q", "-A", "-t", "-d",
                server.conninfo() + " application_name=" + name]
        with open(self.stderr_path, "w") as stderr:
            self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                            stderr=stderr, text=True, env=client_environment())
        case.cleanups.insert(0, self.kill)

    def send(self, sql):
        try:
            self.process.stdin.write(sql + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            raise TestFailure("psql session %s ended: %s" % (self.name, self.stderr()))

    def finish(self):
        """Close its stdin, wait for psql to end; returns its stderr."""
        self.process.stdin.close()
        self.process.wait(timeout=60)
        return self.stderr()

    def stderr(self):
        with open(self.stderr_path) as f:
            return f.read()

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def wait_for_session(server, name, state, wait_event_type=""):
    """Until the session with application_name `name` is in `state` (and
    waits on `wait_event_type`, when given)."""
    query = ("SELECT state || '|' || coalesce(wait_event_type, '') FROM pg_stat_activity "
             "WHERE application_name = '%s'" % name)
    wanted = state + "|" + wait_event_type
    wait_until(lambda: server.psql(query).strip().startswith(wanted),
               "session %s to be %s" % (name, wanted))


def provoke_deadlock(case, server):
    """Two transactions updating two rows in opposite orders: exactly one
    of them is cancelled with 40P01 after deadlock_timeout."""
    server.psql("CREATE TABLE pair (id int PRIMARY KEY, v int); INSERT INTO pair VALUES (1, 0), (2, 0)")
    first, second = Session(case, server, "first"), Session(case, server, "second")
    first.send("BEGIN; UPDATE pair SET v = v + 1 WHERE id = 1;")
    second.send("BEGIN; UPDATE pair SET v = v + 1 WHERE id = 2;")
    wait_for_session(server, "first", "idle in transaction")
    wait_for_session(server, "second", "idle in transaction")
    first.send("UPDATE pair SET v = v + 1 WHERE id = 2;")
    wait_for_session(server, "first", "active", "Lock")
    second.send("UPDATE pair SET v = v + 1 WHERE id = 1;")
    for session in (first, second):
        session.send("COMMIT;")
    cancelled = ["deadlock detected" in s.finish() for s in (first, second)]
    check(cancelled.count(True) == 1, "not exactly one session cancelled: %r" % cancelled)


def provoke_lock_wait(case, server):
    """A session waits for a table lock held by another for longer than
    deadlock_timeout (log_lock_waits)."""
    holder = Session(case, server, "holder")
    holder.send("BEGIN; LOCK TABLE pair IN ACCESS EXCLUSIVE MODE;")
    wait_for_session(server, "holder", "idle in transaction")
    waiter = Session(case, server, "waiter")
    waiter.send("SELECT count(*) FROM pair;")
    wait_for_session(server, "waiter", "active", "Lock")
    wait_until(lambda: "still waiting for AccessShareLock" in server.log_text(),
               "the server to log the lock wait")
    holder.send("COMMIT;")
    holder.finish()
    check(waiter.finish() == "", "the waiter failed")


def provoke_maintenance(server):
    """Work for autovacuum and autoanalyze (thresholds 0 on that table) and
    a sort bigger than work_mem (a temporary file)."""
    server.psql("CREATE TABLE churn (id int, v text) WITH (autovacuum_vacuum_threshold = 0, "
                "autovacuum_vacuum_scale_factor = 0, autovacuum_analyze_threshold = 0, "
                "autovacuum_analyze_scale_factor = 0)")
    server.psql("INSERT INTO churn SELECT g, 'row ' || g FROM generate_series(1, 2000) g")
    server.psql("DELETE FROM churn WHERE id % 2 = 0")
    server.psql("UPDATE churn SET v = 'updated' WHERE id % 3 = 0")
    server.psql("SELECT g FROM generate_series(1, 100000) g ORDER BY g DESC OFFSET 99999")


MAINTENANCE_SETTINGS = dict(autovacuum=True, autovacuum_naptime=1, log_autovacuum_min_duration=0,
                            log_temp_files=0, work_mem="64kB", deadlock_timeout="100ms",
                            log_lock_waits=True, log_min_duration_statement=-1)


class Collected:
    """What successive runs of the collector reported, added up."""

    def __init__(self):
        self.event_counts = {}
        self.sqlstate = {}
        self.events = []
        self.runs = []

    def add(self, rec):
        check(rec["lines_unparsed"] == 0 and rec["records_malformed"] == 0
              and rec["lines_orphaned"] == 0 and rec["events_dropped"] == 0, rec)
        for total, counts in ((self.event_counts, rec["event_counts"]),
                              (self.sqlstate, rec["sqlstate"])):
            for key, count in counts.items():
                total[key] = total.get(key, 0) + count
        self.events += rec["events"]
        self.runs.append(rec)
        return rec

    def of_kind(self, kind, **members):
        return [e for e in self.events if e["kind"] == kind
                and all(e.get(k) == v for k, v in members.items())]


# A bound against a hang, never asserted on: autovacuum usually comes within a few naptimes.
AUTOVACUUM_GIVE_UP_SECONDS = 60


def collect_until(case, server, destination, collected, done, what):
    """Run the collector (each run resuming where the last stopped) until
    done(collected) holds."""
    deadline = time.monotonic() + AUTOVACUUM_GIVE_UP_SECONDS
    while True:
        collected.add(run_pglog(case, server, destination))
        if done(collected):
            return
        if time.monotonic() > deadline:
            raise TestFailure("no %s reported after %ds; events so far %r\n--- server log ---\n%s"
                                 % (what, AUTOVACUUM_GIVE_UP_SECONDS, collected.event_counts,
                                    server.log_tail(60)))
        time.sleep(0.5)


def autovacuumed(collected):
    return (collected.of_kind("autovacuum", table="postgres.public.churn")
            and collected.of_kind("autoanalyze", table="postgres.public.churn"))


def stderr_entries(text):
    """A stderr log's lines, each with its tab-led continuation lines."""
    entries = []
    for line in text.splitlines():
        if line.startswith("\t") and entries:
            entries[-1] += "\n" + line
        else:
            entries.append(line)
    return entries


def messages_read(rec, destination):
    """The messages of what the collector has read so far: each followed
    file up to the offset the last run `rec` reports.  stderr: each line
    with its continuation lines, prefix included."""
    texts = []
    for followed in rec["files"]:
        with open(followed["path"], "rb") as f:
            texts.append(f.read(followed["offset"]).decode("utf-8", "replace"))
    if destination == "stderr":
        return [entry for text in texts for entry in stderr_entries(text)]
    if destination == "csvlog":
        return [row[13] for text in texts for row in csv.reader(io.StringIO(text, newline=""))]
    return [json.loads(line).get("message", "") for text in texts for line in text.splitlines()]


def found_in(messages, pattern):
    """Every match of `pattern` in the messages (groups as tuples)."""
    return [match.groups() for text in messages for match in re.finditer(pattern, text)]


def check_maintenance_events(collected, messages):
    """The events of provoke_maintenance() and provoke_deadlock(), against
    what the server wrote: how many dead rows each vacuum removes depends
    on when it ran and on page pruning by the statements before it, and
    which statements spill to temporary files on the executor."""
    written = found_in(messages, r'automatic vacuum of table "postgres\.public\.churn": '
                                 r'(?s:.*?)tuples: (\d+) removed')
    vacuums = collected.of_kind("autovacuum", table="postgres.public.churn")
    check(sorted(e["tuples_removed"] for e in vacuums) == sorted(int(n) for n, in written)
          and all(0 <= e["elapsed_s"] < 60 and e["severity"] == "LOG" for e in vacuums),
          (written, vacuums))
    analyzes = collected.of_kind("autoanalyze", table="postgres.public.churn")
    check(analyzes and all(0 <= e["elapsed_s"] < 60 and "tuples_removed" not in e for e in analyzes),
          analyzes)
    written = found_in(messages, r'temporary file: path "([^"]+)", size (\d+)')
    temp = collected.of_kind("temp_file")
    check(sorted((e["path"], e["size_bytes"]) for e in temp)
          == sorted((path, int(size)) for path, size in written)
          and any(e["size_bytes"] > 1000000 for e in temp), (written, temp))   # the big sort
    check(collected.event_counts.get("deadlock") == 1 and collected.sqlstate.get("40P01") == 1,
          (collected.event_counts, collected.sqlstate))
    deadlock = collected.of_kind("deadlock")[0]
    check(deadlock["sqlstate"] == "40P01" and deadlock["severity"] == "ERROR"
          and deadlock["database"] == "postgres" and deadlock["user"] == "postgres", deadlock)


def check_lock_wait(collected, messages):
    written = found_in(messages, r"still waiting for (.+?) after ([\d.]+) ms")
    waits = collected.of_kind("lock_wait")
    check(sorted((e["lock"], e["waited_ms"]) for e in waits)
          == sorted((lock, float(ms)) for lock, ms in written), (written, waits))
    check(any(e["lock"].startswith("AccessShareLock on relation ") and e["waited_ms"] >= 100
              for e in waits), waits)


CHECKPOINT_COMPLETE_RE = (r"checkpoint complete: wrote (\d+) buffers \(([\d.]+)%\);.*? write=([\d.]+) s, "
                          r"sync=([\d.]+) s, total=([\d.]+) s;.*? distance=(\d+) kB, estimate=(\d+) kB")
CHECKPOINT_MEMBERS = ("buffers_written", "buffers_pct", "write_s", "sync_s", "total_s", "distance_kb",
                      "estimate_kb")


def check_checkpoint(collected, messages):
    written = [tuple(float(v) for v in values) for values in found_in(messages, CHECKPOINT_COMPLETE_RE)]
    complete = collected.of_kind("checkpoint_complete")
    check(sorted(tuple(e[m] for m in CHECKPOINT_MEMBERS) for e in complete) == sorted(written),
          (written, complete))
    last = complete[-1]     # the CHECKPOINT after the writes
    check(last["buffers_written"] >= 1 and 0 <= last["buffers_pct"] <= 100
          and 0 <= last["write_s"] <= last["total_s"] and 0 <= last["sync_s"] <= last["total_s"]
          and last["distance_kb"] >= 1, last)


def exhaust_connections(case, server):
    """Connections held open until one is refused (max_connections = 2, no
    reserved slots); returns how many were refused."""
    holders = []
    for number in range(8):
        holder = Session(case, server, "holder%d" % number)
        holder.send("SELECT 1;")
        holders.append(holder)
        argv = [find_psql(server.bindir), "-X", "-c", "SELECT 1", "-d", server.conninfo()]
        probe = subprocess.run(argv, capture_output=True, text=True, env=client_environment(),
                               timeout=60)
        if probe.returncode != 0:
            check("too many clients" in probe.stderr, probe.stderr)
            break
    else:
        raise TestFailure("no connection refused with max_connections = 2")
    refused = 1 + sum("too many clients" in h.finish() for h in holders)
    return refused


def test_real_events_of_a_server(case):
    """On the default server, stderr: every event kind the server really
    writes when provoked, as reported."""
    server = start_server(case, "stderr", **MAINTENANCE_SETTINGS)
    provoke_maintenance(server)
    provoke_deadlock(case, server)
    provoke_lock_wait(case, server)
    server.psql("CREATE TABLE filler AS SELECT g FROM generate_series(1, 10000) g; CHECKPOINT")
    collected = Collected()
    collect_until(case, server, "stderr", collected, autovacuumed, "autovacuum and autoanalyze")
    messages = messages_read(collected.runs[-1], "stderr")
    check_maintenance_events(collected, messages)
    check_lock_wait(collected, messages)
    check_checkpoint(collected, messages)
    check(collected.event_counts.get("server_start") == 1, collected.event_counts)

    server.stop()
    stopped = collected.add(run_pglog(case, server, "stderr"))
    check(stopped["event_counts"].get("server_shutdown") == 1, stopped["event_counts"])
    server.settings.update(max_connections=2, superuser_reserved_connections=0)
    server.start()
    refused = exhaust_connections(case, server)
    restarted = collected.add(run_pglog(case, server, "stderr"))
    check(restarted["event_counts"].get("server_start") == 1
          and restarted["event_counts"].get("too_many_connections") == refused
          and restarted["sqlstate"].get("53300") == refused, (refused, restarted["event_counts"]))


def test_maintenance_events_in_each_format(case, destination):
    """autovacuum, autoanalyze, temporary files and a deadlock in csvlog and
    jsonlog (stderr: test_real_events_of_a_server)."""
    server = start_server(case, destination, **MAINTENANCE_SETTINGS)
    provoke_maintenance(server)
    provoke_deadlock(case, server)
    collected = Collected()
    collect_until(case, server, destination, collected, autovacuumed, "autovacuum and autoanalyze")
    check_maintenance_events(collected, messages_read(collected.runs[-1], destination))


test_maintenance_events_in_each_format.parameters = ["csvlog", "jsonlog"]


def log_files(server, destination):
    return sorted(glob.glob(os.path.join(server.data_dir, "log", "*" + EXTENSION[destination])))


def file_lines(server, destination):
    total = 0
    for path in log_files(server, destination):
        with open(path, "rb") as f:
            total += f.read().count(b"\n")
    return total


def csv_records(server):
    """The csvlog records in the server's files (a record spans several
    lines when a field holds a newline)."""
    total = 0
    for path in log_files(server, "csvlog"):
        with open(path, encoding="utf-8", newline="") as f:
            total += sum(1 for _ in csv.reader(f))
    return total


def read_until_quiet(case, server, destination):
    """Lines and entries read by runs of the collector (each one a restart)
    until a run reads none."""
    lines = entries = 0
    for _ in range(20):
        rec = run_pglog(case, server, destination)
        check(rec["entries_filtered"] == 0 and rec["records_malformed"] == 0, rec)
        lines += rec["lines"]
        entries += rec["entries"]
        if rec["lines"] == 0:
            return lines, entries
    raise TestFailure("the server never stopped logging")


def test_rotation_and_restarts_lose_and_repeat_nothing(case, destination):
    """pg_rotate_logfile() while the collector is stopped and between its
    runs.  `lines` counts the files' lines (PAYLOAD.md: lines read), also
    in csvlog where a record with a newline in a field spans several; the
    csv records are checked through `entries`."""
    server = start_server(case, destination, log_min_duration_statement=-1, log_statement="all",
                          log_checkpoints=False)
    lines, entries = read_until_quiet(case, server, destination)
    for i in range(50):
        server.psql("SELECT %d" % i)
        if i % 10 == 0:
            time.sleep(1.1)    # log_filename has one-second resolution
            server.psql("SELECT pg_rotate_logfile()")
        if i % 20 == 5:
            server.psql("SELECT 'multi\nline\nstatement %d'" % i)
            read = read_until_quiet(case, server, destination)
            lines, entries = lines + read[0], entries + read[1]
    read = read_until_quiet(case, server, destination)
    lines, entries = lines + read[0], entries + read[1]
    files = log_files(server, destination)
    check(len(files) >= 5, "pg_rotate_logfile() made only %d files" % len(files))
    check(lines == file_lines(server, destination),
          "read %d lines, the files hold %d" % (lines, file_lines(server, destination)))
    if destination == "csvlog":
        check(entries == csv_records(server),
              "read %d entries, the files hold %d csv records" % (entries, csv_records(server)))
        check(csv_records(server) < file_lines(server, destination), "no record spans lines")


test_rotation_and_restarts_lose_and_repeat_nothing.parameters = ["stderr", "csvlog"]


def test_copytruncate_of_a_real_servers_file(case):
    server = start_server(case, "stderr", log_min_duration_statement=-1, log_statement="all",
                          log_checkpoints=False, log_rotation_age=0)
    read_until_quiet(case, server, "stderr")
    current = log_files(server, "stderr")[-1]
    subprocess.run(["cp", current, current + ".1"], check=True)
    with open(current, "r+") as f:
        f.truncate(0)
    for i in range(20):
        server.psql("SELECT %d" % i)
    after, _ = read_until_quiet(case, server, "stderr")
    with open(current, "rb") as f:
        in_file = f.read().count(b"\n")
    check(after == in_file, "read %d lines after the truncation, the file holds %d" % (after, in_file))

#!/usr/bin/env python3
"""A one-command tour of the collector (`make demo`).

    python3 tools/demo.py [--build DIR] [--duration SECONDS]
                          [--push-interval SECONDS] [--keep]

Starts, in one temporary directory:
  - a throwaway PostgreSQL (tests/integration/pg.py's PostgresServer: its
    own cluster, Unix socket only, run as `postgres` when we are root) with
    logging_collector on and pg_stat_statements loaded;
  - the test backend, tests/receiver/receiver.py, on 127.0.0.1 with a test
    PKI made by tests/receiver/make-certs.sh (TLS 1.3, mutual TLS);
  - the built collector as a daemon (in the foreground), with every bundled
    plugin: pgstats and disk on that server, sysstat, and pglog on the
    server's log directory;
runs a little workload for --duration seconds (a few push intervals), stops
the collector with SIGTERM, and prints what the receiver got: payloads,
record types with counts, bytes gzip against JSON, the per-plugin
self-metrics of the `collector` records, and where the files are.

Everything is stopped and the directory removed at the end, also after a
failure or Ctrl-C (--keep keeps the directory, with the servers stopped).
Exit status: 0 when the receiver got every record type, 1 when anything
failed (the message says what), 130 after Ctrl-C or SIGTERM.

Python 3 standard library only.
"""

import argparse
import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INTEGRATION_DIR = os.path.join(SOURCE_DIR, "tests", "integration")
RECEIVER_DIR = os.path.join(SOURCE_DIR, "tests", "receiver")

# Keep the source tree clean: no __pycache__ next to the tests.
sys.dont_write_bytecode = True
sys.path.insert(0, INTEGRATION_DIR)

import backend  # noqa: E402  (tests/integration, needs the path above)
import harness  # noqa: E402
from pg import PostgresServer  # noqa: E402

BUNDLED_PLUGINS = ("pgstats", "sysstat", "disk", "pglog")
# What each bundled plugin emits, and the collector's own record.
EXPECTED_TYPES = (("pg_stats", "pgstats"), ("sysstat", "sysstat"),
                  ("disk_usage", "disk"), ("pg_log", "pglog"),
                  ("collector", "the collector itself"))
# The server's log_line_prefix; pglog must be told the same.
LOG_LINE_PREFIX = "%m [%p] %q%u@%d "
# How long the collector gets to deliver its last payload after SIGTERM:
# it waits at most 5 s for the backend, plugins at most their deadline + 2 s.
STOP_SECONDS = 30
KEEP_HINT = "demo: run it again with --keep to look at the logs afterwards\n"

class DemoError(Exception):
    """Something the demo needs failed; the message says what and why."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: stop, clean up, exit 130."""


def say(text=""):
    print(text, flush=True)


# ------------------------------------------------------------ the parts

class DemoReceiver:
    """tests/receiver/receiver.py on 127.0.0.1, keeping every payload."""

    def __init__(self, case, certs):
        self.state = case.path("receiver")
        os.makedirs(self.state)
        self.secret_file = backend.write_secret(case.path("backend.secret"),
                                                "demo-hmac-secret")
        self.registration_file = backend.write_secret(
            case.path("registration.secret"), "demo-registration-secret")
        self.stderr_path = case.path("receiver.stderr")
        args = [sys.executable, os.path.join(RECEIVER_DIR, "receiver.py"),
                "--keep-payloads",
                "--cert", os.path.join(certs, "server.pem"),
                "--key", os.path.join(certs, "server.key"),
                "--client-ca", os.path.join(certs, "ca.pem"),
                "--secret-file", self.secret_file,
                "--registration-secret-file", self.registration_file,
                "--state", self.state]
        with open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.PIPE, stderr=err)
        case.cleanups.append(self.stop)
        words = self.process.stdout.readline().decode().split()
        if len(words) != 3 or words[0] != "LISTENING":
            raise DemoError("the test receiver did not start:\n"
                            + read_tail(self.stderr_path))
        self.port = int(words[1])
        # The server certificate names IP:127.0.0.1: no resolver needed.
        self.url = "https://127.0.0.1:%d" % self.port

    def accepted(self):
        """accepted.jsonl: one summary per accepted batch."""
        return read_json_lines(os.path.join(self.state, "accepted.jsonl"))

    def payloads(self):
        """payloads.jsonl: every accepted envelope."""
        return read_json_lines(os.path.join(self.state, "payloads.jsonl"))

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_postgres(case):
    """A private server whose log the pglog plugin can follow."""
    return PostgresServer(case, logging_collector=True, log_directory="log",
                          log_line_prefix=LOG_LINE_PREFIX,
                          log_min_duration_statement=50, log_checkpoints=True,
                          shared_preload_libraries="pg_stat_statements",
                          lc_messages="C")


def plugin_sections(server, interval):
    """Every bundled plugin, each collecting once per push interval."""
    schedule = {"interval": interval, "timeout": interval}
    return {
        "pgstats": dict(schedule, conninfo=server.conninfo(),
                        sizes_interval_s=0),
        "sysstat": dict(schedule),
        "disk": dict(schedule, conninfo=server.conninfo()),
        "pglog": dict(schedule, log_path=os.path.join(server.data_dir, "log"),
                      format="stderr", log_line_prefix=LOG_LINE_PREFIX,
                      start_at="beginning"),
    }


def prepare_workload(server):
    server.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"
                "CREATE TABLE demo_orders (id serial PRIMARY KEY,"
                " customer int NOT NULL, amount numeric NOT NULL);"
                "CREATE INDEX ON demo_orders (customer);")


def run_workload(server, round_number):
    """Some inserts, reads, a slow statement and one error, so that every
    plugin has something to tell."""
    server.psql("INSERT INTO demo_orders (customer, amount) SELECT g % 100,"
                " g * 1.5 FROM generate_series(1, 2000) g;"
                "SELECT customer, sum(amount) FROM demo_orders GROUP BY 1"
                " ORDER BY 2 DESC LIMIT 5;"
                "SELECT pg_sleep(0.06);"
                "ANALYZE demo_orders;")
    try:
        server.psql("SELECT 1 / 0 AS demo_error_%d" % round_number)
    except harness.TestFailure:
        pass  # wanted: an ERROR with SQLSTATE 22012 in the server log


# ------------------------------------------------------------ running

def check_build(build_dir):
    binary = os.path.join(build_dir, "pganalytics-collector")
    missing = [p for p in [binary] + [os.path.join(build_dir, "plugins", n + ".so")
                                      for n in BUNDLED_PLUGINS]
               if not os.access(p, os.R_OK)]
    if missing:
        raise DemoError("not built: %s; run `make` (or `make BUILD=%s all`) first"
                        % (", ".join(missing), os.path.relpath(build_dir, SOURCE_DIR)))


def collect(case, server, daemon, args):
    """Keep the server busy until the time is up, watching the collector."""
    say("Collecting for %d s: a payload every %d s (Ctrl-C aborts)..."
        % (args.duration, args.push_interval))
    deadline = time.monotonic() + args.duration
    round_number = 0
    while time.monotonic() < deadline:
        if daemon.process.poll() is not None:
            raise DemoError("the collector exited with status %s:\n%s"
                            % (daemon.process.returncode,
                               harness.stderr_tail(daemon.stderr())))
        round_number += 1
        run_workload(server, round_number)
        time.sleep(max(0.0, min(args.push_interval, deadline - time.monotonic())))


def stop_collector(daemon):
    """SIGTERM: the collector delivers what it collected, then exits."""
    try:
        status = daemon.terminate(timeout=STOP_SECONDS)
    except harness.TestFailure as failure:
        raise DemoError(str(failure))
    if status != 0:
        raise DemoError("the collector exited with status %d after SIGTERM:\n%s"
                        % (status, harness.stderr_tail(daemon.stderr())))


def run_demo(args, case):
    build_dir = case.env.build_dir
    say("pgAnalytics collector demo, in %s" % case.tmp)
    server = start_postgres(case)
    prepare_workload(server)
    say("  PostgreSQL %d: %s (Unix socket %s)"
        % (server.version, server.data_dir, server.socket_dir))
    certs = backend.make_certs(case)
    receiver = DemoReceiver(case, certs)
    say("  test receiver: %s (TLS 1.3, mutual TLS; test PKI in %s)"
        % (receiver.url, certs))
    case.write_config(plugin_sections(server, args.push_interval),
                      plugin_dir=os.path.join(build_dir, "plugins"),
                      backend=backend.backend_section(receiver, certs),
                      push_interval=args.push_interval, id="",
                      hostname=socket.gethostname())
    daemon = case.start_daemon()
    say("  collector: %s, plugins %s"
        % (case.env.binary, ", ".join(BUNDLED_PLUGINS)))
    say()
    collect(case, server, daemon, args)
    stop_collector(daemon)
    say()
    payloads = receiver.payloads()
    summary = summarize(receiver.accepted(), payloads)
    print_summary(summary, payloads)
    print_files(case, server, receiver, daemon, args.keep)
    check_types(summary, daemon)


# ------------------------------------------------------------ the summary

def summarize(accepted, payloads):
    fresh = [a for a in accepted if not a.get("duplicate")]
    counts = collections.Counter()
    for payload in payloads:
        counts.update(m.get("type", "?") for m in payload.get("metrics", []))
    return {
        "batches": len(fresh),
        "duplicates": len(accepted) - len(fresh),
        "seqs": sorted(a["seq"] for a in fresh),
        "collector_ids": sorted({a["collector_id"] for a in fresh}),
        "gzip_bytes": sum(a["body_bytes"] for a in fresh),
        "json_bytes": sum(a["json_bytes"] for a in fresh),
        "types": counts,
    }


def last_collector_record(payloads):
    for payload in reversed(payloads):
        for record in payload.get("metrics", []):
            if record.get("type") == "collector":
                return record
    return None


def print_table(headers, rows, indent="  "):
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    for row in [headers] + rows:
        cells = [str(v).rjust(w) if i else str(v).ljust(w)
                 for i, (v, w) in enumerate(zip(row, widths))]
        say(indent + "  ".join(cells).rstrip())


def print_summary(summary, payloads):
    say("What the receiver got")
    seqs = summary["seqs"]
    say("  payloads: %d (seq %s), %d resent duplicate(s); collector_id %s"
        % (summary["batches"], "%d..%d" % (seqs[0], seqs[-1]) if seqs else "-",
           summary["duplicates"], ", ".join(summary["collector_ids"]) or "-"))
    say("  records by type:")
    print_table(["type", "count"],
                [[t, n] for t, n in sorted(summary["types"].items())], "    ")
    gzip_bytes, json_bytes = summary["gzip_bytes"], summary["json_bytes"]
    say("  bytes: %s gzip on the wire, %s as JSON: compression ratio %.1f : 1"
        % (format(gzip_bytes, ","), format(json_bytes, ","),
           json_bytes / gzip_bytes if gzip_bytes else 0.0))
    say()
    record = last_collector_record(payloads)
    if record is None:
        return
    say("Collector self-metrics (the `collector` record of the last payload)")
    say("  uptime %.1f s, CPU %.2f s user + %.2f s system, peak RSS %s KiB"
        % (record.get("uptime_s", 0), record.get("cpu_user_s", 0),
           record.get("cpu_system_s", 0), format(record.get("max_rss_kb", 0), ",")))
    say("  payloads delivered %s, delivery failures %s, records dropped at the "
        "queue %s, plugins rejected %s, missing %s"
        % (record.get("payloads_delivered"), record.get("delivery_failures"),
           record.get("records_dropped_queue"), record.get("plugins_rejected"),
           record.get("plugins_missing")))
    delivery = record.get("delivery") or {}
    if delivery:
        say("  delivery: pushed %s, push failures %s, rejected %s, spool %s "
            "batch(es); client certificate expires in %s day(s)"
            % (delivery.get("pushed"), delivery.get("push_failures"),
               delivery.get("rejected"), delivery.get("spool_batches"),
               delivery.get("client_cert_days_left")))
    rows = [[p.get("name"), p.get("state"), p.get("runs"), p.get("failures"),
             p.get("overruns"), p.get("records_emitted"), p.get("records_dropped"),
             p.get("records_invalid"), "%.1f" % p.get("last_duration_ms", 0.0),
             "%.1f" % p.get("last_cpu_ms", 0.0)]
            for p in record.get("plugins", [])]
    say("  plugins:")
    print_table(["plugin", "state", "runs", "failures", "overruns", "emitted",
                 "dropped", "invalid", "last ms", "cpu ms"], rows, "    ")
    say()


def print_files(case, server, receiver, daemon, keep):
    say("Files")
    for label, path in (
            ("collector configuration", case.config_path),
            ("collector log", daemon.stderr_path),
            ("collector state (spool, credentials)", case.state_dir),
            ("receiver: batch summaries", os.path.join(receiver.state, "accepted.jsonl")),
            ("receiver: payloads as received", os.path.join(receiver.state, "payloads.jsonl")),
            ("PostgreSQL log", os.path.join(server.data_dir, "log"))):
        say("  %-38s %s" % (label, path))
    say("  %-38s %s" % ("work directory", case.tmp
                        + ("" if keep else " (removed at exit; --keep keeps it)")))


def check_types(summary, daemon):
    missing = ["%s (from %s)" % (t, source) for t, source in EXPECTED_TYPES
               if not summary["types"].get(t)]
    if missing:
        raise DemoError("the receiver got no %s records; the collector's log "
                        "says why:\n%s" % (", ".join(missing),
                                           harness.stderr_tail(daemon.stderr())))


# ------------------------------------------------------------ plumbing

def read_json_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def read_tail(path, lines=20):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return harness.stderr_tail(f.read(), lines) or "(nothing)"
    except OSError:
        return "(nothing)"


def interrupt(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def clean_up(case, keep):
    """Stop the collector, the receiver and PostgreSQL; remove the work
    directory unless asked to keep it.  Returns the problems met."""
    problems = []
    try:
        case.finish()
    except Exception as error:  # still remove what can be removed
        problems.append("stopping the demo's processes: %s" % error)
    if not keep:
        shutil.rmtree(case.tmp, ignore_errors=True)
        if os.path.exists(case.tmp):
            problems.append("could not remove %s" % case.tmp)
    return problems


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Run PostgreSQL, the test backend and the collector for a "
                    "few push intervals and show what the backend received.")
    parser.add_argument("--build", default="build",
                        help="build directory holding pganalytics-collector and "
                             "plugins/ (default: build)")
    parser.add_argument("--duration", type=positive_int, default=25,
                        help="seconds of collection (default: 25)")
    parser.add_argument("--push-interval", type=positive_int, default=5,
                        help="seconds between payloads and between collects "
                             "(default: 5)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (the servers are stopped)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    env = harness.Environment(args.build)
    case = None
    status = 0
    try:
        check_build(env.build_dir)
        case = harness.Case(env, tempfile.mkdtemp(prefix="pga-demo-"))
        run_demo(args, case)
    except Interrupted as why:
        say("\ndemo: interrupted (%s); stopping everything" % why)
        status = 130
    except (DemoError, harness.TestFailure) as error:
        sys.stderr.write("demo: FAILED: %s\n%s" % (error, KEEP_HINT if not args.keep else ""))
        status = 1
    except Exception:  # a bug here still ends in a clean machine
        sys.stderr.write("demo: FAILED with an unexpected error:\n%s%s"
                         % (traceback.format_exc(), KEEP_HINT if not args.keep else ""))
        status = 1
    finally:
        # A second Ctrl-C must not cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for problem in clean_up(case, args.keep) if case else []:
            sys.stderr.write("demo: %s\n" % problem)
            status = status or 1
    return status


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""pgstats at 1,000, 10,000 and 50,000 tables (issue 4, item 8).

    python3 bench/pgstats_bench.py --build build [--tables 1000,10000,50000]
                                   [--cycles 12]

For each size: a throwaway PostgreSQL (Debian's 15, as in the tests) gets a
database with that many tables, each with a primary key.  Then, in the same
run:

- the collector runs as a daemon with only pgstats (that one database,
  pg_stat_statements off), one payload per cycle, written gzip-compressed
  to a file as it would be for the backend.  Per cycle: the process's CPU
  (user + system, from the `collector` record's getrusage fields, the
  difference between consecutive payloads that hold exactly one pgstats
  cycle) and the pgstats thread's own CPU (`last_cpu_ms`).  Peak RSS of the
  whole process is `max_rss_kb` at the end.
- `psql -At -c "SELECT * FROM pg_stat_user_tables"` fetches the same rows,
  as many times; its CPU and peak RSS come from wait4().

Medians are printed; nothing is asserted (the machines are shared and
noisy; docs/PERFORMANCE.md quotes the numbers).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib

sys.dont_write_bytecode = True

from bench_case import HERE, BenchCase  # noqa: E402
from pg import PostgresServer, find_psql  # noqa: E402


def create_tables(server, dbname, count):
    server.psql("CREATE DATABASE %s" % dbname)
    batch = 1000
    for first in range(1, count + 1, batch):
        last = min(first + batch - 1, count)
        server.psql("DO $$ BEGIN FOR i IN %d..%d LOOP EXECUTE format("
                    "'CREATE TABLE t%%s (id int PRIMARY KEY, v text)', i); END LOOP; END $$;"
                    % (first, last), dbname=dbname)
    server.psql("ANALYZE", dbname=dbname)


def read_gzip_members(path):
    """Payloads of a file://...gz output; a member still being written is skipped."""
    import json
    with open(path, "rb") as f:
        data = f.read()
    payloads = []
    while data:
        inflater = zlib.decompressobj(31)
        try:
            text = inflater.decompress(data)
        except zlib.error:
            break
        if not inflater.eof:
            break
        payloads += [json.loads(line) for line in text.decode().splitlines() if line.strip()]
        data = inflater.unused_data
    return payloads


def collector_record(payload):
    return [r for r in payload["metrics"] if r["type"] == "collector"][0]


def pgstats_entry(record):
    return [p for p in record["plugins"] if p["name"] == "pgstats"][0]


def write_config(tmp, build, server, dbname, interval):
    path = os.path.join(tmp, "collector.conf")
    with open(path, "w") as f:
        f.write("""collector {
  id = "bench"
  hostname = "bench"
  push_interval = %d
  state_dir = "%s"
  plugin_dir = "%s"
  include_dir = "%s"
  log_level = "warning"
}
backend { url = "-" }
plugin pgstats {
  interval = %d
  timeout = %d
  conninfo = "%s"
  databases = {"%s"}
  statements = false
}
""" % (interval, os.path.join(tmp, "state"), os.path.join(build, "plugins"),
       os.path.join(tmp, "collector.d"), interval, interval, server.conninfo(dbname),
       dbname))
    os.makedirs(os.path.join(tmp, "collector.d"), exist_ok=True)
    return path


def run_collector(tmp, build, server, dbname, cycles, interval):
    config = write_config(tmp, build, server, dbname, interval)
    out = os.path.join(tmp, "out.jsonl.gz")
    argv = [os.path.join(build, "pganalytics-collector"), "-c", config, "--foreground",
            "--output", "file://" + out]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + cycles * interval * 4 + 60
    payloads = []
    while time.monotonic() < deadline:
        time.sleep(interval)
        if os.path.exists(out):
            payloads = read_gzip_members(out)
        runs = pgstats_entry(collector_record(payloads[-1]))["runs"] if payloads else 0
        if runs >= cycles + 1 or proc.poll() is not None:
            break
    proc.terminate()
    stderr = proc.communicate(timeout=30)[1]
    if not payloads:
        sys.exit("the collector wrote no payload:\n" + stderr)
    return per_cycle(payloads), collector_record(payloads[-1])["max_rss_kb"], payloads


def per_cycle(payloads):
    """(process CPU ms, pgstats thread CPU ms) of each payload holding one cycle."""
    samples = []
    previous = None
    for payload in payloads:
        record = collector_record(payload)
        entry = pgstats_entry(record)
        cpu = record["cpu_user_s"] + record["cpu_system_s"]
        # The first cycle (connect, first settings) is not a steady-state one.
        if previous and entry["runs"] - previous[1] == 1 and previous[1] >= 1:
            samples.append(((cpu - previous[0]) * 1000.0, entry["last_cpu_ms"]))
        previous = (cpu, entry["runs"])
    return samples


def build_peak_rss(work):
    """bench/peak_rss.c: psql's peak RSS measured from Python would count
    Python's own size, which ru_maxrss keeps across exec."""
    path = os.path.join(work, "peak_rss")
    subprocess.run([os.environ.get("CC", "cc"), "-O2", "-D_GNU_SOURCE",
                    os.path.join(HERE, "peak_rss.c"), "-o", path], check=True)
    return path


def run_psql(server, dbname, times, peak_rss):
    """psql -At's CPU (ms) and peak RSS (KiB) per run, from wait4 in peak_rss."""
    argv = [peak_rss, find_psql(server.bindir), "-X", "-At", "-d", server.conninfo(dbname),
            "-c", "SELECT * FROM pg_stat_user_tables"]
    cpu, rss = [], []
    for _ in range(times):
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, cwd=server.base_dir)
        maxrss_kb, user_s, system_s, status = done.stderr.strip().splitlines()[-1].split()
        if status != "0":
            sys.exit("psql failed:\n" + done.stderr)
        cpu.append((float(user_s) + float(system_s)) * 1000.0)
        rss.append(int(maxrss_kb))
    return cpu, rss


def payload_bytes(payloads):
    """The largest payload, as compact JSON."""
    import json
    return max(len(json.dumps(p, separators=(",", ":"))) for p in payloads)


def bench_size(server, build, count, cycles, peak_rss):
    dbname = "bench_%d" % count
    started = time.monotonic()
    create_tables(server, dbname, count)
    setup_s = time.monotonic() - started
    interval = 1 if count <= 10000 else 4
    tmp = tempfile.mkdtemp(prefix="pga-bench-run-")
    try:
        samples, rss_kb, payloads = run_collector(tmp, build, server, dbname, cycles, interval)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    psql_cpu, psql_rss = run_psql(server, dbname, max(cycles, 10), peak_rss)
    if not samples:
        sys.exit("no steady-state cycle was measured for %d tables" % count)
    process_ms = statistics.median(s[0] for s in samples)
    thread_ms = statistics.median(s[1] for s in samples)
    psql_ms = statistics.median(psql_cpu)
    print("%6d tables: collector %.1f ms CPU/cycle (pgstats thread %.1f ms), psql %.1f ms "
          "-> ratio %.2f; collector peak RSS %.1f MB, psql %.1f MB; payload %.1f MB JSON; "
          "%d cycles, setup %.0f s"
          % (count, process_ms, thread_ms, psql_ms, process_ms / psql_ms, rss_kb / 1024.0,
             statistics.median(psql_rss) / 1024.0, payload_bytes(payloads) / 1e6,
             len(samples), setup_s))
    sys.stdout.flush()
    server.psql("DROP DATABASE %s" % dbname)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--tables", default="1000,10000,50000")
    parser.add_argument("--cycles", type=int, default=12)
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    case = BenchCase(tempfile.mkdtemp(prefix="pga-bench-"))
    try:
        peak_rss = build_peak_rss(case.tmp)
        server = PostgresServer(case, fsync=False, synchronous_commit=False,
                                full_page_writes=False, max_locks_per_transaction=4096,
                                autovacuum=False)
        print("pgstats benchmark: PostgreSQL %d, %s" % (server.version, server.bindir))
        for count in (int(n) for n in args.tables.split(",")):
            bench_size(server, build, count, args.cycles, peak_rss)
    finally:
        case.finish()
        shutil.rmtree(case.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

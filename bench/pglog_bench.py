#!/usr/bin/env python3
"""pglog parse throughput and peak memory (issue 6's benchmark).

Generates a stderr log with log_line_prefix '%m [%p] %q%u@%d %e ' and a
realistic mix of messages (statement durations with multi-line statements,
errors with their STATEMENT lines, connections, checkpoints, autovacuum,
lines of background processes), in a temporary directory that is removed
afterwards.  At each size it runs `wc -l` on the file, then the real plugin
.so through build/bench/plugin_bench: the first cycle parses the whole file
(start_at = beginning), the following cycles find nothing new (the steady
cost of one cycle).  Both are timed in CPU seconds; peak RSS comes from
bench/peak_rss (wait4).  Budget (issue 6): >= 300 MB/s, or >= 0.3 x wc -l;
peak RSS independent of the file's size.  Nothing is asserted.

Usage: pglog_bench.py [--build build] [--sizes-mb 128,1024] [--cycles 1001]
"""

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = "%m [%p] %q%u@%d %e "


def sample_lines(rng, count):
    users = ["app", "report", "etl", "admin"]
    dbs = ["shop", "analytics", "postgres"]
    out = []
    for i in range(count):
        ts = "2024-01-31 12:%02d:%02d.%03d UTC" % (i // 3600 % 60, i // 60 % 60, i % 1000)
        pid = rng.randint(1000, 60000)
        who = "%s@%s" % (rng.choice(users), rng.choice(dbs))
        r = rng.random()
        if r < 0.55:
            out.append("%s [%d] %s 00000 LOG:  duration: %.3f ms  statement: SELECT o.id, o.total, "
                       "c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = %d "
                       "AND c.region = 'eu-%d'\n" % (ts, pid, who, rng.random() * 50, rng.randint(1, 10**6),
                                                     rng.randint(1, 9)))
        elif r < 0.65:
            out.append("%s [%d] %s 00000 LOG:  duration: %.3f ms  execute <unnamed>: UPDATE stock SET qty = qty - $1\n"
                       "\tWHERE item_id = $2 AND warehouse = $3\n" % (ts, pid, who, rng.random() * 20))
        elif r < 0.75:
            out.append("%s [%d] %s 42P01 ERROR:  relation \"missing_%d\" does not exist at character 15\n"
                       "%s [%d] %s 42P01 STATEMENT:  SELECT * FROM missing_%d WHERE k = 'v'\n"
                       % (ts, pid, who, i % 7, ts, pid, who, i % 7))
        elif r < 0.85:
            out.append("%s [%d] [unknown]@[unknown] 00000 LOG:  connection received: host=[local]\n"
                       "%s [%d] %s 00000 LOG:  connection authorized: user=app database=shop application_name=psql\n"
                       % (ts, pid, ts, pid, who))
        elif r < 0.9:
            out.append("%s [%d] %s 23505 ERROR:  duplicate key value violates unique constraint \"pk_orders\"\n"
                       "%s [%d] %s 23505 DETAIL:  Key (id)=(%d) already exists.\n"
                       % (ts, pid, who, ts, pid, who, rng.randint(1, 10**6)))
        elif r < 0.95:
            out.append("%s [%d] LOG:  automatic vacuum of table \"shop.public.orders\": index scans: 1\n"
                       "\tpages: 0 removed, 1234 remain, 12 scanned (0.97%% of total)\n"
                       "\ttuples: %d removed, 100000 remain, 0 are dead but not yet removable\n"
                       "\tsystem usage: CPU: user: 0.01 s, system: 0.00 s, elapsed: 0.05 s\n"
                       % (ts, pid, rng.randint(0, 500)))
        else:
            out.append("%s [%d] LOG:  checkpoint complete: wrote %d buffers (0.1%%); 0 WAL file(s) added, "
                       "0 removed, 1 recycled; write=1.234 s, sync=0.012 s, total=1.300 s; sync files=12, "
                       "longest=0.004 s, average=0.001 s; distance=16384 kB, estimate=16384 kB\n"
                       % (ts, pid, rng.randint(10, 5000)))
    return "".join(out).encode()


def generate(path, size_mb):
    block = sample_lines(random.Random(42), 20000)
    target = size_mb << 20
    with open(path, "wb") as f:
        written = 0
        while written < target:
            f.write(block)
            written += len(block)
    return os.path.getsize(path)


def build_peak_rss(work):
    path = os.path.join(work, "peak_rss")
    subprocess.run([os.environ.get("CC", "cc"), "-O2", os.path.join(HERE, "peak_rss.c"), "-o", path],
                   check=True)
    return path


def measured(peak_rss, argv):
    """(stdout, cpu seconds, wall seconds, peak RSS KiB) of argv."""
    started = time.monotonic()
    done = subprocess.run([peak_rss] + argv, capture_output=True, text=True, check=True)
    wall = time.monotonic() - started
    maxrss_kb, user_s, system_s, status = done.stderr.strip().splitlines()[-1].split()
    if status != "0":
        raise SystemExit("%s failed: %s" % (argv[0], done.stderr))
    return done.stdout, float(user_s) + float(system_s), wall, int(maxrss_kb)


def bench_size(build, peak_rss, work, size_mb, cycles):
    log = os.path.join(work, "postgresql.log")
    size = generate(log, size_mb)
    subprocess.run(["cat", log], stdout=subprocess.DEVNULL, check=True)   # warm the page cache
    _, wc_cpu, wc_wall, _ = measured(peak_rss, ["wc", "-l", log])
    state = os.path.join(work, "state")
    os.makedirs(state, exist_ok=True)
    out, cpu, wall, rss = measured(peak_rss, [
        os.path.join(build, "bench", "plugin_bench"), os.path.join(build, "plugins", "pglog.so"),
        str(cycles), 'log_path = "%s"' % log, 'log_line_prefix = "%s"' % PREFIX,
        'start_at = "beginning"', "interval = 3600", 'state_dir = "%s"' % state,
        "max_bytes_per_cycle = %d" % (size * 2)])
    first = float(re.search(r"first cycle ([0-9.]+) us", out).group(1)) / 1e6
    steady = re.search(r"median ([0-9.]+) us", out).group(1)
    mb = size / 1e6
    print("pglog_bench: %.0f MB (%d bytes): parse %.2f s CPU = %.0f MB/s; wc -l %.2f s CPU "
          "(%.2f s wall) = %.0f MB/s; ratio %.2f x wc -l; steady cycle median %s us; "
          "peak RSS %d KiB" % (mb, size, first, mb / first, wc_cpu, wc_wall,
                               mb / max(wc_cpu, 1e-9), (wc_cpu / first) if first else 0.0,
                               steady, rss))
    sys.stdout.flush()
    os.remove(log)
    shutil.rmtree(state)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--sizes-mb", default="128,1024")
    parser.add_argument("--cycles", type=int, default=1001)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="pglog-bench-")
    try:
        peak_rss = build_peak_rss(work)
        for size_mb in [int(s) for s in args.sizes_mb.split(",")]:
            bench_size(args.build, peak_rss, work, size_mb, args.cycles)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

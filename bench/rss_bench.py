#!/usr/bin/env python3
"""rss_bench - what the collector costs to carry many tables' statistics:
peak resident memory (the whole process, as the 16 MB budget counts it)
and CPU, for one `--once` cycle of bench/bulk_tables.c writing to a file.

Each workload runs the real binary: the plugin emits N tables (one record
per table with 40 members, or one columnar record of N rows of 35
integers), the payload goes to a file:// output (plain, or .gz: compressed
as it is written, like the backend path).  The peak RSS and CPU come from
wait4() on the collector, run by bench/peak_rss.c (a child forked from
Python would count Python's own size, which ru_maxrss keeps across exec).
Three runs per workload; the median is shown.

Usage: python3 bench/rss_bench.py [BUILD_DIR]     (default: build)
"""

import os
import shutil
import subprocess
import sys
import tempfile

RUNS = 3
WORKLOADS = [
    # (label, tables, columnar, gzip)
    ("no tables", 0, False, False),
    ("10,000 tables, a record each", 10000, False, False),
    ("10,000 tables, a record each, .gz", 10000, False, True),
    ("50,000 tables, a record each", 50000, False, False),
    ("10,000 tables, columnar", 10000, True, False),
    ("10,000 tables, columnar, .gz", 10000, True, True),
    ("50,000 tables, columnar", 50000, True, False),
]


def build_tools(source_dir, work):
    """Compile bench/bulk_tables.c (against the tree's SDK header) and
    bench/peak_rss.c into `work`.  Returns the path of peak_rss."""
    cc = os.environ.get("CC", "cc")
    bench = os.path.join(source_dir, "bench")
    subprocess.run([cc, "-std=c11", "-O2", "-fPIC", "-shared",
                    "-I", os.path.join(source_dir, "sdk", "include"),
                    os.path.join(bench, "bulk_tables.c"),
                    "-o", os.path.join(work, "plugins", "bulk_tables.so")],
                   check=True)
    peak_rss = os.path.join(work, "peak_rss")
    subprocess.run([cc, "-O2", "-D_GNU_SOURCE", os.path.join(bench, "peak_rss.c"),
                    "-o", peak_rss], check=True)
    return peak_rss


def write_config(work, tables, columnar):
    path = os.path.join(work, "collector.conf")
    with open(path, "w") as f:
        f.write("collector {\n"
                '  hostname = "bench-host"\n'
                '  state_dir = "%s/state"\n'
                '  plugin_dir = "%s/plugins"\n'
                '  include_dir = "%s/none"\n'
                '  log_level = "warning"\n'
                "}\n"
                'backend { url = "-" }\n'
                "plugin bulk_tables {\n"
                "  interval = 60\n  timeout = 60\n"
                "  tables = %d\n  columnar = %s\n"
                "}\n" % (work, work, work, tables, "true" if columnar else "false"))
    return path


def run_once(peak_rss, binary, config, output):
    """(peak RSS in KiB, CPU seconds, output bytes) of one --once run."""
    if os.path.exists(output):
        os.unlink(output)
    result = subprocess.run([peak_rss, binary, "-c", config, "--once",
                             "--output", "file://" + output],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            check=True)
    lines = result.stderr.decode(errors="replace").strip().splitlines()
    maxrss, user, system, status = lines[-1].split()
    if status != "0":
        sys.exit("collector exited with %s:\n%s" % (status, "\n".join(lines)))
    return int(maxrss), float(user) + float(system), os.path.getsize(output)


def median(values):
    return sorted(values)[len(values) // 2]


def main():
    source_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    binary = os.path.join(source_dir, build, "pganalytics-collector")
    work = tempfile.mkdtemp(prefix="pga-rss-bench.")
    try:
        os.makedirs(os.path.join(work, "plugins"))
        os.makedirs(os.path.join(work, "none"))
        peak_rss = build_tools(source_dir, work)
        print("collector peak RSS and CPU for one --once cycle "
              "(median of %d runs)" % RUNS)
        print("  %-38s %10s %9s %12s" % ("workload", "peak RSS", "CPU", "output"))
        for label, tables, columnar, gzip in WORKLOADS:
            config = write_config(work, tables, columnar)
            output = os.path.join(work, "out.json" + (".gz" if gzip else ""))
            runs = [run_once(peak_rss, binary, config, output)
                    for _ in range(RUNS)]
            rss = median([r[0] for r in runs])
            cpu = median([r[1] for r in runs])
            size = runs[-1][2]
            print("  %-38s %6.1f MiB %6.2f s %9.2f MB"
                  % (label, rss / 1024.0, cpu, size / 1e6))
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()

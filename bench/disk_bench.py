#!/usr/bin/env python3
"""The disk plugin's CPU per collect (issue 5).

    python3 bench/disk_bench.py --build build [--cycles 2001]

Starts a throwaway PostgreSQL (Debian's 15, as in the tests) with the
logging collector on and one tablespace, then runs the shared
bench/plugin_bench (the real disk.so through the core's loader, config
and emitter; CPU of collect alone, median of many cycles) once per
scenario: configured paths, paths read from the server, each with and
without all_mounts, directory-size walks off (walk_max_entries = 0); and
last with the pg_wal and log walks, to show what they add.

Nothing is asserted (the machines are shared and noisy);
docs/PERFORMANCE.md quotes the numbers.
"""

import argparse
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True

from bench_case import BenchCase  # noqa: E402
from pg import PostgresServer  # noqa: E402


def scenarios(server):
    configured = ['data_directory = "%s"' % server.data_dir, 'log_directory = "log"',
                  'extra_paths = {"/tmp", "/"}']
    from_server = ['conninfo = "%s"' % server.conninfo()]
    no_walks = ["walk_max_entries = 0"]
    return [
        ("configured paths: data, pg_wal, log, 2 extra", configured + no_walks),
        ("the same + all_mounts", configured + no_walks + ["all_mounts = true"]),
        ("paths from the server: data, pg_wal, tablespace, log", from_server + no_walks),
        ("the same + all_mounts", from_server + no_walks + ["all_mounts = true"]),
        ("the same with the pg_wal and log walks", from_server + ["all_mounts = true"]),
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--cycles", type=int, default=2001)
    args = parser.parse_args()
    bench = os.path.join(args.build, "bench", "plugin_bench")
    plugin = os.path.join(args.build, "plugins", "disk.so")
    failed = 0
    with tempfile.TemporaryDirectory(prefix="pga-disk-bench-") as tmp:
        case = BenchCase(tmp)
        try:
            server = PostgresServer(case, logging_collector=True)
            tablespace = os.path.join(server.base_dir, "tblspc")
            server._owned_dir(tablespace)
            server.psql("CREATE TABLESPACE bench LOCATION '%s'" % tablespace)
            for title, options in scenarios(server):
                print("disk: %s" % title, flush=True)
                done = subprocess.run([bench, plugin, str(args.cycles)] + options)
                failed |= done.returncode != 0
        finally:
            case.finish()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

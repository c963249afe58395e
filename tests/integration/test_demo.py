"""`make demo` (tools/demo.py): it must keep running against the real
collector, PostgreSQL and receiver, show every record type, and leave
nothing behind, also when interrupted."""

import os
import re
import signal
import subprocess
import sys
import time

from harness import TestFailure, check, wait_until

# A guard against a hung demo; never asserted on.
DEMO_TIMEOUT_SECONDS = 300
RECORD_TYPES = ("pg_stats", "sysstat", "disk_usage", "pg_log", "collector")
PLUGINS = ("pgstats", "sysstat", "disk", "pglog")


def demo_command(case, *args):
    return [sys.executable, os.path.join(case.env.source_dir, "tools", "demo.py"),
            "--build", case.env.build_dir] + list(args)


def run_demo(case, *args):
    try:
        done = subprocess.run(demo_command(case, *args), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True,
                              timeout=DEMO_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as expired:
        raise TestFailure("the demo did not finish within %d s:\n%s"
                          % (DEMO_TIMEOUT_SECONDS, expired.stdout))
    return done


def work_dir_of(output):
    match = re.search(r"pgAnalytics collector demo, in (\S+)", output)
    check(match, "the demo did not say where it works:\n%s" % output)
    return match.group(1)


def section(output, title):
    """The lines of the summary from `title` to the next blank line."""
    lines = output.splitlines()
    check(title in lines, "no %r section in the summary:\n%s" % (title, output))
    start = lines.index(title) + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


def type_counts(output):
    """{type: count} from the summary's "records by type" table."""
    counts = {}
    for line in section(output, "What the receiver got"):
        words = line.split()
        if len(words) == 2 and words[1].isdigit():
            counts[words[0]] = int(words[1])
    return counts


def processes_mentioning(text):
    """pids of the processes whose command line contains `text`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmdline and int(pid) != os.getpid():
            found.append(int(pid))
    return found


def check_nothing_left(work_dir):
    check(not os.path.exists(work_dir), "the demo left %s behind" % work_dir)
    try:
        wait_until(lambda: not processes_mentioning(work_dir),
                   "the demo's processes to end", timeout=10)
    except TestFailure:
        raise TestFailure("processes still running from %s: %r"
                          % (work_dir, processes_mentioning(work_dir)))


def test_summary_shows_every_record_type_and_plugin(case):
    done = run_demo(case, "--duration", "9", "--push-interval", "3")
    output = done.stdout
    check(done.returncode == 0, "demo exit status %d\nstdout:\n%s\nstderr:\n%s"
          % (done.returncode, output, done.stderr))
    counts = type_counts(output)
    for record_type in RECORD_TYPES:
        check(counts.get(record_type, 0) > 0, "the summary shows no %s records: %r\n%s"
              % (record_type, counts, output))
    check(re.search(r"compression ratio \d+\.\d : 1", output),
          "no compression ratio in the summary:\n%s" % output)
    payloads = re.search(r"payloads: (\d+) \(seq 1\.\.(\d+)\)", output)
    check(payloads and int(payloads.group(1)) >= 2,
          "expected at least 2 payloads from seq 1:\n%s" % output)
    plugin_rows = section(output, "Collector self-metrics (the `collector` "
                                  "record of the last payload)")
    for plugin in PLUGINS:
        check(any(row.split()[:1] == [plugin] for row in plugin_rows),
              "no self-metrics row for %s:\n%s" % (plugin, "\n".join(plugin_rows)))
    check_nothing_left(work_dir_of(output))


def test_interrupt_stops_everything_and_removes_the_work_directory(case):
    out_path = case.path("demo.stdout")
    with open(out_path, "w") as out:
        demo = subprocess.Popen(demo_command(case, "--duration", "300"),
                                stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)
    case.cleanups.append(lambda: demo.poll() is None and demo.kill())

    def output():
        with open(out_path) as f:
            return f.read()

    def collecting():
        check(demo.poll() is None, "the demo ended early:\n%s" % output())
        return "Collecting for" in output()
    wait_until(collecting, "the demo to start collecting", timeout=120)
    work_dir = work_dir_of(output())
    check(processes_mentioning(work_dir), "no process runs from %s" % work_dir)
    time.sleep(1)  # let the collector's first collects start
    demo.send_signal(signal.SIGINT)
    try:
        status = demo.wait(120)
    except subprocess.TimeoutExpired:
        raise TestFailure("the demo did not stop after SIGINT:\n%s" % output())
    check(status == 130, "exit status %d after SIGINT, expected 130:\n%s"
          % (status, output()))
    check("interrupted" in output(), "no word about the interruption:\n%s" % output())
    check_nothing_left(work_dir)


def test_without_a_build_it_fails_and_says_what_to_run(case):
    missing = case.path("no-build")
    done = subprocess.run([sys.executable, os.path.join(case.env.source_dir, "tools",
                                                        "demo.py"), "--build", missing],
                          capture_output=True, text=True, timeout=60)
    check(done.returncode == 1, "exit status %d, expected 1" % done.returncode)
    check("not built" in done.stderr and "make" in done.stderr,
          "the message should say what is missing and to run make: %r" % done.stderr)

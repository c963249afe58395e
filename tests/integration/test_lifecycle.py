"""Plugin lifecycle edges: stopping never blocks the push, interrupted
--once runs, init retries, one collector per state_dir."""

import json
import re
import signal

from harness import (LOG_LINE_RE, check, check_envelope, plugin_health,
                     read_payload_file, records, wait_until)


def output_url(case):
    path = case.path("payloads.jsonl")
    return "file://" + path, path


def log_time(stderr, needle):
    """The timestamp of the first log line containing `needle`."""
    for line in stderr.splitlines():
        if needle in line and LOG_LINE_RE.match(line):
            return line.split(" ", 1)[0]
    return None


def test_reload_does_not_hold_up_the_push(case):
    # sleepy is reconfigured while inside a 3 s collect: its old instance
    # retires in the background while payloads keep coming.
    url, path = output_url(case)
    plugins = {"sleepy": {"sleep_ms": 3000, "interval": 5, "timeout": 5},
               "second": {"interval": 1}}
    case.write_config(plugins, push_interval=1)
    daemon = case.start_daemon("--output", url)
    daemon.wait_for_log("plugin sleepy: cycle 1: sleeping")
    plugins["sleepy"]["sleep_ms"] = 2900
    case.write_config(plugins, push_interval=1)
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log('plugin "sleepy": stopped')
    daemon.wait_for_log('plugin "sleepy": started', timeout=20)
    check(daemon.terminate() == 0, "exit status after SIGTERM")

    stderr = daemon.stderr()
    stopping = log_time(stderr, 'plugin "sleepy": stopping')
    stopped = log_time(stderr, 'plugin "sleepy": stopped')
    check(stopping and stopped, "stopping/stopped lines missing:\n" + stderr)
    during = [p for p in read_payload_file(path)
              if stopping < p["timestamp"] < stopped]
    check(len(during) >= 1,
          "no payload was delivered while sleepy's old instance was "
          "finishing its collect (%s .. %s)" % (stopping, stopped))


def test_once_reports_init_failure_and_overrun_states(case):
    # sleepy on a thread: still inside its collect when the payload goes.
    result, payload = case.once({"init_fail": {},
                                 "sleepy": {"sleep_ms": 4000, "interval": 2,
                                            "timeout": 1,
                                            "isolation": "thread"},
                                 "second": {}})
    check(plugin_health(payload, "init_fail")["state"] == "init_failed",
          "init_fail state: %r" % plugin_health(payload, "init_fail"))
    sleepy = plugin_health(payload, "sleepy")
    check(sleepy["state"] == "overrunning",
          "sleepy (4 s collect, 1 s timeout) state: %r" % sleepy)
    check(plugin_health(payload, "second")["state"] == "stopped",
          "second state: %r" % plugin_health(payload, "second"))
    check(not records(payload, "test_sleepy"), "an overrun record was delivered")
    check(len(records(payload, "test_second")) == 1, "second's record missing")


def test_sigint_interrupts_once_and_still_delivers(case):
    # sleepy would take 60 s; SIGINT makes the collector deliver at once.
    case.write_config({"sleepy": {"sleep_ms": 60000, "interval": 120,
                                  "timeout": 90},
                       "second": {}})
    daemon = case.start_daemon("--once", "--output", "-")
    daemon.wait_for_log("plugin second: cycle 1")
    daemon.signal(signal.SIGINT)
    check(daemon.wait_exit() == 0, "exit status after SIGINT")
    check("interrupted; delivering what was collected so far" in daemon.stderr(),
          "no interruption message:\n" + daemon.stderr())
    with open(daemon.stdout_path, encoding="utf-8") as out:
        payload = json.loads(out.read())
    check_envelope(payload)
    check(len(records(payload, "test_second")) == 1,
          "second's record was not delivered")


def test_second_collector_on_the_same_state_dir_is_refused(case):
    url, path = output_url(case)
    case.write_config({"second": {"interval": 1}}, push_interval=1)
    first = case.start_daemon("--output", url)
    first.wait_for_log("started: 1 plugin(s)")
    other = case.run("--output", url)
    other.check_status(3)
    check(re.search(r"is in use by another collector \(pid %d\)" % first.pid,
                    other.stderr),
          "expected a clear refusal naming pid %d:\n%s" % (first.pid, other.stderr))
    # Printing a payload alongside is allowed, without using up a seq.
    peek = case.run("--once", "--output", "-")
    peek.check_status(0)
    check(first.terminate() == 0, "exit status after SIGTERM")
    seqs = [p["seq"] for p in read_payload_file(path)]
    check(seqs == list(range(1, len(seqs) + 1)),
          "the daemon's seqs have a gap or repeat: %r" % seqs)


def test_failed_init_is_retried(case):
    # init_fail always refuses: it is retried with backoff, not given up.
    case.write_config({"init_fail": {"interval": 1}}, push_interval=1)
    daemon = case.start_daemon("--output", output_url(case)[0])
    daemon.wait_for_log('plugin "init_fail"')
    daemon.wait_for_log("plugin init_fail: init failed again")
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    stderr = daemon.stderr()
    check(stderr.count('plugin "init_fail" (') == 1,
          "the full rejection message should appear once, then short retries")

"""The daemon: scheduling, deadlines, back-off, reload, shutdown, seq."""

import os
import shutil
import signal

from harness import (check, check_envelope, plugin_health, read_payload_file,
                     records, wait_until)


def output_url(case):
    """A file:// destination in the test's directory, and its path."""
    path = case.path("payloads.jsonl")
    return "file://" + path, path


def wait_for_payloads(daemon, path, count):
    """Wait until `path` holds at least `count` payloads; returns them."""
    def enough():
        daemon.check_running()
        payloads = read_payload_file(path)
        return payloads if len(payloads) >= count else None
    return wait_until(enough, "%d payloads in %s" % (count, path))


def cycles(payloads, record_type):
    """The `cycle` fields of every `record_type` record, in payload order."""
    return [r["cycle"] for p in payloads for r in records(p, record_type)]


def log_count(daemon, needle):
    return daemon.stderr().count(needle)


def test_hung_plugin_never_delays_others_or_the_push(case):
    # On a thread, a hung collect cannot be stopped: it runs on while the
    # others deliver.  (In a worker it is killed: see test_isolation.py.)
    url, path = output_url(case)
    case.write_config({"sleepy": {"sleep_ms": 4000, "interval": 1,
                                  "timeout": 1, "isolation": "thread"},
                       "second": {"interval": 1}}, push_interval=1)
    daemon = case.start_daemon("--output", url)

    def overrun_reported():
        daemon.check_running()
        for index, payload in enumerate(read_payload_file(path)):
            health = plugin_health(payload, "sleepy")
            if health and health["overruns"] >= 1:
                return index + 1
        return None
    first_overrun = wait_until(overrun_reported,
                               "a payload counting a sleepy overrun")
    check(daemon.terminate() == 0, "exit status after SIGTERM")

    payloads = read_payload_file(path)
    for payload in payloads:
        check_envelope(payload)
    while_stuck = payloads[:first_overrun - 1]
    with_second = [p for p in while_stuck if records(p, "test_second")]
    check(len(with_second) >= 2,
          "while sleepy was stuck, expected payloads with test_second "
          "records to keep arriving; got %d payloads, %d with test_second"
          % (len(while_stuck), len(with_second)))
    late = [r for p in payloads for r in records(p, "test_sleepy")]
    check(not late, "records of an overrun cycle were delivered: %s" % late)
    check("overran" in daemon.stderr(),
          "no warning containing 'overran' was logged")


def test_failures_back_off_and_recover(case):
    url, path = output_url(case)
    case.write_config({"flaky": {"interval": 1, "timeout": 1},
                       "second": {"interval": 1}},
                      push_interval=1, backend_url=url)
    daemon = case.start_daemon()

    def recovered():
        daemon.check_running()
        payloads = read_payload_file(path)
        delivered = cycles(payloads, "test_flaky")
        for payload in payloads:
            health = plugin_health(payload, "flaky")
            if (health and health["failures"] >= 1
                    and health["consecutive_failures"] == 0
                    and 3 in delivered):
                return health
        return None
    health = wait_until(recovered, "flaky to fail once and then succeed")
    check(daemon.terminate() == 0, "exit status after SIGTERM")

    delivered = cycles(read_payload_file(path), "test_flaky")
    check(delivered[:2] == [1, 3], "flaky cycles delivered: %s" % delivered)
    check(all(c % 2 == 1 for c in delivered) and
          len(delivered) == len(set(delivered)),
          "only the odd (successful) cycles should be delivered, each once: %s"
          % delivered)
    check(health["runs"] >= 3, "runs should count all 3 cycles: %s" % health)


def test_sighup_enables_and_disables_a_plugin_without_restart(case):
    url, path = output_url(case)
    before = {"second": {"interval": 1}, "good": {"enabled": False,
                                                  "interval": 1}}
    after = {"second": {"interval": 1}, "good": {"enabled": True,
                                                 "interval": 1}}
    case.write_config(before, backend_url=url)
    daemon = case.start_daemon()
    daemon.wait_for_log("plugin second: cycle 1")
    check(log_count(daemon, "plugin good: cycle") == 0, "disabled good ran")

    case.write_config(after, backend_url=url)
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log('plugin "good": started')
    daemon.wait_for_log("plugin good: cycle 1")

    case.write_config(before, backend_url=url)
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log('plugin "good": stopped')
    good_cycles = log_count(daemon, "plugin good: cycle")
    second_cycles = log_count(daemon, "plugin second: cycle")
    daemon.wait_for_log("plugin second: cycle %d" % (second_cycles + 1))
    check(log_count(daemon, "plugin good: cycle") == good_cycles,
          "good kept running after it was disabled")
    check(daemon.terminate() == 0, "exit status after SIGTERM")

    payloads = read_payload_file(path)
    good = [r for p in payloads for r in records(p, "test_good")]
    check(len(good) == 2 * good_cycles,
          "records collected before the reload were lost: %d test_good "
          "records for %d cycles" % (len(good), good_cycles))
    second = cycles(payloads, "test_second")
    check(sorted(second) == list(range(1, len(second) + 1)),
          "second, whose section did not change, was restarted or lost "
          "records: cycles %s" % second)


def test_sighup_stops_a_plugin_whose_file_was_removed(case):
    """A plugin package removed (dpkg keeps its drop-in, a conffile): the
    next reload stops the plugin, although its code stays loaded."""
    url, _ = output_url(case)
    plugin_dir = case.path("plugins")
    os.mkdir(plugin_dir)
    for name in ("good", "second"):
        shutil.copy(case.env.plugin_path(name), plugin_dir)
    plugins = {"second": {"interval": 1}, "good": {"interval": 1}}
    case.write_config(plugins, backend_url=url, plugin_dir=plugin_dir)
    daemon = case.start_daemon()
    daemon.wait_for_log("plugin good: cycle 1")
    os.unlink(os.path.join(plugin_dir, "good.so"))
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log('plugin "good": stopped')
    daemon.wait_for_log('plugin "good" is configured but not installed')
    second_cycles = log_count(daemon, "plugin second: cycle")
    daemon.wait_for_log("plugin second: cycle %d" % (second_cycles + 1))
    check(daemon.terminate() == 0, "exit status after SIGTERM")


def test_sighup_with_invalid_config_keeps_the_old_one(case):
    url, path = output_url(case)
    case.write_config({"second": {"interval": 1}}, backend_url=url)
    daemon = case.start_daemon()
    daemon.wait_for_log("plugin second: cycle 1")
    case.write_config({"second": {"interval": 1, "bogus_key": 1}},
                      backend_url=url)
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log("no such option 'bogus_key'")
    seen = log_count(daemon, "plugin second: cycle")
    daemon.wait_for_log("plugin second: cycle %d" % (seen + 1))
    check(daemon.terminate() == 0, "exit status after SIGTERM")


def test_sigterm_delivers_a_final_payload_and_calls_shutdown(case):
    url, path = output_url(case)
    marker = case.path("shutdown-called")
    case.write_config({"good": {"interval": 1, "shutdown_marker": marker},
                       "second": {"interval": 1}},
                      push_interval=60, backend_url=url)
    daemon = case.start_daemon()
    daemon.wait_for_log("plugin second: cycle 1")
    check(not os.path.exists(marker), "shutdown was called before SIGTERM")
    status = daemon.terminate()
    check(status == 0, "exit status after SIGTERM: %s" % status)
    payloads = read_payload_file(path)
    check(payloads and records(payloads[-1], "test_second"),
          "no final payload with test_second records: %s" % payloads)
    check(os.path.exists(marker), "good's shutdown() was not called")


def test_seq_increases_by_one_and_survives_a_restart(case):
    url, path = output_url(case)
    case.write_config({"second": {"interval": 1}}, push_interval=1,
                      backend_url=url)
    daemon = case.start_daemon()
    wait_for_payloads(daemon, path, 3)
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    first_run = len(read_payload_file(path))

    daemon = case.start_daemon()
    wait_for_payloads(daemon, path, first_run + 2)
    check(daemon.terminate() == 0, "exit status after the second SIGTERM")

    seqs = [p["seq"] for p in read_payload_file(path)]
    check(seqs == list(range(1, len(seqs) + 1)),
          "seq should run 1, 2, 3... across the restart: %s" % seqs)
    check(os.path.exists(os.path.join(case.state_dir, "seq")),
          "state_dir/seq does not exist")


def test_empty_interval_still_produces_a_payload(case):
    url, path = output_url(case)
    case.write_config({}, push_interval=1, backend_url=url)
    daemon = case.start_daemon()
    payloads = wait_for_payloads(daemon, path, 2)
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    for payload in payloads:
        check_envelope(payload)

"""--once: one cycle of every enabled plugin, one payload."""

import gzip
import os
import stat
import subprocess

from harness import (check, check_envelope, check_logged_once,
                     check_rejected, plugin_health, read_payload_file,
                     records)


def test_stdout_payload_has_every_plugin_and_the_collector_record(case):
    _, payload = case.once({"good": {"greeting": "hi there", "count": 3,
                                     "ratio": 1.25, "loud": True,
                                     "tags": ["x", "y", "z"]},
                            "second": {}})
    check(payload["collector_id"] == "itest-collector",
          "collector_id: %r" % payload["collector_id"])
    check(payload["hostname"] == "itest-host",
          "hostname: %r" % payload["hostname"])
    good = records(payload, "test_good")
    check(sorted(r["index"] for r in good) == [0, 1, 2],
          "expected indexes 0..2 from count = 3, got %s" % good)
    first = good[0]
    check(first["plugin"] == "good", "record plugin: %r" % first["plugin"])
    check(first["greeting"] == "hi there", "greeting: %r" % first["greeting"])
    check(first["ratio"] == 1.25, "ratio: %r" % first["ratio"])
    check(first["loud"] is True, "loud: %r" % first["loud"])
    check(first["tags"] == ["x", "y", "z"], "tags: %r" % first["tags"])
    check(first["cycle"] == 1, "cycle: %r" % first["cycle"])
    check(len(records(payload, "test_second")) == 1,
          "expected one test_second record: %s" % payload["metrics"])
    for name in ("good", "second"):
        health = plugin_health(payload, name)
        check(health is not None, "collector record does not list %s" % name)
        for key in ("name", "version", "runs", "failures",
                    "consecutive_failures", "overruns", "last_duration_ms",
                    "last_cpu_ms", "records_emitted", "records_dropped",
                    "records_invalid", "state"):
            check(key in health, "%s health lacks %r: %s" % (name, key, health))
        check(health["runs"] == 1, "%s runs: %r" % (name, health["runs"]))
    check(plugin_health(payload, "good")["version"] == "1.2.3",
          "good version: %r" % plugin_health(payload, "good"))


def test_collector_record_reports_its_own_cost(case):
    _, payload = case.once({"good": {}, "sleepy": {"sleep_ms": 300,
                                                   "interval": 30,
                                                   "timeout": 30}})
    collector = records(payload, "collector")[0]
    for key in ("cpu_user_s", "cpu_system_s"):
        check(isinstance(collector.get(key), float) and collector[key] >= 0,
              "%s should be a non-negative number: %r" % (key, collector))
    check(collector["cpu_user_s"] + collector["cpu_system_s"] > 0,
          "a process that ran plugins used some CPU: %r" % collector)
    check(isinstance(collector.get("max_rss_kb"), int)
          and collector["max_rss_kb"] > 1000,
          "max_rss_kb should be the peak RSS in KB (> 1000): %r"
          % collector.get("max_rss_kb"))
    for name in ("good", "sleepy"):
        health = plugin_health(payload, name)
        cpu = health.get("last_cpu_ms")
        check(isinstance(cpu, float) and 0 <= cpu
              <= health["last_duration_ms"] + 1.0,
              "%s last_cpu_ms %r should be within 0..last_duration_ms %r"
              % (name, cpu, health["last_duration_ms"]))
    # Sleeping costs time, not CPU: the thread's CPU clock tells them apart.
    sleepy = plugin_health(payload, "sleepy")
    check(sleepy["last_duration_ms"] >= 300
          and sleepy["last_cpu_ms"] < sleepy["last_duration_ms"] / 2,
          "sleepy slept 300 ms: duration %r ms, CPU %r ms"
          % (sleepy["last_duration_ms"], sleepy["last_cpu_ms"]))


def test_option_defaults_come_from_the_plugin(case):
    _, payload = case.once({"good": {}})
    good = records(payload, "test_good")
    check(len(good) == 2, "default count is 2, got %d records" % len(good))
    check(good[0]["greeting"] == "hello" and good[0]["ratio"] == 0.5
          and good[0]["loud"] is False and good[0]["tags"] == ["a", "b"],
          "defaults not applied: %s" % good[0])


def test_state_dir_is_private_per_plugin(case):
    _, payload = case.once({"good": {}})
    expected = os.path.join(case.state_dir, "plugins", "good")
    reported = records(payload, "test_good")[0]["state_dir"]
    check(os.path.realpath(reported) == os.path.realpath(expected),
          "state_dir %r, expected %r" % (reported, expected))
    for directory in (case.state_dir, expected):
        check(os.path.isdir(directory), "%s was not created" % directory)
        mode = stat.S_IMODE(os.stat(directory).st_mode)
        check(mode == 0o700, "%s has mode %o, expected 700" % (directory, mode))


def test_disabled_and_unconfigured_plugins_do_not_run(case):
    _, payload = case.once({"good": {"enabled": False}, "second": {}})
    check(not records(payload, "test_good"),
          "a disabled plugin emitted: %s" % records(payload, "test_good"))
    check(not records(payload, "test_flaky"), "an unconfigured plugin ran")
    check(records(payload, "test_second"), "second did not run")


def test_drop_in_sections_are_honoured(case):
    case.write_drop_in("second.conf", 'plugin second {\n  enabled = true\n}\n')
    case.write_drop_in("good.conf",
                       'plugin good {\n  greeting = "from drop-in"\n}\n')
    case.write_drop_in("ignored.txt", 'plugin flaky {\n}\n')
    _, payload = case.once({})
    check(records(payload, "test_second"),
          "second enabled in a drop-in did not run: %s" % payload["metrics"])
    good = records(payload, "test_good")
    check(good and good[0]["greeting"] == "from drop-in",
          "good configured in a drop-in: %s" % good)
    check(not records(payload, "test_flaky"),
          "a file not ending in .conf was read")


def test_gzip_output_passes_gzip_t(case):
    case.write_config({"good": {}, "second": {}})
    out = case.path("out", "payloads.json.gz")
    os.makedirs(os.path.dirname(out))
    for _ in range(2):
        case.run("--once", "--output", "file://" + out).check_status(0)
    tested = subprocess.run(["gzip", "-t", out], capture_output=True)
    check(tested.returncode == 0, "gzip -t %s failed: %s"
          % (out, tested.stderr.decode()))
    with open(out, "rb") as f:
        lines = gzip.decompress(f.read()).decode().splitlines()
    check(len(lines) == 2, "expected 2 payload lines, got %d" % len(lines))
    payloads = read_payload_file(out)
    for payload in payloads:
        check_envelope(payload)
        check(records(payload, "test_good"), "no test_good record in %s"
              % payload)
    check(payloads[1]["seq"] == payloads[0]["seq"] + 1,
          "seq %r then %r" % (payloads[0]["seq"], payloads[1]["seq"]))


def test_plain_file_output_appends_one_line_per_payload(case):
    case.write_config({"second": {}})
    out = case.path("payloads.jsonl")
    for _ in range(2):
        result = case.run("--once", "--output", "file://" + out)
        result.check_status(0)
        check(result.stdout == "", "file output also wrote to stdout: %r"
              % result.stdout[:200])
    payloads = read_payload_file(out)
    check(len(payloads) == 2, "expected 2 payloads, got %d" % len(payloads))


def test_unwritable_output_is_a_runtime_error(case):
    case.write_config({"second": {}})
    result = case.run("--once", "--output",
                      "file://" + case.path("no", "such", "dir", "out.jsonl"))
    result.check_status(3)


def test_frozen_abi_1_0_plugin_loads_and_emits(case):
    _, payload = case.once({"frozen_abi_1_0": {}, "second": {}})
    frozen = records(payload, "test_frozen")
    check(len(frozen) == 1, "expected one test_frozen record, got %s"
          % payload["metrics"])
    check(frozen[0]["plugin"] == "frozen_abi_1_0", "plugin: %r"
          % frozen[0]["plugin"])


def test_newer_minor_with_zero_tail_runs(case):
    result, payload = case.once({"newer_minor_zero_tail": {}})
    check(len(records(payload, "test_newer_minor")) == 1,
          "expected one test_newer_minor record: %s\n%s"
          % (payload["metrics"], result.stderr))


def test_misuse_keeps_valid_records_and_counts_invalid_ones(case):
    _, payload = case.once({"misuse": {}, "second": {}})
    valid = records(payload, "test_misuse")
    check(sorted(r.get("ordinal") for r in valid) == [1, 2],
          "expected exactly the 2 valid records, got %s" % valid)
    for record in valid:
        check(set(record) == {"type", "plugin", "timestamp", "cycle",
                              "ordinal"},
              "a misuse leaked into a valid record: %s" % record)
    health = plugin_health(payload, "misuse")
    check(health is not None, "collector record does not list misuse")
    check(health["records_invalid"] == 6,
          "records_invalid %r, expected 6: %s"
          % (health["records_invalid"], health))
    check(records(payload, "test_second"),
          "the other plugin's record is missing")


def test_init_failure_skips_only_that_plugin(case):
    result, payload = case.once({"good": {}, "init_fail": {}, "second": {}})
    check_logged_once(result.stderr, "error",
                      "plugin init_fail: cannot start: test plugin refuses")
    check_rejected(result.stderr, "init_fail",
                   case.env.plugin_path("init_fail"), "init failed")
    check(records(payload, "test_good") and records(payload, "test_second"),
          "the other plugins' records are missing: %s" % payload["metrics"])

"""Process isolation (docs/ISOLATION.md): a plugin that segfaults, aborts,
exits, spins or runs out of memory in its worker costs only its own
records; the collector keeps running, the other plugins keep their
schedule, the worker is restarted with backoff and the crash is reported.
Also: no orphan workers, reload and shutdown reach workers, records are
the same on a thread and in a worker, and the default isolation rule."""

import os
import re
import shutil
import signal

from harness import (check, lines_containing, plugin_health, read_payload_file,
                     records, wait_until)

# A plugin's crash is the plugin's: under AddressSanitizer the worker must
# still die by the signal (as in production), not be turned into an ASan
# report and exit status 1.
ASAN_CRASH_OPTIONS = "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_abort=0"


def output_url(case):
    path = case.path("payloads.jsonl")
    return "file://" + path, path


def crash_env(case):
    if not case.env.sanitize:
        return None
    current = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": (current + ":" if current else "") + ASAN_CRASH_OPTIONS}


# ---------------------------------------------------------------- processes

def proc_status(pid):
    """{field: value} of /proc/PID/status, or None once the process is gone."""
    try:
        with open("/proc/%d/status" % pid, encoding="utf-8") as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except (FileNotFoundError, ProcessLookupError):
        return None


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return []


def worker_processes(parent_pid):
    """{pid: plugin name} of the live workers whose parent is parent_pid."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        status = proc_status(pid)
        if not status or status.get("PPid") != str(parent_pid) or \
                status.get("State", "").startswith("Z"):
            continue
        argv = cmdline(pid)
        if len(argv) > 2 and argv[1] == b"--plugin-worker":
            found[pid] = argv[2].decode()
    return found


def alive(pid):
    """True while pid exists and is not a zombie."""
    status = proc_status(pid)
    return bool(status) and not status.get("State", "").startswith("Z")


# ---------------------------------------------------------------- faults

def run_fault(case, faulty, enough, what, timeout=40, preexec_fn=None):
    """Run the daemon with `faulty` (options of the faulty plugin) beside
    the well-behaved `second`, both every second, until `enough(health)`
    holds for faulty's entry in a payload.  Checks that the collector kept
    running and that second kept delivering every cycle meanwhile.
    preexec_fn is the daemon's (see Case.start_daemon).
    Returns (faulty's health then, stderr, payloads)."""
    url, path = output_url(case)
    options = {"interval": 1, "timeout": 1}
    options.update(faulty)
    case.write_config({"faulty": options, "second": {"interval": 1}}, push_interval=1)
    daemon = case.start_daemon("--output", url, env=crash_env(case), preexec_fn=preexec_fn)

    def reached():
        daemon.check_running()
        for payload in read_payload_file(path):
            health = plugin_health(payload, "faulty")
            if health and enough(health):
                return health
        return None
    health = wait_until(reached, what, timeout)
    daemon.check_running()
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    payloads = read_payload_file(path)
    check_second_kept_going(payloads)
    check(not worker_processes(daemon.pid), "workers left after the collector exited")
    return health, daemon.stderr(), payloads


def check_second_kept_going(payloads):
    """second (every 1 s) delivered every cycle, in order, and kept
    delivering while faulty failed: its cycle count grew between any two
    payloads that report a new crash or kill of faulty.  Events, not the
    wall clock: a loaded machine (a sanitizer build, faulty spinning a
    CPU) slows everything alike."""
    cycles = [r["cycle"] for p in payloads for r in records(p, "test_second")]
    check(cycles and cycles == list(range(1, len(cycles) + 1)),
          "second's cycles have a gap or repeat: %s" % cycles)
    delivered, failures, at_failures = 0, 0, []
    for payload in payloads:
        delivered += len(records(payload, "test_second"))
        faulty = plugin_health(payload, "faulty")
        now = faulty["worker_crashes"] + faulty["worker_kills"] if faulty else 0
        if now > failures:
            at_failures.append(delivered)
            failures = now
    check(all(b > a for a, b in zip(at_failures, at_failures[1:])),
          "second delivered nothing between two failures of faulty: %s cycles at each"
          % at_failures)


def check_logged(stderr, pattern, what):
    check(re.search(pattern, stderr), "%s: no log line matching %r:\n%s"
          % (what, pattern, stderr[-4000:]))


def restarted_after_failures(failures):
    return lambda h: h["worker_restarts"] >= 1 and \
        h["worker_crashes"] + h["worker_kills"] >= failures


def check_faulty_records(payloads):
    """faulty's good cycle is delivered by every instance, never a later one."""
    faulty = [r for p in payloads for r in records(p, "test_faulty")]
    check(faulty and all(r["cycle"] == 1 for r in faulty),
          "expected only cycle 1 of each faulty worker, got %s" % faulty)
    check(len(set(r["pid"] for r in faulty)) >= 2,
          "expected records from two faulty workers (a restart), got %s" % faulty)


def test_segfault_in_collect_costs_only_that_plugin(case):
    health, stderr, payloads = run_fault(
        case, {"fault": "segv"}, restarted_after_failures(2),
        "faulty to crash, be restarted and crash again")
    check(health["last_worker_signal"] == 11 and
          health["last_worker_exit"] == "signal 11 (SIGSEGV)", "health: %r" % health)
    check(health["isolation"] == "process", "health: %r" % health)
    check_logged(stderr, r"plugin faulty: worker \(pid \d+\) died during collect: "
                 r"signal 11 \(SIGSEGV\)", "crash")
    check_logged(stderr, r"plugin faulty: worker restarted \(pid \d+\)", "restart")
    check_faulty_records(payloads)


def ignore_sigchld():
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)


def test_crash_is_reported_when_started_with_sigchld_ignored(case):
    # An ignored SIGCHLD survives exec; with it the kernel reaps workers
    # itself and the collector would never learn how one died.
    health, stderr, _ = run_fault(
        case, {"fault": "segv"}, lambda h: h["worker_crashes"] >= 1,
        "faulty to crash once", preexec_fn=ignore_sigchld)
    check(health["last_worker_signal"] == 11 and
          health["last_worker_exit"] == "signal 11 (SIGSEGV)", "health: %r" % health)
    check_logged(stderr, r"plugin faulty: worker \(pid \d+\) died during collect: "
                 r"signal 11 \(SIGSEGV\)", "crash")


def processes_running(argv):
    """Pids of the live processes whose command line is exactly argv."""
    wanted = [a.encode() for a in argv] + [b""]
    return [int(e) for e in os.listdir("/proc")
            if e.isdigit() and cmdline(int(e)) == wanted and alive(int(e))]


def test_what_a_plugin_starts_neither_hides_its_crash_nor_outlives_it(case):
    # faulty starts `sleep` in init, then segfaults.  The sleep must not
    # keep the worker's socket open (the crash would look like a hang until
    # the deadline), nor inherit ignored signals, nor outlive the worker.
    seconds = "600.%d" % os.getpid()
    case.cleanups.append(lambda: [os.kill(pid, signal.SIGKILL)
                                  for pid in processes_running(["sleep", seconds])])
    url, path = output_url(case)
    case.write_config({"faulty": {"fault": "segv", "spawn": seconds, "interval": 5,
                                  "timeout": 5}}, push_interval=1)
    daemon = case.start_daemon("--output", url, env=crash_env(case))
    sleeps = wait_until(lambda: processes_running(["sleep", seconds]), "the plugin's sleep")
    ignored = int(proc_status(sleeps[0])["SigIgn"], 16)
    check(ignored & (1 << (signal.SIGTERM - 1) | 1 << (signal.SIGHUP - 1)) == 0,
          "the plugin's sleep ignores signals: SigIgn %x" % ignored)
    def ended(payload):
        faulty = plugin_health(payload, "faulty")
        return faulty and faulty["worker_crashes"] + faulty["worker_kills"] >= 1
    health = plugin_health(health_when(path, daemon, ended, "faulty to crash"), "faulty")
    check(health["last_worker_exit"] == "signal 11 (SIGSEGV)" and
          health["worker_kills"] == 0 and health["overruns"] == 0, "health: %r" % health)
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    check_logged(daemon.stderr(), r"plugin faulty: worker \(pid \d+\) died during collect: "
                 r"signal 11 \(SIGSEGV\)", "crash")
    wait_until(lambda: not processes_running(["sleep", seconds]),
               "the plugin's sleep to die with the collector", 5)


def test_abort_is_restarted_with_growing_backoff(case):
    # No good cycle: every instance aborts in its first collect, so the
    # failures add up and the wait before each restart doubles.
    health, stderr, payloads = run_fault(
        case, {"fault": "abort", "good_cycles": 0}, restarted_after_failures(2),
        "faulty to abort twice")
    check(health["last_worker_signal"] == 6 and
          health["last_worker_exit"] == "signal 6 (SIGABRT)", "health: %r" % health)
    check(health["failures"] >= 2 and health["consecutive_failures"] >= 2,
          "failures: %r" % health)
    check_logged(stderr, r"died during collect: signal 6 \(SIGABRT\)", "abort")
    check_logged(stderr, r"plugin faulty: a new worker starts in 2 s", "first backoff")
    check_logged(stderr, r"plugin faulty: a new worker starts in 4 s", "doubled backoff")
    check(not [r for p in payloads for r in records(p, "test_faulty")],
          "records of aborted cycles were delivered")


def test_exit_in_collect_is_reported_with_its_status(case):
    health, stderr, payloads = run_fault(
        case, {"fault": "exit"}, restarted_after_failures(2), "faulty to exit(3) twice")
    check(health["last_worker_exit"] == "exit status 3" and
          health["last_worker_signal"] is None, "health: %r" % health)
    check_logged(stderr, r"plugin faulty: worker \(pid \d+\) died during collect: exit status 3",
                 "exit")
    check_faulty_records(payloads)


def test_spinning_plugin_is_killed_at_its_deadline(case):
    health, stderr, payloads = run_fault(
        case, {"fault": "spin"}, lambda h: h["worker_kills"] >= 2,
        "faulty to be killed twice")
    check(health["last_worker_signal"] == 9 and health["overruns"] >= 2,
          "health: %r" % health)
    check_logged(stderr, r"plugin faulty: worker \(pid \d+\) killed: no answer to collect "
                 r"by its deadline", "kill")
    check_faulty_records(payloads)


def test_a_little_late_collect_is_an_overrun_not_a_kill(case):
    # 200 ms past a 1 s deadline, within the grace (the timeout, at most
    # 2 s): the cycle's records are dropped, the worker and its state stay.
    health, stderr, payloads = run_fault(
        case, {"fault": "late"}, lambda h: h["overruns"] >= 2, "faulty to overrun twice")
    check(health["worker_kills"] == 0 and health["worker_restarts"] == 0 and
          health["consecutive_failures"] == 0 and health["state"] != "backoff",
          "health: %r" % health)
    check(not lines_containing(stderr, "killed"), "a worker was killed:\n" + stderr[-3000:])
    cycles = [r["cycle"] for p in payloads for r in records(p, "test_faulty")]
    check(cycles == [1], "only the first, punctual cycle is delivered: %s" % cycles)


def test_logging_loop_is_killed_and_its_lines_capped(case):
    # A plugin logging in a loop keeps the socket full: the deadline must
    # still be seen, and the collector's log gets at most
    # REPLAY_MAX_LOG_LINES (100) of its lines per call.
    health, stderr, _ = run_fault(
        case, {"fault": "logspin"}, lambda h: h["worker_kills"] >= 2,
        "faulty to be killed twice")
    check(health["last_worker_signal"] == 9 and health["overruns"] >= 2, "health: %r" % health)
    check_logged(stderr, r"plugin faulty: worker \(pid \d+\) killed: no answer to collect "
                 r"by its deadline", "kill")
    spins = [int(n) for n in re.findall(r"plugin faulty: log spin (\d+)", stderr)]
    kills = len(lines_containing(stderr, "killed: no answer to collect"))
    # Each call logs "cycle 1" or "faulting" too, within the same 100.
    check(spins and len(spins) <= 100 * kills and max(spins) < 100,
          "%d log spin lines for %d calls (last %s)" % (len(spins), kills, spins[-1:]))
    suppressed = re.findall(r"plugin faulty: (\d+) more log line\(s\) of this call suppressed",
                            stderr)
    check(len(suppressed) == kills, "suppressed reports: %s for %d kills" % (suppressed, kills))


def test_memory_limit_fails_allocations_and_is_reported(case):
    if case.env.sanitize:
        # ASan's shadow memory counts against any data limit: the limit is
        # not applied (and says so), and the hog would only eat the machine.
        case.write_config({"faulty": {"fault": "none", "memory_limit_mb": 64}})
        result = case.run("--once", "--output", "-")
        result.check_status(0)
        check("memory_limit_mb = 64 not applied: this collector is built with "
              "AddressSanitizer" in result.stderr, "no warning:\n" + result.stderr)
        print("# memory limit enforcement not tested under AddressSanitizer "
              "(RLIMIT_DATA counts ASan's shadow memory)")
        return
    health, stderr, payloads = run_fault(
        case, {"fault": "hog", "memory_limit_mb": 64}, restarted_after_failures(2),
        "faulty to exceed its memory limit twice")
    got = [int(m) for m in re.findall(r"plugin faulty: malloc failed after (\d+) MiB", stderr)]
    check(got and all(n < 64 for n in got),
          "malloc should fail below the 64 MB limit: %s\n%s" % (got, stderr[-3000:]))
    check(health["last_worker_signal"] == 6, "health: %r" % health)
    check_logged(stderr, r"died during collect: signal 6 \(SIGABRT\) \(memory_limit_mb = 64: ",
                 "the limit named in the crash report")
    check_faulty_records(payloads)


def test_flooding_worker_is_killed_at_the_cycle_bound(case):
    # faulty emits 4 KB records until its 5 s deadline, far more than the
    # collector holds for one cycle (WORKER_MAX_CYCLE_MB, 64): the worker's
    # memory_limit_mb cannot protect the collector, the bound must.
    env = crash_env(case)
    if case.env.sanitize:
        # ASan keeps freed memory in quarantine (256 MB by default).
        env["ASAN_OPTIONS"] += ":quarantine_size_mb=16"
    url, path = output_url(case)
    case.write_config({"faulty": {"fault": "flood", "good_cycles": 0, "interval": 5,
                                  "timeout": 5},
                       "second": {"interval": 1}}, push_interval=1)
    daemon = case.start_daemon("--output", url, env=env)
    killed = health_when(path, daemon,
                         lambda p: (plugin_health(p, "faulty") or {}).get("worker_kills"),
                         "faulty killed for its cycle's size")
    peak_mb = int(proc_status(daemon.pid)["VmHWM"].split()[0]) / 1024.0
    print("# peak %.1f MB" % peak_mb)
    check(peak_mb < 200, "the collector's peak RSS reached %.0f MB" % peak_mb)
    faulty = plugin_health(killed, "faulty")
    check(faulty["last_worker_signal"] == 9 and faulty["worker_crashes"] == 0,
          "health: %r" % faulty)
    check(not [r for p in read_payload_file(path) for r in records(p, "test_flood")],
          "records of the oversized cycle were delivered")
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    check_logged(daemon.stderr(), r"plugin faulty: worker \(pid \d+\) killed: "
                 r"cycle larger than 64 MB", "kill")
    check_second_kept_going(read_payload_file(path))


def test_a_plugin_reusing_fd_3_does_not_break_its_worker(case):
    # faulty closes fd 3 and opens /dev/null in every collect after the
    # first: the socket is not there, the worker carries on.
    health, stderr, payloads = run_fault(
        case, {"fault": "closefd"}, lambda h: h["runs"] >= 4, "faulty to run 4 times")
    check(health["worker_crashes"] + health["worker_kills"] == 0 and
          health["overruns"] == 0, "health: %r" % health)
    cycles = [r["cycle"] for p in payloads for r in records(p, "test_faulty")]
    check(cycles[:4] == [1, 2, 3, 4], "faulty's cycles: %s" % cycles)


def test_a_plugin_closing_the_socket_is_named(case):
    health, stderr, _ = run_fault(
        case, {"fault": "closeall"}, lambda h: h["worker_crashes"] >= 1, "faulty to crash")
    check(health["last_worker_exit"] ==
          "exit status 15 (the plugin closed the collector's socket)", "health: %r" % health)
    check_logged(stderr, r"plugin faulty: worker \(pid \d+\) died during collect: exit "
                 r"status 15 \(the plugin closed the collector's socket\)", "crash")


def test_crash_in_init_is_retried_in_a_new_worker(case):
    health, stderr, payloads = run_fault(
        case, {"fault": "segv", "during": "init"}, restarted_after_failures(2),
        "faulty to crash in init twice")
    check(health["state"] in ("init_failed", "backoff") and health["runs"] == 0,
          "health: %r" % health)
    check_logged(stderr, r"plugin faulty: worker \(pid \d+\) died during init: "
                 r"signal 11 \(SIGSEGV\)", "init crash")
    check_logged(stderr, r'plugin "faulty" \(.*faulty\.so\): init failed; ', "init failure")
    check(not [r for p in payloads for r in records(p, "test_faulty")],
          "a plugin that never started delivered records")


# ---------------------------------------------------------------- lifetime

def test_no_orphan_workers_after_the_collector_is_killed(case):
    # second's worker waits for a request (it would also see the end of its
    # socket); faulty's spins inside collect and reads nothing: only the
    # parent-death signal can stop it.
    url, _ = output_url(case)
    case.write_config({"faulty": {"fault": "spin", "good_cycles": 0, "interval": 60,
                                  "timeout": 60},
                       "second": {"interval": 1}}, push_interval=1)
    daemon = case.start_daemon("--output", url)
    daemon.wait_for_log("plugin faulty: faulting: spin")
    workers = wait_until(lambda: len(worker_processes(daemon.pid)) == 2 and
                         worker_processes(daemon.pid), "two worker processes")
    check(sorted(workers.values()) == ["faulty", "second"], "workers: %r" % workers)
    # Should this test fail, do not leave a spinning orphan behind.
    case.cleanups.append(lambda: [os.kill(pid, signal.SIGKILL) for pid in workers if alive(pid)])
    os.kill(daemon.pid, signal.SIGKILL)
    daemon.process.wait()
    wait_until(lambda: not any(alive(pid) for pid in workers),
               "the workers %s to die with the collector" % sorted(workers))


def health_when(path, daemon, predicate, what):
    """The first payload whose collector record satisfies predicate(payload)."""
    def found():
        daemon.check_running()
        for payload in read_payload_file(path):
            if predicate(payload):
                return payload
        return None
    return wait_until(found, what)


def test_sighup_restarts_only_the_changed_worker_and_stop_reaches_all(case):
    url, path = output_url(case)
    marker = case.path("good-shutdown")
    plugins = {"good": {"interval": 1, "shutdown_marker": marker},
               "second": {"interval": 1}}
    case.write_config(plugins, push_interval=1)
    daemon = case.start_daemon("--output", url)

    def both_running(payload):
        good, second = plugin_health(payload, "good"), plugin_health(payload, "second")
        return good and second and good["worker_pid"] and second["worker_pid"]
    before = health_when(path, daemon, both_running, "both workers running")
    good_pid = plugin_health(before, "good")["worker_pid"]
    second_pid = plugin_health(before, "second")["worker_pid"]

    plugins["good"]["greeting"] = "reloaded"
    case.write_config(plugins, push_interval=1)
    daemon.signal(signal.SIGHUP)
    health_when(path, daemon, lambda p: any(r.get("greeting") == "reloaded"
                                            for r in records(p, "test_good")),
                "a record of the reconfigured good")
    check(os.path.exists(marker), "good's shutdown did not run in its old worker")
    wait_until(lambda: not alive(good_pid), "good's old worker to exit")
    workers = worker_processes(daemon.pid)
    check(second_pid in workers and good_pid not in workers,
          "second's worker should be kept and good's replaced: %r (before: good %d, second %d)"
          % (workers, good_pid, second_pid))
    os.unlink(marker)
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    check(os.path.exists(marker), "good's shutdown did not run at the collector's stop")
    stderr = daemon.stderr()
    check(not lines_containing(stderr, "died during") and not lines_containing(stderr, "killed"),
          "a worker did not stop cleanly:\n" + stderr)
    check(not any(alive(pid) for pid in list(workers) + [good_pid]),
          "workers outlived the collector")


def upgrade_file(path):
    """Replace path with a copy of itself, as a package upgrade does (a new
    inode under the same name, the old one still mapped)."""
    shutil.copy(path, path + ".new")
    os.replace(path + ".new", path)


def test_upgraded_plugins_keep_running_after_reload_and_restart(case):
    # sysstat and faulty both from plugin_dir: sysstat is the shipped file
    # (a thread), faulty a third-party one (a worker), which crashes after
    # its good cycles, so its worker restarts after the upgrade.
    plugin_dir = case.path("plugins")
    os.mkdir(plugin_dir)
    shutil.copy(os.path.join(case.env.build_dir, "plugins", "sysstat.so"), plugin_dir)
    shutil.copy(case.env.plugin_path("faulty"), plugin_dir)
    proc = os.path.join(case.env.source_dir, "tests", "fixtures", "proc", "basic", "1")
    url, path = output_url(case)
    plugins = {"sysstat": {"interval": 1, "proc_root": proc, "clock": "proc_uptime"},
               "faulty": {"interval": 1, "timeout": 1, "fault": "segv", "good_cycles": 5}}
    case.write_config(plugins, plugin_dir=plugin_dir, push_interval=1)
    daemon = case.start_daemon("--output", url, env=crash_env(case))
    health_when(path, daemon, lambda p: records(p, "test_faulty") and records(p, "sysstat"),
                "records of both plugins")
    for name in ("sysstat", "faulty"):
        upgrade_file(os.path.join(plugin_dir, name + ".so"))
    daemon.signal(signal.SIGHUP)
    for name in ("sysstat", "faulty"):
        daemon.wait_for_log('plugin "%s" (%s/%s.so): the file was replaced'
                            % (name, plugin_dir, name))
    reloaded_at = len(read_payload_file(path))

    def recovered(payload):
        faulty = plugin_health(payload, "faulty")
        return faulty and faulty["worker_restarts"] >= 1 and \
            any(r["pid"] == faulty["worker_pid"] for r in records(payload, "test_faulty"))
    after = health_when(path, daemon, recovered, "a record from faulty's restarted worker")
    stderr = daemon.stderr()
    check(stderr.index("the file was replaced") <
          stderr.index("plugin faulty: worker restarted"),
          "faulty crashed before the upgrade: the test proves nothing\n" + stderr)
    check(not lines_containing(stderr, "changed since the collector loaded it"),
          "a worker refused the file:\n" + stderr)
    sysstat = plugin_health(after, "sysstat")
    check(sysstat["isolation"] == "thread" and sysstat["state"] == "running",
          "sysstat after the upgrade: %r" % sysstat)
    check(plugin_health(after, "faulty")["isolation"] == "process", "faulty: %r" % after)
    later = read_payload_file(path)[reloaded_at:]
    check(any(records(p, "sysstat") for p in later), "sysstat stopped collecting")
    check(not lines_containing(stderr, 'plugin "sysstat": stopping'),
          "sysstat was restarted by the reload:\n" + stderr)
    check(daemon.terminate() == 0, "exit status after SIGTERM")


# ---------------------------------------------------------------- same records

def normalized(payload, record_type, drop=("timestamp",)):
    return [{k: v for k, v in r.items() if k not in drop} for r in records(payload, record_type)]


def both_modes(case, name, options, record_type, drop=("timestamp",)):
    """--once with the plugin on a thread, then in a worker: (thread, process)
    records without the keys in `drop`, and the two health entries."""
    out = []
    for mode in ("thread", "process"):
        config = dict(options, isolation=mode)
        _, payload = case.once({name: config})
        health = plugin_health(payload, name)
        check(health["isolation"] == mode, "%s ran as %r, not %s" % (name, health, mode))
        out.append((normalized(payload, record_type, drop), health))
    (thread, thread_health), (process, process_health) = out
    check(thread, "%s emitted no %s record" % (name, record_type))
    check(thread == process, "%s records differ:\nthread:  %s\nprocess: %s"
          % (name, thread, process))
    for key in ("records_emitted", "records_invalid", "records_dropped", "failures"):
        check(thread_health[key] == process_health[key], "%s %s: thread %r, process %r"
              % (name, key, thread_health[key], process_health[key]))


def test_thread_and_process_give_the_same_records(case):
    both_modes(case, "good", {"count": 5, "greeting": "h\u00e9llo \"quoted\"",
                              "tags": ["x", "y", "z"]}, "test_good")
    # Every kind of misuse is found and counted by the collector either way.
    both_modes(case, "misuse", {}, "test_misuse")
    hello = os.path.join(case.env.build_dir, "plugins", "hello.so")
    both_modes(case, "hello", {"path": hello}, "hello", drop=("timestamp", "uptime_s"))
    proc = os.path.join(case.env.source_dir, "tests", "fixtures", "proc", "basic", "1")
    sysstat = os.path.join(case.env.build_dir, "plugins", "sysstat.so")
    both_modes(case, "sysstat", {"path": sysstat, "proc_root": proc, "clock": "proc_uptime"},
               "sysstat")


def test_default_isolation_rule(case):
    bundled_dir = os.path.join(case.env.build_dir, "plugins")
    sysstat = os.path.join(bundled_dir, "sysstat.so")
    proc = os.path.join(case.env.source_dir, "tests", "fixtures", "proc", "basic", "1")

    def isolation_of(plugins, plugin_dir):
        _, payload = case.once(plugins, plugin_dir=plugin_dir)
        return {name: plugin_health(payload, name)["isolation"] for name in plugins}

    # Bundled, from collector.plugin_dir: a thread.  A test plugin: a process.
    got = isolation_of({"sysstat": {"proc_root": proc},
                        "good": {"path": case.env.plugin_path("good")}}, bundled_dir)
    check(got == {"sysstat": "thread", "good": "process"}, "defaults: %r" % got)
    # The same bundled file from outside plugin_dir is not the packaged one.
    got = isolation_of({"sysstat": {"path": sysstat, "proc_root": proc}}, case.env.plugin_dir)
    check(got == {"sysstat": "process"}, "bundled name outside plugin_dir: %r" % got)
    # Both ways can be configured.
    got = isolation_of({"sysstat": {"proc_root": proc, "isolation": "process"},
                        "good": {"path": case.env.plugin_path("good"),
                                 "isolation": "thread"}}, bundled_dir)
    check(got == {"sysstat": "process", "good": "thread"}, "configured: %r" % got)


def test_memory_limit_on_a_thread_is_a_config_error(case):
    text = case.write_config({"good": {"isolation": "thread", "memory_limit_mb": 64}})
    result = case.run("--check-config")
    result.check_status(1)
    line = text.splitlines().index("plugin good {") + 1
    check('collector.conf:%d: plugin "good": memory_limit_mb needs isolation = "process"'
          % line in result.stderr, "expected FILE:LINE error:\n" + result.stderr)
    case.write_config({"good": {"isolation": "fiber"}})
    result = case.run("--check-config")
    result.check_status(1)
    check("must be \"process\" or \"thread\"" in result.stderr, result.stderr)

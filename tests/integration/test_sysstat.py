"""The sysstat plugin: fixture /proc trees replayed snapshot by snapshot
(tests/fixtures/proc/SCENARIO/N, with PROC_ROOT/uptime as the clock, so that
every expected rate below is worked out by hand from the fixture files),
bad input, this machine's /proc within sanity bounds, and the postgres
process count against a real PostgreSQL server."""

import os

from harness import check, plugin_health, read_payload_file, records, wait_until
from pg import PostgresServer

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "fixtures", "proc")
CPU_PCT = ("user_pct", "nice_pct", "system_pct", "idle_pct", "iowait_pct", "irq_pct",
           "softirq_pct", "steal_pct", "guest_pct", "guest_nice_pct")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def sysstat_path(case):
    """The bundled plugin, built in build/plugins (not with the test plugins)."""
    return os.path.join(case.env.build_dir, "plugins", "sysstat.so")


def sysstat_config(case, **options):
    config = {"path": sysstat_path(case), "interval": 1}
    config.update(options)
    return {"sysstat": config}


def only_record(payload):
    found = records(payload, "sysstat")
    check(len(found) == 1, "expected one sysstat record, got %d" % len(found))
    return found[0]


def close(got, expected, what):
    """Rates are divisions: equal to the hand-computed value but for rounding."""
    check(isinstance(got, (int, float)) and abs(got - expected) <= 1e-9 * max(1.0, abs(expected)),
          "%s: expected %r, got %r" % (what, expected, got))


def check_values(obj, expected, what):
    """Every key of `expected` in obj with that value (numbers compared with close())."""
    for key, value in expected.items():
        check(key in obj, "%s has no %r: %r" % (what, key, obj))
        if isinstance(value, float):
            close(obj[key], value, "%s.%s" % (what, key))
        else:
            check(obj[key] == value, "%s.%s: expected %r, got %r" % (what, key, value, obj[key]))


def check_no_rates(obj, what):
    rates = [k for k in obj if k.endswith("_per_s") or k.endswith("_pct") or k.endswith("_ms")
             or k in ("queue_depth", "oom_kills")]
    check(not rates, "%s should have no rates this cycle, has %s: %r" % (what, rates, obj))


def by_name(items, name):
    found = [i for i in items if i.get("name", i.get("cpu")) == name]
    check(len(found) == 1, "expected one entry %r in %r" % (name, items))
    return found[0]


def switch_link(link, target):
    """Point the symlink `link` at `target` atomically (the plugin reads one tree per cycle)."""
    os.symlink(target, link + ".new")
    os.replace(link + ".new", link)


def replay(case, scenario, snapshots, **options):
    """Run the daemon with proc_root a symlink to snapshot 1 of `scenario`,
    switched to the next snapshot each time the plugin has reported the
    current one.  Returns (first record, records with rates): reading one
    snapshot twice gives no rates (no time passed), so each switch gives
    exactly one record with rates."""
    link = case.path("proc")
    os.symlink(os.path.join(FIXTURES, scenario, snapshots[0]), link)
    payloads_path = case.path("payloads.jsonl")
    case.write_config(sysstat_config(case, proc_root=link, clock="proc_uptime", **options),
                      push_interval=1)
    daemon = case.start_daemon("--output", "file://" + payloads_path)

    def sysstat_records():
        return [r for p in read_payload_file(payloads_path) for r in records(p, "sysstat")]

    def running_and(predicate):
        daemon.check_running()
        return predicate()

    first = wait_until(lambda: running_and(sysstat_records)[:1], "a first sysstat record")[0]
    for count, snapshot in enumerate(snapshots[1:], 1):
        switch_link(link, os.path.join(FIXTURES, scenario, snapshot))
        wait_until(lambda: len([r for r in running_and(sysstat_records)
                                if "interval_s" in r]) >= count,
                   "the sysstat record with rates from snapshot %s" % snapshot)
    # One more record of the last snapshot: read again, it must give no rates.
    seen = len(sysstat_records())
    wait_until(lambda: len(running_and(sysstat_records)) > seen, "one more sysstat record")
    check(daemon.terminate() == 0, "exit status after SIGTERM")
    rated = [r for r in sysstat_records() if "interval_s" in r]
    check(len(rated) == len(snapshots) - 1, "expected %d records with rates, got %d"
          % (len(snapshots) - 1, len(rated)))
    check(not daemon.stderr().count("warning:"), "warnings logged:\n" + daemon.stderr())
    return first, rated


def test_first_cycle_has_gauges_only(case):
    first, _ = replay(case, "basic", ["1", "2"])
    check("interval_s" not in first, "first record has interval_s: %r" % first)
    check_values(first["cpu"], {"cpus": 2}, "cpu")
    check_no_rates(first["cpu"], "cpu")
    for cpu in first["cpus"]:
        check_no_rates(cpu, "cpu %r" % cpu)
    check(first["processes"] == {"running": 3, "blocked": 1}, "processes: %r" % first["processes"])
    check_no_rates(first["vmstat"], "vmstat")
    check(first["vmstat"] == {"oom_kill": 1}, "vmstat: %r" % first["vmstat"])
    for disk in first["disks"]:
        check_no_rates(disk, "disk %r" % disk["name"])
    for iface in first["interfaces"]:
        check_no_rates(iface, "interface %r" % iface["name"])
    check("stalled_pct" not in first["pressure"]["cpu"]["some"], "pressure rate on first cycle")


def test_rates_between_two_snapshots(case):
    _, (record,) = replay(case, "basic", ["1", "2"])
    close(record["interval_s"], 10.0, "interval_s")
    # /proc/stat total: 2000 ticks in the interval; user and nice exclude guest time.
    check_values(record["cpu"], {
        "cpus": 2, "user_pct": 10.0, "nice_pct": 0.5, "system_pct": 5.0, "idle_pct": 70.0,
        "iowait_pct": 5.0, "irq_pct": 1.0, "softirq_pct": 2.0, "steal_pct": 1.0,
        "guest_pct": 5.0, "guest_nice_pct": 0.5}, "cpu")
    check([c["cpu"] for c in record["cpus"]] == [0, 1], "cpus: %r" % record["cpus"])
    check_values(record["cpus"][0], {
        "user_pct": 10.0, "nice_pct": 0.0, "system_pct": 5.0, "idle_pct": 65.0,
        "iowait_pct": 5.0, "irq_pct": 1.0, "softirq_pct": 2.0, "steal_pct": 2.0,
        "guest_pct": 10.0, "guest_nice_pct": 0.0}, "cpu0")
    check_values(record["cpus"][1], {
        "user_pct": 10.0, "nice_pct": 1.0, "system_pct": 5.0, "idle_pct": 75.0,
        "iowait_pct": 5.0, "irq_pct": 1.0, "softirq_pct": 2.0, "steal_pct": 0.0,
        "guest_pct": 0.0, "guest_nice_pct": 1.0}, "cpu1")
    check_values(record["processes"], {"running": 2, "blocked": 0,
                                       "context_switches_per_s": 5000.0, "forks_per_s": 25.0},
                 "processes")
    check(record["load"] == {"avg1": 1.5, "avg5": 0.75, "avg15": 0.3, "runnable": 3,
                             "threads": 350}, "load: %r" % record["load"])
    check(record["memory"] == {
        "total_bytes": 16384000000, "available_bytes": 9216000000, "free_bytes": 1536000000,
        "buffers_bytes": 102400000, "cached_bytes": 6144000000, "dirty_bytes": 2560000,
        "writeback_bytes": 12288, "shmem_bytes": 409600000, "slab_bytes": 307200000,
        "swap_total_bytes": 4096000000, "swap_free_bytes": 3993600000,
        "swap_cached_bytes": 1024000, "huge_pages_total": 64, "huge_pages_free": 60,
        "huge_pages_reserved": 2, "huge_pages_surplus": 0, "huge_page_size_bytes": 2097152},
        "memory: %r" % record["memory"])
    check_values(record["vmstat"], {
        "pgpgin_per_s": 500.0, "pgpgout_per_s": 200.0, "pswpin_per_s": 1.0,
        "pswpout_per_s": 2.0, "pgmajfault_per_s": 5.0, "oom_kill": 3, "oom_kills": 2}, "vmstat")


def test_disks_and_interfaces(case):
    _, (record,) = replay(case, "basic", ["1", "2"])
    # loop0, ram0 and the partitions sda1 and nvme0n1p1 are left out by default.
    check([d["name"] for d in record["disks"]] == ["dm-0", "nvme0n1", "sda"],
          "disks: %r" % [d["name"] for d in record["disks"]])
    check_values(by_name(record["disks"], "sda"), {
        "major": 8, "minor": 0, "in_flight": 4, "reads_per_s": 50.0, "writes_per_s": 100.0,
        "read_bytes_per_s": 2048000.0, "write_bytes_per_s": 1024000.0,
        "read_merges_per_s": 5.0, "write_merges_per_s": 30.0, "read_wait_ms": 5.0,
        "write_wait_ms": 3.0, "util_pct": 50.0, "queue_depth": 1.2}, "sda")
    idle = by_name(record["disks"], "nvme0n1")
    check_values(idle, {"reads_per_s": 0.0, "util_pct": 0.0, "queue_depth": 0.0}, "nvme0n1")
    check("read_wait_ms" not in idle and "write_wait_ms" not in idle,
          "a wait time without a completed request: %r" % idle)
    check_values(by_name(record["disks"], "dm-0"), {
        "reads_per_s": 10.0, "read_bytes_per_s": 40960.0, "read_wait_ms": 0.2,
        "util_pct": 5.0, "queue_depth": 0.06, "in_flight": 1}, "dm-0")
    check("write_wait_ms" not in by_name(record["disks"], "dm-0"), "dm-0 wrote nothing")
    check([i["name"] for i in record["interfaces"]] == ["eth0"],
          "lo is left out by default: %r" % record["interfaces"])
    check(record["interfaces"][0] == {
        "name": "eth0", "rx_bytes_per_s": 100000.0, "rx_packets_per_s": 100.0,
        "rx_errors_per_s": 1.0, "rx_drops_per_s": 2.0, "tx_bytes_per_s": 50000.0,
        "tx_packets_per_s": 50.0, "tx_errors_per_s": 0.0, "tx_drops_per_s": 0.5},
        "eth0: %r" % record["interfaces"][0])


def test_included_devices_on_request(case):
    _, (record,) = replay(case, "basic", ["1", "2"], include_loop_devices=True,
                          include_ram_devices=True, include_partitions=True,
                          include_loopback=True)
    check([d["name"] for d in record["disks"]] ==
          ["dm-0", "loop0", "nvme0n1", "nvme0n1p1", "ram0", "sda", "sda1"],
          "disks: %r" % [d["name"] for d in record["disks"]])
    check_values(by_name(record["disks"], "loop0"), {"reads_per_s": 1.0}, "loop0")
    check_values(by_name(record["disks"], "sda1"), {"reads_per_s": 50.0, "in_flight": 3}, "sda1")
    check_values(by_name(record["interfaces"], "lo"),
                 {"rx_bytes_per_s": 400.0, "tx_packets_per_s": 4.0}, "lo")


def test_pressure_and_postgres_processes(case):
    first, (record,) = replay(case, "basic", ["1", "2"])
    pressure = record["pressure"]
    check(sorted(pressure) == ["cpu", "io", "memory"], "pressure: %r" % pressure)
    check(pressure["cpu"]["some"] == {"avg10": 20.0, "avg60": 5.5, "avg300": 3.25,
                                      "total_us": 3000000, "stalled_pct": 20.0},
          "cpu some: %r" % pressure["cpu"]["some"])
    check_values(pressure["cpu"]["full"], {"total_us": 0, "stalled_pct": 0.0}, "cpu full")
    check(sorted(pressure["memory"]) == ["some"], "memory has no full line: %r" % pressure)
    check_values(pressure["memory"]["some"], {"avg10": 0.1, "stalled_pct": 1.0}, "memory some")
    check_values(pressure["io"]["some"], {"stalled_pct": 5.0}, "io some")
    check_values(pressure["io"]["full"], {"avg10": 2.5, "stalled_pct": 2.5}, "io full")
    # 100 and 101 are postgres, 103 postmaster; 102 is bash, 104's name is "a) (postgres".
    for r in (first, record):
        check(r["postgres"] == {"processes": 3, "rss_bytes": 1750 * PAGE_SIZE, "truncated": False},
              "postgres: %r" % r["postgres"])


def test_counter_wrap_and_reset_never_spike(case):
    _, (record,) = replay(case, "wrap", ["1", "2"])
    close(record["interval_s"], 2.0, "interval_s")
    eth0 = by_name(record["interfaces"], "eth0")
    # rx_bytes wraps at 32 bits (4294966296 -> 704), tx_bytes at 64 bits.
    check_values(eth0, {"rx_bytes_per_s": 852.0, "rx_packets_per_s": 100.0,
                        "tx_bytes_per_s": 616.0, "tx_packets_per_s": 5.0}, "eth0")
    check_no_rates(by_name(record["interfaces"], "eth1"), "eth1 (counters reset)")
    # sdb: read sectors wrap at 64 bits, io_ticks (ms) at 32 bits.
    check_values(by_name(record["disks"], "sdb"), {
        "reads_per_s": 5.0, "read_bytes_per_s": 51200.0, "read_wait_ms": 1.0,
        "writes_per_s": 10.0, "write_bytes_per_s": 102400.0, "write_wait_ms": 1.0,
        "util_pct": 50.0, "queue_depth": 0.1, "in_flight": 1}, "sdb")
    check_no_rates(by_name(record["disks"], "sdc"), "sdc (counters reset)")
    check_no_rates(by_name(record["disks"], "sdd"), "sdd (another device, 8:49, same name)")
    check_values(record["vmstat"], {"pgpgin_per_s": 296.0, "pgpgout_per_s": 50.0}, "vmstat")
    check_values(record["processes"], {"context_switches_per_s": 50.0}, "processes")


def test_devices_and_cpus_that_come_and_go(case):
    _, (second, third) = replay(case, "churn", ["1", "2", "3"])
    # 1 -> 2: cpu2 went offline; the total's percentages are left out.
    check_values(second["cpu"], {"cpus": 3}, "cpu")
    check_no_rates(second["cpu"], "cpu total while a CPU went offline")
    check([c["cpu"] for c in second["cpus"]] == [0, 1, 3], "cpus: %r" % second["cpus"])
    for cpu in second["cpus"]:
        check_values(cpu, {"user_pct": 25.0, "idle_pct": 75.0, "system_pct": 0.0},
                     "cpu%d" % cpu["cpu"])
    check([d["name"] for d in second["disks"]] == ["sda", "sdc"], "disks: %r" % second["disks"])
    check_values(by_name(second["disks"], "sda"), {"reads_per_s": 100.0}, "sda")
    check_no_rates(by_name(second["disks"], "sdc"), "sdc (new)")
    check_values(by_name(second["interfaces"], "eth0"), {"rx_bytes_per_s": 250.0}, "eth0")
    check_no_rates(by_name(second["interfaces"], "eth1"), "eth1 (new)")
    # 2 -> 3: cpu2 is back with its counters restarted.
    check_values(third["cpu"], {"cpus": 4}, "cpu")
    check_no_rates(third["cpu"], "cpu total while a CPU came back")
    check_no_rates(by_name(third["cpus"], 2), "cpu2 (back)")
    for n in (0, 1, 3):
        check_values(by_name(third["cpus"], n), {"system_pct": 50.0, "idle_pct": 50.0,
                                                 "user_pct": 0.0}, "cpu%d" % n)
    check_no_rates(by_name(third["disks"], "sdb"), "sdb (back)")
    check_values(by_name(third["disks"], "sdc"), {"reads_per_s": 100.0}, "sdc")
    check_values(by_name(third["interfaces"], "eth1"), {"rx_packets_per_s": 1000.0}, "eth1")
    check_no_rates(by_name(third["interfaces"], "wlan0"), "wlan0 (back)")


def test_malformed_files_cost_only_their_lines(case):
    root = os.path.join(FIXTURES, "malformed")
    result, payload = case.once(sysstat_config(case, proc_root=root))
    record = only_record(payload)
    errors = {e["source"]: e["message"] for e in record["errors"]}
    expected = {
        "stat": 'stat: line 2: "x": not an unsigned integer',
        "loadavg": "loadavg: line 1: expected",
        "meminfo": 'meminfo: line 2: "lots": not an unsigned integer of kB',
        "vmstat": 'vmstat: line 1: "pgpgin"',
        "diskstats": 'diskstats: line 2: "8": fewer than 14 columns',
        "net/dev": 'net/dev: line 4: "eth1": expected 16 counters',
        "pressure/cpu": 'pressure/cpu: line 1: "some"',
    }
    check(sorted(errors) == sorted(expected), "errors: %r" % errors)
    for source, text in expected.items():
        check(errors[source].startswith(root + "/") and text in errors[source],
              "error of %s: %r" % (source, errors[source]))
        check(("warning: plugin sysstat: " + errors[source]) in result.stderr,
              "not logged: %r" % errors[source])
    # What parsed is still reported.
    check([c["cpu"] for c in record["cpus"]] == [1], "cpus: %r" % record["cpus"])
    check(record["processes"] == {"running": 1}, "processes: %r" % record["processes"])
    check(record["memory"] == {"total_bytes": 102400, "cached_bytes": 7168},
          "memory: %r" % record["memory"])
    check("load" not in record, "a load without its averages: %r" % record.get("load"))
    check([d["name"] for d in record["disks"]] == ["sda"], "disks: %r" % record["disks"])
    check(sorted(i["name"] for i in record["interfaces"]) == ["bad\ufffd\ufffd", "eth0"]
          or sorted(i["name"] for i in record["interfaces"]) == ["bad??", "eth0"],
          "interfaces: %r" % record["interfaces"])
    check(sorted(record["pressure"]["cpu"]) == ["full"], "pressure: %r" % record["pressure"])
    check(record["postgres"]["processes"] == 1, "postgres: %r" % record["postgres"])
    check(plugin_health(payload, "sysstat")["records_invalid"] == 0, "a record was refused")


def test_unreadable_root_is_reported_every_cycle_logged_once(case):
    missing = case.path("no-such-proc")
    payloads_path = case.path("payloads.jsonl")
    case.write_config(sysstat_config(case, proc_root=missing), push_interval=1)
    daemon = case.start_daemon("--output", "file://" + payloads_path)

    def two_records():
        daemon.check_running()
        found = [r for p in read_payload_file(payloads_path) for r in records(p, "sysstat")]
        return found if len(found) >= 2 else None
    found = wait_until(two_records, "two sysstat records")
    daemon.terminate()
    for record in found:
        check([e["source"] for e in record["errors"]] == ["stat"] and
              "No such file or directory" in record["errors"][0]["message"],
              "errors: %r" % record.get("errors"))
    check(daemon.stderr().count("warning: plugin sysstat: " + missing) == 1,
          "expected one warning:\n" + daemon.stderr())


def test_bad_options_refuse_init(case):
    for options, message in (({"proc_root": "proc"}, 'proc_root = "proc": must be an absolute'),
                             ({"clock": "wall"}, 'clock = "wall": must be "monotonic" or'),
                             ({"max_processes": 0}, "max_processes = 0: must be from 1")):
        case.write_config(sysstat_config(case, **options))
        result = case.run("--once", "--output", "-")
        check(message in result.stderr, "expected %r in:\n%s" % (message, result.stderr))
        check(not records(result.payload(), "sysstat"), "a record from a refused init")


def test_this_machine_within_bounds(case):
    payloads_path = case.path("payloads.jsonl")
    case.write_config(sysstat_config(case, include_loopback=True), push_interval=1)
    daemon = case.start_daemon("--output", "file://" + payloads_path)

    def rated():
        daemon.check_running()
        found = [r for p in read_payload_file(payloads_path) for r in records(p, "sysstat")
                 if "interval_s" in r]
        return found[0] if found else None
    record = wait_until(rated, "a sysstat record with rates")
    daemon.terminate()
    check("errors" not in record, "errors on this machine: %r" % record.get("errors"))
    check(0.5 <= record["interval_s"] <= 60, "interval_s: %r" % record["interval_s"])
    check(record["cpu"]["cpus"] == len(record["cpus"]) >= 1, "cpus: %r" % record["cpu"])
    for cpu in [record["cpu"]] + record["cpus"]:
        if "idle_pct" not in cpu:
            continue   # a CPU whose counters did not advance (idle, nohz) has no rates
        values = [cpu[k] for k in CPU_PCT]
        check(all(0 <= v <= 100 for v in values), "percentages out of 0..100: %r" % cpu)
        check(abs(sum(values) - 100) < 0.5, "percentages add up to %r: %r" % (sum(values), cpu))
    check("idle_pct" in record["cpu"], "no CPU percentages: %r" % record["cpu"])
    memory = record["memory"]
    check(memory["total_bytes"] > 0 and memory["free_bytes"] <= memory["total_bytes"]
          and memory["available_bytes"] <= memory["total_bytes"], "memory: %r" % memory)
    check(record["load"]["threads"] >= record["load"]["runnable"], "load: %r" % record["load"])
    check(any(i["name"] == "lo" for i in record["interfaces"]), "no lo: %r" % record["interfaces"])

    def rates(obj):
        return {k: v for k, v in obj.items() if k.endswith("_per_s") or k.endswith("_ms")
                or k in ("queue_depth", "util_pct", "stalled_pct")}
    everything = [record["processes"], record["vmstat"]] + record["disks"] + record["interfaces"]
    for kind in record.get("pressure", {}).values():
        everything += list(kind.values())
    for obj in everything:
        for key, value in rates(obj).items():
            check(value >= 0, "negative %s: %r" % (key, obj))
    for disk in record["disks"]:
        check(0 <= disk.get("util_pct", 0) <= 100, "util_pct: %r" % disk)
    check(record["postgres"]["truncated"] is False, "postgres: %r" % record["postgres"])


def postgres_processes(server):
    """The postmaster and its children, from the kernel's list of children."""
    children_file = "/proc/%d/task/%d/children" % (server.pid, server.pid)
    with open(children_file) as f:
        children = [int(p) for p in f.read().split()]
    return [server.pid] + children


def rss_bytes(pid):
    with open("/proc/%d/statm" % pid) as f:
        return int(f.read().split()[1]) * PAGE_SIZE


def test_counts_a_real_postgres_server(case):
    server = PostgresServer(case)
    pids = postgres_processes(server)
    check(len(pids) >= 4, "expected the postmaster and its helpers: %r" % pids)
    # A proc root holding only this server's processes and the test's own,
    # so that other servers on the machine do not change the count.
    root = case.path("proc")
    os.mkdir(root)
    for pid in pids + [os.getpid(), os.getppid()]:
        os.symlink("/proc/%d" % pid, os.path.join(root, str(pid)))
    _, payload = case.once(sysstat_config(case, proc_root=root))
    postgres = only_record(payload)["postgres"]
    # A backend of the harness's last psql may still have been exiting.
    lasting = [pid for pid in pids if pid in postgres_processes(server)]
    check(len(lasting) >= 4, "the server's processes went away: %r" % pids)
    check(postgres["processes"] == len(lasting), "expected %d postgres processes, got %r"
          % (len(lasting), postgres))
    expected_rss = sum(rss_bytes(pid) for pid in lasting)
    check(0.5 * expected_rss <= postgres["rss_bytes"] <= 2 * expected_rss,
          "rss_bytes %r, statm says %r" % (postgres["rss_bytes"], expected_rss))
    # The same server through the real /proc: counted among whatever else runs.
    _, payload = case.once(sysstat_config(case))
    # Counted after the run: a process alive now was alive during it.
    still_running = [pid for pid in pids if pid in postgres_processes(server)]
    check(only_record(payload)["postgres"]["processes"] >= len(still_running),
          "the real /proc shows fewer postgres processes than the server's %d"
          % len(still_running))

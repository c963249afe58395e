"""The disk plugin: filesystem usage of a real throwaway PostgreSQL's data
directory, pg_wal (moved behind a symlink), a tablespace and the log
directory; the configured-paths mode; missing and unreachable paths (the
latter with the collector run as an unprivileged user, since root passes
every permission check); the mountinfo parser through crafted mount tables
(tests/fixtures/disk/mountinfo.template)."""

import json
import os
import pwd
import shutil
import subprocess

from harness import (Result, check, check_logged_once, lines_containing, read_payload_file,
                     records, wait_until)
from pg import PostgresServer

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "fixtures", "disk")
WAL_SEGMENT = 16 * 1024 * 1024
USAGE_KEYS = ("total_bytes", "used_bytes", "free_bytes", "available_bytes", "used_percent",
              "inodes_total", "inodes_used", "inodes_free", "inodes_used_percent", "read_only")


def disk_path(case):
    """The bundled plugin, built in build/plugins (not with the test plugins)."""
    return os.path.join(case.env.build_dir, "plugins", "disk.so")


def disk_config(case, **options):
    options.setdefault("path", disk_path(case))
    options.setdefault("interval", 1)
    return {"disk": options}


def disk_record(payload):
    found = records(payload, "disk_usage")
    check(len(found) == 1, "expected one disk_usage record, got %d: %r" % (len(found), payload))
    return found[0]


def entries(record, role):
    return [p for p in record["paths"] if p["role"] == role]


def entry(record, role):
    found = entries(record, role)
    check(len(found) == 1, "expected one %s entry, got %r" % (role, record["paths"]))
    return found[0]


def check_usage(item, path):
    """The statvfs numbers hold together and match Python's statvfs of `path`."""
    for key in USAGE_KEYS:
        check(key in item, "%s lacks %s: %r" % (path, key, item))
    vfs = os.statvfs(path)
    check(item["total_bytes"] == vfs.f_blocks * vfs.f_frsize, "total_bytes of %s: %r, statvfs "
          "says %d" % (path, item, vfs.f_blocks * vfs.f_frsize))
    check(item["inodes_total"] == vfs.f_files, "inodes_total of %s: %r" % (path, item))
    check(item["used_bytes"] + item["free_bytes"] == item["total_bytes"]
          and item["available_bytes"] <= item["free_bytes"], "bytes of %s: %r" % (path, item))
    check(item["inodes_used"] + item["inodes_free"] == item["inodes_total"],
          "inodes of %s: %r" % (path, item))
    expected = 100.0 * item["used_bytes"] / (item["used_bytes"] + item["available_bytes"])
    check(abs(item["used_percent"] - expected) < 1e-9, "used_percent of %s: %r" % (path, item))


def check_mount(item, path):
    """mount_point, device and fstype as util-linux's findmnt sees them."""
    done = subprocess.run(["findmnt", "-n", "-o", "TARGET,SOURCE,FSTYPE", "-T", path],
                          capture_output=True, text=True, check=True)
    target, source, fstype = done.stdout.split()
    # findmnt adds "[/subdir]" to the source of a bind mount.
    source = source.split("[")[0]
    check((item["mount_point"], item["device"], item["fstype"]) == (target, source, fstype),
          "mount of %s: %r, findmnt says %s" % (path, item, done.stdout.strip()))


def tree_size(path):
    """(bytes, regular files) under path, not following symlinks."""
    total = files = 0
    for root, _, names in os.walk(path):
        for name in names:
            st = os.lstat(os.path.join(root, name))
            if (st.st_mode & 0o170000) == 0o100000:
                total += st.st_size
                files += 1
    return total, files


def check_size(item, path):
    before = tree_size(path)
    check((item["size_bytes"], item["size_files"]) == before and
          item["size_truncated"] is False and item["size_unreadable_dirs"] == 0,
          "size of %s: %r, the tree holds %d bytes in %d files" % ((path, item) + before))


def owned_by_postgres(case, name):
    path = case.path(name)
    os.mkdir(path, 0o700)
    entry_ = pwd.getpwnam("postgres")
    if os.geteuid() == 0:
        os.chown(path, entry_.pw_uid, entry_.pw_gid)
    return path


def server_with_tablespace_and_moved_wal(case, **settings):
    """A server whose pg_wal is a symlink to another directory, with a
    tablespace `ts` in a third and the logging collector on."""
    server = PostgresServer(case, logging_collector=True, **settings)
    server.stop()
    wal_home = owned_by_postgres(case, "walhome")
    moved = os.path.join(wal_home, "pg_wal")
    shutil.move(os.path.join(server.data_dir, "pg_wal"), moved)
    os.symlink(moved, os.path.join(server.data_dir, "pg_wal"))
    server.start()
    tablespace_dir = owned_by_postgres(case, "tblspc")
    server.psql("CREATE TABLESPACE ts LOCATION '%s'" % tablespace_dir)
    server.psql("CREATE TABLE in_ts (id int) TABLESPACE ts")
    return server, moved, tablespace_dir


def test_paths_read_from_the_server(case):
    server, moved_wal, tablespace_dir = server_with_tablespace_and_moved_wal(case)
    _, payload = case.once(disk_config(case, conninfo=server.conninfo()))
    record = disk_record(payload)
    check(record["discovery"] == {"source": "server"}, "discovery: %r" % record["discovery"])
    check([p["role"] for p in record["paths"]] ==
          ["data_directory", "wal", "tablespace", "log_directory"], "paths: %r" % record["paths"])

    data = entry(record, "data_directory")
    check(data["path"] == server.data_dir and data["real_path"] == os.path.realpath(server.data_dir)
          and "link_target" not in data and "size_bytes" not in data, "data_directory: %r" % data)
    check_usage(data, server.data_dir)
    check_mount(data, server.data_dir)

    wal = entry(record, "wal")
    check(wal["path"] == os.path.join(server.data_dir, "pg_wal") and wal["link_target"] == moved_wal
          and wal["real_path"] == os.path.realpath(moved_wal), "wal: %r" % wal)
    check_usage(wal, moved_wal)
    check_mount(wal, moved_wal)
    check_size(wal, moved_wal)
    check(wal["size_files"] >= 1 and wal["size_bytes"] % WAL_SEGMENT == 0,
          "pg_wal holds whole segments: %r" % wal)

    tablespace = entry(record, "tablespace")
    oid = int(server.psql("SELECT oid FROM pg_tablespace WHERE spcname = 'ts'"))
    check(tablespace["name"] == "ts" and tablespace["oid"] == oid
          and tablespace["path"] == tablespace_dir, "tablespace: %r" % tablespace)
    check_usage(tablespace, tablespace_dir)

    log = entry(record, "log_directory")
    log_dir = os.path.join(server.data_dir, "log")
    check(log["path"] == log_dir and os.listdir(log_dir), "log_directory: %r" % log)
    check_size(log, log_dir)
    check(log["size_files"] >= 1 and log["size_bytes"] > 0, "log files: %r" % log)


def test_session_is_named_tagged_persistent_and_hides_the_password(case):
    server = PostgresServer(case, log_statement="all", log_line_prefix="%a|")
    server.psql("CREATE ROLE watcher LOGIN PASSWORD 'secret-pw-123'")
    conninfo = server.conninfo(user="watcher") + " password=secret-pw-123"
    out = case.path("out.jsonl")
    case.write_config(disk_config(case, conninfo=conninfo), backend_url="file://" + out,
                      push_interval=1)
    daemon = case.start_daemon()
    wait_until(lambda: len([p for p in read_payload_file(out) if records(p, "disk_usage")]) >= 2,
               "two cycles")
    sessions = server.psql("SELECT application_name FROM pg_stat_activity "
                           "WHERE usename = 'watcher'").split()
    check(sessions == ["pganalytics-collector"], "one persistent session: %r" % sessions)
    statements = [l for l in server.log_text().splitlines() if "statement:" in l
                  and "pg_settings" in l]
    check(len(statements) >= 2 and all(l.startswith("pganalytics-collector|") and
                                       "/* pganalytics */" in l for l in statements),
          "statements:\n" + "\n".join(statements))
    daemon.terminate()
    server.stop()
    # Now the connection fails: the message names the server, never the password.
    result = case.run("--once", "--output", "-")
    text = result.stderr + result.stdout
    check("cannot connect to PostgreSQL watcher@" in text and "secret-pw-123" not in text
          and "secret-pw-123" not in daemon.stderr(), "messages:\n" + text)


def test_role_without_settings_privilege(case):
    server, _, tablespace_dir = server_with_tablespace_and_moved_wal(case)
    server.psql("CREATE ROLE plain LOGIN")
    config = disk_config(case, conninfo=server.conninfo(user="plain"),
                         data_directory=server.data_dir)
    result, payload = case.once(config)
    record = disk_record(payload)
    check(record["discovery"]["source"] == "server"
          and "GRANT pg_read_all_settings TO \"plain\"" in record["discovery"]["error"],
          "discovery: %r" % record["discovery"])
    check_logged_once(result.stderr, "warning",
                      "plugin disk: role \"plain\" may not read data_directory and log_directory")
    check([p["role"] for p in record["paths"]] == ["data_directory", "wal", "tablespace"],
          "configured data directory and the server's tablespace: %r" % record["paths"])
    check(entry(record, "tablespace")["path"] == tablespace_dir, "tablespace: %r" % record["paths"])

    server.psql("GRANT pg_read_all_settings TO plain")
    _, payload = case.once(config)
    record = disk_record(payload)
    check(record["discovery"] == {"source": "server"}, "after the grant: %r" % record["discovery"])
    check(entry(record, "log_directory")["path"] == os.path.join(server.data_dir, "log"),
          "log directory after the grant: %r" % record["paths"])


def make_tree(root, files):
    """Create `files` ({relative path: size}) under root."""
    for name, size in files.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(b"x" * size)


def test_configured_paths_without_a_server(case):
    data = case.path("data")
    make_tree(data, {"pg_wal/000000010000000000000001": 4096,
                     "pg_wal/000000010000000000000002": 100,
                     "pg_wal/archive_status/000000010000000000000001.done": 0,
                     "pg_wal/summaries/x": 7,
                     "logs/postgresql.log": 1234, "PG_VERSION": 3})
    os.symlink(data + "/PG_VERSION", data + "/pg_wal/a-link")  # not followed, not counted
    _, payload = case.once(disk_config(case, data_directory=data, log_directory="logs",
                                       extra_paths=[case.tmp]))
    record = disk_record(payload)
    check(record["discovery"] == {"source": "config"}, "discovery: %r" % record["discovery"])
    check([(p["role"], p["path"]) for p in record["paths"]] ==
          [("data_directory", data), ("wal", data + "/pg_wal"),
           ("log_directory", data + "/logs"), ("extra", case.tmp)], "paths: %r" % record["paths"])
    wal = entry(record, "wal")
    check((wal["size_bytes"], wal["size_files"], wal["size_truncated"]) == (4203, 4, False),
          "pg_wal size: %r" % wal)
    log = entry(record, "log_directory")
    check((log["size_bytes"], log["size_files"]) == (1234, 1), "log size: %r" % log)
    for item in record["paths"]:
        check_usage(item, item["path"])
        check_mount(item, item["path"])
    check("mounts" not in record, "all_mounts is off by default: %r" % record)


def test_size_walk_stops_at_max_entries(case):
    data = case.path("data")
    make_tree(data, dict(("pg_wal/%02d" % i, 10) for i in range(10)))
    _, payload = case.once(disk_config(case, data_directory=data, walk_max_entries=3))
    wal = entry(disk_record(payload), "wal")
    check(wal["size_truncated"] is True and wal["size_files"] == 3 and wal["size_bytes"] == 30,
          "truncated walk: %r" % wal)
    _, payload = case.once(disk_config(case, data_directory=data, walk_max_entries=0))
    wal = entry(disk_record(payload), "wal")
    check("size_bytes" not in wal and "size_truncated" not in wal, "no walk: %r" % wal)


def test_missing_path_is_logged_once_per_streak(case):
    data = case.path("data")
    os.makedirs(data + "/pg_wal")
    missing = case.path("comes-and-goes")
    out = case.path("out.jsonl")
    case.write_config(disk_config(case, data_directory=data, extra_paths=[missing]),
                      backend_url="file://" + out, push_interval=1)
    daemon = case.start_daemon()
    warning = "plugin disk: extra %s: lstat: No such file or directory" % missing

    def extra_entries():
        return [entry(disk_record(p), "extra") for p in read_payload_file(out)
                if records(p, "disk_usage")]

    wait_until(lambda: len(extra_entries()) >= 3, "three cycles")
    check(all(e.get("error") == "lstat: No such file or directory" for e in extra_entries()),
          "the missing path: %r" % extra_entries())
    check(entry(disk_record(read_payload_file(out)[0]), "data_directory").get("real_path") == data,
          "the other paths are still reported")
    check(daemon.stderr().count(warning) == 1, "warned %d times" % daemon.stderr().count(warning))

    os.mkdir(missing)
    daemon.wait_for_log("plugin disk: extra %s: reachable again" % missing)
    seen = len(extra_entries())
    wait_until(lambda: len(extra_entries()) >= seen + 2 and "error" not in extra_entries()[-1],
               "the path reported again")
    os.rmdir(missing)
    wait_until(lambda: daemon.stderr().count(warning) == 2, "the second streak's warning")
    daemon.terminate()
    check(daemon.stderr().count("reachable again") == 1, "recovery logged once")


def test_server_going_away_keeps_the_last_known_paths(case):
    server = PostgresServer(case)
    out = case.path("out.jsonl")
    case.write_config(disk_config(case, conninfo=server.conninfo()),
                      backend_url="file://" + out, push_interval=1)
    daemon = case.start_daemon()

    def sources():
        return [disk_record(p)["discovery"]["source"] for p in read_payload_file(out)
                if records(p, "disk_usage")]

    wait_until(lambda: "server" in sources(), "a cycle with the server's paths")
    server.stop()
    wait_until(lambda: sources()[-2:] == ["last_known", "last_known"], "two cycles without it")
    last = disk_record(read_payload_file(out)[-1])
    check("cannot connect to PostgreSQL postgres@" in last["discovery"]["error"]
          and entry(last, "data_directory")["real_path"] == server.data_dir,
          "without the server: %r" % last)
    check(len(lines_containing(daemon.stderr(), "cannot connect to PostgreSQL")) == 1,
          "the connection failure is logged once:\n" + daemon.stderr())
    server.start()
    daemon.wait_for_log("plugin disk: read the paths from the server again")
    daemon.terminate()


def run_unprivileged(case):
    """Run --once --output - as a user that permissions apply to: `nobody`
    when the tests run as root (root passes every permission check), else
    the tests' own user.  The case's files must be reachable by it."""
    argv = [case.env.binary, "-c", case.config_path, "--once", "--output", "-"]
    if os.geteuid() == 0:
        account = pwd.getpwnam("nobody")
        os.chmod(case.tmp, 0o711)
        os.makedirs(case.state_dir, exist_ok=True)
        os.chown(case.state_dir, account.pw_uid, account.pw_gid)
        os.chmod(case.config_path, 0o644)
        argv = ["runuser", "-u", "nobody", "--"] + argv
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    result = Result(argv, done.returncode, done.stdout, done.stderr)
    case.results.append(result)      # case.finish() looks for sanitizer reports in it
    result.check_status(0)
    return result, json.loads(done.stdout)


def test_unreachable_paths_as_an_unprivileged_user(case):
    data = case.path("data")
    make_tree(data, {"pg_wal/seg": 10})
    os.chmod(data, 0o755)
    os.chmod(data + "/pg_wal", 0o000)        # statvfs works, the walk cannot open it
    locked = case.path("locked")             # like a 0700 data directory of another user
    os.makedirs(locked + "/inside")
    os.chmod(locked, 0o000)
    closed = case.path("closed")
    os.mkdir(closed, 0o000)
    case.write_config(disk_config(case, data_directory=data, log_directory=closed,
                                  extra_paths=[locked + "/inside"]))
    try:
        done, payload = run_unprivileged(case)
    finally:
        for path in (data + "/pg_wal", locked, closed):
            os.chmod(path, 0o700)            # so that the case's directory can be removed
    record = disk_record(payload)
    inside = entry(record, "extra")
    check(inside["error"] == "lstat: Permission denied" and "total_bytes" not in inside,
          "path under a directory it may not search: %r" % inside)
    hint = check_logged_once(done.stderr, "warning", "plugin disk: extra %s/inside: lstat: "
                             "Permission denied; the collector's user needs search" % locked)
    check("--allow-group-access" in hint, "hint: %r" % hint)
    wal = entry(record, "wal")
    check(wal["size_error"] == "open: Permission denied" and "size_bytes" not in wal,
          "pg_wal, mode 000: %r" % wal)
    check_usage(wal, data + "/pg_wal")
    log = entry(record, "log_directory")
    check(log["size_error"] == "open: Permission denied", "log directory, mode 000: %r" % log)
    check_usage(log, closed)
    check_usage(entry(record, "data_directory"), data)


def fixture_mountinfo(case):
    """tests/fixtures/disk/mountinfo.template with @ROOT@ = a directory of
    the test holding every mount point, written (bytes, no final newline)
    to the test's directory.  Returns (path, root)."""
    root = case.path("mnt")
    for name in (b"a", b"ab", b"with space", b"tab\there", b"back\\slash", b"opt",
                 b"many", b"proc", b"tmp", b"bind", b"top", b"last", b"bad\xff"):
        os.makedirs(os.path.join(root.encode(), name))
    with open(os.path.join(FIXTURES, "mountinfo.template"), "rb") as f:
        text = f.read().replace(b"@ROOT@", root.replace(" ", "\\040").encode())
    path = case.path("mountinfo")
    with open(path, "wb") as f:
        f.write(text.rstrip(b"\n"))
    return path, root


def test_mountinfo_parser_edge_cases(case):
    mountinfo, root = fixture_mountinfo(case)
    paths = [root + "/a/x", root + "/ab", root + "/with space/deep", root + "/top"]
    for path in paths:
        os.makedirs(path, exist_ok=True)
    result, payload = case.once(disk_config(case, mountinfo=mountinfo, all_mounts=True,
                                            extra_paths=paths))
    record = disk_record(payload)
    found = [(m["mount_point"], m["device"], m["device_number"], m["fstype"])
             for m in record["mounts"]]
    r = root
    check(found == [
        (r + "/a", "/dev/sda1", "8:1", "ext4"),
        (r + "/ab", "/dev/sdb", "8:16", "xfs"),
        (r + "/with space", "my disk", "8:32", "ext4"),
        (r + "/tab\there", "/dev/sdc", "8:33", "ext4"),
        (r + "/back\\slash", "/dev/sdd", "8:48", "ext4"),
        (r + "/opt", "server:/export", "0:50", "nfs4"),
        (r + "/many", "/dev/sde", "8:64", "ext4"),
        (r + "/tmp", "tmpfs", "0:60", "tmpfs"),
        (r + "/top", "/dev/sdg", "8:97", "ext4"),
        (r + "/bad\\xff", "/dev/sdh", "8:112", "btrfs"),
        (r + "/last", "/dev/sdi", "8:128", "ext4"),
    ], "mounts:\n" + "\n".join(map(repr, found)))
    for m in record["mounts"]:
        check_usage(m, m["mount_point"].encode().replace(b"\\xff", b"\xff"))
    by_path = dict((p["path"], p["mount_point"]) for p in record["paths"])
    check(by_path == {root + "/a/x": root + "/a", root + "/ab": root + "/ab",
                      root + "/with space/deep": root + "/with space",
                      root + "/top": root + "/top"}, "mount of each path: %r" % by_path)
    check(entry_with(record, root + "/top")["device"] == "/dev/sdg", "the mount on top wins")
    check_logged_once(result.stderr, "warning", "plugin disk: %s line 14: fewer than the 6 "
                      "fields before the optional ones; line skipped (10 of 24 lines skipped)"
                      % mountinfo)


def entry_with(record, path):
    return [p for p in record["paths"] if p["path"] == path][0]


def test_unreadable_mountinfo(case):
    data = case.path("data")
    os.makedirs(data)
    result, payload = case.once(disk_config(case, data_directory=data,
                                            mountinfo=case.path("no-such-mountinfo")))
    record = disk_record(payload)
    check(record["mountinfo_error"].endswith("no-such-mountinfo: No such file or directory")
          and entry(record, "data_directory")["mount_point"] is None
          and entry(record, "data_directory")["total_bytes"] > 0, "record: %r" % record)
    check_logged_once(result.stderr, "warning", "plugin disk: cannot read %s"
                      % case.path("no-such-mountinfo"))


def test_bad_options_are_refused_at_init(case):
    for options, message in (
            ({}, "nothing to report: set conninfo"),
            ({"data_directory": "relative/dir"}, "data_directory = \"relative/dir\": must be an "
             "absolute path"),
            ({"extra_paths": ["/ok", "rel"]}, "extra_paths = \"rel\": must be an absolute path"),
            ({"data_directory": "/x", "walk_max_entries": -1}, "walk_max_entries = -1: must be"),
            ({"conninfo": "host='/tmp password=abc"}, "conninfo is not a valid libpq")):
        case.write_config(disk_config(case, **options))
        result = case.run("--once", "--output", "-")
        check_logged_once(result.stderr, "error", "plugin disk: " + message)
        check("abc" not in result.stderr or "password=abc" not in result.stderr,
              "password shown:\n" + result.stderr)

"""The pglog plugin on log files written by the test: every format, the
stitching of multi-line entries, tailing across rotations and restarts,
and bad input.  Each `--once` run is a fresh start of the collector, so a
sequence of runs on one state_dir is a sequence of restarts; positions
must carry over exactly.  (test_pglog_server.py runs real servers.)"""

import os
import shutil

from harness import check, lines_containing, plugin_health, records

PREFIX = "%m [%p] %q%u@%d %e "


def pglog_options(case, log_path, **extra):
    options = {"log_path": log_path, "log_line_prefix": PREFIX, "start_at": "beginning",
               "path": os.path.join(case.env.build_dir, "plugins", "pglog.so")}
    options.update(extra)
    return options


def run_pglog(case, log_path, **extra):
    """One --once run; returns (the single pg_log record, stderr)."""
    result, payload = case.once({"pglog": pglog_options(case, log_path, **extra)})
    found = records(payload, "pg_log")
    health = plugin_health(payload, "pglog")
    check(len(found) == 1, "expected one pg_log record, got %d; plugin: %r\n%s"
          % (len(found), health, result.stderr))
    check(health and health.get("records_invalid", 0) == 0, "invalid records: %r" % (health,))
    return found[0], result.stderr


def write(path, text, mode="w"):
    with open(path, mode, encoding="utf-8" if "b" not in mode else None) as f:
        f.write(text)


def line(pid, severity, message, user="alice", db="appdb", code="00000",
         time="2024-01-31 12:00:00.123 UTC"):
    return "%s [%d] %s@%s %s %s:  %s\n" % (time, pid, user, db, code, severity, message)


def bg_line(pid, severity, message, time="2024-01-31 12:00:00.123 UTC"):
    """A non-session process: the prefix stops at %q."""
    return "%s [%d] %s:  %s\n" % (time, pid, severity, message)


def events_of(record, kind):
    return [e for e in record["events"] if e["kind"] == kind]


def test_stderr_entries_are_stitched_and_counted(case):
    log = case.path("pg.log")
    write(log, line(10, "ERROR", 'relation "missing" does not exist at character 15', code="42P01")
          + line(10, "STATEMENT", "SELECT * FROM missing", code="42P01")
          + line(11, "LOG", "duration: 12.5 ms  statement: SELECT 'x', 42")
          + "\tFROM t WHERE name = 'bob'\n"
          + bg_line(12, "LOG", "checkpoint starting: time")
          + line(13, "FATAL", 'password authentication failed for user "bob"',
                 user="bob", db="otherdb", code="28P01")
          + line(13, "DETAIL", 'Connection matched pg_hba.conf line 1: "local all all md5"',
                 user="bob", db="otherdb", code="28P01")
          + line(14, "WARNING", "there is no transaction in progress", code="25P01"))
    rec, _ = run_pglog(case, log)
    check(rec["lines"] == 8 and rec["entries"] == 5 and rec["lines_unparsed"] == 0,
          "lines/entries: %r" % {k: rec[k] for k in ("lines", "entries", "lines_unparsed")})
    check(rec["severity"] == {"ERROR": 1, "LOG": 2, "FATAL": 1, "WARNING": 1}, rec["severity"])
    check(rec["sqlstate"] == {"42P01": 1, "28P01": 1, "25P01": 1}, rec["sqlstate"])
    check(rec["sqlstate_class"] == {"42": 1, "28": 1, "25": 1}, rec["sqlstate_class"])
    dbs = {d["name"]: d["count"] for d in rec["databases"]}
    check(dbs == {"appdb": 3, "otherdb": 1}, dbs)
    slow = events_of(rec, "slow_statement")
    check(len(slow) == 1 and slow[0]["duration_ms"] == 12.5
          and slow[0]["statement"] == "SELECT ?, ? FROM t WHERE name = ?", slow)
    check(len(events_of(rec, "auth_failure")) == 1, rec["events"])
    check(len(events_of(rec, "checkpoint_starting")) == 1, rec["events"])
    errors = {(e["severity"], e.get("sqlstate")): e for e in rec["errors"]}
    check(errors[("ERROR", "42P01")]["message"] == 'relation "missing" does not exist at character ?',
          rec["errors"])
    check(len(rec["errors"]) == 2, rec["errors"])   # WARNING is not an error


def test_every_prefix_escape_and_padding(case):
    prefix = "%-10u|%10d|%a|%r|%h|%b|%i|%c|%l|%s|%v|%x|%Q|%P|%n|%t|%e|%z%%|%q"
    text = ("alice     |     appdb|my app|[local]|[local]|client backend|SELECT|65b9a.1|7|"
            "2024-01-31 12:00:00 UTC|3/4|0|-123||1706702400.123|2024-01-31 12:00:00 UTC|22012|%|"
            "ERROR:  division by zero\n")
    log = case.path("pg.log")
    write(log, text)
    rec, stderr = run_pglog(case, log, log_line_prefix=prefix)
    check(rec["entries"] == 1 and rec["lines_unparsed"] == 0, stderr)
    check(rec["sqlstate"] == {"22012": 1}, rec["sqlstate"])
    check([a["name"] for a in rec["applications"]] == ["my app"], rec["applications"])
    check([u["name"] for u in rec["users"]] == ["alice"], rec["users"])
    check([d["name"] for d in rec["databases"]] == ["appdb"], rec["databases"])


def test_csvlog_records_spanning_lines(case):
    log = case.path("pg.csv")
    rows = [
        '2024-01-31 12:00:00.123 UTC,"alice","appdb",100,"[local]",65b9a.64,1,"SELECT",'
        '2024-01-31 12:00:00 UTC,3/4,0,ERROR,42P01,"relation ""missing"" does not exist",,,,,,'
        '"SELECT *\nFROM missing\nWHERE a = \'x\'",15,,"psql","client backend",,0\n',
        '2024-01-31 12:00:01.000 UTC,"bob","appdb",101,"[local]",65b9a.65,1,"SELECT",'
        '2024-01-31 12:00:00 UTC,3/5,0,LOG,00000,"duration: 250.000 ms  statement: SELECT 1\n'
        '  + 2",,,,,,,,,"app","client backend",,0\n',
        '2024-01-31 12:00:02.000 UTC,,,102,,65b9a.66,1,,2024-01-31 12:00:00 UTC,,0,LOG,00000,'
        '"checkpoint complete: wrote 7 buffers (0.1%); 0 WAL file(s) added, 0 removed, 0 recycled; '
        'write=0.5 s, sync=0.25 s, total=1.0 s; sync files=2, longest=0.001 s, average=0.001 s; '
        'distance=64 kB, estimate=128 kB",,,,,,,,,"","checkpointer",,0\n',
    ]
    write(log, "".join(rows))
    rec, stderr = run_pglog(case, log, format="csvlog")
    check(rec["lines"] == 6 and rec["entries"] == 3 and rec["records_malformed"] == 0,
          "%r\n%s" % ({k: rec[k] for k in ("lines", "entries", "records_malformed")}, stderr))
    check(rec["severity"] == {"ERROR": 1, "LOG": 2}, rec["severity"])
    slow = events_of(rec, "slow_statement")
    check(len(slow) == 1 and slow[0]["statement"] == "SELECT ? + ?" and slow[0]["application"] == "app",
          slow)
    cp = events_of(rec, "checkpoint_complete")
    check(len(cp) == 1 and cp[0]["buffers_written"] == 7 and cp[0]["write_s"] == 0.5
          and cp[0]["sync_s"] == 0.25 and cp[0]["distance_kb"] == 64 and cp[0]["estimate_kb"] == 128, cp)


def test_csvlog_record_cut_short_is_skipped(case):
    log = case.path("pg.csv")
    good = ('2024-01-31 12:00:00.123 UTC,"alice","appdb",100,"[local]",1.1,1,"SELECT",'
            '2024-01-31 12:00:00 UTC,3/4,0,LOG,00000,"hello",,,,,,,,,"psql","client backend",,0\n')
    cut = '2024-01-31 12:00:00.500 UTC,"alice","appdb",100,"[local]",1.1,2,"SELECT","unclosed\n'
    write(log, good + cut + good + "2024-01-31 12:00:00,too,few\n")
    rec, stderr = run_pglog(case, log, format="csvlog")
    check(rec["entries"] == 2 and rec["records_malformed"] == 2,
          "entries %d malformed %d\n%s" % (rec["entries"], rec["records_malformed"], stderr))
    check(lines_containing(stderr, "pg.csv:2: csv record whose quoted field never closes"), stderr)
    check(lines_containing(stderr, "pg.csv:4: csv record with too few columns"), stderr)


def test_jsonlog_entries(case):
    log = case.path("pg.json")
    write(log, '{"timestamp":"2024-01-31 12:00:00.123 UTC","user":"alice","dbname":"appdb","pid":7,'
               '"error_severity":"ERROR","state_code":"40P01","message":"deadlock detected",'
               '"detail":"Process 7 waits for ShareLock","application_name":"psql"}\n'
               '{"timestamp":"2024-01-31 12:00:01.000 UTC","pid":8,"error_severity":"LOG",'
               '"message":"temporary file: path \\"base/pgsql_tmp/pgsql_tmp8.0\\", size 1048576"}\n'
               'not json at all\n')
    rec, stderr = run_pglog(case, log, format="jsonlog")
    check(rec["entries"] == 2 and rec["records_malformed"] == 1, stderr)
    check(rec["sqlstate"] == {"40P01": 1}, rec["sqlstate"])
    check(len(events_of(rec, "deadlock")) == 1, rec["events"])
    tmp = events_of(rec, "temp_file")
    check(len(tmp) == 1 and tmp[0]["size_bytes"] == 1048576
          and tmp[0]["path"] == "base/pgsql_tmp/pgsql_tmp8.0", tmp)
    check(lines_containing(stderr, "pg.json:3: not a jsonlog line"), stderr)


def numbered(first, count):
    return "".join(line(100 + i, "LOG", "message %d" % i) for i in range(first, first + count))


def test_first_start_at_end_then_every_line_once(case):
    log = case.path("pg.log")
    write(log, numbered(0, 5))
    rec, _ = run_pglog(case, log, start_at="end")
    check(rec["entries"] == 0, "start_at = end read %d entries" % rec["entries"])
    write(log, numbered(5, 3), "a")
    rec, _ = run_pglog(case, log, start_at="end")
    check(rec["entries"] == 3, "after a restart: %d entries, expected 3" % rec["entries"])
    # Lines skipped at the first start are not counted: reading them would cost what skipping saves.
    check(rec["files"][0]["line"] == 3, rec["files"])
    rec, _ = run_pglog(case, log, start_at="end")
    check(rec["entries"] == 0, "nothing new, yet %d entries" % rec["entries"])


def test_partial_last_line_waits_for_its_end(case):
    log = case.path("pg.log")
    write(log, numbered(0, 2) + line(9, "LOG", "half")[:30])
    rec, _ = run_pglog(case, log)
    check(rec["entries"] == 2, "entries %d" % rec["entries"])
    write(log, line(9, "LOG", "half")[30:], "a")
    rec, _ = run_pglog(case, log)
    check(rec["entries"] == 1 and rec["lines"] == 1, "entries %d lines %d" % (rec["entries"], rec["lines"]))


def test_rotation_by_rename_reads_the_old_file_to_its_end(case):
    log = case.path("pg.log")
    write(log, numbered(0, 4))
    rec, _ = run_pglog(case, log)
    check(rec["entries"] == 4, rec["entries"])
    write(log, numbered(4, 2), "a")        # written before the rotation, not read yet
    os.rename(log, log + ".1")
    write(log, numbered(6, 3))
    rec, stderr = run_pglog(case, log)
    check(rec["entries"] == 5, "after the rename: %d entries, expected 2 + 3\n%s" % (rec["entries"], stderr))
    rec, _ = run_pglog(case, log)
    check(rec["entries"] == 0, "read twice: %d" % rec["entries"])


def test_copytruncate_reads_the_new_content_once(case):
    log = case.path("pg.log")
    write(log, numbered(0, 6))
    rec, _ = run_pglog(case, log)
    check(rec["entries"] == 6, rec["entries"])
    shutil.copy(log, log + ".1")
    with open(log, "r+") as f:
        f.truncate(0)
    write(log, numbered(6, 2), "a")
    rec, stderr = run_pglog(case, log)
    check(rec["entries"] == 2 and rec["truncations"] == 1,
          "entries %d truncations %d\n%s" % (rec["entries"], rec["truncations"], stderr))
    # Truncated and rewritten past the old position between two looks.
    with open(log, "r+") as f:
        f.truncate(0)
    write(log, numbered(20, 10), "a")
    rec, _ = run_pglog(case, log)
    check(rec["entries"] == 10 and rec["truncations"] == 1, "entries %d" % rec["entries"])


def test_directory_with_time_stamped_files(case):
    logdir = case.path("log")
    os.makedirs(logdir)
    first = os.path.join(logdir, "postgresql-2024-01-31_120000.log")
    write(first, numbered(0, 3))
    write(os.path.join(logdir, "postgresql-2024-01-31_120000.csv"), "not,read\n")
    rec, _ = run_pglog(case, logdir)
    check(rec["entries"] == 3, rec["entries"])
    write(first, numbered(3, 1), "a")
    second = os.path.join(logdir, "postgresql-2024-01-31_130000.log")
    write(second, numbered(4, 2))
    os.utime(first, (1e9, 1e9))
    rec, _ = run_pglog(case, logdir)
    check(rec["entries"] == 3 and len(rec["files"]) == 2, "entries %d files %r" % (rec["entries"], rec["files"]))
    os.remove(first)
    rec, stderr = run_pglog(case, logdir)
    check(rec["entries"] == 0 and len(rec["files"]) == 1 and rec["files_lost"] == 0, stderr)


def test_glob_target(case):
    write(case.path("a.log"), numbered(0, 2))
    write(case.path("b.log"), numbered(2, 3))
    rec, _ = run_pglog(case, case.path("*.log"))
    check(rec["entries"] == 5 and len(rec["files"]) == 2, rec)


def test_garbage_invalid_utf8_and_a_10_mb_line(case):
    log = case.path("pg.log")
    with open(log, "wb") as f:
        f.write(os.urandom(4096).replace(b"\n", b"x") + b"\n")
        f.write(line(1, "ERROR", "bad \xff\xfe byte \x00 here", code="22021").encode("latin-1"))
        f.write(line(2, "LOG", "duration: 5 ms  statement: SELECT '" + "y" * (10 << 20) + "'").encode())
        f.write(line(3, "LOG", "after the long line").encode())
    rec, stderr = run_pglog(case, log, max_entry_bytes=4096)
    check(rec["entries"] == 3 and rec["lines_unparsed"] == 1, "%r\n%s" % (
        {k: rec[k] for k in ("entries", "lines_unparsed", "lines_too_long")}, stderr))
    check(rec["lines_too_long"] == 1 and rec["entries_truncated"] == 1, rec)
    check(rec["files"][0]["line"] == 4, rec["files"])
    msgs = [e["message"] for e in rec["errors"]]
    check(msgs == ["bad \ufffd\ufffd byte \ufffd here"], msgs)


def test_missing_and_unreadable_files(case):
    rec, stderr = run_pglog(case, case.path("nothing-here.log"))
    check(rec["entries"] == 0 and rec["files"] == [], rec)
    os.makedirs(case.path("dir.log"))
    rec, stderr = run_pglog(case, case.path("*.log"))
    check(rec["entries"] == 0, rec)


def test_filters_by_severity_and_database(case):
    log = case.path("pg.log")
    write(log, line(1, "LOG", "a", db="keep") + line(2, "ERROR", "b", db="keep", code="XX000")
          + line(3, "ERROR", "c", db="skip_me", code="XX000") + bg_line(4, "LOG", "d")
          + line(5, "NOTICE", "e", db="keep"))
    rec, _ = run_pglog(case, log, min_severity="warning", exclude_databases=["skip*"])
    check(rec["entries"] == 3 and rec["entries_filtered"] == 2, rec)
    check(rec["severity"] == {"ERROR": 1, "LOG": 2}, rec["severity"])


def test_bind_parameters_only_when_enabled(case):
    text = (line(1, "LOG", "duration: 3 ms  execute S_1: SELECT * FROM t WHERE id = $1")
            + line(1, "DETAIL", "parameters: $1 = '42'"))
    write(case.path("a.log"), text)
    rec, _ = run_pglog(case, case.path("a.log"))
    slow = events_of(rec, "slow_statement")
    check(len(slow) == 1 and "parameters" not in slow[0]
          and slow[0]["statement"] == "SELECT * FROM t WHERE id = $1", slow)
    write(case.path("b.log"), text)
    rec, _ = run_pglog(case, case.path("b.log"), bind_parameters=True)
    check(events_of(rec, "slow_statement")[0].get("parameters") == "$1 = '42'", rec["events"])


def test_bad_options_are_refused(case):
    for options in ({"start_at": "middle"}, {"format": "syslog"}, {"min_severity": "loud"}):
        case.write_config({"pglog": pglog_options(case, case.path("x.log"), **options)})
        result = case.run("--once", "--output", "-")
        key = list(options)[0]
        check(lines_containing(result.stderr, '%s = "%s"' % (key, options[key])), result.stderr)


def test_numbers_the_emitter_would_refuse_are_left_out(case):
    """strtod reads "nan" and "1e999"; a NaN in the record would make the
    emitter drop it and the positions would never move."""
    log = case.path("pg.log")
    write(log, line(1, "LOG", "duration: nan ms  statement: SELECT 1")
          + line(2, "LOG", "duration: 1e999 ms  statement: SELECT 2")
          + bg_line(3, "LOG", "temporary file: path \"x\", size 1e30"))
    rec, _ = run_pglog(case, log)
    check(rec["entries"] == 3 and rec["files"][0]["line"] == 3, rec)
    check(all("duration_ms" not in e and "size_bytes" not in e for e in rec["events"]), rec["events"])
    rec, _ = run_pglog(case, log)
    check(rec["entries"] == 0, "the positions did not move: %d entries again" % rec["entries"])


def test_names_beyond_max_keys_are_counted_as_dropped(case):
    """Every map bounded by max_keys says how many entries it had no room
    for, so that an overflow is never silent; 0 when nothing overflowed."""
    prefix = "%m [%p] %q%u@%d/%a %e "

    def entry(pid, user, db, app, code, severity, message="m"):
        return "2024-01-31 12:00:00.123 UTC [%d] %s@%s/%s %s %s:  %s\n" % (
            pid, user, db, app, code, severity, message)

    text = (entry(1, "alice", "db1", "app1", "42P01", "ERROR")
            + entry(2, "bob", "db2", "app2", "23505", "ERROR")
            + entry(3, "carol", "db3", "app3", "22012", "ERROR")
            + entry(4, "alice", "db1", "app1", "00000", "LOG")
            + entry(5, "bob", "db4", "app1", "00000", "FEHLER")
            + entry(6, "bob", "db4", "app1", "00000", "ERREUR")
            + entry(7, "bob", "db4", "app1", "00000", "AVVISO"))
    names = ("databases", "users", "applications", "other_severities")
    write(case.path("small.log"), text)
    rec, stderr = run_pglog(case, case.path("small.log"), log_line_prefix=prefix, max_keys=2)
    check(rec["entries"] == 7 and rec["lines_unparsed"] == 0, stderr)
    kept = {name: {row["name"]: row["count"] for row in rec[name]} for name in names}
    check(kept["databases"] == {"db1": 2, "db2": 1} and rec["databases_dropped"] == 4, rec)
    check(kept["users"] == {"alice": 2, "bob": 4} and rec["users_dropped"] == 1, rec)
    check(kept["applications"] == {"app1": 5, "app2": 1} and rec["applications_dropped"] == 1, rec)
    check(kept["other_severities"] == {"FEHLER": 1, "ERREUR": 1}
          and rec["other_severities_dropped"] == 1, rec)
    check(rec["sqlstate"] == {"42P01": 1, "23505": 1} and rec["sqlstate_dropped"] == 1, rec)
    check(rec["sqlstate_class"] == {"42": 1, "23": 1} and rec["sqlstate_class_dropped"] == 1, rec)
    # Nothing is lost: what is listed plus what was dropped is every entry that had a name.
    for name in ("databases", "users", "applications"):
        check(sum(kept[name].values()) + rec[name + "_dropped"] == 7, (name, rec))

    write(case.path("roomy.log"), text)
    rec, stderr = run_pglog(case, case.path("roomy.log"), log_line_prefix=prefix)
    dropped = {key: rec.get(key) for key in ("databases_dropped", "users_dropped",
                                             "applications_dropped", "other_severities_dropped",
                                             "sqlstate_dropped", "sqlstate_class_dropped")}
    check(all(value == 0 for value in dropped.values()), dropped)
    check(len(rec["databases"]) == 4 and len(rec["other_severities"]) == 3, rec)


def test_a_csv_record_written_in_two_parts_is_counted_once(case):
    """The first cycle sees half a record (the quote still open): it reads
    it again next cycle, and lines and bytes count it then, once."""
    log = case.path("pg.csv")
    first = ('2024-01-31 12:00:00.123 UTC,"alice","appdb",100,"[local]",1.1,1,"SELECT",'
             '2024-01-31 12:00:00 UTC,3/4,0,LOG,00000,"statement: SELECT 1\n')
    rest = '  + 2",,,,,,,,,"psql","client backend",,0\n'
    write(log, first)
    rec, _ = run_pglog(case, log, format="csvlog")
    check(rec["lines"] == 0 and rec["bytes_read"] == 0 and rec["entries"] == 0, rec)
    check(rec["files"][0]["lines_read"] == 0 and rec["files"][0]["offset"] == 0, rec["files"])
    write(log, rest, "a")
    rec, _ = run_pglog(case, log, format="csvlog")
    check(rec["lines"] == 2 and rec["entries"] == 1, rec)
    check(rec["bytes_read"] == len((first + rest).encode()), rec)
    check(rec["files"][0]["lines_read"] == 2 and rec["files"][0]["line"] == 2, rec["files"])


def test_events_come_out_in_log_order(case):
    """A message is complete when its process logs again, but it waits for
    the older messages of other processes: events keep the log's order."""
    log = case.path("pg.log")
    write(log, bg_line(100, "LOG", "database system is ready to accept connections",
                       time="2024-01-31 12:00:00.001 UTC")
          + line(200, "LOG", 'temporary file: path "base/pgsql_tmp/pgsql_tmp200.0", size 8192',
                 time="2024-01-31 12:00:00.002 UTC")
          + line(200, "LOG", 'temporary file: path "base/pgsql_tmp/pgsql_tmp200.1", size 16384',
                 time="2024-01-31 12:00:00.003 UTC")
          + line(300, "ERROR", "deadlock detected", code="40P01", time="2024-01-31 12:00:00.004 UTC")
          + line(300, "DETAIL", "Process 300 waits for ShareLock on transaction 7.", code="40P01",
                 time="2024-01-31 12:00:00.004 UTC")
          + line(200, "LOG", 'temporary file: path "base/pgsql_tmp/pgsql_tmp200.2", size 1',
                 time="2024-01-31 12:00:00.005 UTC"))
    rec, _ = run_pglog(case, log)
    kinds = [e["kind"] for e in rec["events"]]
    check(kinds == ["server_start", "temp_file", "temp_file", "deadlock", "temp_file"], kinds)
    times = [e["log_time"] for e in rec["events"]]
    check(times == sorted(times), times)
    check(rec["lines_orphaned"] == 0, rec)


def test_event_times_as_unix_seconds_in_the_servers_zone(case):
    log = case.path("pg.log")
    write(log, bg_line(100, "LOG", "database system is ready to accept connections",
                       time="2024-01-31 12:00:00.250 UTC")
          + bg_line(101, "LOG", "database system is shut down", time="2024-07-01 14:00:00.500 CEST")
          + bg_line(102, "LOG", "database system is ready to accept connections",
                    time="2024-01-31 13:00:00.000 CET")
          + bg_line(103, "LOG", "database system is shut down", time="2024-01-31 17:30:00.000 IST"))
    rec, stderr = run_pglog(case, log, log_timezone="Europe/Berlin")
    times = [e.get("time") for e in rec["events"]]
    # CEST is UTC+2 and CET UTC+1 in Berlin; IST is no abbreviation of Berlin's.
    check(times == [1706702400.25, 1719835200.5, 1706702400.0, None], times)
    rec, stderr = run_pglog(case, log, log_timezone="Nowhere/Atlantis", start_at="beginning",
                            state_dir=case.path("other-state"))
    check([e.get("time") for e in rec["events"]] == [1706702400.25, None, None, None], rec["events"])
    check(lines_containing(stderr, 'log_timezone "Nowhere/Atlantis": cannot read'), stderr)

"""A real, private PostgreSQL server for one integration test.

    from pg import PostgresServer, available_versions, for_each_version

    def test_something(case):
        server = PostgresServer(case, shared_preload_libraries="pg_stat_statements",
                                **{"pg_stat_statements.track": "all"})
        server.psql("CREATE EXTENSION pg_stat_statements")
        case.once({"pgstats": {"conninfo": server.conninfo()}})

    @for_each_version            # one TAP line per version: "x[13]", "x[14]"...
    def test_on_every_version(case, version):
        server = PostgresServer(case, version=version)
        ...

Each server gets its own cluster (initdb) and its own Unix socket
directory under the test's case.tmp, and listens on that socket only:
never on TCP, so tests can run repeatedly and in parallel (two suites at
once included) without clashing with each other or with a system cluster.
The server is stopped by case.finish() (case.cleanups).

PostgreSQL refuses to run as root, so when the tests run as root (CI,
developers) initdb, pg_ctl and psql run as the `postgres` system user
(created by Debian's postgresql package) through `runuser -u postgres --`.
Run as any other user, they run as that user.

Versions.  tools/test-postgres-versions lists the major versions the tests
cover (13 to 18) and where each comes from: Debian's own 15 in
/usr/lib/postgresql/15/bin, the others pinned builds that
tools/install-test-postgres installs into $PGA_TEST_PG_CACHE/<major>
(default /var/cache/pganalytics/test-postgres/<major>).
available_versions() lists them all, or those of $PGA_TEST_PG_VERSIONS
("15" or "15,17") when set.  A listed version that is not installed is not
skipped: PostgresServer(case, version=N) fails, naming the directory and
tools/install-test-postgres.

Server binaries without version=: $PGA_PG_BINDIR when set, else the
highest /usr/lib/postgresql/<version>/bin (Debian's layout; `pg_config
--bindir` names the client's directory, not the server's), else pg_ctl on
PATH.  The pinned builds have no psql: psql() then uses Debian's client,
which talks to every server version the tests use.

Python 3 standard library only.
"""

import atexit
import glob
import grp
import os
import pwd
import re
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import time

from harness import TestFailure

SERVER_USER = "postgres"
START_TIMEOUT_SECONDS = 60     # pg_ctl -t: starting and stopping
INITDB_TIMEOUT_SECONDS = 120
PSQL_TIMEOUT_SECONDS = 60
LOG_TAIL_LINES = 30

# Set by the harness itself: the socket must be the only way in.
RESERVED_SETTINGS = ("listen_addresses", "port", "unix_socket_directories")
# Defaults a test may override: nothing a test server writes must survive
# a crash, so skip the fsyncs.
DEFAULT_SETTINGS = {"fsync": "off"}

# sun_path is 108 bytes with the NUL; the file is <dir>/.s.PGSQL.<port>.
MAX_SOCKET_PATH = 107

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
VERSIONS_FILE = os.path.join(SOURCE_DIR, "tools", "test-postgres-versions")
CACHE_ENV = "PGA_TEST_PG_CACHE"
DEFAULT_CACHE = "/var/cache/pganalytics/test-postgres"
VERSIONS_ENV = "PGA_TEST_PG_VERSIONS"
# Written by tools/install-test-postgres: first line, the package@version.
STAMP_NAME = ".pga-test-postgres"
SERVER_PROGRAMS = ("initdb", "pg_ctl", "postgres")

SETTING_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")

_port_sequence = 0
_running = {}                  # postmaster pid -> data dir, for atexit


def _kill_leftovers():
    """If the test run dies (Ctrl-C) before case.finish(), do not leave
    postmasters behind: SIGQUIT is PostgreSQL's immediate shutdown."""
    for pid in list(_running):
        try:
            os.kill(pid, signal.SIGQUIT)
        except OSError:
            pass


atexit.register(_kill_leftovers)


def _complete(directory):
    return all(os.access(os.path.join(directory, name), os.X_OK)
               for name in SERVER_PROGRAMS)


def _version_key(directory):
    """/usr/lib/postgresql/15/bin -> [15], for sorting."""
    version = os.path.basename(os.path.dirname(directory))
    return [int(part) if part.isdigit() else -1 for part in version.split(".")]


def find_bindir(version=None):
    """The directory holding initdb, pg_ctl and postgres: of major
    `version` (see version_sources()), or the default server's."""
    if version is not None:
        return _version_bindir(version)

    override = os.environ.get("PGA_PG_BINDIR")
    if override:
        if not _complete(override):
            raise TestFailure("PGA_PG_BINDIR=%s does not hold %s"
                              % (override, ", ".join(SERVER_PROGRAMS)))
        return override

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                        key=_version_key, reverse=True)
    for directory in candidates:
        if _complete(directory):
            return directory
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        directory = os.path.dirname(os.path.realpath(pg_ctl))
        if _complete(directory):
            return directory
    raise TestFailure("no PostgreSQL server binaries (%s) in "
                      "/usr/lib/postgresql/*/bin or next to pg_ctl on PATH; "
                      "install the postgresql package (tools/install-deps) "
                      "or set PGA_PG_BINDIR" % ", ".join(SERVER_PROGRAMS))


def cache_dir():
    """Where tools/install-test-postgres puts the pinned servers."""
    return os.path.abspath(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def install_hint():
    """How to get the pinned servers, for a failure message."""
    command = "sudo tools/install-test-postgres"
    if os.environ.get(CACHE_ENV):
        command = "%s=%s tools/install-test-postgres" % (
            CACHE_ENV, shlex.quote(os.environ[CACHE_ENV]))
    return ("run `%s` (or, to test fewer versions, set %s, e.g. %s=15)"
            % (command, VERSIONS_ENV, VERSIONS_ENV))


def version_sources():
    """{major: (kind, source)} from tools/test-postgres-versions: kind
    "debian" with the bin directory, or "npm" with the pinned package@version."""
    sources = {}
    try:
        with open(VERSIONS_FILE, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as error:
        raise TestFailure("cannot read the version list %s: %s"
                          % (VERSIONS_FILE, error))
    for number, line in enumerate(lines, 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if (len(words) != 3 or not words[0].isdigit()
                or words[1] not in ("debian", "npm")):
            raise TestFailure("%s:%d: not 'MAJOR debian DIR' or 'MAJOR npm "
                              "PACKAGE@VERSION': %r"
                              % (VERSIONS_FILE, number, line))
        sources[int(words[0])] = (words[1], words[2])
    return sources


def available_versions():
    """The PostgreSQL major versions the tests run against, ascending:
    every one in tools/test-postgres-versions, or only those named by
    $PGA_TEST_PG_VERSIONS ("15", "15,17" or "15 17") when it is set.

    Installed or not: PostgresServer(case, version=N) fails for a version
    that is not installed, so iterating over this never skips one."""
    known = sorted(version_sources())
    wanted = os.environ.get(VERSIONS_ENV, "").replace(",", " ").split()
    if not wanted:
        return known
    chosen = set()
    for word in wanted:
        if not word.isdigit() or int(word) not in known:
            raise TestFailure("%s=%r: %r is not one of the versions in %s (%s)"
                              % (VERSIONS_ENV, os.environ[VERSIONS_ENV], word,
                                 VERSIONS_FILE,
                                 ", ".join(str(v) for v in known)))
        chosen.add(int(word))
    return sorted(chosen)


def for_each_version(test):
    """Decorator: run.py runs test(case, version) once per version of
    available_versions(), each reported as its own test "name[version]"."""
    test.parameters = available_versions()
    return test


def _version_bindir(version):
    """bin directory of major `version`; fails saying how to install it."""
    sources = version_sources()
    if version not in sources:
        raise TestFailure("PostgreSQL %r is not in %s (%s)"
                          % (version, VERSIONS_FILE,
                             ", ".join(str(v) for v in sorted(sources))))
    kind, source = sources[version]
    installed = os.path.join(cache_dir(), str(version))
    cached_bin = os.path.join(installed, "bin")
    if kind == "debian":
        for directory in (source, cached_bin):
            if _complete(directory):
                return directory
        raise TestFailure("PostgreSQL %d: no server binaries (%s) in %s "
                          "(Debian's postgresql-%d package: run `sudo "
                          "tools/install-deps`) nor in %s"
                          % (version, ", ".join(SERVER_PROGRAMS), source,
                             version, cached_bin))
    stamp_path = os.path.join(installed, STAMP_NAME)
    try:
        with open(stamp_path, encoding="utf-8") as f:
            stamp = f.readline().strip()
    except FileNotFoundError:
        raise TestFailure("PostgreSQL %d is not installed: no %s (expected "
                          "%s); %s" % (version, stamp_path, source,
                                       install_hint()))
    except OSError as error:
        raise TestFailure("PostgreSQL %d: cannot read %s: %s; %s"
                          % (version, stamp_path, error, install_hint()))
    if stamp != source:
        raise TestFailure("PostgreSQL %d: %s holds %s, but %s pins %s; %s"
                          % (version, installed, stamp, VERSIONS_FILE,
                             source, install_hint()))
    if not _complete(cached_bin):
        raise TestFailure("PostgreSQL %d: %s does not hold %s; %s"
                          % (version, cached_bin, ", ".join(SERVER_PROGRAMS),
                             install_hint()))
    return cached_bin


def find_psql(bindir):
    """psql next to the server, else Debian's newest client (the pinned
    builds ship none), else psql on PATH."""
    candidates = [os.path.join(bindir, "psql")]
    candidates += [os.path.join(d, "psql") for d in sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)]
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("psql") or "psql"


def conninfo_value(value):
    """A libpq keyword/value connection string value, quoted if needed."""
    value = str(value)
    if value and not re.search(r"[\s'\\]", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def setting_value(value):
    """A Python value as a PostgreSQL setting: True -> on, 7 -> 7."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def tail(text, lines=LOG_TAIL_LINES):
    return "\n".join(text.splitlines()[-lines:])


class PostgresServer:
    """initdb + pg_ctl start of a private cluster; see the module docstring.

    `version` chooses the major version (13, 16...; see available_versions());
    without it, the default server (Debian's 15 on Debian 12).  `settings`
    become `-c name=value` server options (True/False are on/off, numbers
    are written as is); names with a dot (extension settings) go through a
    dict: PostgresServer(case, **{"pg_stat_statements.max": 100}).

    Attributes: data_dir, socket_dir, port (it only names the socket file),
    bindir, log_path (pg_ctl's log; with logging_collector = on the server
    logs under data_dir/log instead), version_num (from the running server),
    version (its major version), start_seconds (initdb + start, for the
    curious).
    """

    def __init__(self, case, version=None, **settings):
        started = time.monotonic()
        self.case = case
        if version is not None and (isinstance(version, bool)
                                    or not isinstance(version, int)):
            raise ValueError("version is a major version number such as 16, "
                             "not %r" % (version,))
        self.bindir = find_bindir(version)
        for name in settings:
            if not SETTING_NAME_RE.match(name):
                raise ValueError("not a PostgreSQL setting name: %r" % name)
            if name in RESERVED_SETTINGS:
                raise ValueError("%s is chosen by PostgresServer (Unix socket "
                                 "under case.tmp, never TCP)" % name)
        self.settings = dict(DEFAULT_SETTINGS)
        self.settings.update(settings)
        self._as_root = os.geteuid() == 0
        self._uid, self._gid, self._groups = self._server_identity()
        self._check_bindir_reachable()
        self.pid = None
        self.version_num = None
        self.version = version
        self._started = False
        # First in case.cleanups: it runs before the removal of a socket
        # directory outside case.tmp that may be registered below.
        case.cleanups.append(self.stop)

        self.base_dir = self._make_base_dir()
        self.data_dir = os.path.join(self.base_dir, "data")
        self.log_path = os.path.join(self.base_dir, "server.log")
        self.socket_dir = self._make_socket_dir()
        self.port = self._next_port()

        self._initdb()
        self.start()
        self.version_num = int(self.psql("SHOW server_version_num").strip())
        if version is not None and self.version_num // 10000 != version:
            raise TestFailure("asked for PostgreSQL %d, but the server from "
                              "%s says server_version_num = %d"
                              % (version, self.bindir, self.version_num))
        self.version = self.version_num // 10000
        self.start_seconds = time.monotonic() - started

    # ------------------------------------------------------------ public

    def conninfo(self, dbname="postgres", user="postgres"):
        """A libpq connection string for the Unix socket."""
        return " ".join("%s=%s" % (key, conninfo_value(value)) for key, value in
                        (("host", self.socket_dir), ("port", self.port),
                         ("dbname", dbname), ("user", user)))

    def psql(self, sql, dbname="postgres", user="postgres"):
        """Run `sql` (one or more statements) with psql -X -A -t -q and
        ON_ERROR_STOP, connected as the PostgreSQL role `user`; returns its
        stdout (unaligned, tuples only, one row per line, columns separated
        by |).  Fails the test on error."""
        argv = [find_psql(self.bindir), "-X", "-A", "-t", "-q",
                "-v", "ON_ERROR_STOP=1", "-d", self.conninfo(dbname, user)]
        done = self._run(argv, PSQL_TIMEOUT_SECONDS, stdin=sql)
        if done.returncode != 0:
            raise TestFailure("psql failed (exit status %d) running:\n%s\n"
                              "stderr:\n%s" % (done.returncode, sql.strip(),
                                               done.stderr.strip()))
        return done.stdout

    def start(self):
        """Start the server (the constructor already did); after stop()
        this starts the same cluster again."""
        if self._started:
            return
        options = ["-c listen_addresses=",
                   "-c " + shlex.quote("unix_socket_directories="
                                       + self.socket_dir),
                   "-p %d" % self.port]
        options += ["-c " + shlex.quote("%s=%s" % (name, setting_value(value)))
                    for name, value in self.settings.items()]
        # pg_ctl hands -o to /bin/sh, hence the quoting above.
        argv = [self._bin("pg_ctl"), "start", "-w",
                "-t", str(START_TIMEOUT_SECONDS), "-D", self.data_dir,
                "-l", self.log_path, "-o", " ".join(options)]
        done = self._run(argv, START_TIMEOUT_SECONDS + 30)
        if done.returncode != 0:
            self._forget_failed_start()
            raise TestFailure(
                "PostgreSQL did not start (pg_ctl exit status %s)\n"
                "command: %s\npg_ctl output:\n%s\n--- server log (tail) ---\n%s"
                % (done.returncode, " ".join(shlex.quote(a) for a in argv),
                   (done.stdout + done.stderr).strip(), self.log_tail()))
        self._started = True
        self.pid = self._postmaster_pid()
        if self.pid is not None:
            _running[self.pid] = self.data_dir

    def stop(self):
        """pg_ctl stop -m fast (then -m immediate if that fails).  Safe to
        call twice; case.finish() calls it."""
        if not self._started:
            return
        errors = []
        for mode in ("fast", "immediate"):
            done = self._run([self._bin("pg_ctl"), "stop", "-w",
                              "-t", str(START_TIMEOUT_SECONDS),
                              "-D", self.data_dir, "-m", mode],
                             START_TIMEOUT_SECONDS + 30)
            if done.returncode == 0 or (self.pid is not None
                                        and not self._alive(self.pid)):
                break
            errors.append("pg_ctl stop -m %s: exit status %d: %s"
                          % (mode, done.returncode,
                             (done.stdout + done.stderr).strip()))
        else:
            raise TestFailure("PostgreSQL (postmaster pid %s, %s) did not stop"
                              "\n%s\n--- server log (tail) ---\n%s"
                              % (self.pid, self.data_dir, "\n".join(errors),
                                 self.log_tail()))
        _running.pop(self.pid, None)
        self.pid = None
        self._started = False

    def log_text(self):
        """Everything the server logged: pg_ctl's log file, then the
        logging collector's files when logging_collector = on."""
        paths = [self.log_path]
        paths += sorted(glob.glob(os.path.join(self.data_dir, "log", "*")))
        texts = []
        for path in paths:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    texts.append(f.read())
            except OSError:
                pass
        return "".join(texts)

    def log_tail(self, lines=LOG_TAIL_LINES):
        return tail(self.log_text(), lines) or "(empty)"

    # ------------------------------------------------------------ setup

    def _server_identity(self):
        """uid, gid and groups the server runs as."""
        if not self._as_root:
            return os.geteuid(), os.getegid(), set(os.getgroups())
        try:
            entry = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise TestFailure("the tests run as root and PostgreSQL refuses "
                              "to, but there is no %r user to run it as; "
                              "install the postgresql package "
                              "(tools/install-deps)" % SERVER_USER)
        groups = {g.gr_gid for g in grp.getgrall()
                  if SERVER_USER in g.gr_mem}
        groups.add(entry.pw_gid)
        return entry.pw_uid, entry.pw_gid, groups

    def _check_bindir_reachable(self):
        """The server user must reach the binaries (a PGA_TEST_PG_CACHE
        under a 0700 home would not do when the tests run as root)."""
        path = os.path.abspath(self.bindir)
        while True:
            if not self._can_traverse(path):
                raise TestFailure(
                    "the %s user cannot reach the server binaries in %s: %s "
                    "is not searchable by it (mode %o); keep them under a "
                    "directory it can enter (for the pinned versions: %s)"
                    % (SERVER_USER, self.bindir, path,
                       os.stat(path).st_mode & 0o7777, CACHE_ENV))
            if path == os.path.dirname(path):
                return
            path = os.path.dirname(path)

    def _can_traverse(self, path):
        st = os.stat(path)
        if self._uid == 0:
            return True
        if st.st_uid == self._uid:
            return bool(st.st_mode & stat.S_IXUSR)
        if st.st_gid in self._groups:
            return bool(st.st_mode & stat.S_IXGRP)
        return bool(st.st_mode & stat.S_IXOTH)

    def _reachable_dir(self, parent, what):
        """Make `parent` (case.tmp or a mkdtemp of ours, created 0700)
        traversable by the server user and check every directory above it."""
        if self._as_root:
            os.chmod(parent, os.stat(parent).st_mode & 0o7777 | 0o711)
        path = os.path.dirname(os.path.abspath(parent))
        while True:
            if not self._can_traverse(path):
                raise TestFailure(
                    "the %s user cannot reach %s under %s: %s is not "
                    "searchable by it (mode %o); run with TMPDIR=/tmp"
                    % (SERVER_USER, what, parent, path,
                       os.stat(path).st_mode & 0o7777))
            if path == os.path.dirname(path):
                return
            path = os.path.dirname(path)

    def _owned_dir(self, path):
        """mkdir PATH, 0700, owned by the server user."""
        os.mkdir(path, 0o700)
        if self._as_root:
            os.chown(path, self._uid, self._gid)

    def _make_base_dir(self):
        """case.tmp/postgres<N>: data/, socket/ and server.log."""
        self._reachable_dir(self.case.tmp, "the cluster")
        index = 0
        while True:
            path = os.path.join(self.case.tmp, "postgres%d" % index)
            try:
                self._owned_dir(path)
                return path
            except FileExistsError:
                index += 1

    def _make_socket_dir(self):
        path = os.path.join(self.base_dir, "socket")
        if len(path) + len("/.s.PGSQL.65535") <= MAX_SOCKET_PATH:
            self._owned_dir(path)
            return path
        # A long TMPDIR: the socket path would not fit in sun_path.
        short = tempfile.mkdtemp(prefix="pga-pg-", dir="/tmp")
        self.case.cleanups.append(
            lambda: shutil.rmtree(short, ignore_errors=True))
        self._reachable_dir(short, "the socket directory")
        path = os.path.join(short, "s")
        self._owned_dir(path)
        return path

    @staticmethod
    def _next_port():
        """Only names the socket file (.s.PGSQL.<port>) in a private
        directory, so it cannot clash; still distinct per process and server
        to keep logs and `ps` output unambiguous."""
        global _port_sequence
        _port_sequence += 1
        return 20000 + (os.getpid() * 7 + _port_sequence) % 40000

    def _initdb(self):
        argv = [self._bin("initdb"), "-D", self.data_dir, "-U", "postgres",
                "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]
        done = self._run(argv, INITDB_TIMEOUT_SECONDS)
        if done.returncode != 0:
            raise TestFailure("initdb failed (exit status %d)\ncommand: %s\n%s"
                              % (done.returncode, " ".join(argv),
                                 tail(done.stdout + done.stderr)))

    # ------------------------------------------------------------ helpers

    def _bin(self, name):
        return os.path.join(self.bindir, name)

    def _environment(self):
        """The caller's environment without PG* variables (PGHOST, PGDATA,
        PGOPTIONS... would redirect or reconfigure our commands)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        return env

    def _run(self, argv, timeout, stdin=None):
        """Run argv as the server user, in base_dir; never raises on a
        non-zero exit status, fails the test on a timeout."""
        if self._as_root:
            argv = ["runuser", "-u", SERVER_USER, "--"] + argv
        try:
            return subprocess.run(
                argv, input=stdin if stdin is not None else "",
                capture_output=True, text=True, errors="replace",
                timeout=timeout, cwd=self.base_dir, env=self._environment())
        except subprocess.TimeoutExpired as expired:
            output = expired.stdout or ""
            if isinstance(output, bytes):
                output = output.decode("utf-8", "replace")
            raise TestFailure("%s did not finish within %ds\n%s\n"
                              "--- server log (tail) ---\n%s"
                              % (" ".join(argv), timeout, tail(output),
                                 self.log_tail()))
        except FileNotFoundError as error:
            raise TestFailure("cannot run %s: %s" % (argv[0], error))

    def _postmaster_pid(self):
        """The first line of data_dir/postmaster.pid, None if unreadable."""
        try:
            with open(os.path.join(self.data_dir, "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    @staticmethod
    def _alive(pid):
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    def _forget_failed_start(self):
        """pg_ctl -w gave up: stop a postmaster that may still be starting."""
        pid = self._postmaster_pid()
        if pid is not None and self._alive(pid):
            try:
                os.kill(pid, signal.SIGQUIT)
            except OSError:
                pass

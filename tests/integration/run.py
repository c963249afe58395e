#!/usr/bin/env python3
"""Run the collector's integration tests and print TAP.

    python3 tests/integration/run.py --build build [-k SUBSTRING]

Every test_*.py module next to this file contributes its test_* functions,
in source order; a function with a `parameters` list (pg.for_each_version)
contributes one test per value, run as f(case, value) and named
"name[value]".  Each test gets a harness.Case working in its own temporary
directory, and prints one `ok N - name` or `not ok N - name` line (with
`# ` diagnostics).  Exit status 1 when any test failed.
"""

import argparse
import importlib
import inspect
import os
import sys
import tempfile
import traceback

# Keep the source tree clean: no __pycache__ next to the tests.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402  (needs the path above)


def discover_tests():
    """(name, function) for every test in every test_*.py, in order."""
    here = os.path.dirname(os.path.abspath(__file__))
    tests = []
    for filename in sorted(os.listdir(here)):
        if not (filename.startswith("test_") and filename.endswith(".py")):
            continue
        module = importlib.import_module(filename[:-3])
        functions = [f for name, f in vars(module).items()
                     if name.startswith("test_") and inspect.isfunction(f)
                     and f.__module__ == module.__name__]
        functions.sort(key=lambda f: f.__code__.co_firstlineno)
        short = module.__name__[len("test_"):]
        for f in functions:
            name = "%s: %s" % (short, f.__name__[len("test_"):])
            parameters = getattr(f, "parameters", None)
            if parameters is None:
                tests.append((name, f))
            else:
                # One test per value, test_x(case, value), named "x[value]"
                # (pg.for_each_version sets the PostgreSQL versions).
                tests += [("%s[%s]" % (name, value),
                           lambda case, f=f, value=value: f(case, value))
                          for value in parameters]
    return tests


def diagnostic(text):
    """Print `text` as TAP diagnostic lines."""
    for line in str(text).splitlines() or [""]:
        print("# " + line)


def run_one(env, function):
    """Run one test in a fresh temporary directory; returns an error text
    or None when it passed."""
    with tempfile.TemporaryDirectory(prefix="pga-itest-") as tmp:
        case = harness.Case(env, tmp)
        try:
            function(case)
        except harness.TestFailure as failure:
            error = str(failure)
            context = case.diagnostics()
            if context and context not in error:
                error += "\n--- last collector stderr ---\n" + context
        except Exception:  # a bug in the test itself still fails loudly
            error = traceback.format_exc()
        else:
            error = None
        try:
            case.finish()
        except harness.TestFailure as failure:
            error = (error + "\n" if error else "") + str(failure)
        return error


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build",
                        help="build directory holding pganalytics-collector")
    parser.add_argument("-k", dest="pattern", default="",
                        help="run only tests whose name contains this")
    args = parser.parse_args()

    env = harness.Environment(args.build)
    tests = [(n, f) for n, f in discover_tests() if args.pattern in n]
    print("1..%d" % len(tests))
    if not os.access(env.binary, os.X_OK):
        diagnostic("collector binary not found: %s" % env.binary)

    failures = 0
    for number, (name, function) in enumerate(tests, 1):
        error = run_one(env, function)
        if error is None:
            print("ok %d - %s" % (number, name))
        else:
            failures += 1
            print("not ok %d - %s" % (number, name))
            diagnostic(error)
        sys.stdout.flush()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""What the benchmarks share to start a throwaway PostgreSQL with the test
harness (tests/integration/pg.py): its import path, and BenchCase, the
part of a test case PostgresServer needs."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.dont_write_bytecode = True


class BenchCase:
    """What PostgresServer needs from a test case: a directory and cleanups."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.cleanups = []

    def finish(self):
        for cleanup in self.cleanups:
            cleanup()

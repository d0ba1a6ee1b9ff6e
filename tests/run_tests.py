#!/usr/bin/env python3
"""run_tests.py - run every test of the project and end with the line
"N passed, N failed".

Unit tests: bin/unit_tests (CUnit), counted by the line it ends with.
Integration tests: tests/integration/test_*.py (unittest), each starting
its own system in a temporary directory on a free port.
Docs: every man page must be mandoc -Tlint clean.
Fuzzing: each libFuzzer target replays its corpus (old crashes included)
and runs for FUZZ_SECONDS (default 3) more; "make fuzz" runs longer.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import time
import unittest


def run_unit(top):
    bindir = os.environ.get("MTA_BIN", os.path.join(top, "bin"))
    p = subprocess.run([os.path.join(bindir, "unit_tests")],
                       capture_output=True, text=True)
    sys.stdout.write(p.stdout[-3000:])
    m = re.search(r"unit: (\d+) passed, (\d+) failed", p.stdout)
    if not m:
        print("unit tests: no summary line; counted as one failure")
        sys.stdout.write(p.stderr[-2000:])
        return 0, 1
    return int(m.group(1)), int(m.group(2))


def run_man(top):
    passed = failed = 0
    for page in sorted(glob.glob(os.path.join(top, "man", "*.[1-8]"))):
        p = subprocess.run(["mandoc", "-Tlint", "-Wwarning", page],
                           capture_output=True, text=True)
        if p.returncode == 0 and not p.stdout.strip():
            passed += 1
        else:
            failed += 1
            print("man: %s:\n%s%s" % (page, p.stdout, p.stderr))
    print("man pages: %d clean, %d with warnings" % (passed, failed))
    return passed, failed


def run_integration(top):
    sys.path.insert(0, os.path.join(top, "tests", "integration"))
    os.environ["MTA_TOP"] = top
    suite = unittest.defaultTestLoader.discover(
        os.path.join(top, "tests", "integration"), pattern="test_*.py")
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    bad = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    if skipped:
        print("integration: %d skipped (not counted)" % skipped)
    return result.testsRun - bad - skipped, bad


def run_fuzz(top):
    if os.environ.get("MTA_SAN_REPORTS"):
        return 0, 0  # the sanitizer build replays the same suite
    if shutil.which(os.environ.get("CLANG", "clang")) is None:
        print("fuzz: clang not installed (make deps); not counted")
        return 0, 0
    secs = os.environ.get("FUZZ_SECONDS", "3")
    p = subprocess.run(["sh", os.path.join(top, "tests", "fuzz", "run.sh"),
                        secs], capture_output=True, text=True, cwd=top)
    passed = failed = 0
    summary = p.stdout.split("== summary", 1)[-1]
    for line in summary.splitlines():
        if not line.startswith("fuzz_"):
            continue
        print("fuzz: " + line)
        if line.endswith(" ok"):
            passed += 1
        else:
            failed += 1
    if passed + failed == 0:
        print("fuzz: no summary; counted as one failure")
        sys.stdout.write(p.stdout[-2000:] + p.stderr[-2000:])
        return 0, 1
    return passed, failed


def run_sanitizer_reports(top):
    """Under "make sanitize": every report a daemon wrote is a failure."""
    d = os.environ.get("MTA_SAN_REPORTS")
    if not d:
        return 0, 0
    reports = sorted(glob.glob(os.path.join(d, "*")))
    for r in reports:
        print("sanitizer report %s:" % r)
        with open(r, errors="replace") as f:
            print(f.read()[:4000])
    return (0, len(reports)) if reports else (1, 0)


def main():
    top = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    start = time.time()
    totals = [0, 0]
    for step in (run_unit, run_man, run_fuzz, run_integration,
                 run_sanitizer_reports):
        p, f = step(top)
        totals[0] += p
        totals[1] += f
    print("time: %.0f s" % (time.time() - start))
    print("%d passed, %d failed" % (totals[0], totals[1]))
    sys.exit(1 if totals[1] else 0)


if __name__ == "__main__":
    main()

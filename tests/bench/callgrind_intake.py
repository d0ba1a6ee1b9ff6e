"""callgrind_intake.py - instructions per message of smtpd and cleanup.

Instruction counts do not move with the other load on the machine, so
they are the figure to compare before and after a change of the intake
path (issue 8).  Starts a private instance (tests/integration/mta.py)
whose daemon_directory holds wrappers that run smtpd and cleanup under
`valgrind --tool=callgrind` (the other programs run as they are), sends
M messages of S bytes over N sessions with bin/smtpload, waits for the
deliveries, stops the instance and prints, per program, the instructions
(Ir) of all its processes divided by M: process start-ups included,
which is what a process per few messages costs.

Usage: python3 tests/bench/callgrind_intake.py [-m M] [-s N] [-S BYTES]
       [-k DIR]   (-k keeps the callgrind output files in DIR)
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..",
                                "integration"))
import mta  # noqa: E402

TRACED = ("smtpd", "cleanup")


def wrap_bin(wrap, out):
    """A daemon_directory: links to bin/, wrappers for TRACED."""
    for name in os.listdir(mta.BIN):
        src = os.path.join(mta.BIN, name)
        dst = os.path.join(wrap, name)
        if name in TRACED:
            with open(dst, "w") as f:
                f.write("#!/bin/sh\nexec valgrind --tool=callgrind -q "
                        "--callgrind-out-file=%s/%s.%%p %s \"$@\"\n"
                        % (out, name, src))
            os.chmod(dst, 0o755)
        else:
            os.symlink(src, dst)


def total_ir(path):
    """Ir of one callgrind output file (its totals: or summary: line)."""
    with open(path) as f:
        for line in f:
            m = re.match(r"(?:totals|summary):\s+(\d+)", line)
            if m:
                return int(m.group(1))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-m", type=int, default=200)
    ap.add_argument("-s", type=int, default=2)
    ap.add_argument("-S", type=int, default=2048)
    ap.add_argument("-k", default=None)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="cg-intake-")
    wrap, out = os.path.join(tmp, "bin"), a.k or os.path.join(tmp, "out")
    os.makedirs(wrap)
    os.makedirs(out, exist_ok=True)
    wrap_bin(wrap, out)
    m = mta.MTA(daemon_directory=wrap, smtpd_timeout="120s")
    try:
        m.start()
        r = subprocess.run([os.path.join(mta.BIN, "smtpload"), "-s",
                            str(a.s), "-m", str(a.m), "-S", str(a.S),
                            "-T", "120", "-t", "user@localhost",
                            "127.0.0.1:%d" % m.port],
                           capture_output=True, text=True, timeout=1200)
        print("smtpload: " + r.stdout.strip().replace("\n", "; "))
        mta.wait_for(lambda: len(m.messages("user")) >= a.m, 600,
                     "%d deliveries" % a.m)
    finally:
        m.stop()
        mta.wait_for(lambda: not m.pids(), 60, "the instance to stop")
    for prog in TRACED:
        files = glob.glob(os.path.join(out, prog + ".*"))
        ir = sum(total_ir(f) for f in files)
        print("%-8s %3d processes, %12d Ir, %10.0f Ir per message"
              % (prog, len(files), ir, ir / a.m))
    if a.k is None:
        shutil.rmtree(tmp, ignore_errors=True)
    m.cleanup()


if __name__ == "__main__":
    main()

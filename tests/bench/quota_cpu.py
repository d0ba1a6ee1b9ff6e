"""quota_cpu.py - CPU that local(8) spends per delivery into a big Maildir
with mailbox_quota set (measured, never asserted in make test).

    python3 tests/bench/quota_cpu.py BIN_DIR [MESSAGES] [MAILDIR_FILES]

Starts a private system from BIN_DIR (as the tests do), fills one
Maildir's cur/ with MAILDIR_FILES (default 20000) empty files named as
Dovecot names them (",S=2000:2,S"), delivers one message to make local
start, then MESSAGES more (default 200) over one SMTP session, and
prints the user+system CPU time of the local processes over those
deliveries (from /proc/PID/stat), per delivery.
"""
import os
import sys
import time

BIN = os.path.abspath(sys.argv[1])
os.environ["MTA_BIN"] = BIN
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..",
                                "integration"))
from mta import MTA, wait_for  # noqa: E402

N = int(sys.argv[2]) if len(sys.argv) > 2 else 200
FILES = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def count(m):
    try:
        return len(os.listdir(os.path.join(m.maildir("big"), "new")))
    except FileNotFoundError:
        return 0


def main():
    m = MTA(mailbox_quota="10g")
    try:
        cur = os.path.join(m.maildir("big"), "cur")
        os.makedirs(cur)
        for sub in ("new", "tmp"):
            os.makedirs(os.path.join(m.maildir("big"), sub))
        for i in range(FILES):
            open(os.path.join(cur, "1700000000.M%dP1.bench,S=2000:2,S" % i),
                 "w").close()
        m.start()
        body = b"Subject: bench\r\n\r\n" + b"x" * 2000 + b"\r\n"
        with m.smtp() as s:
            s.sendmail("a@example.org", ["big@localhost"], body)
        wait_for(lambda: count(m) >= 1, 60, "the first delivery")
        pids = m.pids("local")
        before = {p: cpu(p) for p in pids}
        t0 = time.time()
        with m.smtp() as s:
            for _ in range(N):
                s.sendmail("a@example.org", ["big@localhost"], body)
        wait_for(lambda: count(m) >= N + 1, 600, "%d deliveries" % N)
        # local processes started meanwhile count from 0; one that
        # exited before this point would be missed (none do within
        # max_idle)
        after = {p: cpu(p) for p in m.pids("local")}
        if not set(before) <= set(after):
            print("warning: a local process exited: %s -> %s" %
                  (sorted(before), sorted(after)))
        used = sum(after[p] - before.get(p, 0) for p in after)
        print("%s: %d deliveries into a Maildir of %d files: local CPU "
              "%.2f s (%.2f ms per delivery), wall %.1f s" %
              (BIN, N, FILES, used, 1000 * used / N, time.time() - t0))
    finally:
        m.cleanup()


if __name__ == "__main__":
    main()

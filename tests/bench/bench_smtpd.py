"""bench_smtpd.py - how many idle SMTP sessions smtpd holds, and at what
memory cost.

Starts a private instance (tests/integration/mta.py) with
smtpd_process_limit above N, opens N sessions that each read their
greeting and then sit idle, then times the greeting of one more session
and sums the memory of the smtpd processes from /proc (Pss: each shared
page divided among the processes sharing it; Private: pages of that
process alone).  Prints one line per figure; exits 1 when a session was
not greeted or the extra greeting took longer than 2 seconds.

Usage: python3 tests/bench/bench_smtpd.py [N]   (default 1000)
"""
import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..",
                                "integration"))
from mta import MTA, wait_for  # noqa: E402


def rollup(pid):
    """(Pss, Private) in kB of one process, or (0, 0) if it is gone."""
    pss = priv = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k, v = line.split(":", 1)
                if k == "Pss":
                    pss = int(v.split()[0])
                elif k in ("Private_Clean", "Private_Dirty"):
                    priv += int(v.split()[0])
    except OSError:
        pass
    return pss, priv


def greet(port, timeout=30):
    s = socket.create_connection(("127.0.0.1", port), timeout)
    s.settimeout(timeout)
    buf = b""
    while b"\r\n" not in buf:
        got = s.recv(512)
        if not got:
            raise OSError("closed before the greeting")
        buf += got
    if not buf.startswith(b"220 "):
        raise OSError("greeting: %r" % buf)
    return s


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 200), hard))
    mta = MTA(smtpd_process_limit=str(n + 50), max_idle="600s",
              smtpd_client_connection_count_limit="0",
              smtpd_client_connection_rate_limit="0").start()
    socks = []
    try:
        t0 = time.time()
        for _ in range(n):
            socks.append(greet(mta.port))
        t_open = time.time() - t0
        t1 = time.time()
        extra = greet(mta.port, timeout=10)
        t_extra = time.time() - t1
        extra.close()
        pids = mta.pids("smtpd")
        mem = [rollup(p) for p in pids]
        pss = sum(m[0] for m in mem)
        priv = sum(m[1] for m in mem)
        print("bench smtpd: %d idle sessions open in %.1f s, %d smtpd "
              "processes" % (n, t_open, len(pids)))
        print("bench smtpd: greeting of session %d after %.3f s"
              % (n + 1, t_extra))
        print("bench smtpd: memory Pss %.1f MB total, %.0f kB per session; "
              "private %.0f kB per session"
              % (pss / 1024.0, pss / max(n, 1), priv / max(n, 1)))
        ok = t_extra < 2.0
    except OSError as e:
        print("bench smtpd: FAILED after %d sessions: %s" % (len(socks), e))
        ok = False
    finally:
        for s in socks:
            s.close()
        mta.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

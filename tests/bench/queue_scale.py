#!/usr/bin/env python3
"""queue_scale.py - a queue of N deferred messages (default 1,000,000):
how long qmgr takes to start, its memory, whether new mail is still
delivered at once, and how `mtactl queue` streams the listing.

Usage: queue_scale.py [N]   (MTA_BIN, MTA_TOP as for the tests)
Prints one line per figure; exits non-zero only if something broke.
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import mta  # noqa: E402


def rss_kb(pid, field="VmHWM"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    m = mta.MTA(relay_domains="bench.test", minimal_backoff_time="1h",
                maximal_backoff_time="1h", lmdb_map_size="64m")
    try:
        m.start()
        m.stop()
        mta.wait_for(lambda: not m.pids(), 30, "the instance to stop")
        t = time.time()
        subprocess.run([os.path.join(mta.BIN, "mkqueue"),
                        os.path.join(m.dir, "queue"), str(n)], check=True)
        print("queue_scale: made %d deferred messages in %.1f s" %
              (n, time.time() - t))
        t = time.time()
        seen = len(m.log_text())
        m.start()
        found = mta.wait_for(lambda: re.search(
            r"qmgr\[\d+\]: queue reconciled in ([0-9.]+)s: (\d+) messages",
            m.log_text()[seen:]), 600, "qmgr's start-up")
        print("queue_scale: qmgr start-up reconciliation %s s for %s "
              "messages (start to ready %.1f s)" %
              (found.group(1), found.group(2), time.time() - t))
        t = time.time()
        with m.smtp() as s:
            s.sendmail("bench@localhost", ["alice@localhost"],
                       "Subject: new\r\n\r\nnew mail\r\n")
        m.wait_messages("alice", 1, timeout=120)
        print("queue_scale: a new message delivered %.3f s after its 250" %
              (time.time() - t))
        q = m.pids("qmgr")[0]
        # the peak counts index pages mapped from the file; its own
        # (anonymous) memory is what must stay bounded
        print("queue_scale: qmgr peak RSS %d KB; now %d KB, of which "
              "anonymous %d KB, mapped index pages %d KB" %
              (rss_kb(q), rss_kb(q, "VmRSS"), rss_kb(q, "RssAnon"),
               rss_kb(q, "RssFile")))
        t = time.time()
        p = subprocess.Popen([os.path.join(mta.BIN, "mtactl"), "-c", m.conf,
                              "queue"], stdout=subprocess.PIPE)
        first = None
        lines = 0
        for line in p.stdout:
            if first is None and re.match(rb"^[0-9A-Z]{15}", line):
                first = time.time() - t
            lines += 1
        _, status, ru = os.wait4(p.pid, 0)
        print("queue_scale: mtactl queue: first message after %.3f s, %d "
              "lines in %.1f s, peak RSS %d KB" %
              (first or -1, lines, time.time() - t, ru.ru_maxrss))
        t = time.time()
        # not m.ctl: its 120 s are too short for this on a busy machine
        p = subprocess.run([os.path.join(mta.BIN, "mtactl"), "-c", m.conf,
                            "delete", "--all"], capture_output=True,
                           text=True, timeout=1800)
        print("queue_scale: mtactl delete --all: %s in %.1f s" %
              (p.stdout.strip() or p.stderr.strip(), time.time() - t))
        return 0 if status == 0 and p.returncode == 0 else 1
    finally:
        m.cleanup()


if __name__ == "__main__":
    sys.exit(main())

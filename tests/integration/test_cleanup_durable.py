"""test_cleanup_durable.py - cleanup(8) answers 250 only after the queue
file and incoming/ are fsynced (DESIGN.md section 3, cleanup.c commit()).

cleanup makes the two fsyncs at once (common/fsync_pair.c: the file's in
a worker thread while the directory's commits the journal), so the order
between them is open; what must hold is that both have returned, with
success, before the answer "status 250" goes to smtpd.  strace follows
every thread of one cleanup process while a session sends a stream of
messages, and that is checked on each answer.  Skipped without strace
or where it cannot attach.
"""
import os
import re
import smtplib
import unittest

from mta import MTA, wait_for
from strace_helpers import traced

N = 40
CALL = re.compile(r"^(\d+) +(?:(\w+)\((.*)|<\.\.\. (\w+) resumed>(.*))$")


def message(i):
    return b"Subject: durable %d\r\n\r\nbody %d\r\n" % (i, i)


class CleanupDurable(unittest.TestCase):
    def setUp(self):
        self.mta = MTA()
        self.mta.start()

    def tearDown(self):
        self.mta.cleanup()

    def send(self, s, i):
        s.sendmail("bob@example.org", ["user@localhost"], message(i))

    def test_both_fsyncs_return_before_the_250(self):
        s = smtplib.SMTP("127.0.0.1", self.mta.port, timeout=30)
        self.send(s, 0)  # cleanup runs now, with its worker thread
        pid = wait_for(lambda: self.mta.pids("cleanup"), 20, "cleanup")[0]
        out = os.path.join(self.mta.dir, "strace.out")
        with traced(self, pid, out, "fsync,fdatasync,sendmsg", threads=True,
                    strsize=64) as lines:
            for i in range(1, N + 1):
                self.send(s, i)
            s.quit()
        self.check(lines)
        self.mta.wait_messages("user", N + 1)

    def check(self, lines):
        pending = {}          # tid -> (call, args) unfinished
        files = dirs = answers = 0
        for line in lines:
            m = CALL.match(line)
            if not m:
                continue
            tid = m.group(1)
            if m.group(2):
                name, rest = m.group(2), m.group(3)
                if "<unfinished ...>" in rest:
                    pending[tid] = (name, rest)
                    continue
                args, result = rest, rest
            else:
                name, result = m.group(4), m.group(5)
                args = pending.pop(tid, (name, ""))[1]
            ok = re.search(r"= 0$", result) is not None
            if name in ("fsync", "fdatasync") and ok:
                if re.search(r"/incoming/\w+>", args):
                    files += 1
                elif re.search(r"/incoming>", args):
                    dirs += 1
            elif name == "sendmsg" and "\\6status" in args and \
                    "250" in args:
                answers += 1
                self.assertLessEqual(answers, files,
                                     "250 before the file's fsync: " + line)
                self.assertLessEqual(answers, dirs,
                                     "250 before incoming/'s fsync: " + line)
        self.assertGreaterEqual(answers, N, "strace saw too few answers")


if __name__ == "__main__":
    unittest.main()

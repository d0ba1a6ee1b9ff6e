"""test_local_pipeline.py - local(8)'s pipelined commits keep the order
that makes a delivery durable, and a crash inside the pipeline costs at
most a repeat delivery.

local answers a round of requests only when later rounds (or a short
wait) made its deliveries durable: each Maildir file is fsynced before
its rename into new/, and new/ is fsynced before qmgr hears "delivered".
The first test follows local with strace while one session sends a
stream of messages to two mailboxes and checks that order on every
system call.  The second kills local (SIGKILL) while a file is in new/
but its delivery is not yet answered, and checks that no acknowledged
message is lost and the caught one is not delivered twice: qmgr tries
it again marked maybe_delivered, and local finds its copy in new/.
"""
import os
import re
import signal
import threading
import time
import unittest

from mta import MTA, wait_for
from strace_helpers import traced

QID = re.compile(rb"with ESMTP id (\w+)")


class Stream(threading.Thread):
    """One session sending n messages, alternating between rcpts."""

    def __init__(self, mta, n, rcpts):
        super().__init__(daemon=True)
        self.mta, self.n, self.rcpts = mta, n, rcpts
        self.acked = []
        self.error = None
        self.stop = False

    def run(self):
        try:
            s = self.mta.smtp()
            s.ehlo("pipe.example")
            for i in range(self.n):
                if self.stop:
                    break
                body = b"Subject: pipe %d\r\n\r\nbody %d\r\n" % (i, i)
                s.mail("p@example.org")
                s.rcpt(self.rcpts[i % len(self.rcpts)])
                code, text = s.data(body)
                if code == 250:
                    self.acked.append(re.search(
                        rb"queued as (\w+)", text).group(1).decode())
            s.quit()
        except Exception as e:  # reported by the test
            self.error = e


def delivered(mta, user):
    ids = {}
    for m in mta.messages(user):
        qid = QID.search(m).group(1).decode()
        ids[qid] = ids.get(qid, 0) + 1
    return ids


LINE = re.compile(r"^(?:\[pid\s+\d+\]\s+|\d+\s+)?(\w+)\((.*)\)\s+=\s+(-?\d+)")
PATH = re.compile(r'"([^"]*)"|<([^>]*)>')


class Order(unittest.TestCase):
    def setUp(self):
        self.mta = MTA(local_process_limit="1",
                       local_concurrency_limit="1").start()

    def tearDown(self):
        self.mta.cleanup()

    def test_file_fsync_rename_newdir_fsync_then_answer(self):
        # one message first, so that local runs and can be followed
        first = Stream(self.mta, 1, ["a@localhost"])
        first.run()
        self.assertIsNone(first.error)
        self.mta.wait_messages("a", 1)
        pid = wait_for(lambda: self.mta.pids("local"), 20, "local")[0]
        out = os.path.join(self.mta.dir, "strace.out")
        n = 60
        with traced(self, pid, out, "fsync,fdatasync,rename,renameat,"
                    "renameat2,write,sendmsg,sendto") as lines:
            s = Stream(self.mta, n, ["a@localhost", "b@localhost"])
            s.start()
            s.join(120)
            self.assertIsNone(s.error)
            wait_for(lambda: len(delivered(self.mta, "a")) +
                     len(delivered(self.mta, "b")) >= n + 1, 30,
                     "every message delivered")
            self.mta.wait_log(r"%s: to=<\w@localhost>, relay=local, .*"
                              r"status=sent" % s.acked[-1])
        self.check_order(lines, n)

    def check_order(self, lines, n):
        synced = set()        # tmp/NAME fsynced
        waiting = {}          # new/ dir -> renames not yet fsynced
        durable = 0           # renames whose new/ was fsynced after them
        answered = 0
        renames = 0
        for line in lines:
            m = LINE.match(line)
            if not m or int(m.group(3)) < 0:
                continue
            call, args = m.group(1), m.group(2)
            # the Maildirs' paths: quoted names, fds shown by -y as <path>
            paths = [a or b for a, b in PATH.findall(args)
                     if "/Maildir/" in (a or b)]
            if call in ("fsync", "fdatasync") and paths:
                p = paths[0]
                if "/Maildir/tmp/" in p:
                    synced.add(os.path.basename(p))
                elif p.endswith("/Maildir/new"):
                    durable += len(waiting.pop(p, []))
            elif call.startswith("rename"):
                src = [p for p in paths if "/Maildir/tmp/" in p]
                dst = [p for p in paths if "/Maildir/new/" in p]
                if not src or not dst:
                    continue
                name = os.path.basename(src[0])
                self.assertIn(name, synced, "renamed into new/ before its "
                              "fsync: " + line)
                renames += 1
                waiting.setdefault(os.path.dirname(dst[0]), []).append(name)
            elif call in ("write", "sendmsg", "sendto") and \
                    "socket:" in args:
                answered += args.count("delivered to maildir")
                self.assertLessEqual(answered, durable,
                                     "qmgr told of a delivery before its "
                                     "new/ was fsynced: " + line)
        self.assertGreaterEqual(renames, n, "strace saw too few renames")
        self.assertGreaterEqual(answered, n, "strace saw too few answers")


class Crash(unittest.TestCase):
    def setUp(self):
        self.mta = MTA(local_process_limit="1", local_concurrency_limit="1",
                       service_restart_delay="0s").start()

    def tearDown(self):
        self.mta.cleanup()

    def unanswered(self):
        """queue IDs in new/ that local has not logged as sent."""
        log = self.mta.log_text()
        return [q for q in delivered(self.mta, "c")
                if not re.search(r"%s: to=<c@localhost>, relay=local, "
                                 r".*status=sent" % q, log)]

    def test_kill_between_rename_and_answer_no_repeat(self):
        s = Stream(self.mta, 3000, ["c@localhost"])
        s.start()
        caught = []
        tries = 0
        while not caught and tries < 500 and s.is_alive():
            tries += 1
            wait_for(lambda: len(delivered(self.mta, "c")) >= 5 or
                     not s.is_alive(), 60, "deliveries")
            pids = self.mta.pids("local")
            for pid in pids:
                os.kill(pid, signal.SIGSTOP)
            # local appends its log lines to the file itself, each just
            # before its answer: stopped, the file is complete for it
            caught = self.unanswered()
            if caught:
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)
                break
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
            time.sleep(0.005)  # let it run on between two looks
        s.stop = True
        s.join(240)
        self.assertIsNone(s.error)
        if not caught:
            self.skipTest("no moment with a file in new/ and its answer "
                          "pending was caught in %d tries" % tries)
        for q in caught:
            self.mta.wait_log(r"%s: to=<c@localhost>, relay=local, .*"
                              r"status=sent \(delivered to maildir .*, "
                              r"already there as new/" % q, 90)
        wait_for(lambda: set(s.acked) <= set(delivered(self.mta, "c")),
                 90, "every message delivered")
        ids = delivered(self.mta, "c")
        self.assertEqual(set(s.acked) - set(ids), set(), "lost messages")
        for q in caught:
            self.assertEqual(ids[q], 1, "%s: in new/ when local was killed "
                             "before answering: not delivered again" % q)
        # qmgr finds the agent gone by reading (EOF) or, when it was
        # sending the next request at that moment, by writing (EPIPE)
        self.assertRegex(self.mta.log_text(),
                         r"%s: to=<c@localhost>, relay=none, .*"
                         r"status=deferred \((lost connection with the|"
                         r"cannot send to) delivery agent\)" % caught[0])


if __name__ == "__main__":
    unittest.main()

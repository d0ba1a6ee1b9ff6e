"""test_qmgr_busy.py - intake goes on while qmgr(8) does not read
(cleanup(8) "While qmgr leaves 64 notifications ... unanswered").

qmgr is stopped (SIGSTOP: as a long `mtactl delete --all` or a stuck
process would look to cleanup) while one client sends 100 messages in one
session: every one is acknowledged at once (before, cleanup waited 10 s for
qmgr after the 64th notification, and once more per message after that),
and cleanup says once that new mail waits in incoming/.  After SIGCONT
qmgr, finding 64 notifications waiting on one connection, scans
incoming/ (and cleanup asks it to with its next message that finds qmgr
answering), so all 101 are delivered long before the queue_run_delay of
300 s would have found them.
Runs unprivileged (as root too).
"""
import os
import signal
import smtplib
import unittest

from mta import MTA, wait_for

COUNT = 100


def message(i):
    return (b"From: bob@example.org\r\nSubject: busy %d\r\n\r\n"
            b"message %d while qmgr was stopped\r\n" % (i, i))


class QmgrBusy(unittest.TestCase):
    def setUp(self):
        self.mta = MTA(queue_run_delay="300s")
        self.mta.start()
        self.qmgr = wait_for(lambda: self.mta.pids("qmgr"), 30,
                             "qmgr running")[0]

    def tearDown(self):
        try:
            os.kill(self.qmgr, signal.SIGCONT)
        except ProcessLookupError:
            pass
        self.mta.cleanup()

    def test_stopped_qmgr_does_not_slow_intake(self):
        os.kill(self.qmgr, signal.SIGSTOP)
        # 5 s per reply: the old wait for qmgr (10 s) cannot pass
        s = smtplib.SMTP("127.0.0.1", self.mta.port, timeout=5)
        for i in range(COUNT):
            s.sendmail("bob@example.org", ["user@localhost"], message(i))
        s.quit()
        self.mta.wait_log(r"mta/cleanup\[\d+\]: warning: \w+: qmgr has not "
                          r"answered 64 notifications; new mail waits in "
                          r"incoming/ for its scan")
        self.assertEqual(len(self.mta.messages("user")), 0)
        os.kill(self.qmgr, signal.SIGCONT)
        with self.mta.smtp() as s:
            s.sendmail("bob@example.org", ["user@localhost"],
                       message(COUNT))
        self.mta.wait_messages("user", COUNT + 1, timeout=60)
        bodies = sorted(m.split(b"\n\n", 1)[1]
                        for m in self.mta.messages("user"))
        self.assertEqual(bodies, sorted(
            message(i).split(b"\r\n\r\n", 1)[1].replace(b"\r\n", b"\n")
            for i in range(COUNT + 1)))


if __name__ == "__main__":
    unittest.main()

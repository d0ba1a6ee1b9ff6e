"""test_durability.py - acknowledged mail survives kill -9 of any daemon.

While a client sends 300 messages, each daemon is killed in turn with
SIGKILL (smtpd, cleanup, qmgr, local, then master, after which the system
is started again with "mtactl start").  Every message that got a 250 must
end up in the Maildir, and none twice: a delivery whose answer qmgr never
recorded is tried again marked maybe_delivered, and local finds its copy
(local(8), Repeated deliveries).  A session cut before the final dot must
deliver nothing.
"""
import os
import re
import signal
import smtplib
import subprocess
import threading
import time
import unittest

from mta import MTA, wait_for

TOTAL = 300


class Sender(threading.Thread):
    """Sends TOTAL messages, reconnecting whenever the server goes away."""

    def __init__(self, mta):
        super().__init__(daemon=True)
        self.mta = mta
        self.acked = {}      # queue ID -> message number
        self.failed = 0      # attempts without a 250 (retried)
        self.n = 0
        self.error = None

    def run(self):
        try:
            self.loop()
        except Exception as e:  # reported by the test
            self.error = e

    def loop(self):
        deadline = time.time() + 240
        s = None
        while self.n < TOTAL and time.time() < deadline:
            try:
                if s is None:
                    s = smtplib.SMTP("127.0.0.1", self.mta.port, timeout=20)
                    s.ehlo("durable.example")
                body = (b"Subject: durable %d\r\n\r\nmessage number %d\r\n"
                        % (self.n, self.n))
                s.mail("d@example.org")
                s.rcpt("durable@localhost")
                code, text = s.data(body)
                if code == 250:
                    qid = re.search(rb"queued as (\w+)", text).group(1)
                    self.acked[qid.decode()] = self.n
                    self.n += 1
                else:
                    self.failed += 1
                    s.rset()
            except (OSError, smtplib.SMTPException):
                self.failed += 1
                try:
                    if s is not None:
                        s.close()
                except OSError:
                    pass
                s = None
                time.sleep(0.05)  # the server is restarting: retry pace
        if s is not None:
            try:
                s.quit()
            except (OSError, smtplib.SMTPException):
                pass


class Durability(unittest.TestCase):
    def setUp(self):
        self.mta = MTA(service_restart_delay="0s").start()

    def tearDown(self):
        self.mta.cleanup()

    def kill(self, prog):
        pids = wait_for(lambda: self.mta.pids(prog), 30, prog + " running")
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return pids

    def restart(self):
        # the killed master's children leave when they notice; the port is
        # then free for the new master
        wait_for(lambda: not self.mta.pids(), 30, "old processes gone")
        self.mta.ctl("start")
        wait_for(self.mta.accepting, 30, "SMTP port after restart")

    def test_kill_each_daemon_while_sending(self):
        sender = Sender(self.mta)
        sender.start()
        step = TOTAL // 6
        for i, prog in enumerate(["smtpd", "cleanup", "qmgr", "local",
                                  "master"]):
            wait_for(lambda: sender.n >= step * (i + 1) or
                     not sender.is_alive(), 120, "progress before " + prog)
            self.kill(prog)
            if prog == "master":
                self.restart()
        sender.join(300)
        self.assertIsNone(sender.error)
        self.assertEqual(sender.n, TOTAL, "client could not send them all")

        def delivered():
            ids = {}
            for m in self.mta.messages("durable"):
                qid = re.search(rb"with ESMTP id (\w+)", m).group(1).decode()
                ids[qid] = ids.get(qid, 0) + 1
            return ids
        try:
            wait_for(lambda: set(sender.acked) <= set(delivered()), 90,
                     "every acknowledged message delivered")
        except AssertionError:
            pass  # the counts below say what is missing
        ids = delivered()
        missing = set(sender.acked) - set(ids)
        twice = sum(1 for c in ids.values() if c > 1)
        extra = set(ids) - set(sender.acked)
        print("\n  durability: %d acknowledged, %d delivered, %d missing, "
              "%d delivered twice, %d unacknowledged but delivered, "
              "%d attempts retried by the client"
              % (len(sender.acked), len(ids), len(missing), twice,
                 len(extra), sender.failed))
        self.assertEqual(missing, set())
        self.assertEqual(twice, 0, "delivered twice: %s" % sorted(
            q for q, c in ids.items() if c > 1))
        # every kill shows up in master's log as a crash it recovered from
        log = self.mta.log_text()
        for prog in ("smtpd", "cleanup", "qmgr", "local"):
            self.assertRegex(log, r"process \S+/%s pid \d+ killed by "
                             r"signal 9" % prog)


if __name__ == "__main__":
    unittest.main()

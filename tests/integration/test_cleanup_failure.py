"""test_cleanup_failure.py - what each submitter does when cleanup(8)
fails or refuses (common/cleanup_client.c on the four paths).

A fake cleanup (fake_cleanup.py) takes private/cleanup.  smtpd: a
cleanup that hangs up in the middle of a 300 KB DATA costs the client
exactly one 451 4.3.0 at the end, after smtpd read the whole message, and
the session stays in step; the same for BDAT; a refused envelope is 451
4.3.0 after the body (smtpd reads cleanup's answer to it after the 354);
a refusal is passed on as cleanup worded it.  pickup: the
refusal, or no answer, reaches sendmail(1).  local: a refused forward
bounces (5.3.0) and qmgr, refused in turn, logs it.  Each path sends
the envelope attributes it always sent.  Runs unprivileged (as root too).
"""
import os
import subprocess
import unittest

from fake_cleanup import FAKE_ID, REFUSAL, FakeCleanup
from local_helpers import mta_with_maps
from mta import BIN, wait_for
from smtpd_helpers import Client

BIG = b"Subject: big\r\n\r\n" + b"x" * 998 + b"\r\n"


class CleanupFailure(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mta = mta_with_maps(aliases="fwd: bob@dest.test\n").start()
        cls.queue = os.path.join(cls.mta.dir, "queue")

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def fake(self, *modes):
        f = FakeCleanup(self.queue, modes)
        self.addCleanup(f.stop)
        return f

    def client(self):
        c = Client(self.mta.port)
        self.addCleanup(c.close)
        self.assertEqual(c.cmd(b"EHLO client.example")[0], 250)
        self.assertEqual(c.cmd(b"MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(c.cmd(b"RCPT TO:<u1@localhost>")[0], 250)
        return c

    def assert_in_step(self, c):
        self.assertEqual(c.cmd(b"NOOP")[:2], (250, "2.0.0"))

    def test_smtpd_data_hangup_one_reply_at_the_end(self):
        f = self.fake("hangup")
        c = self.client()
        self.assertEqual(c.cmd(b"DATA")[0], 354)
        c.send(BIG * 300 + b".\r\n")  # blocks if smtpd stopped reading
        self.assertEqual(c.reply()[:2], (451, "4.3.0"))
        self.assert_in_step(c)
        self.mta.wait_log(r"warning: %s: no answer from cleanup" % FAKE_ID)
        names = [n for n, _ in f.envelopes[0][1]]
        self.assertEqual(names, ["req", "sender", "rcpt", "client_addr",
                                 "client_name", "helo", "protocol",
                                 "body_type"])
        env = dict(f.envelopes[0][1])
        self.assertEqual((env["sender"], env["rcpt"], env["protocol"]),
                         ("a@example.org", "u1@localhost", "ESMTP"))

    def test_smtpd_bdat_hangup(self):
        self.fake("hangup")
        c = self.client()
        chunk = BIG * 100
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
        got = c.reply()
        self.assertEqual(got[:2], (250, "2.0.0"), got)
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        got = c.reply()
        self.assertEqual(got[:2], (451, "4.3.0"), got)
        self.assert_in_step(c)

    def test_smtpd_envelope_refused(self):
        # smtpd takes cleanup's answer to the envelope after its 354
        # (smtpd_data.c data_id): the body is read and dropped, and the
        # 451 follows it
        self.fake("no_id")
        c = self.client()
        self.assertEqual(c.cmd(b"DATA")[0], 354)
        got = c.cmd(b"Subject: x\r\n\r\nbody\r\n.")
        self.assertEqual(got[:2], (451, "4.3.0"), got)
        self.assertIn("queue file write error", got[2])
        self.assert_in_step(c)
        self.mta.wait_log(r"warning: cleanup did not accept the envelope")

    def test_smtpd_refusal_passed_on(self):
        self.fake("refuse")
        c = self.client()
        self.assertEqual(c.cmd(b"DATA")[0], 354)
        got = c.cmd(b"Subject: x\r\n\r\nbody\r\n.")
        self.assertEqual(got[2], "554 %s\r\n" % REFUSAL)
        self.assert_in_step(c)

    def sendmail(self, data):
        return subprocess.run([os.path.join(BIN, "sendmail"), "-C",
                               self.mta.conf, "s1@localhost"], input=data,
                              capture_output=True, timeout=60)

    def test_pickup(self):
        f = self.fake("refuse", "hangup")
        p = self.sendmail(b"Subject: x\n\nbody\n")
        self.assertEqual(p.returncode, 65, p.stderr)  # EX_DATAERR
        self.assertIn(b"not sent: 554 " + REFUSAL.encode(), p.stderr)
        p = self.sendmail(b"Subject: y\n\n" + b"y" * 200000 + b"\n")
        self.assertEqual(p.returncode, 75, p.stderr)  # EX_TEMPFAIL
        self.assertIn(b"not sent: 451 4.3.0 no answer from cleanup",
                      p.stderr)
        names = [n for n, _ in f.envelopes[0][1]]
        self.assertEqual(names, ["req", "sender", "rcpt", "client_addr",
                                 "client_name", "helo", "protocol"])
        self.assertEqual(dict(f.envelopes[0][1])["helo"], "localhost")

    def test_forward_and_notice_refused(self):
        # smtpd's submission passes; local's forward and the bounce
        # qmgr makes of it are refused
        f = self.fake("pass", "refuse", "refuse")
        with self.mta.smtp() as s:
            s.sendmail("carl@localhost", ["fwd@localhost"],
                       b"Subject: fwd\r\n\r\nbody\r\n")
        self.mta.wait_log(r"to=<bob@dest\.test>, orig_to=<fwd@localhost>.*"
                          r"dsn=5\.3\.0, status=bounced \(forwarding "
                          r"refused by cleanup: 554 5\.7\.1 Error: refused "
                          r"by the fake\)")
        self.mta.wait_log(r"warning: \S+: cleanup refused a notification: "
                          r"554 5\.7\.1 Error: refused by the fake")
        wait_for(lambda: len(f.envelopes) == 2, what="two envelopes")
        fwd = f.envelopes[0][1]
        self.assertEqual([n for n, _ in fwd],
                         ["req", "sender", "rcpt", "client_addr",
                          "client_name", "helo", "protocol", "body_type"])
        self.assertEqual(dict(fwd)["rcpt"], "bob@dest.test")
        notice = f.envelopes[1][1]
        self.assertEqual(notice, [("req", "submit"), ("sender", ""),
                                  ("rcpt", "carl@localhost"),
                                  ("protocol", "local"),
                                  ("body_type", "8BITMIME")])


if __name__ == "__main__":
    unittest.main()

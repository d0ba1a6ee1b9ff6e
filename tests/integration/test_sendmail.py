"""test_sendmail.py - sendmail(1) as cron, PHP's mail() and scripts use it:
-t with To/Cc/Bcc, -f, -bs, and a submission while the system is down
that waits in maildrop/ and is delivered after start."""
import os
import pwd
import subprocess
import unittest

from mta import BIN, MTA, wait_for


class Sendmail(unittest.TestCase):
    def setUp(self):
        self.mta = MTA()

    def tearDown(self):
        self.mta.cleanup()

    def sendmail(self, args, data):
        return subprocess.run([os.path.join(BIN, "sendmail"), "-C",
                               self.mta.conf] + args, input=data,
                              capture_output=True, timeout=60)

    def me(self):
        return pwd.getpwuid(os.getuid()).pw_name

    def test_t_with_bcc_like_cron(self):
        self.mta.start()
        msg = (b"To: to1@localhost, \"Two, Person\" <to2@localhost>\n"
               b"Cc: cc1@localhost\nBcc: hidden@localhost\n"
               b"Subject: cron\n\nbody line\n.\nafter dot\n")
        p = self.sendmail(["-t", "-i"], msg)
        self.assertEqual(p.returncode, 0, p.stderr)
        for user in ("to1", "to2", "cc1", "hidden"):
            got = self.mta.wait_messages(user, 1)[0]
            self.assertNotIn(b"Bcc:", got)
            self.assertIn(b"\nbody line\n.\nafter dot\n", got)  # -i
            self.assertIn(b"From: ", got)  # added: the message had none
            self.assertIn(b"Message-Id: ", got)
        self.mta.wait_log(r"uid=%d from=<%s@mx\.test\.example>"
                          % (os.getuid(), self.me()))

    def test_f_recorded_and_dot_ends_without_i(self):
        self.mta.start()
        p = self.sendmail(["-f", "app@example.org", "-F", "Web App",
                           "fuser@localhost"],
                          b"Subject: php\n\nfirst\n.\nnot sent\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        got = self.mta.wait_messages("fuser", 1)[0]
        self.assertIn(b"From: \"Web App\" <app@example.org>", got)
        self.assertIn(b"\nfirst\n", got)
        self.assertNotIn(b"not sent", got)
        self.mta.wait_log(r"from=<app@example\.org> \(set with -f by %s\)"
                          % self.me())

    def test_bs_dialogue(self):
        self.mta.start()
        p = self.sendmail(["-bs"], b"EHLO me\r\nMAIL FROM:<s@example.org>\r\n"
                          b"RCPT TO:<bs@localhost>\r\nDATA\r\n"
                          b"Subject: bs\r\n\r\n..dotted\r\n.\r\nQUIT\r\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        codes = [l[:3] for l in p.stdout.decode().split("\r\n") if l]
        self.assertEqual(codes, ["220", "250", "250", "250", "354", "250",
                                 "221"], p.stdout)
        self.assertIn(b"queued as", p.stdout)
        got = self.mta.wait_messages("bs", 1)[0]
        self.assertIn(b"\n.dotted\n", got)

    def test_down_then_maildrop_delivered_at_start(self):
        self.mta.start()
        self.mta.stop()
        drop = os.path.join(self.mta.dir, "queue", "maildrop")
        p = self.sendmail(["-t"], b"To: later@localhost\nSubject: x\n\nwait\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(os.listdir(drop)), 1)
        self.mta.start()
        got = self.mta.wait_messages("later", 1)[0]
        self.assertIn(b"\nwait\n", got)
        wait_for(lambda: os.listdir(drop) == [], what="maildrop emptied")

    def test_maildrop_file_cut_short_is_not_delivered(self):
        """A drop whose message is shorter than its size field (sendmail
        killed while writing) is removed at pickup, not delivered in
        part; a whole one beside it is delivered."""
        self.mta.start()
        self.mta.stop()
        drop = os.path.join(BIN, "mtadrop")
        p = subprocess.run([drop, "-c", self.mta.conf], capture_output=True,
                           input=b"rcpt=cut@localhost\0size=100\0\0\nhalf",
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, rb"^[0-9A-Z]{15}\n$")
        p = self.sendmail(["whole@localhost"], b"Subject: w\n\nwhole\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.mta.start()
        self.assertIn(b"\nwhole\n", self.mta.wait_messages("whole", 1)[0])
        self.mta.wait_log(r"maildrop/\w+: malformed or unreadable "
                          r"maildrop file, removed")
        self.assertEqual(self.mta.messages("cut"), [])

    def test_usage_errors_are_sysexits(self):
        self.mta.start()
        p = self.sendmail([], b"Subject: none\n\nx\n")
        self.assertEqual(p.returncode, 64)  # EX_USAGE: no recipients
        p = self.sendmail(["-t"], b"Subject: none\n\nx\n")
        self.assertEqual(p.returncode, 65, p.stderr)  # EX_DATAERR
        self.assertIn(b"no recipients", p.stderr)

    def test_bp_runs_mailq(self):
        self.mta.start()
        self.sendmail(["q@localhost"], b"Subject: q\n\nq\n")
        self.mta.wait_messages("q", 1)  # qmgr has its index by now
        wait_for(lambda: b"Mail queue is empty" in
                 self.sendmail(["-bp"], b"").stdout, what="empty mailq")
        p = self.sendmail(["-bp"], b"")
        self.assertEqual(p.returncode, 0, p.stderr)
        # called as mailq (the link make install makes)
        link = os.path.join(self.mta.dir, "mailq")
        os.symlink(os.path.join(BIN, "sendmail"), link)
        p = subprocess.run([link, "-C", self.mta.conf], capture_output=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"Mail queue is empty", p.stdout)


if __name__ == "__main__":
    unittest.main()

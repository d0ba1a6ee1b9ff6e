"""test_control.py - the administrator's view: mtactl start/stop/reload/
status, and a restart that finds mail left in the queue."""
import os
import re
import shutil
import unittest

from mta import MTA, wait_for


class Control(unittest.TestCase):
    def setUp(self):
        self.mta = MTA()

    def tearDown(self):
        self.mta.cleanup()

    def test_status_stop_start(self):
        p = self.mta.ctl("status", check=False)
        self.assertEqual(p.returncode, 3)
        self.assertIn("not running", p.stdout)
        self.mta.start()
        self.assertRegex(self.mta.log_text(), r"mta/master\[\d+\]: daemon "
                         r"started -- version [\d.]+, configuration \S+, "
                         r"run_mode=user: unprivileged")
        # a second master on the same queue is refused
        p = self.mta.ctl("start", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("already running", p.stderr)
        self.assertIn("qmgr", self.mta.ctl("status").stdout)
        self.mta.ctl("stop")
        self.assertEqual(self.mta.pids(), [])
        self.mta.wait_log(r"mta/master\[\d+\]: stopped")
        self.mta.start()
        with self.mta.smtp() as s:
            s.sendmail("a@example.org", ["again@localhost"], b"\r\nx\r\n")
        self.mta.wait_messages("again", 1)

    def test_reload_takes_new_settings(self):
        self.mta.start()
        with self.mta.smtp() as s:
            self.assertIn(b"mx.test.example", s.ehlo()[1])
        with open(self.mta.conf) as f:
            text = f.read()
        with open(self.mta.conf, "w") as f:
            f.write(text.replace("myhostname = mx.test.example",
                                 "myhostname = reloaded.example"))
        self.mta.ctl("reload")
        self.mta.wait_log(r"reload -- version")

        def greeting():
            with self.mta.smtp() as s:
                return b"reloaded.example" in s.ehlo()[1]
        wait_for(greeting, 20, "new hostname after reload")

    def test_restart_delivers_what_was_left(self):
        """A message acknowledged while no delivery can happen (the
        mailbox base is unusable) waits in the queue, is listed, survives
        a stop, and is delivered after the start once the base works."""
        base = self.mta.mail
        with open(base, "w") as f:  # a file where the directory should be
            f.write("not a directory")
        self.mta.start()
        with self.mta.smtp() as s:
            s.sendmail("w@example.org", ["wait@localhost"], b"\r\nwaiting\r\n")
        self.mta.wait_log(r"to=<wait@localhost>, relay=local, .*"
                          r"status=deferred \(maildir delivery failed")
        # qmgr logs the outcome at once and commits its index within its
        # commit window (qmgr(8)): the listing may lag the log line
        wait_for(lambda: "w@example.org" in self.mta.ctl("queue").stdout,
                 20, "the message in the listing")
        out = self.mta.ctl("queue").stdout
        self.assertRegex(out, r"\w{15}[ *] +\d+ .* w@example\.org")
        self.assertIn("wait@localhost", out)
        self.assertRegex(self.mta.ctl("queue", "--json").stdout,
                         r'"recipients":\[\{"address":"wait@localhost"')
        self.mta.ctl("stop")
        os.unlink(base)
        self.mta.start()
        self.mta.wait_messages("wait", 1)
        wait_for(lambda: "Mail queue is empty" in self.mta.ctl("queue").stdout,
                 20, "empty queue")


if __name__ == "__main__":
    unittest.main()

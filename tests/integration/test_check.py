"""test_check.py - mtactl check: a healthy system says so; a wrong mode,
a stale map and a missing daemon are each reported with their fix; and
mtactl status shows the queue counts by state."""
import os
import re
import time
import unittest

from mta import MTA, wait_for


class Check(unittest.TestCase):
    def setUp(self):
        self.mta = MTA().start()

    def tearDown(self):
        self.mta.cleanup()

    def test_healthy_then_wrong_mode(self):
        p = self.mta.ctl("check")
        self.assertIn("mail system healthy", p.stdout)
        incoming = os.path.join(self.mta.dir, "queue", "incoming")
        os.chmod(incoming, 0o755)
        p = self.mta.ctl("check", check=False)
        self.assertEqual(p.returncode, 78)  # EX_CONFIG
        self.assertIn("problem: %s has mode 0755" % incoming, p.stdout)
        self.assertIn("fix: chmod 0700 %s" % incoming, p.stdout)
        self.assertIn("1 problem found", p.stdout)

    def test_stale_map(self):
        src = os.path.join(self.mta.dir, "aliases")
        with open(src + ".db", "w") as f:
            f.write("compiled\n")
        old = time.time() - 60
        os.utime(src + ".db", (old, old))
        with open(src, "w") as f:
            f.write("postmaster: root\n")
        p = self.mta.ctl("check", check=False)
        self.assertEqual(p.returncode, 78)
        self.assertIn("map %s.db is older than its source" % src, p.stdout)
        self.assertIn("fix: mtactl newaliases %s" % src, p.stdout)

    def test_status_queue_counts(self):
        with self.mta.smtp() as s:
            s.sendmail("a@example.org", ["st@localhost"], b"\r\nx\r\n")
        self.mta.wait_messages("st", 1)
        p = self.mta.ctl("status")
        self.assertRegex(p.stdout, r"(?m)^queue: active=\d+ deferred=\d+ "
                         r"incoming=0 maildrop=0 corrupt=0$")


if __name__ == "__main__":
    unittest.main()


class LogLevel(unittest.TestCase):
    def test_verbose_then_normal(self):
        self.mta = MTA().start()
        try:
            self.assertIn("log level: normal", self.mta.ctl("log-level").stdout)
            pickup = wait_for(lambda: self.mta.pids("pickup"),
                              what="pickup started")
            p = self.mta.ctl("log-level", "verbose")
            self.assertIn("log level: verbose", p.stdout)
            self.mta.wait_log(r"log level set to verbose")
            # every process follows the shared level: none is replaced
            # (test_stats.py sees qmgr's verbose lines come and go)
            self.assertEqual(self.mta.pids("pickup"), pickup)
            self.assertEqual(self.mta.ctl("log-level", "loud",
                                          check=False).returncode, 64)
            self.assertIn("log level: normal",
                          self.mta.ctl("log-level", "normal").stdout)
        finally:
            self.mta.cleanup()

"""test_stats.py - what a postmaster reads from the running system:
mtactl stats (counters of messages, sessions and rejects by reason, the
resolver's cache, the queue), mtactl status --json, and mtactl log-level
reaching the long-lived qmgr at once."""
import json
import os
import re
import smtplib
import subprocess
import unittest

from mta import BIN, MTA, wait_for
from local_helpers import mta_with_maps


def stats(m):
    return json.loads(m.ctl("stats", "--json").stdout)


class Stats(unittest.TestCase):
    def setUp(self):
        # loopback is not trusted here: relaying is refused
        # and v1.example has one user
        self.mta = mta_with_maps(
            virtual="alice@v1.example v1.example/alice/\n",
            virtual_mailbox_domains="v1.example",
            mynetworks="192.0.2.0/24").start()

    def tearDown(self):
        self.mta.cleanup()

    def test_counters_by_reason(self):
        m = self.mta
        # start() made one connection of its own to see the port open
        before = wait_for(lambda: stats(m)["smtpd"]["connections"] == 1
                          and stats(m), what="start's probe counted")
        self.assertGreater(before["since"], 0)
        self.assertEqual(before["smtpd"]["messages"], 0)
        with m.smtp() as s:
            s.ehlo("client.example")
            self.assertEqual(s.docmd("FOO")[0], 500)  # bad syntax
            s.mail("a@example.org")
            code, text = s.rcpt("x@elsewhere.example")
            self.assertEqual(code, 554)  # relay denied
            code, text = s.rcpt("nosuchuser@v1.example")
            self.assertEqual(code, 550)
            self.assertIn(b"5.1.1", text)
            self.assertEqual(s.rcpt("counted@localhost")[0], 250)
            self.assertEqual(s.data(b"Subject: one\r\n\r\nhi\r\n")[0], 250)
        self.mta.wait_messages("counted", 1)
        p = subprocess.run([os.path.join(BIN, "sendmail"), "-C", m.conf,
                            "counted@localhost"], input=b"Subject: 2\n\nx\n",
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.mta.wait_messages("counted", 2)

        def delivered():
            st = stats(m)
            return st["qmgr"]["delivered"] >= 2 and st
        st = wait_for(delivered, what="two deliveries counted")
        self.assertEqual(st["since"], before["since"])
        b = before["smtpd"]
        self.assertEqual(st["smtpd"]["connections"], b["connections"] + 1)
        self.assertEqual(st["smtpd"]["sessions_plain"],
                         b["sessions_plain"] + 1)
        self.assertEqual(st["smtpd"]["tls_ok"], 0)
        self.assertEqual(st["smtpd"]["messages"], 1)
        self.assertEqual(st["pickup"]["messages"], 1)
        self.assertEqual(st["cleanup"]["queued"], 2)
        self.assertEqual(st["qmgr"]["delivered"], 2)
        self.assertEqual(st["qmgr"]["bounced"], 0)
        self.assertEqual(st["reject"]["relay_denied"], 1)
        self.assertEqual(st["reject"]["unknown_user"], 1)
        self.assertEqual(st["reject"]["bad_syntax"], 1)
        self.assertEqual(st["reject"]["size"], 0)
        self.assertIn("resolver", st)
        self.assertEqual(st["queue"]["corrupt"], 0)
        out = m.ctl("stats").stdout
        self.assertRegex(out, r"counters since \d{4}-\d\d-\d\d ")
        self.assertRegex(out, r"reject:\n(  .*\n)*  relay_denied +1  ")
        self.assertRegex(out, r"qmgr:\n  delivered +2  recipients delivered")
        # the derived figure: the same in the text as in the JSON
        self.assertRegex(out, r"\n  sessions_plain +%d  sessions without "
                         r"TLS\n" % st["smtpd"]["sessions_plain"])
        self.assertIn("queue:", out)
        # a new start begins new counters
        m.ctl("stop")
        m.start()
        again = stats(m)
        self.assertEqual(again["qmgr"]["delivered"], 0)
        self.assertGreaterEqual(again["since"], st["since"])

    def test_status_json(self):
        m = self.mta
        wait_for(lambda: m.pids("qmgr"), what="qmgr started")
        st = json.loads(m.ctl("status", "--json").stdout)
        self.assertTrue(st["running"])
        svc = {s["service"]: s for s in st["services"]}
        self.assertTrue({"smtpd", "qmgr", "cleanup", "pickup"} <= set(svc))
        self.assertEqual(svc["qmgr"]["processes"], 1)
        self.assertEqual(svc["qmgr"]["restarts"], 0)
        for s in svc.values():
            for k in ("processes", "busy", "idle", "limit", "restarts"):
                self.assertIsInstance(s[k], int)
        self.assertEqual(svc["smtpd"]["listen"], "127.0.0.1:%d" % m.port)
        self.assertEqual(st["master"]["pid"], m.pids("master")[0])
        self.assertEqual(st["master"]["run_mode"], "user")
        self.assertEqual(set(st["queue"]), {"active", "deferred", "incoming",
                                            "maildrop", "corrupt"})
        m.ctl("stop")
        p = m.ctl("status", "--json", check=False)
        self.assertEqual(p.returncode, 3)
        self.assertFalse(json.loads(p.stdout)["running"])


class LogLevel(unittest.TestCase):
    def setUp(self):
        self.mta = MTA().start()

    def tearDown(self):
        self.mta.cleanup()

    def send(self, user):
        with self.mta.smtp() as s:
            s.sendmail("a@example.org", [user + "@localhost"], b"\r\nx\r\n")
        self.mta.wait_messages(user, 1)
        # local logs the delivery just after the file is in place; qmgr
        # logs "removed" after the result (and its verbose line on it)
        qid = self.mta.wait_log(r"(\w+): to=<%s@localhost>.*status=sent"
                                % user).group(1)
        self.mta.wait_log(r"mta/qmgr\[\d+\]: %s: removed" % qid)
        return qid

    def qmgr_debug(self, qid):
        return re.search(r"mta/qmgr\[\d+\]: %s: recipient 0: 2\.0\.0 " % qid,
                         self.mta.log_text())

    def test_verbose_then_normal_reaches_qmgr(self):
        m = self.mta
        qmgr = wait_for(lambda: m.pids("qmgr"), what="qmgr started")
        self.assertEqual(m.ctl("log-level").stdout, "log level: normal\n")
        quiet = self.send("first")
        self.assertIsNone(self.qmgr_debug(quiet))
        self.assertEqual(m.ctl("log-level", "verbose").stdout,
                         "log level: verbose\n")
        loud = self.send("second")
        self.assertIsNotNone(self.qmgr_debug(loud))
        m.ctl("log-level", "normal")
        quiet = self.send("third")
        self.assertIsNone(self.qmgr_debug(quiet))
        self.assertEqual(m.pids("qmgr"), qmgr)  # the same process
        self.assertEqual(m.ctl("log-level", "loud", check=False).returncode,
                         64)


if __name__ == "__main__":
    unittest.main()

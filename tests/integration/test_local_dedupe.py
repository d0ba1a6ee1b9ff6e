"""test_local_dedupe.py - a delivery whose answer was lost is not made
twice into a Maildir.

local names each Maildir file with a tag of the queue ID and the
recipient's number ("X<ID>_<n>" at the end of the name's unique part).
When qmgr cannot know how a recipient's last attempt ended (qmgr was
killed before it recorded local's answer, or local's connection broke
before the answer came), it marks the next request maybe_delivered, and
local takes the copy with that tag in new/ or cur/ as the delivery:
"status=sent (delivered to maildir DIR, already there as new/NAME)".

The moment between local's rename into new/ and qmgr's record of the
answer is made to last: strace holds local's answer (its first sendmsg
after attaching) for a minute, so the file is in new/ and qmgr has not
heard of it.  Then qmgr is killed (it is restarted and finds the message
still in delivery), or local is (qmgr defers the recipient as "lost
connection" and tries again).  Either way exactly one copy must be in
the Maildir afterwards.  Before the tag these tests saw two.
Needs strace and the right to trace our own processes (skipped when
either is missing).
"""
import os
import re
import shutil
import signal
import subprocess
import unittest

from mta import MTA, wait_for

TAGGED = r"^\d+\.M\d+P\d+Q\d+X%s_%d\.[^/:]+$"


class Dedupe(unittest.TestCase):
    def setUp(self):
        if shutil.which("strace") is None:
            self.skipTest("strace is not installed (make deps)")
        # one local process: the request goes to the one strace follows
        self.mta = MTA(local_process_limit="1", local_concurrency_limit="1",
                       service_restart_delay="0s",
                       recipient_delimiter="+").start()
        self.strace = None

    def tearDown(self):
        self.release()
        self.mta.cleanup()

    def send(self, rcpt, subject):
        s = self.mta.smtp()
        s.ehlo("dedupe.example")
        s.mail("sender@example.org")
        s.rcpt(rcpt)
        code, text = s.data(b"Subject: %s\r\n\r\nbody\r\n" % subject.encode())
        s.quit()
        self.assertEqual(code, 250)
        return re.search(rb"queued as (\w+)", text).group(1).decode()

    def files(self, user, sub):
        d = os.path.join(self.mta.maildir(user), sub)
        try:
            return sorted(os.listdir(d))
        except FileNotFoundError:
            return []

    def hold_answers(self):
        """Deliver one message (local runs, qmgr has its answer), then
        have strace hold local's next answer for 60 s."""
        qid = self.send("warm@localhost", "warm")
        self.mta.wait_log(r"%s: removed" % qid)
        pid = wait_for(lambda: self.mta.pids("local"), 20, "local")[0]
        self.strace = subprocess.Popen(
            ["strace", "-p", str(pid), "-o", "/dev/null", "-e",
             "trace=sendmsg", "-e", "inject=sendmsg:delay_enter=60s:when=1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        line = self.strace.stderr.readline().decode()
        if "attached" not in line:
            self.strace.wait(10)
            self.skipTest("strace cannot attach here: %s" % line.strip())
        return pid

    def release(self):
        """strace detaches: the held answer goes (to whoever is left)."""
        if self.strace is not None and self.strace.poll() is None:
            self.strace.send_signal(signal.SIGINT)
            self.strace.wait(20)
        if self.strace is not None:
            self.strace.stderr.close()
        self.strace = None

    def delivered_unanswered(self, user, subject):
        """Send one message; wait until its file is in new/ and local
        logged it as sent (just before the answer strace holds)."""
        qid = self.send("%s@localhost" % user, subject)
        name = wait_for(lambda: self.files(user, "new"), 20,
                        "the file in new/")[0]
        self.assertRegex(name, TAGGED % (qid, 0))
        self.mta.wait_log(r"%s: to=<%s@localhost>, relay=local, .*"
                          r"status=sent \(delivered to maildir " %
                          (qid, user))
        self.assertNotRegex(self.mta.log_text(), r"%s: removed" % qid)
        return qid, name

    def assert_once(self, user, qid, where):
        line = self.mta.wait_log(
            r"%s: to=<%s@localhost>, relay=local, .*dsn=2\.0\.0, "
            r"status=sent \(delivered to maildir [^,]*, already there as "
            r"%s\)" % (qid, user, re.escape(where)), 30)
        self.assertIsNotNone(line)
        self.mta.wait_log(r"%s: removed" % qid, 30)
        self.assertEqual(len(self.files(user, "new")) +
                         len(self.files(user, "cur")), 1,
                         "one copy in the Maildir")
        self.assertEqual(self.files(user, "tmp"), [])

    def test_qmgr_killed_before_the_answer(self):
        self.hold_answers()
        qid, name = self.delivered_unanswered("dup", "qmgr killed")
        old = self.mta.pids("qmgr")
        for pid in old:
            os.kill(pid, signal.SIGKILL)
        self.release()
        # master starts a new qmgr: the message was in delivery, its
        # outcome unknown, so local is asked to look first
        wait_for(lambda: set(self.mta.pids("qmgr")) - set(old), 30,
                 "a new qmgr")
        self.assert_once("dup", qid, "new/" + name)
        self.assertEqual(self.files("dup", "new"), [name])

    def test_local_killed_before_the_answer_read_meanwhile(self):
        pid = self.hold_answers()
        qid, name = self.delivered_unanswered("dup2", "local killed")
        # a reader (Dovecot, say) moves it to cur/ and marks it seen
        cur = os.path.join(self.mta.maildir("dup2"), "cur")
        os.rename(os.path.join(self.mta.maildir("dup2"), "new", name),
                  os.path.join(cur, name + ":2,S"))
        os.kill(pid, signal.SIGKILL)
        self.release()
        self.mta.wait_log(r"%s: to=<dup2@localhost>, relay=none, .*"
                          r"status=deferred \(lost connection with the "
                          r"delivery agent\)" % qid)
        self.assert_once("dup2", qid, "cur/" + name + ":2,S")
        self.assertEqual(self.files("dup2", "cur"), [name + ":2,S"])

    def test_ordinary_deliveries_do_not_look(self):
        # two recipients of one message: two copies, each with its tag;
        # a deferral that local answered is not marked
        s = self.mta.smtp()
        s.ehlo("dedupe.example")
        s.mail("sender@example.org")
        s.rcpt("twice@localhost")
        s.rcpt("twice+ext@localhost")
        code, text = s.data(b"Subject: two\r\n\r\nbody\r\n")
        s.quit()
        self.assertEqual(code, 250)
        qid = re.search(rb"queued as (\w+)", text).group(1).decode()
        self.mta.wait_log(r"%s: removed" % qid)
        names = self.files("twice", "new")
        self.assertEqual(len(names), 2)
        self.assertEqual(sorted(re.search(r"X%s_(\d)\." % qid, n).group(1)
                                for n in names), ["0", "1"])
        self.assertNotIn("already there", self.mta.log_text())


if __name__ == "__main__":
    unittest.main()

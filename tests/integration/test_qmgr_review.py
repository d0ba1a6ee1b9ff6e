"""test_qmgr_review.py - qmgr(8) against a delivery agent's bad answers.

qmgr trusts an agent's answers only as far as their form allows: a
reply text with line breaks (a remote peer's multi-line reply, or a
hostile one) must not add header fields to a notice or lines to the
log, and a status code that is not one must not reach a Status: field.
The test transport (fake_agent.py in place of remote) gives both answers.

And a transport whose program cannot run (master keeps its socket and
takes connections it cannot serve) must not keep mail for the hour a
request may take: qmgr gives up on a request the agent has not read
within qmgr_agent_accept_timeout.
"""
import os
import re
import time
import unittest

import mta
from test_bounce import daemon_dir, parse, report_fields, send, start


class AgentAnswers(unittest.TestCase):
    def setUp(self):
        self.m = start()

    def tearDown(self):
        self.m.cleanup()

    def bounce_of(self, rcpt):
        qid = send(self.m, "alice@localhost", [rcpt])
        self.m.wait_log(r"%s: removed" % qid, timeout=30)
        raw, = self.m.wait_messages("alice", 1)
        return qid, raw, parse(raw)

    def test_reply_text_with_line_breaks_stays_in_its_field(self):
        qid, raw, msg = self.bounce_of("inject@fail.test")
        self.assertNotIn(b"\nX-Injected", raw)
        self.assertNotIn(b"\r", raw)
        per_msg, rcpts = report_fields(msg)
        self.assertEqual(len(rcpts), 1)
        self.assertNotIn("X-Injected", rcpts[0])
        self.assertEqual(rcpts[0]["Status"], "5.1.1")
        self.assertTrue(rcpts[0]["Diagnostic-Code"].startswith(
            "smtp; 550 5.1.1 no such user X-Injected: yes"),
            rcpts[0]["Diagnostic-Code"])
        # qmgr's own log line: one line, the text inside it
        lines = [l for l in self.m.log_text().splitlines()
                 if "mta/qmgr" in l or "qmgr[" in l]
        self.assertFalse([l for l in lines if l.startswith("X-Injected")])

    def test_malformed_status_code_is_not_passed_on(self):
        qid, raw, msg = self.bounce_of("baddsn@fail.test")
        per_msg, rcpts = report_fields(msg)
        self.assertEqual(len(rcpts), 1)
        self.assertNotIn("X-Bad", rcpts[0])
        self.assertRegex(rcpts[0]["Status"], r"^5\.\d{1,3}\.\d{1,3}$")
        self.assertNotIn(b"X-Bad", raw)


class ManyRecipients(unittest.TestCase):
    """One message to 2,000 recipients: 1,990 delivered, 10 bounced, in
    one notice that lists exactly those 10.  (10,000, LIM_QF_RCPTS and
    the top of smtpd_recipient_limit, cannot be sent yet: smtpd's
    envelope record to cleanup holds at most LIM_IPC_ATTRS = 2200
    attributes, and a bigger one is refused with 451 4.3.0.)"""

    def setUp(self):
        self.m = start(smtpd_recipient_limit="10000")

    def tearDown(self):
        self.m.cleanup()

    def test_two_thousand_recipients(self):
        rcpts = ["ok%d@fail.test" % i for i in range(1990)] + \
                ["bad%d@fail.test" % i for i in range(10)]
        t0 = time.time()
        qid = send(self.m, "alice@localhost", rcpts)
        self.m.wait_log(r"%s: removed" % qid, timeout=120)
        raw, = self.m.wait_messages("alice", 1, timeout=60)
        per_msg, fields = report_fields(parse(raw))
        self.assertEqual(sorted(f["Final-Recipient"] for f in fields),
                         sorted("rfc822; bad%d@fail.test" % i
                                for i in range(10)))
        log = self.m.log_text()
        self.assertEqual(len(re.findall(r"%s: sender non-delivery" % qid,
                                        log)), 1)
        self.assertEqual(len(re.findall(
            r"%s: to=<ok\d+@fail.test>.*status=sent" % qid, log)), 1990)
        print("\n  2000 recipients: %.1fs" % (time.time() - t0), end=" ")


class MissingTransport(unittest.TestCase):
    def setUp(self):
        m = mta.MTA(relay_domains="fail.test",
                    qmgr_agent_accept_timeout="2s",
                    minimal_backoff_time="1s", maximal_backoff_time="2s")
        d = daemon_dir(m.dir)
        os.unlink(os.path.join(d, "remote"))  # no program behind the socket
        with open(m.conf, "a") as f:
            f.write("daemon_directory = %s\n" % d)
        self.m = m.start()

    def tearDown(self):
        self.m.cleanup()

    def test_request_nobody_reads_is_deferred_soon(self):
        t0 = time.time()
        qid = send(self.m, "alice@localhost", ["someone@fail.test"])
        self.m.wait_log(r"%s: to=<someone@fail.test>.*status=deferred "
                        r"\(.*delivery agent did not take the request"
                        % qid, timeout=30)
        self.assertLess(time.time() - t0, 30)
        # and tried again, not lost: a second deferral after the backoff
        self.m.wait_log(r"(?s)%s: to=<someone@fail.test>.*status=deferred"
                        r".*%s: to=<someone@fail.test>.*status=deferred"
                        % (qid, qid), timeout=30)


if __name__ == "__main__":
    unittest.main()

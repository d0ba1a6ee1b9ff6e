"""test_qmgr_review.py - qmgr(8) against a delivery agent's bad answers.

qmgr trusts an agent's answers only as far as their form allows: a
reply text with line breaks (a remote peer's multi-line reply, or a
hostile one) must not add header fields to a notice or lines to the
log, and a status code that is not one must not reach a Status: field.
The test transport (fake_agent.py in place of remote) gives both answers.
"""
import re
import unittest

from test_bounce import parse, report_fields, send, start


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


if __name__ == "__main__":
    unittest.main()

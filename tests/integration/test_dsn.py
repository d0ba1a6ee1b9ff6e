"""test_dsn.py - the DSN parameters of RFC 3461 honoured by qmgr's
notifications (issue 4): NOTIFY=NEVER/SUCCESS/FAILURE/DELAY, RET=FULL,
ENVID, ORCPT, through smtpd, the queue file and the test transport."""
import email
import email.policy
import re
import unittest

import mta
from test_bounce import start, report_fields


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.compat32)


class DSN(unittest.TestCase):
    def setUp(self):
        self.m = start(delay_warning_time="2s", maximal_queue_lifetime="1h",
                       minimal_backoff_time="1s", maximal_backoff_time="1s")

    def tearDown(self):
        self.m.cleanup()

    def send(self, mail_opts, rcpts, body="Subject: dsn\r\n\r\nbody line\r\n"):
        with self.m.smtp() as s:
            s.ehlo("client.example")
            code, msg = s.mail("alice@localhost", mail_opts)
            self.assertEqual(code, 250, msg)
            for addr, opts in rcpts:
                code, msg = s.rcpt(addr, opts)
                self.assertEqual(code, 250, msg)
            code, msg = s.data(body)
            self.assertEqual(code, 250, msg)
            return msg.decode().split()[-1]

    def test_never_success_and_full(self):
        qid = self.send(["RET=FULL", "ENVID=env-42"],
                        [("bad@fail.test", ["NOTIFY=NEVER"]),
                         ("bad2@fail.test", ["NOTIFY=FAILURE",
                                             "ORCPT=rfc822;orig@fail.test"]),
                         ("ok1@fail.test", ["NOTIFY=SUCCESS"]),
                         ("ok2@fail.test", [])])
        self.m.wait_log(r"%s: removed" % qid)
        msgs = [parse(r) for r in self.m.wait_messages("alice", 2)]
        by = {m["Subject"]: m for m in msgs}
        self.assertEqual(sorted(by), ["Successful Mail Delivery Report",
                                      "Undelivered Mail Returned to Sender"])
        bounce = by["Undelivered Mail Returned to Sender"]
        per, rcpts = report_fields(bounce)
        self.assertEqual(per["Original-Envelope-Id"], "env-42")
        # NOTIFY=NEVER: bad@ is not reported; bad2@ with its ORCPT
        self.assertEqual([r["Final-Recipient"] for r in rcpts],
                         ["rfc822; bad2@fail.test"])
        self.assertEqual(rcpts[0]["Original-Recipient"],
                         "rfc822;orig@fail.test")
        # RET=FULL: the whole message comes back
        parts = [p.get_content_type() for p in bounce.get_payload()]
        self.assertEqual(parts[2], "message/rfc822")
        self.assertIn("body line", bounce.as_string())
        ok = by["Successful Mail Delivery Report"]
        _, rcpts = report_fields(ok)
        # fail.test is relayed (by the test transport, which says
        # nothing of DSN): "relayed", RFC 3461 6.2.2.2 (test_rfc_remote)
        self.assertEqual([(r["Final-Recipient"], r["Action"]) for r in
                          rcpts], [("rfc822; ok1@fail.test", "relayed")])
        self.assertEqual(len(self.m.messages("alice")), 2)

    def test_delay_only_when_asked(self):
        qid = self.send([], [("fail4a@fail.test", ["NOTIFY=FAILURE"]),
                             ("fail4b@fail.test", ["NOTIFY=DELAY"])])
        self.m.wait_log(r"%s: sender delay notification" % qid)
        raw, = self.m.wait_messages("alice", 1)
        _, rcpts = report_fields(parse(raw))
        self.assertEqual([r["Final-Recipient"] for r in rcpts],
                         ["rfc822; fail4b@fail.test"])
        self.m.ctl("delete", qid)


if __name__ == "__main__":
    unittest.main()

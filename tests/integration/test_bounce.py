"""test_bounce.py - retries, delay warnings, bounces (issue 4).

A test transport (fake_agent.py, started by master in place of remote)
fails on purpose for the domain fail.test, which is a relay domain so
smtpd accepts it from anyone.  Senders are local users, so every notice
lands in a Maildir, where it is parsed with the email package.
"""
import email
import email.policy
import os
import re
import shutil
import time
import unittest

import mta

HERE = os.path.dirname(os.path.abspath(__file__))


def daemon_dir(tmp):
    """bin/ with the test transport in place of remote."""
    d = os.path.join(tmp, "libexec")
    os.mkdir(d)
    for name in os.listdir(mta.BIN):
        os.symlink(os.path.join(mta.BIN, name), os.path.join(d, name))
    if os.path.lexists(os.path.join(d, "remote")):
        os.unlink(os.path.join(d, "remote"))
    shutil.copy(os.path.join(HERE, "fake_agent.py"), os.path.join(d, "remote"))
    os.chmod(os.path.join(d, "remote"), 0o755)
    return d


def start(**extra):
    m = mta.MTA(relay_domains="fail.test", **extra)
    with open(m.conf, "a") as f:  # a later line wins
        f.write("daemon_directory = %s\n" % daemon_dir(m.dir))
    return m.start()


def send(m, sender, rcpts, subject="test", body="hello\n", mail_opts=()):
    with m.smtp() as s:
        s.ehlo("client.example")
        code, _ = s.mail(sender, list(mail_opts))
        assert code == 250, code
        for r in rcpts:
            code, msg = s.rcpt(r)
            assert code == 250, (r, code, msg)
        code, msg = s.data("Subject: %s\r\nFrom: <%s>\r\n\r\n%s" %
                           (subject, sender, body))
        assert code == 250, (code, msg)
        return msg.decode().split()[-1]


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def report_fields(msg):
    """The message/delivery-status part: per-message and per-recipient."""
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            blocks = part.get_payload()
            return dict(blocks[0].items()), [dict(b.items())
                                             for b in blocks[1:]]
    raise AssertionError("no message/delivery-status part")


class Bounce(unittest.TestCase):
    def setUp(self):
        self.m = start(delay_warning_time="3s", maximal_queue_lifetime="6s",
                       minimal_backoff_time="1s", maximal_backoff_time="2s")

    def tearDown(self):
        self.m.cleanup()

    def wait_removed(self, qid):
        self.m.wait_log(r"%s: removed" % qid, timeout=40)

    def test_5xx_bounces_at_once_with_rfc3464_structure(self):
        qid = send(self.m, "alice@localhost",
                   ["bad1@fail.test", "okay@fail.test", "bad2@fail.test"],
                   subject="lost mail")
        self.wait_removed(qid)
        raw, = self.m.wait_messages("alice", 1)
        self.assertTrue(raw.startswith(b"Return-Path: <>\n"), raw[:80])
        msg = parse(raw)
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        self.assertEqual(msg["Auto-Submitted"], "auto-replied")
        self.assertIn("MAILER-DAEMON@mx.test.example", msg["From"])
        parts = [p.get_content_type() for p in msg.get_payload()]
        self.assertEqual(parts, ["text/plain", "message/delivery-status",
                                 "text/rfc822-headers"])
        human = msg.get_payload()[0].get_payload()
        self.assertIn("<bad1@fail.test>: 550 5.1.1", human)
        self.assertIn("<bad2@fail.test>: 550 5.1.1", human)
        self.assertNotIn("okay@fail.test", human)
        per_msg, rcpts = report_fields(msg)
        self.assertEqual(per_msg["Reporting-MTA"], "dns; mx.test.example")
        self.assertIn("Arrival-Date", per_msg)
        self.assertEqual([r["Final-Recipient"] for r in rcpts],
                         ["rfc822; bad1@fail.test", "rfc822; bad2@fail.test"])
        for r in rcpts:
            self.assertEqual(r["Action"], "failed")
            self.assertEqual(r["Status"], "5.1.1")
            self.assertEqual(r["Remote-MTA"], "dns; mx.fail.test")
            self.assertTrue(r["Diagnostic-Code"].startswith("smtp; 550 5.1.1"),
                            r["Diagnostic-Code"])
        headers = msg.get_payload()[2].get_payload()
        self.assertIn("Subject: lost mail", headers)
        self.assertNotIn("hello", headers)  # headers only, no body
        # one bounce for the event, nothing more
        self.m.wait_log(r"sender non-delivery notification")
        self.assertEqual(len(re.findall(r"%s: sender non-delivery" % qid,
                                        self.m.log_text())), 1)

    def test_retries_then_one_warning_then_one_bounce(self):
        qid = send(self.m, "alice@localhost", ["fail4@fail.test"],
                   subject="slow mail")
        self.wait_removed(qid)
        log = self.m.log_text()
        times = [float(t) for t in re.findall(
            r"%s: to=<fail4@fail.test>.*status=deferred.* t=([0-9.]+)" % qid,
            log)]
        self.assertGreaterEqual(len(times), 3, log)
        gaps = [b - a for a, b in zip(times, times[1:])]
        # minimal_backoff_time 1s doubling to 2s, +-10% jitter
        self.assertGreater(gaps[0], 0.8, gaps)
        self.assertGreater(gaps[-1], 1.7, gaps)
        msgs = [parse(r) for r in self.m.wait_messages("alice", 2)]
        kinds = [m["Subject"] for m in msgs]
        self.assertEqual(sorted(kinds), ["Delayed Mail (still being retried)",
                                         "Undelivered Mail Returned to Sender"])
        warn = next(m for m in msgs if m["Subject"].startswith("Delayed"))
        _, rcpts = report_fields(warn)
        self.assertEqual(rcpts[0]["Action"], "delayed")
        self.assertEqual(rcpts[0]["Status"], "4.2.0")
        self.assertIn("Will-Retry-Until", rcpts[0])
        self.assertIn("Mailbox busy", rcpts[0]["Diagnostic-Code"])
        bounce = next(m for m in msgs if m["Subject"].startswith("Undeliv"))
        _, rcpts = report_fields(bounce)
        self.assertEqual(rcpts[0]["Action"], "failed")
        self.assertEqual(rcpts[0]["Status"], "4.4.7")
        self.assertIn("expired", rcpts[0]["Diagnostic-Code"])
        self.assertIn("Mailbox busy", rcpts[0]["Diagnostic-Code"])
        self.assertEqual(len(self.m.messages("alice")), 2)

    def test_bounce_to_unreachable_sender_goes_once_to_postmaster(self):
        qid = send(self.m, "nobody@fail.test", ["bad@fail.test"])
        self.wait_removed(qid)
        raw, = self.m.wait_messages("postmaster", 1)
        msg = parse(raw)
        self.assertIn("double-bounce@mx.test.example", raw.decode())
        self.assertEqual(msg.get_content_type(), "multipart/report")
        # the bounce itself failed; its notice went to postmaster; the
        # queue is empty and nothing else was sent
        self.m.wait_log(r"postmaster non-delivery notification")
        wait_empty(self.m)
        self.assertEqual(len(self.m.messages("postmaster")), 1)
        self.assertEqual(self.m.log_text().count("non-delivery notification"),
                         2)

    def test_failed_postmaster_notice_is_dropped(self):
        with self.m.smtp() as s:
            s.ehlo("client.example")
            s.mail("double-bounce@mx.test.example")
            s.rcpt("bad@fail.test")
            code, msg = s.data("Subject: x\r\n\r\nx\r\n")
        self.assertEqual(code, 250)
        self.m.wait_log(r"undeliverable postmaster notification discarded")
        wait_empty(self.m)
        self.assertEqual(self.m.messages("postmaster"), [])

    def test_dead_destination_waits_without_a_try(self):
        qids = [send(self.m, "alice@localhost", ["down%d@fail.test" % i])
                for i in range(6)]
        self.m.wait_log(r"destination fail.test marked dead")
        self.m.wait_log(r"delivery temporarily suspended")
        for q in qids:
            self.wait_removed(q)


def wait_empty(m):
    mta.wait_for(lambda: m.ctl("queue").stdout.strip().endswith(
        "Mail queue is empty") or "is empty" in m.ctl("queue").stdout,
        30, "an empty queue")


if __name__ == "__main__":
    unittest.main()

"""test_remote_e2e.py - the whole relay path: a client hands mail to
smtpd on one instance, qmgr routes the non-local recipient to remote,
remote finds the MX through the DNS server on loopback and delivers to a
second instance of this system; and a null MX comes back to the sender as
a bounce.  Both instances run unprivileged on 127.0.0.x addresses."""
import os
import socket
import unittest

from mta import MTA, free_port, wait_for
from remote_helpers import DNSServer
from sink_helpers import SMTPSink

ZONE = {
    "dest.test": [("MX", "10 mx.dest.test", 300)],
    "mx.dest.test": [("A", "127.0.0.9", 300)],
    "nullmx.test": [("MX", "0 .", 300)],
    "picky.test": [("MX", "10 mx.picky.test", 300)],
    "mx.picky.test": [("A", "127.0.0.5", 300)],
    "later.test": [("MX", "10 mx.later.test", 300)],
    "mx.later.test": [("A", "127.0.0.6", 300)],
}


def accepting(addr, port):
    try:
        socket.create_connection((addr, port), 1).close()
        return True
    except OSError:
        return False


class RelayEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = DNSServer(ZONE)
        cls.port = free_port()
        cls.dest = MTA(smtpd_listen="127.0.0.9:%d" % cls.port,
                       mydestination="dest.test", myhostname="mx.dest.test")
        cls.src = MTA(resolver_nameservers="127.0.0.1:%d" % cls.dns.port,
                      smtp_port=str(cls.port))
        cls.picky = SMTPSink(
            "127.0.0.5", cls.port, replies={
                "RCPT": lambda a: "550 5.1.1 <%s>: unknown user" % a
                if a.startswith("bad") else None})
        cls.later = SMTPSink(
            "127.0.0.6", cls.port,
            replies={"MAIL": lambda a: "451 4.7.1 greylisted, come back"})
        cls.dest.ctl("start")
        wait_for(lambda: accepting("127.0.0.9", cls.port),
                 what="the second instance")
        cls.src.start()

    @classmethod
    def tearDownClass(cls):
        cls.src.cleanup()
        cls.dest.cleanup()
        cls.picky.stop()
        cls.later.stop()
        cls.dns.stop()

    def test_client_to_smtpd_to_remote_mx(self):
        body = (b"From: alice@localhost\r\nTo: carol@dest.test\r\n"
                b"Subject: across\r\n\r\n.dot line\r\nbye\r\n")
        with self.src.smtp() as s:
            s.sendmail("alice@localhost", ["carol@dest.test"], body)
        msg = self.dest.wait_messages("carol", 1, domain="dest.test")[0]
        self.assertIn(b"Subject: across\n", msg)
        self.assertTrue(msg.endswith(b"\n.dot line\nbye\n"))
        # two Received: lines, one per hop
        self.assertEqual(msg.count(b"Received: "), 2)
        self.src.wait_log(r"to=<carol@dest\.test>, relay=mx\.dest\.test"
                          r"\[127\.0\.0\.9\]:%d, delay=[\d.]+, delays=[\d./]+"
                          r", dsn=2\.0\.0, status=sent \(250 2\.0\.0 "
                          % self.port)

    def test_null_mx_bounces_to_sender(self):
        with self.src.smtp() as s:
            s.sendmail("bob@localhost", ["nobody@nullmx.test"],
                       b"Subject: void\r\n\r\nhello\r\n")
        self.src.wait_log(r"to=<nobody@nullmx\.test>, relay=none, .*"
                          r"dsn=5\.1\.10, status=bounced \(Domain "
                          r"nullmx\.test does not accept mail \(nullMX\)\)")
        bounce = self.src.wait_messages("bob", 1)[0]
        self.assertIn(b"5.1.10", bounce)
        self.assertIn(b"nobody@nullmx.test", bounce)

    def test_peer_rejects_one_recipient_bounce_names_remote_mta(self):
        with self.src.smtp() as s:
            s.sendmail("dave@localhost", ["good@picky.test", "bad@picky.test"],
                       b"Subject: half\r\n\r\nhello\r\n")
        bounce = self.src.wait_messages("dave", 1)[0]
        self.assertIn(b"Remote-MTA: dns; mx.picky.test", bounce)
        self.assertIn(b"550 5.1.1 <bad@picky.test>: unknown user", bounce)
        self.assertIn(b"bad@picky.test", bounce)
        self.assertNotIn(b"Final-Recipient: rfc822; good@picky.test", bounce)
        wait_for(lambda: any(m["rcpt"] == ["good@picky.test"]
                             for m in self.picky.messages),
                 what="the good recipient at the peer")

    def test_peer_4xx_leaves_mail_deferred_in_queue(self):
        with self.src.smtp() as s:
            s.sendmail("erin@localhost", ["x@later.test"],
                       b"Subject: grey\r\n\r\nhello\r\n")
        self.src.wait_log(r"to=<x@later\.test>, relay=mx\.later\.test"
                          r"\[127\.0\.0\.6\]:\d+, .*dsn=4\.7\.1, "
                          r"status=deferred \(host mx\.later\.test"
                          r"\[127\.0\.0\.6\] said: 451 4\.7\.1 greylisted")
        q = self.src.ctl("queue").stdout
        self.assertIn("x@later.test", q)
        self.assertEqual(self.src.messages("erin"), [])


if __name__ == "__main__":
    unittest.main()

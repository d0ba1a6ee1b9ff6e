"""test_smtpd_smuggling.py - SMTP smuggling (CVE-2023-51764 class).

A client hides a second transaction behind a "." that is not
CRLF.CRLF.  Whatever the variant, at most the one real message is
delivered, and the smuggled MAIL/RCPT never become a transaction.
"""
import re
import unittest

from mta import MTA
from smtpd_helpers import Client

SMUGGLE = (b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@localhost>\r\n"
           b"DATA\r\nSubject: smuggled\r\n\r\nevil\r\n")
VARIANTS = {
    "lf_dot_lf": b"\n.\n",
    "cr_dot_cr": b"\r.\r",
    "lf_dot_crlf": b"\n.\r\n",
    "crlf_dot_cr": b"\r\n.\r",
}


def send(port, rcpt, end):
    """One transaction whose body hides a fake end and a second MAIL."""
    c = Client(port)
    c.cmd(b"EHLO smuggler.example")
    c.cmd(b"MAIL FROM:<s@example.org>")
    assert c.cmd(b"RCPT TO:<%s@localhost>" % rcpt)[0] == 250
    assert c.cmd(b"DATA")[0] == 354
    c.send(b"Subject: real\r\n\r\nreal body" + end + SMUGGLE + b".\r\n")
    got = c.reply()
    # anything the server answers next belongs to our NOOP
    after = c.cmd(b"NOOP")
    c.cmd(b"QUIT")
    c.close()
    return got, after


class Normalize(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mta = MTA(mynetworks="192.0.2.0/24",
                      smtpd_pregreet_wait_ms="0").start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def check(self, name):
        rcpt = name.replace("_", "").encode()
        got, after = send(self.mta.port, rcpt, VARIANTS[name])
        self.assertEqual(got[:2], (250, "2.0.0"), got[2])
        self.assertEqual(after[:2], (250, "2.0.0"), after[2])
        msgs = self.mta.wait_messages(rcpt.decode(), 1)
        self.assertEqual(len(msgs), 1)
        # the smuggled commands are text of the one message, and clean
        body = msgs[0].split(b"\n\n", 1)[1]
        self.assertIn(b"MAIL FROM:<evil@example.org>", body)
        self.assertNotIn(b"\r", body)
        self.assertEqual(self.mta.messages("victim"), [])
        self.assertEqual(len(re.findall(
            r"from=<evil@example\.org>", self.mta.log_text())), 0)

    def test_lf_dot_lf(self):
        self.check("lf_dot_lf")

    def test_cr_dot_cr(self):
        self.check("cr_dot_cr")

    def test_lf_dot_crlf(self):
        self.check("lf_dot_crlf")

    def test_crlf_dot_cr(self):
        self.check("crlf_dot_cr")

    def test_bdat_cannot_smuggle(self):
        c = Client(self.mta.port)
        c.cmd(b"EHLO smuggler.example")
        c.cmd(b"MAIL FROM:<s@example.org>")
        c.cmd(b"RCPT TO:<bdatsmuggle@localhost>")
        chunk = b"Subject: b\r\n\r\nx\r\n.\r\n" + SMUGGLE
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        self.assertEqual(c.reply()[:2], (250, "2.0.0"))
        self.assertEqual(c.cmd(b"NOOP")[:2], (250, "2.0.0"))
        c.close()
        self.assertEqual(len(self.mta.wait_messages("bdatsmuggle", 1)), 1)
        self.assertEqual(self.mta.messages("victim"), [])


class Reject(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mta = MTA(mynetworks="192.0.2.0/24", smtpd_pregreet_wait_ms="0",
                      smtpd_bare_lf="reject").start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def test_bare_lf_refused_session_goes_on(self):
        for name in ("lf_dot_lf", "lf_dot_crlf"):
            got, after = send(self.mta.port, b"rej", VARIANTS[name])
            self.assertEqual(got[:2], (550, "5.5.2"), got[2])
            self.assertEqual(after[:2], (250, "2.0.0"), after[2])
        self.mta.wait_log(r"reject: bare <LF> received from "
                          r"unknown\[127\.0\.0\.1\]")
        # bare CR alone is replaced, not refused
        got, _ = send(self.mta.port, b"rejcr", VARIANTS["cr_dot_cr"])
        self.assertEqual(got[:2], (250, "2.0.0"), got[2])
        self.mta.wait_messages("rejcr", 1)
        self.assertEqual(self.mta.messages("rej"), [])
        self.assertEqual(self.mta.messages("victim"), [])


if __name__ == "__main__":
    unittest.main()

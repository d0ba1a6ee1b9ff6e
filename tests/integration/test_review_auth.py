"""test_review_auth.py - an attacker's look at AUTH and the submission
ports: STARTTLS command injection (CVE-2011-0411) on 25 and 587, state
forgotten after STARTTLS (HELO, MAIL, AUTH), malformed AUTH exchanges
(the 12288-octet limit answered, not a silent drop), authzid other than
authcid, cancel, and the sender login map against case, extensions,
quoted local parts, source routes and the null sender."""
import base64
import socket
import ssl
import unittest

import mta
from test_submission import submission_mta, plain


class Session:
    """A raw SMTP session: replies read whole (multi-line joined)."""

    def __init__(self, test, port):
        self.test = test
        self.c = socket.create_connection(("127.0.0.1", port), 20)
        test.addCleanup(self.close)
        self.f = self.c.makefile("rb")
        test.assertTrue(self.reply().startswith(b"220"))

    def close(self):
        self.f.close()
        self.c.close()

    def reply(self):
        out = b""
        while True:
            line = self.f.readline()
            out += line
            if not line or line[3:4] != b"-":
                return out

    def cmd(self, line):
        self.c.sendall(line + b"\r\n")
        return self.reply()

    def starttls(self, ctx):
        self.test.assertTrue(self.cmd(b"STARTTLS").startswith(b"220 2.0.0"))
        self.f.close()
        self.c = ctx.wrap_socket(self.c, server_hostname="localhost")
        self.f = self.c.makefile("rb")


class ReviewAuth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = submission_mta(smtpd_auth_failure_delay="0s",
                               smtpd_auth_failure_limit="0",
                               smtpd_tls_auth_only="no")
        cls.m.start()
        mta.wait_for(lambda: cls.connects(cls.m.ports["submission"]), 20,
                     "port 587 of the test")

    @classmethod
    def tearDownClass(cls):
        cls.m.cleanup()

    @staticmethod
    def connects(port):
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return True
        except OSError:
            return False

    def ctx(self):
        return ssl.create_default_context(cafile=self.m.ca)

    def tls587(self):
        s = Session(self, self.m.ports["submission"])
        s.cmd(b"EHLO client.example")
        s.starttls(self.ctx())
        self.assertTrue(s.cmd(b"EHLO client.example").startswith(b"250"))
        return s

    def test_starttls_injection_25_and_587(self):
        for port in (self.m.port, self.m.ports["submission"]):
            s = Session(self, port)
            s.cmd(b"EHLO client.example")
            s.c.sendall(b"STARTTLS\r\nMAIL FROM:<evil@example.com>\r\n")
            self.assertTrue(s.reply().startswith(b"554 5.5.0"), port)
            self.assertEqual(s.f.readline(), b"", "session kept on %d" % port)

    def test_state_forgotten_after_starttls(self):
        s = Session(self, self.m.port)  # AUTH in the clear allowed on 25
        s.cmd(b"EHLO client.example")
        self.assertTrue(s.cmd(b"AUTH PLAIN " + plain("ann", "s3cret pass")
                              .encode()).startswith(b"235"))
        self.assertTrue(s.cmd(b"MAIL FROM:<ann@localhost>")
                        .startswith(b"250"))
        s.starttls(self.ctx())
        self.assertTrue(s.cmd(b"MAIL FROM:<ann@localhost>")
                        .startswith(b"503 5.5.1"), "HELO kept")
        s.cmd(b"EHLO client.example")
        self.assertTrue(s.cmd(b"RCPT TO:<x@example.com>")
                        .startswith(b"503 5.5.1"), "MAIL kept")
        s.cmd(b"MAIL FROM:<ann@localhost>")
        self.assertTrue(s.cmd(b"RCPT TO:<x@example.com>")
                        .startswith(b"554 5.7.1"), "AUTH kept (relay)")

    def test_auth_before_tls_on_587(self):
        s = Session(self, self.m.ports["submission"])
        ehlo = s.cmd(b"EHLO client.example")
        self.assertNotIn(b"AUTH", ehlo)
        self.assertTrue(s.cmd(b"AUTH PLAIN " + plain("ann", "s3cret pass")
                              .encode()).startswith(b"530 5.7.0"))

    def test_malformed_exchanges(self):
        s = self.tls587()
        self.assertTrue(s.cmd(b"AUTH PLAIN =").startswith(b"501 5.5.2"))
        bad = base64.b64encode(b"\0ann\0s3cret pass")[:-1] + b"!"
        self.assertTrue(s.cmd(b"AUTH PLAIN " + bad).startswith(b"501 5.5.2"))
        self.assertTrue(s.cmd(b"AUTH PLAIN").startswith(b"334"))
        self.assertTrue(s.cmd(b"*").startswith(b"501 5.0.0"))
        self.assertTrue(s.cmd(b"AUTH LOGIN").startswith(b"334"))
        self.assertTrue(s.cmd(b"*").startswith(b"501 5.0.0"))
        # authzid other than authcid: no proxy authorisation
        other = base64.b64encode(b"bob\0ann\0s3cret pass")
        self.assertTrue(s.cmd(b"AUTH PLAIN " + other)
                        .startswith(b"535 5.7.8"))
        self.assertTrue(s.cmd(b"AUTH PLAIN " + b"A" * 13000)
                        .startswith(b"500 5.5.2"))
        self.assertTrue(s.cmd(b"NOOP").startswith(b"250"))

    def test_auth_response_over_limit_is_answered(self):
        s = self.tls587()
        self.assertTrue(s.cmd(b"AUTH PLAIN").startswith(b"334"))
        # before: the connection was dropped without a reply
        self.assertTrue(s.cmd(b"A" * 13000).startswith(b"500 5.5.6"))

    def test_sender_login_map(self):
        s = self.tls587()
        self.assertTrue(s.cmd(b"AUTH PLAIN " + plain("ann", "s3cret pass")
                              .encode()).startswith(b"235"))
        cases = {b"ann@localhost": b"250", b"ANN@LOCALHOST": b"250",
                 b"ann+x@localhost": b"250", b"ann@ann.example": b"250",
                 b"@relay.example:ann@localhost": b"250",
                 b"": b"250",  # the null sender: no address to own
                 b"bob@localhost": b"553", b"bob+ann@localhost": b"553",
                 b'"ann"@localhost': b"553", b'"bob"@localhost': b"553",
                 b"ann@sub.ann.example": b"553",
                 b'"ann@localhost"@evil.example': b"553",
                 b"ann%evil@localhost": b"553"}
        for addr, code in cases.items():
            r = s.cmd(b"MAIL FROM:<" + addr + b">")
            self.assertTrue(r.startswith(code), (addr, r))
            s.cmd(b"RSET")


if __name__ == "__main__":
    unittest.main()

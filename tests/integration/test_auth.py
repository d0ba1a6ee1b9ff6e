"""test_auth.py - SMTP AUTH in smtpd (RFC 4954, issue 9): PLAIN and
LOGIN after STARTTLS, against the Argon2id map made by mtactl passwd;
530 before TLS, 535 5.7.8 for a wrong password, relaying for the
authenticated client only, ESMTPSA and the user in the queue and log."""
import os
import smtplib
import subprocess
import unittest

import mta
from test_starttls import make_ca


class Auth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # loopback untrusted: only AUTH may open relaying
        cls.m = mta.MTA(mynetworks="192.0.2.1/32",
                        smtpd_pregreet_wait_ms="0")
        cls.ca, cert, key = make_ca(cls.m.dir)
        pmap = os.path.join(cls.m.dir, "passwd")
        with open(cls.m.conf, "a") as f:
            f.write("smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n"
                    "smtpd_passwd_map = %s\n" % (cert, key, pmap))
        p = subprocess.run([os.path.join(mta.BIN, "mtactl"), "-c",
                            cls.m.conf, "passwd", "add", "ann"],
                           input="s3cret pass\n", text=True,
                           capture_output=True)
        assert p.returncode == 0, p.stderr
        cls.m.start()

    @classmethod
    def tearDownClass(cls):
        cls.m.cleanup()

    def tls_session(self):
        import ssl
        s = self.m.smtp()
        s.ehlo("client.example")
        s.starttls(context=ssl.create_default_context(cafile=self.ca))
        s.ehlo("client.example")
        return s

    def test_auth_before_tls_refused(self):
        with self.m.smtp() as s:
            s.ehlo("client.example")
            self.assertFalse(s.has_extn("auth"))
            code, msg = s.docmd("AUTH", "PLAIN AGFubgBzM2NyZXQgcGFzcw==")
            self.assertEqual((code, msg[:5]), (530, b"5.7.0"))

    def test_plain_then_relay(self):
        with self.tls_session() as s:
            self.assertIn("PLAIN", s.esmtp_features.get("auth", ""))
            # not yet authenticated: no relaying
            s.mail("ann@localhost")
            self.assertEqual(s.rcpt("x@far.example")[0], 554)
            s.rset()
            s.login("ann", "s3cret pass")
            code, _ = s.mail("ann@localhost")
            self.assertEqual(s.rcpt("x@far.example")[0], 250)
            self.assertEqual(s.rcpt("authbox@localhost")[0], 250)
            s.data("Subject: auth\r\n\r\nhi\r\n")
        raw = self.m.wait_messages("authbox", 1)[0].decode()
        self.assertRegex(raw, r"with ESMTPSA id")
        self.m.wait_log(r"sasl_method=(PLAIN|LOGIN), sasl_username=ann")

    def test_login_mechanism(self):
        with self.tls_session() as s:
            s.user, s.password = "ann", "s3cret pass"
            code, msg = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
            self.assertEqual(code, 235)

    def test_wrong_password(self):
        with self.tls_session() as s:
            with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
                s.login("ann", "wrong")
            self.assertEqual(e.exception.smtp_code, 535)
            self.assertTrue(e.exception.smtp_error.startswith(b"5.7.8"))
        self.m.wait_log(r"SASL (PLAIN|LOGIN) authentication failed")
        self.assertNotIn("wrong", self.m.log_text())


if __name__ == "__main__":
    unittest.main()

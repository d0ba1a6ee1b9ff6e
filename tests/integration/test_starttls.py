"""test_starttls.py - STARTTLS in smtpd (RFC 3207, issue 9): offered only
with a certificate, TLS 1.2 and later only, the session starts afresh
after the handshake, Received: says ESMTPS and the cipher, and plaintext
pipelined behind STARTTLS (CVE-2011-0411) ends the session."""
import os
import smtplib
import socket
import ssl
import subprocess
import unittest

import mta


def make_ca(d):
    """A test CA and a certificate for localhost signed by it."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True,
                       capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=Test CA", "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey",
        "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf",
        "-out", "server.pem")
    return [os.path.join(d, n) for n in ("ca.pem", "server.pem",
                                         "server.key")]


class StartTLS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = mta.MTA()
        cls.ca, cert, key = make_ca(cls.m.dir)
        with open(cls.m.conf, "a") as f:
            f.write("smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n"
                    % (cert, key))
        cls.m.start()

    @classmethod
    def tearDownClass(cls):
        cls.m.cleanup()

    def context(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        return ctx

    def test_starttls_then_mail(self):
        with self.m.smtp() as s:
            s.ehlo("client.example")
            self.assertTrue(s.has_extn("starttls"))
            code, msg = s.starttls(context=self.context())
            self.assertEqual(code, 220)
            self.assertTrue(s.sock.version() in ("TLSv1.2", "TLSv1.3"))
            s.ehlo("client.example")
            self.assertFalse(s.has_extn("starttls"))
            s.sendmail("bob@localhost", ["tls@localhost"],
                       "Subject: over TLS\r\n\r\nsecret\r\n")
        raw = self.m.wait_messages("tls", 1)[0].decode()
        self.assertRegex(raw, r"\(using TLSv1\.[23] with cipher \S+ "
                              r"\(\d+/\d+ bits\)\)\n\tby mx\.test\.example "
                              r"\(mta\) with ESMTPS id")
        self.m.wait_log(r"Anonymous TLS connection established from "
                        r"\S+\[127\.0\.0\.1\]: TLSv1\.[23] with cipher")

    def test_state_forgotten_and_second_starttls(self):
        with self.m.smtp() as s:
            s.ehlo("client.example")
            s.mail("bob@localhost")
            s.starttls(context=self.context())
            # MAIL before STARTTLS is forgotten; so is EHLO
            self.assertEqual(s.rcpt("tls@localhost")[0], 503)
            s.ehlo("client.example")
            self.assertEqual(s.docmd("STARTTLS")[0], 503)

    def test_pipelined_after_starttls_refused(self):
        c = socket.create_connection(("127.0.0.1", self.m.port), 10)
        f = c.makefile("rb")
        f.readline()
        c.sendall(b"EHLO client.example\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        c.sendall(b"STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n")
        self.assertTrue(f.readline().startswith(b"554 5.5.0"))
        self.assertEqual(f.readline(), b"")  # closed
        c.close()
        self.m.wait_log(r"plaintext pipelined after STARTTLS")

    def test_old_tls_refused(self):
        ctx = self.context()
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        try:
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except ssl.SSLError:
            pass
        with self.m.smtp() as s:
            s.ehlo("client.example")
            with self.assertRaises((ssl.SSLError, OSError,
                                    smtplib.SMTPException)):
                s.starttls(context=ctx)


class NoCertificate(unittest.TestCase):
    def test_not_offered(self):
        m = mta.MTA().start()
        self.addCleanup(m.cleanup)
        with m.smtp() as s:
            s.ehlo("client.example")
            self.assertFalse(s.has_extn("starttls"))
            code, msg = s.docmd("STARTTLS")
            self.assertEqual((code, msg[:5]), (502, b"5.5.1"))


if __name__ == "__main__":
    unittest.main()

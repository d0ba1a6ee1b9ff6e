"""test_submission.py - the submission ports (issue 9): smtpd on 587
(STARTTLS, then AUTH, before MAIL), on 465 (implicit TLS, RFC 8314) and on
25 (relaying only for mynetworks or after AUTH); the TLS of all three is
done by tlsproxy(8); the sender login map; failed AUTH limited across
sessions through anvil(8).  Clients: Python smtplib + ssl, swaks, and
openssl s_client, against a CA the test makes with openssl."""
import base64
import json
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import time
import unittest

import mta
from tls_helpers import make_ca, openssl


def make_cert(d, name):
    """A certificate for localhost and 127.0.0.1 (smtplib checks the
    address it connected to) signed by the test CA: d/NAME.crt, .key."""
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
            "-keyout", name + ".key", "-out", name + ".csr", cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt",
            "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", name + ".ext", "-out", name + ".crt", cwd=d)
    return os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")


def plain(user, password):
    return base64.b64encode(("\0%s\0%s" % (user, password)).encode()
                            ).decode()


def listen_inode(port):
    """The inode of the socket listening on 127.0.0.1:port (from
    /proc/net/tcp), or None."""
    want = "0100007F:%04X" % port
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            p = line.split()
            if p[1] == want and p[3] == "0A":  # TCP_LISTEN
                return p[9]
    return None


def submission_mta(**extra):
    """An instance with ports 25, 587 and 465, a certificate for
    localhost, user ann in the password map.  Loopback is not in
    mynetworks: only AUTH opens relaying."""
    ports = {"submission": mta.free_port(), "smtps": mta.free_port()}
    settings = {"mynetworks": "192.0.2.1/32",
                "smtpd_pregreet_wait_ms": "0",
                "submission_listen": "127.0.0.1:%d" % ports["submission"],
                "smtps_listen": "127.0.0.1:%d" % ports["smtps"]}
    settings.update(extra)
    m = mta.MTA(**settings)
    m.ports = ports
    m.ca = make_ca(m.dir)
    cert, key = make_cert(m.dir, "server")
    logins = os.path.join(m.dir, "sender_logins")
    with open(logins, "w") as f:
        f.write("ann@localhost ann\n@ann.example ann, carl\n")
    with open(m.conf, "a") as f:
        f.write("smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n"
                "smtpd_passwd_map = %s\nsmtpd_sender_login_map = %s\n"
                % (cert, key, os.path.join(m.dir, "passwd"), logins))
    m.ctl("makemap", logins)
    p = subprocess.run([os.path.join(mta.BIN, "mtactl"), "-c", m.conf,
                        "passwd", "add", "ann"], input="s3cret pass\n",
                       text=True, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return m


class Submission(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # AUTH in the clear allowed, on port 25 only: the submission
        # ports must refuse it all the same
        cls.m = submission_mta(smtpd_auth_failure_delay="0s",
                               smtpd_auth_failure_limit="0",
                               smtpd_tls_auth_only="no")
        cls.m.start()
        mta.wait_for(lambda: cls.connects(cls.m.ports["submission"]) and
                     cls.connects(cls.m.ports["smtps"]),
                     what="ports 587 and 465 of the test")

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

    def sub(self):
        return smtplib.SMTP("127.0.0.1", self.m.ports["submission"],
                            timeout=30)

    def sub_tls(self):
        s = self.sub()
        s.ehlo("client.example")
        s.starttls(context=self.ctx())
        s.ehlo("client.example")
        return s

    def smtps(self):
        return smtplib.SMTP_SSL("127.0.0.1", self.m.ports["smtps"],
                                timeout=30, context=self.ctx())

    # -- port 587 -------------------------------------------------------
    def test_587_starttls_then_plain_and_relay(self):
        with self.sub() as s:
            s.ehlo("client.example")
            self.assertTrue(s.has_extn("starttls"))
            self.assertFalse(s.has_extn("auth"))  # not in the clear
            s.starttls(context=self.ctx())
            s.ehlo("client.example")
            self.assertEqual(s.esmtp_features["auth"].split(),
                             ["PLAIN", "LOGIN"])
            code, _ = s.docmd("AUTH", "PLAIN " + plain("ann", "s3cret pass"))
            self.assertEqual(code, 235)
            self.assertEqual(s.mail("ann@localhost")[0], 250)
            self.assertEqual(s.rcpt("x@far.example")[0], 250)  # relay
            self.assertEqual(s.rcpt("sub587@localhost")[0], 250)
            self.assertEqual(s.data("Subject: 587\r\n\r\nhi\r\n")[0], 250)
        raw = self.m.wait_messages("sub587", 1)[0].decode()
        self.assertRegex(raw, r"\(using TLSv1\.[23] with cipher \S+ "
                              r"\(\d+/\d+ bits\)\)\n\tby mx\.test\.example "
                              r"\(mta\) with ESMTPSA id")
        self.m.wait_log(r"mta/submission/smtpd\[\d+\]: \S+\[127\.0\.0\.1\]"
                        r": sasl_method=PLAIN, sasl_username=ann")

    def test_587_login_mechanism(self):
        with self.sub_tls() as s:
            s.user, s.password = "ann", "s3cret pass"
            code, _ = s.auth("LOGIN", s.auth_login,
                             initial_response_ok=False)
            self.assertEqual(code, 235)

    def test_587_auth_before_tls(self):
        with self.sub() as s:
            s.ehlo("client.example")
            code, msg = s.docmd("AUTH", "PLAIN " + plain("ann",
                                                         "s3cret pass"))
            self.assertEqual((code, msg[:5]), (530, b"5.7.0"))

    def test_587_mail_before_tls(self):
        with self.sub() as s:
            s.ehlo("client.example")
            code, msg = s.mail("ann@localhost")
            self.assertEqual(code, 530)
            self.assertEqual(msg, b"5.7.0 Must issue a STARTTLS command "
                                  b"first")

    def test_587_mail_without_auth(self):
        with self.sub_tls() as s:
            code, msg = s.mail("ann@localhost")
            self.assertEqual(code, 530)
            self.assertEqual(msg, b"5.7.0 Authentication required")

    def test_587_wrong_password(self):
        with self.sub_tls() as s:
            with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
                s.login("ann", "wrong")
            self.assertEqual(e.exception.smtp_code, 535)
            self.assertTrue(e.exception.smtp_error.startswith(b"5.7.8"))
        self.m.wait_log(r"SASL (PLAIN|LOGIN) authentication failed: "
                        r"delay=0s, failures=\d+")

    def test_587_pipelined_after_starttls(self):
        c = socket.create_connection(("127.0.0.1",
                                      self.m.ports["submission"]), 10)
        f = c.makefile("rb")
        f.readline()
        c.sendall(b"EHLO client.example\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        c.sendall(b"STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n")
        self.assertTrue(f.readline().startswith(b"554 5.5.0"))
        self.assertEqual(f.readline(), b"")  # closed, MAIL never run
        c.close()
        self.m.wait_log(r"plaintext pipelined after STARTTLS")

    # -- port 465 -------------------------------------------------------
    def test_465_implicit_tls(self):
        with self.smtps() as s:
            self.assertIn(s.sock.version(), ("TLSv1.2", "TLSv1.3"))
            s.ehlo("client.example")
            self.assertFalse(s.has_extn("starttls"))
            s.login("ann", "s3cret pass")
            s.sendmail("ann@localhost", ["sub465@localhost"],
                       "Subject: 465\r\n\r\nhi\r\n")
        raw = self.m.wait_messages("sub465", 1)[0].decode()
        self.assertRegex(raw, r"with ESMTPSA id")
        self.m.wait_log(r"mta/smtps/smtpd\[\d+\]: Anonymous TLS connection "
                        r"established from \S+\[127\.0\.0\.1\]: TLSv1\.[23]")

    def test_465_mail_without_auth(self):
        with self.smtps() as s:
            s.ehlo("client.example")
            code, msg = s.mail("ann@localhost")
            self.assertEqual((code, msg[:5]), (530, b"5.7.0"))

    # -- port 25 --------------------------------------------------------
    def test_25_relay_needs_auth(self):
        with self.m.smtp() as s:
            s.ehlo("client.example")
            s.mail("someone@example.org")
            code, msg = s.rcpt("x@far.example")
            self.assertEqual((code, msg[:5]), (554, b"5.7.1"))
            s.rset()
            s.starttls(context=self.ctx())
            s.ehlo("client.example")
            s.login("ann", "s3cret pass")
            # the sender login check is off on port 25 by default
            self.assertEqual(s.mail("bob@localhost")[0], 250)
            self.assertEqual(s.rcpt("x@far.example")[0], 250)

    def test_25_starttls_forgets_auth(self):
        with self.m.smtp() as s:
            s.ehlo("client.example")
            s.login("ann", "s3cret pass")  # in the clear, as configured
            s.starttls(context=self.ctx())
            s.ehlo("client.example")
            s.mail("ann@localhost")
            code, msg = s.rcpt("x@far.example")
            self.assertEqual((code, msg[:5]), (554, b"5.7.1"))

    # -- the sender login map -------------------------------------------
    def test_sender_login_map(self):
        with self.sub_tls() as s:
            s.login("ann", "s3cret pass")
            for sender in ("ann@localhost", "ann+list@localhost",
                           "any@ann.example", ""):
                self.assertEqual(s.mail(sender)[0], 250, sender)
                s.rset()
            code, msg = s.mail("bob@localhost")
            self.assertEqual(code, 553)
            self.assertEqual(msg, b"5.7.1 Sender address rejected: not "
                                  b"owned by user ann")
        self.m.wait_log(r"reject: MAIL from \S+: 553 5\.7\.1 Sender address "
                        r"rejected: not owned by user ann; "
                        r"from=<bob@localhost>")

    # -- other clients --------------------------------------------------
    def test_swaks_tls_auth(self):
        if shutil.which("swaks") is None:
            self.skipTest("swaks not installed (make deps)")
        p = subprocess.run(
            ["swaks", "--server", "127.0.0.1:%d" % self.m.ports["submission"],
             "--tls", "--auth", "PLAIN", "--auth-user", "ann",
             "--auth-password", "s3cret pass", "--from", "ann@localhost",
             "--to", "swaks587@localhost", "--helo", "client.example"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("235 2.7.0", p.stdout)
        self.m.wait_messages("swaks587", 1)
        p = subprocess.run(
            ["swaks", "--server", "127.0.0.1:%d" % self.m.ports["smtps"],
             "--tlsc", "--auth", "LOGIN", "--auth-user", "ann",
             "--auth-password", "s3cret pass", "--from", "ann@localhost",
             "--to", "swaks465@localhost", "--helo", "client.example"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.m.wait_messages("swaks465", 1)

    def test_openssl_s_client_starttls(self):
        p = subprocess.run(
            ["openssl", "s_client", "-starttls", "smtp", "-crlf", "-ign_eof",
             "-connect", "127.0.0.1:%d" % self.m.ports["submission"],
             "-CAfile", self.m.ca, "-verify_hostname", "localhost",
             "-verify_return_error"],
            input="EHLO client.example\nQUIT\n", capture_output=True,
            text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("Verify return code: 0 (ok)", p.stdout)
        self.assertIn("250-AUTH PLAIN LOGIN", p.stdout)
        self.assertIn("221 2.0.0 Bye", p.stdout)

    def test_status_shows_roles(self):
        out = self.m.ctl("status").stdout
        self.assertRegex(out, r"submission +127\.0\.0\.1:%d"
                         % self.m.ports["submission"])
        self.assertRegex(out, r"smtps +127\.0\.0\.1:%d"
                         % self.m.ports["smtps"])

    # -- reload ---------------------------------------------------------
    def test_zz_reload_keeps_sockets_and_takes_new_certificate(self):
        def serial():
            with self.smtps() as s:
                der = s.sock.getpeercert(binary_form=True)
                s.ehlo("client.example")
            return der
        before = serial()
        inodes = {k: listen_inode(v) for k, v in self.m.ports.items()}
        self.assertNotIn(None, inodes.values())
        held = self.sub()  # a session in progress across the reload
        held.ehlo("client.example")
        cert, key = make_cert(self.m.dir, "server2")
        shutil.copy(cert, os.path.join(self.m.dir, "server.crt"))
        shutil.copy(key, os.path.join(self.m.dir, "server.key"))
        self.m.ctl("reload")
        self.m.wait_log(r"reload -- version")
        mta.wait_for(lambda: serial() != before, 20,
                     "the new certificate on port 465")
        # the same listening sockets: no client was refused meanwhile
        self.assertEqual(
            {k: listen_inode(v) for k, v in self.m.ports.items()}, inodes)
        self.assertEqual(held.noop()[0], 250)
        held.quit()
        with self.sub_tls() as s:
            s.login("ann", "s3cret pass")


class AuthLimits(unittest.TestCase):
    """smtpd_auth_failure_delay 1s and limit 2: the second failure from
    one address, in another session, waits 2 s and ends in 421."""

    def setUp(self):
        self.m = submission_mta(smtpd_auth_failure_delay="1s",
                                smtpd_auth_failure_limit="2")
        self.m.start()
        self.addCleanup(self.m.cleanup)

    def session(self):
        s = smtplib.SMTP("127.0.0.1", self.m.ports["submission"],
                         timeout=30)
        s.ehlo("client.example")
        s.starttls(context=ssl.create_default_context(cafile=self.m.ca))
        s.ehlo("client.example")
        return s

    def wrong(self, s):
        t0 = time.monotonic()
        code, msg = s.docmd("AUTH", "PLAIN " + plain("ann", "wrong"))
        return code, msg, time.monotonic() - t0

    def test_delay_across_sessions_then_421(self):
        s = self.session()
        code, msg, took = self.wrong(s)
        self.assertEqual((code, msg[:5]), (535, b"5.7.8"))
        self.assertGreaterEqual(took, 0.9)
        s.quit()
        # a second session, from the same address: the delay has grown
        s = self.session()
        code, msg, took = self.wrong(s)
        self.assertEqual((code, msg[:5]), (535, b"5.7.8"))
        self.assertGreaterEqual(took, 1.9)
        code, msg = s.getreply()  # the limit is reached: 421, closed
        self.assertEqual((code, msg[:5]), (421, b"4.7.0"))
        self.m.wait_log(r"SASL PLAIN authentication failed: delay=1s, "
                        r"failures=1")
        self.m.wait_log(r"SASL PLAIN authentication failed: delay=2s, "
                        r"failures=2")
        # a third session is refused at once, right password or not
        s = self.session()
        code, msg = s.docmd("AUTH", "PLAIN " + plain("ann", "s3cret pass"))
        self.assertEqual((code, msg[:5]), (421, b"4.7.0"))
        self.m.wait_log(r"too many failed authentications \(2 within")


class TlsAuthCounters(unittest.TestCase):
    """mtactl stats counts TLS handshakes (STARTTLS and 465) and AUTH
    outcomes (issue 9: TLS and AUTH counters in stats)."""

    def test_counters(self):
        m = submission_mta(smtpd_auth_failure_delay="1s")
        m.start()
        self.addCleanup(m.cleanup)
        ctx = ssl.create_default_context(cafile=m.ca)

        def smtpd_stats():
            p = subprocess.run([os.path.join(mta.BIN, "mtactl"), "-c",
                                m.conf, "stats", "--json"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            return json.loads(p.stdout)["smtpd"]
        before = smtpd_stats()
        with smtplib.SMTP("127.0.0.1", m.ports["submission"],
                          timeout=30) as s:
            s.ehlo("client.example")
            s.starttls(context=ctx)
            s.ehlo("client.example")
            self.assertEqual(s.docmd("AUTH", "PLAIN " +
                                     plain("ann", "wrong"))[0], 535)
            self.assertEqual(s.docmd("AUTH", "PLAIN " +
                                     plain("ann", "s3cret pass"))[0], 235)
        with smtplib.SMTP_SSL("127.0.0.1", m.ports["smtps"], timeout=30,
                              context=ctx) as s:
            s.ehlo("client.example")
            s.login("ann", "s3cret pass")
        # a client that is not speaking TLS on 465: a failed handshake
        with socket.create_connection(("127.0.0.1", m.ports["smtps"]),
                                      30) as c:
            c.sendall(b"EHLO plain.example\r\n" + b"x" * 600)
            c.settimeout(30)
            try:
                while c.recv(4096):
                    pass
            except ConnectionResetError:
                pass  # closed with our bytes unread: the same refusal

        def counted():
            now = smtpd_stats()
            d = {k: now[k] - before[k] for k in
                 ("tls_ok", "tls_failed", "auth_ok", "auth_failed")}
            return d["tls_failed"] >= 1 and d
        d = mta.wait_for(counted, 20, "the failed handshake counted")
        self.assertEqual(d, {"tls_ok": 2, "tls_failed": 1, "auth_ok": 2,
                             "auth_failed": 1})


class ReloadTurnsOn(unittest.TestCase):
    def test_check_names_what_submission_needs(self):
        m = mta.MTA(submission_listen="127.0.0.1:%d" % mta.free_port())
        self.addCleanup(m.cleanup)
        p = m.ctl("check", check=False)
        self.assertEqual(p.returncode, 78, p.stdout)
        self.assertIn("problem: submission_listen or smtps_listen without "
                      "a certificate: every client is refused", p.stdout)
        self.assertIn("fix: set smtpd_passwd_map; add users with mtactl "
                      "passwd add", p.stdout)

    def test_reload_opens_and_closes_submission(self):
        m = mta.MTA()
        self.addCleanup(m.cleanup)
        m.start()
        port = mta.free_port()
        self.assertIsNone(listen_inode(port))
        with open(m.conf) as f:
            text = f.read()
        with open(m.conf, "w") as f:
            f.write(text + "submission_listen = 127.0.0.1:%d\n" % port)
        m.ctl("reload")
        m.wait_log(r"submission: now listening on 127\.0\.0\.1:%d" % port)
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.ehlo("client.example")
            code, msg = s.mail("a@localhost")
            self.assertEqual((code, msg[:5]), (530, b"5.7.0"))
        with open(m.conf, "w") as f:
            f.write(text)
        m.ctl("reload")
        m.wait_log(r"submission: no longer listening on 127\.0\.0\.1:%d"
                   % port)
        # gone once the idle child that shares it has exited (SIGHUP)
        mta.wait_for(lambda: listen_inode(port) is None, 20,
                     "port %d closed" % port)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("useradd"),
                     "root mode needs root")
class RootSubmission(unittest.TestCase):
    """run_mode = root: port 465 served by a chrooted smtpd without
    OpenSSL, the key only in tlsproxy."""

    def test_465_in_root_mode(self):
        import pwd
        from test_root_mode import USERS, ensure_users
        ensure_users()
        m = submission_mta(run_mode="root", **USERS)
        self.addCleanup(m.cleanup)
        os.chmod(m.dir, 0o755)
        os.mkdir(m.mail)
        vmail = pwd.getpwnam(USERS["local_user"])
        os.chown(m.mail, vmail.pw_uid, vmail.pw_gid)
        # the password map inside the chroot; mtactl passwd gives it to
        # smtpd's user
        pmap = os.path.join(m.dir, "queue", "passwd")
        with open(m.conf, "a") as f:
            f.write("smtpd_passwd_map = %s\n" % pmap)
        m.start()  # makes the queue directory
        p = subprocess.run([os.path.join(mta.BIN, "mtactl"), "-c", m.conf,
                            "passwd", "add", "ann"], input="s3cret pass\n",
                           text=True, capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        smtpd_pw = pwd.getpwnam(USERS["smtpd_user"])
        self.assertEqual(os.stat(pmap).st_uid, smtpd_pw.pw_uid)
        mta.wait_for(lambda: Submission.connects(m.ports["smtps"]),
                     what="port 465")
        ctx = ssl.create_default_context(cafile=m.ca)
        with smtplib.SMTP_SSL("127.0.0.1", m.ports["smtps"], timeout=30,
                              context=ctx) as s:
            s.login("ann", "s3cret pass")
            s.sendmail("ann@localhost", ["root465@localhost"],
                       "Subject: root\r\n\r\nhi\r\n")
            pid = m.pids("smtps")[0]
            with open("/proc/%d/status" % pid) as f:
                uid = int([l for l in f if l.startswith("Uid:")][0]
                          .split()[2])
            self.assertEqual(uid, smtpd_pw.pw_uid)
            self.assertEqual(os.readlink("/proc/%d/root" % pid),
                             os.path.join(m.dir, "queue"))
            with open("/proc/%d/maps" % pid) as f:
                self.assertNotIn("libssl", f.read())
        raw = m.wait_messages("root465", 1)[0].decode()
        self.assertRegex(raw, r"with ESMTPSA id")


if __name__ == "__main__":
    unittest.main()

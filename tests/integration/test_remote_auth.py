"""test_remote_auth.py - remote(8) authenticates to a relayhost (SMTP
AUTH, RFC 4954): smtp_sasl_password_map, smtp_sasl_tls_only,
smtp_sasl_mechanisms.

RelayAuth: the relayhost is a second instance of our own system whose
submission port wants STARTTLS then AUTH (sasl_helpers.relay_server);
the first instance sends everything there (relayhost =
[relay.test]:PORT, the name served by a test DNS server, the
certificate verified against the relay's CA).  A message goes through
with the right password; a wrong one defers with 4.7.0 and the server's
words; a kept connection is reused without a second AUTH, and never for
other credentials.

ScriptedPeers: a scripted peer (rfc_peer.py) that records every line it
gets, driven through private/remote as qmgr does: AUTH LOGIN and its two
334 challenges, AUTH PLAIN after the old "AUTH=" form, no AUTH offered,
no credentials, a 4xx, a 334 out of place, no mechanism in common, and
smtp_sasl_tls_only refusing to send credentials without TLS.

Check: mtactl check on the password map.  RootMode (as root only): the map readable by root alone, opened before
remote's chroot, and a rebuilt map taken up by the next process.
"""
import os
import pwd
import re
import shutil
import unittest

from mta import MTA, wait_for
from remote_helpers import DNSServer, remote_request, write_queue_file
from rfc_peer import Peer
from test_root_mode import USERS, ensure_users
from sasl_helpers import (RELAY_NAME, RELAY_PASS, RELAY_USER, b64,
                          relay_server, write_password_map)

BODY = b"Subject: relayed\nFrom: <s@a.example>\n\nthrough the relay\n"


class RelayAuth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = DNSServer({RELAY_NAME: [("A", "127.0.0.1", 60)]})
        cls.relay = relay_server().start()

    @classmethod
    def tearDownClass(cls):
        cls.relay.cleanup()
        cls.dns.stop()

    def setUp(self):
        self.route = "[%s]:%d" % (RELAY_NAME, self.relay.submission)
        self.a = MTA(myhostname="a.test.example", mydestination="a.example",
                     relayhost=self.route,
                     resolver_nameservers="127.0.0.1:%d" % self.dns.port,
                     remote_tls_security_level="verify",
                     remote_tls_cafile=self.relay.ca,
                     # one remote process: the one that keeps the
                     # connection gets the next request
                     remote_process_limit="1",
                     remote_connection_reuse_time="60s")

    def tearDown(self):
        self.a.cleanup()

    def start_a(self, password):
        path = write_password_map(self.a, [
            (self.route, "%s:%s" % (RELAY_USER, password))])
        with open(self.a.conf, "a") as f:
            f.write("smtp_sasl_password_map = %s\n" % path)
        self.a.start()

    def send(self, rcpt, subject):
        with self.a.smtp() as s:
            s.sendmail("s@a.example", [rcpt],
                       b"Subject: %s\r\n\r\nthrough the relay\r\n" %
                       subject.encode())

    def test_right_password_delivers(self):
        self.start_a(RELAY_PASS)
        self.send("box1@localhost", "first")
        msg = self.relay.wait_messages("box1", 1)[0]
        self.assertIn(b"Subject: first", msg)
        self.assertRegex(msg.decode(), r"with ESMTPSA id")
        self.relay.wait_log(r"mta/submission/smtpd\[\d+\]: \S+\[127\.0\.0"
                            r"\.1\]: sasl_method=PLAIN, sasl_username=ann")
        self.a.wait_log(r"Verified TLS connection established to "
                        r"relay\.test\[127\.0\.0\.1\]:%d" %
                        self.relay.submission)
        self.a.wait_log(r"to=<box1@localhost>, relay=relay\.test\[127\.0\.0"
                        r"\.1\]:%d, .*dsn=2\.0\.0, status=sent" %
                        self.relay.submission)
        self.assertNotIn("s3cret", self.a.log_text())

    def test_wrong_password_defers(self):
        self.start_a("Wr0ngPassw0rd")
        self.send("box2@localhost", "wrong")
        line = self.a.wait_log(
            r"to=<box2@localhost>, relay=relay\.test\[127\.0\.0\.1\]:%d, "
            r".*dsn=4\.7\.0, status=deferred \(SASL authentication "
            r"failed; server relay\.test\[127\.0\.0\.1\] said: 535 5\.7\.8 "
            % self.relay.submission)
        self.assertTrue(line)
        # the user name is logged, the password never
        self.a.wait_log(r"warning: \S+: SASL PLAIN authentication failed "
                        r"for sasl_username=ann \(map key \[relay\.test\]:"
                        r"\d+\) with relay\.test\[127\.0\.0\.1\]:\d+: 535 ")
        self.assertNotIn("Wr0ngPassw0rd", self.a.log_text())
        self.assertEqual(self.relay.messages("box2"), [])

    def test_reuse_and_other_credentials(self):
        """A kept connection carries the next message without a second
        AUTH (the relay would refuse one: 503); after the map changes,
        the connection authenticated with the old credentials is not
        used: the new (wrong) ones are tried on a new connection."""
        self.start_a(RELAY_PASS)
        self.send("box3@localhost", "one")
        self.relay.wait_messages("box3", 1)
        self.a.wait_log(r"to=<box3@localhost>, .*status=sent")
        self.send("box3@localhost", "two")
        self.relay.wait_messages("box3", 2)
        self.a.wait_log(r"to=<box3@localhost>, relay=\S+, conn_use=2, "
                        r".*status=sent")
        write_password_map(self.a, [(self.route, "%s:%s" % (RELAY_USER,
                                                            "changed"))])
        self.send("box3@localhost", "three")
        self.a.wait_log(r"to=<box3@localhost>, relay=\S+, delay=.*"
                        r"dsn=4\.7\.0, status=deferred \(SASL authentication"
                        r" failed")
        self.assertEqual(len(self.relay.messages("box3")), 2)


class ScriptedPeers(unittest.TestCase):
    """smtp_sasl_tls_only = no: the scripted peer has no TLS."""
    tls_only = "no"

    @classmethod
    def setUpClass(cls):
        cls.dns = DNSServer({})
        cls.mta = MTA(resolver_nameservers="127.0.0.1:%d" % cls.dns.port,
                      smtp_helo_timeout="5s", smtp_connect_timeout="2s",
                      remote_connection_reuse_time="0",
                      smtp_sasl_tls_only=cls.tls_only)
        cls.map = os.path.join(cls.mta.dir, "sasl_passwd")
        with open(cls.mta.conf, "a") as f:
            f.write("smtp_sasl_password_map = %s\n" % cls.map)
        cls.mta.start()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()
        cls.dns.stop()

    def setUp(self):
        self.peers = []

    def tearDown(self):
        for p in self.peers:
            p.stop()

    def peer(self, cred="relay@example.net:pa:ss word", **kw):
        p = Peer(**kw)
        self.peers.append(p)
        entries = [("[127.0.0.1]:%d" % p.port, cred)] if cred else []
        write_password_map(self.mta, entries + [("unused.example",
                                                 "x:y")])
        return p

    def send(self, peer):
        cls = type(self)
        cls.n += 1
        qid = "AUTH%s%04d" % (self.tls_only, cls.n)
        path = os.path.join(self.mta.dir, qid)
        write_queue_file(path, qid, "a@here.test", ["x@far.test"], BODY)
        ans = remote_request(self.mta, path, qid, "a@here.test",
                             ["x@far.test"], "[127.0.0.1]:%d" % peer.port)
        return ans[0], qid

    def auth_lines(self, cmds):
        return [c for c in cmds if c.upper().startswith("AUTH")]

    def test_login_two_challenges(self):
        user, pw = "relay@example.net", "pa:ss word"
        script = {"AUTH LOGIN": "334 VXNlcm5hbWU6",
                  b64(user): "334 UGFzc3dvcmQ6",
                  b64(pw): "235 2.7.0 Authentication successful"}
        p = self.peer(ehlo=("PIPELINING", "AUTH LOGIN"),
                      answer=lambda c, _: script.get(c))
        ans, qid = self.send(p)
        self.assertEqual(ans["code"], "2", ans)
        cmds = p.wait_closed()[0]["commands"]
        self.assertEqual(cmds[1:4], ["AUTH LOGIN", b64(user), b64(pw)])
        self.assertTrue(cmds[4].startswith("MAIL FROM:<a@here.test>"), cmds)
        self.assertNotIn("pa:ss", self.mta.log_text())

    def test_plain_after_old_auth_form(self):
        """The old "AUTH=" keyword is read; PLAIN comes first in
        smtp_sasl_mechanisms and goes with its initial response."""
        want = "AUTH PLAIN " + b64("\0relay@example.net\0pa:ss word")
        p = self.peer(ehlo=("AUTH=LOGIN PLAIN", "8BITMIME"),
                      answer=lambda c, _: "235 2.7.0 Ok"
                      if c == want else None)
        ans, _ = self.send(p)
        self.assertEqual(ans["code"], "2", ans)
        cmds = p.wait_closed()[0]["commands"]
        self.assertEqual(self.auth_lines(cmds), [want])
        self.assertTrue(cmds[2].startswith("MAIL FROM:"), cmds)

    def test_peer_without_auth_gets_mail_unauthenticated(self):
        p = self.peer(ehlo=("PIPELINING", "8BITMIME"))
        ans, _ = self.send(p)
        self.assertEqual(ans["code"], "2", ans)
        cmds = p.wait_closed()[0]["commands"]
        self.assertEqual(self.auth_lines(cmds), [])
        self.assertTrue(cmds[1].startswith("MAIL FROM:"), cmds)

    def test_no_credentials_for_this_peer(self):
        p = self.peer(cred=None, ehlo=("AUTH PLAIN LOGIN",))
        ans, _ = self.send(p)
        self.assertEqual(ans["code"], "2", ans)
        self.assertEqual(self.auth_lines(p.wait_closed()[0]["commands"]),
                         [])

    def test_temporary_failure_defers_with_the_reply(self):
        p = self.peer(ehlo=("AUTH PLAIN",), answer=lambda c, _:
                      "454 4.7.0 Temporary authentication failure"
                      if c.startswith("AUTH") else None)
        ans, qid = self.send(p)
        self.assertEqual((ans["code"], ans["dsn"]), ("4", "4.7.0"), ans)
        self.assertIn("SASL authentication failed; server 127.0.0.1"
                      "[127.0.0.1] said: 454 4.7.0 Temporary", ans["text"])
        cmds = p.wait_closed()[0]["commands"]
        self.assertEqual(cmds[-1], "QUIT")
        self.assertFalse(any(c.startswith("MAIL") for c in cmds), cmds)
        self.mta.wait_log(r"%s: to=<x@far\.test>, relay=127\.0\.0\.1\["
                          r"127\.0\.0\.1\]:%d, .*dsn=4\.7\.0, status=deferred"
                          r" \(SASL authentication failed" % (qid, p.port))

    def test_334_after_initial_response_is_a_protocol_error(self):
        p = self.peer(ehlo=("AUTH PLAIN",), answer=lambda c, _:
                      "334 " if c.startswith("AUTH") else None)
        ans, _ = self.send(p)
        self.assertEqual((ans["code"], ans["dsn"]), ("4", "4.5.0"), ans)
        self.assertIn("protocol error", ans["text"])
        cmds = p.wait_closed()[0]["commands"]
        self.assertFalse(any(c.startswith("MAIL") for c in cmds), cmds)

    def test_no_mechanism_in_common(self):
        p = self.peer(ehlo=("AUTH CRAM-MD5 GSSAPI",))
        ans, _ = self.send(p)
        self.assertEqual((ans["code"], ans["dsn"]), ("4", "4.7.0"), ans)
        self.assertIn("offers none of smtp_sasl_mechanisms", ans["text"])
        cmds = p.wait_closed()[0]["commands"]
        self.assertEqual(self.auth_lines(cmds), [])
        self.assertEqual(cmds[-1], "QUIT")


class TLSOnly(ScriptedPeers):
    """smtp_sasl_tls_only = yes (the default): a peer that offers AUTH
    without STARTTLS gets no credentials, and the mail waits."""
    tls_only = "yes"

    def test_auth_without_tls_defers_without_sending(self):
        p = self.peer(ehlo=("PIPELINING", "AUTH PLAIN LOGIN"))
        ans, qid = self.send(p)
        self.assertEqual((ans["code"], ans["dsn"]), ("4", "4.7.0"), ans)
        self.assertIn("not over TLS", ans["text"])
        cmds = p.wait_closed()[0]["commands"]
        self.assertEqual(self.auth_lines(cmds), [])
        self.assertFalse(any(b64("pa:ss word") in c or "MAIL" in c
                             for c in cmds), cmds)
        self.assertEqual(cmds[-1], "QUIT")
        self.mta.wait_log(r"%s: to=<x@far\.test>, relay=127\.0\.0\.1\["
                          r"127\.0\.0\.1\]:%d, .*dsn=4\.7\.0, status=deferred"
                          r" \(SASL authentication not attempted: server "
                          r"127\.0\.0\.1\[127\.0\.0\.1\] offers AUTH, but not"
                          r" over TLS" % (qid, p.port))

    # the rest of ScriptedPeers needs smtp_sasl_tls_only = no
    test_login_two_challenges = None
    test_plain_after_old_auth_form = None
    test_temporary_failure_defers_with_the_reply = None
    test_334_after_initial_response_is_a_protocol_error = None
    test_no_mechanism_in_common = None



class Check(unittest.TestCase):
    """mtactl check: a password map not compiled, or readable by others."""

    def test_map_missing_then_readable_by_all(self):
        m = MTA()
        try:
            path = os.path.join(m.dir, "sasl_passwd")
            with open(m.conf, "a") as f:
                f.write("smtp_sasl_password_map = %s\n" % path)
            p = m.ctl("check", check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("problem: smtp_sasl_password_map: %s.lmdb" % path,
                          p.stdout)
            self.assertIn("fix: mtactl makemap %s" % path, p.stdout)
            write_password_map(m, [("[x.example]:587", "u:p4ss")],
                               mode=0o644)
            p = m.ctl("check", check=False)
            self.assertIn("is readable by others than its owner", p.stdout)
            self.assertIn("fix: chmod 600 %s; mtactl makemap" % path,
                          p.stdout)
            self.assertNotIn("p4ss", p.stdout + p.stderr)
            write_password_map(m, [("[x.example]:587", "u:p4ss")])
            self.assertEqual(os.stat(path + ".lmdb").st_mode & 0o777, 0o600)
            p = m.ctl("check", check=False)
            self.assertNotIn("smtp_sasl_password_map", p.stdout)
        finally:
            m.cleanup()


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("useradd"),
                     "root mode needs root")
class RootMode(unittest.TestCase):
    """run_mode = root: remote runs as remote_user in a chroot, and reads
    a password map that only root may read, outside the chroot, because
    it opened it before; a rebuilt map is read by the next process."""

    def test_map_of_root_alone(self):
        ensure_users()
        dns = DNSServer({})
        script = {}
        peer = Peer(ehlo=("AUTH PLAIN",),
                    answer=lambda c, _: script.get(c, None))
        m = MTA(run_mode="root", smtp_sasl_tls_only="no",
                resolver_nameservers="127.0.0.1:%d" % dns.port,
                remote_connection_reuse_time="0", **USERS)
        key = "[127.0.0.1]:%d" % peer.port
        try:
            os.chmod(m.dir, 0o755)
            path = write_password_map(m, [(key, "root-only:first")])
            with open(m.conf, "a") as f:
                f.write("smtp_sasl_password_map = %s\n" % path)
            self.assertEqual(os.stat(path + ".lmdb").st_mode & 0o777, 0o600)
            # make sanitize: LeakSanitizer's tracer cannot attach to a
            # hardened (non-dumpable) daemon and spins at its exit, which
            # this test waits for; the daemons inherit the environment
            asan = os.environ.get("ASAN_OPTIONS")
            if os.environ.get("MTA_SAN_REPORTS"):
                os.environ["ASAN_OPTIONS"] = (asan or "") + ":detect_leaks=0"
            try:
                m.start()
            finally:
                if asan is None:
                    os.environ.pop("ASAN_OPTIONS", None)
                else:
                    os.environ["ASAN_OPTIONS"] = asan
            for pw in ("first", "second"):
                script["AUTH PLAIN " + b64("\0root-only\0" + pw)] = \
                    "235 2.7.0 Ok"
            qf = os.path.join(m.dir, "q")
            write_queue_file(qf, "ROOTA", "a@here.test", ["x@far.test"],
                             b"Subject: r\n\nhi\n")

            def send():
                ans = remote_request(m, qf, "ROOTA", "a@here.test",
                                     ["x@far.test"], key)
                self.assertEqual(ans[0]["code"], "2", ans)
                return [c for c in peer.sessions[-1]["commands"]
                        if c.startswith("AUTH")]

            self.assertEqual(send(), ["AUTH PLAIN " +
                                      b64("\0root-only\0first")])
            pid = m.pids("remote")[0]
            owner = pwd.getpwuid(os.stat("/proc/%d" % pid).st_uid)
            self.assertEqual(owner.pw_name, USERS["remote_user"])
            self.assertEqual(os.readlink("/proc/%d/root" % pid),
                             os.path.join(m.dir, "queue"))
            # rebuilt: the process that finds it out of reach answers
            # that request from the map it has open, then ends; the next
            # one opens the new map
            write_password_map(m, [(key, "root-only:second")])
            self.assertEqual(send(), ["AUTH PLAIN " +
                                      b64("\0root-only\0first")])
            m.wait_log(r"map %s\.lmdb was replaced or is missing" %
                       re.escape(path))
            wait_for(lambda: pid not in m.pids("remote"), 20,
                     "the old remote to exit")
            self.assertEqual(send(), ["AUTH PLAIN " +
                                      b64("\0root-only\0second")])
        finally:
            m.cleanup()
            peer.stop()
            dns.stop()


if __name__ == "__main__":
    unittest.main()

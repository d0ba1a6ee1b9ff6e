"""test_remote_tls.py - remote(8)'s outbound TLS (issue 9): STARTTLS by
default, the per-destination policy (remote_tls_policy_map, made with
mtactl makemap), verification against remote_tls_cafile and the MX name,
and DANE (RFC 7672) from TLSA records the DNS server on loopback answers
with the AD bit.

The peers share one port on 127.0.0.x addresses: a second instance of
this system with a certificate (smtpd's STARTTLS), Python ssl sinks with
a good certificate, one for the wrong name, one from another CA, one
that breaks the handshake, and a plaintext sink.  Each test hands remote
a request as qmgr does and checks the answer per recipient, what the peer
got (over TLS or not) and the log lines.
"""
import os
import re
import shutil
import socket
import unittest

from mta import MTA, free_port, wait_for
from remote_helpers import (DNSServer, remote_request, resolver_request,
                            write_queue_file)
from remote_tls_helpers import tlsa_rdata
from sink_helpers import SMTPSink, tls_sink
import tls_helpers as th
from test_root_mode import USERS, ensure_users

BODY = b"Subject: tls test\nFrom: <a@here.test>\n\nover TLS, we hope\n"

PEER = "127.0.0.21"      # a second instance of this system
PLAIN = "127.0.0.22"     # no STARTTLS
OTHERCA = "127.0.0.23"   # certificate from a CA remote does not know
GOOD = "127.0.0.24"      # certificate for mx.good.test, chain with the CA
WRONGNAME = "127.0.0.25"  # right CA, name other.name
BROKEN = "127.0.0.26"    # offers STARTTLS, then no handshake
INJECT = "127.0.0.27"    # plaintext right behind its 220 to STARTTLS

POLICY = """\
enc-plain.test encrypt
enc.test encrypt
enc-peer.test encrypt
verify-peer.test verify
enc-inject.test encrypt
verify-good.test verify
verify-name.test verify
verify-ca.test verify
none.test none
.sub.test encrypt
dane-ee.test dane
dane-ee0.test dane
dane-ta.test dane
dane-bad.test dane
dane-insecure.test dane
dane-plain.test dane
dane-unusable.test dane
"""


def accepting(addr, port):
    try:
        socket.create_connection((addr, port), 1).close()
        return True
    except OSError:
        return False


class RemoteTLS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = port = free_port()
        cls.src = MTA(smtp_port=str(port), smtp_helo_timeout="5s",
                      smtp_connect_timeout="2s", resolver_timeout="1s",
                      resolver_retries="0", resolver_dnssec_trust_ad="yes",
                      tls_handshake_timeout="10s")
        pki = cls.pki = os.path.join(cls.src.dir, "pki")
        os.mkdir(pki)
        cls.ca = th.make_ca(pki)
        th.make_ca(pki, "other")
        good, good_key = th.make_cert(pki, "good", "mx.good.test")
        cls.good = good
        with open(os.path.join(pki, "ca.crt")) as f:
            ca_pem = f.read()
        chain = os.path.join(pki, "goodchain.crt")  # leaf, then the CA
        with open(good) as f, open(chain, "w") as out:
            out.write(f.read() + ca_pem)
        peer, peer_key = th.make_cert(pki, "peer", "mx.may.test")
        wrong, wrong_key = th.make_cert(pki, "wrong", "other.name")
        oca, oca_key = th.make_cert(pki, "oca", "mx.otherca.test", "other")

        ee = "3 1 1 " + tlsa_rdata(good, 1, 1)
        ee0 = "3 0 2 " + tlsa_rdata(good, 0, 2)
        ta = "2 0 1 " + tlsa_rdata(cls.ca, 0, 1)
        bad = "3 1 1 " + "00" * 32
        tl = lambda h: "_%d._tcp.%s" % (port, h)
        zone = {}

        def mx(dom, host, addr, tlsa=None):
            zone[dom] = [("MX", "10 " + host, 300)]
            zone.setdefault(host, []).append(("A", addr, 300))
            if tlsa:
                zone[tl(host)] = [("TLSA", t, 300) for t in tlsa]
        mx("may.test", "mx.may.test", PEER)
        mx("enc-peer.test", "mx.may.test", PEER)
        mx("verify-peer.test", "mx.may.test", PEER)
        mx("plain.test", "mx.plain.test", PLAIN)
        mx("enc-plain.test", "mx.plain.test", PLAIN)
        mx("enc.test", "mx.otherca.test", OTHERCA)
        mx("verify-ca.test", "mx.otherca.test", OTHERCA)
        mx("verify-good.test", "mx.good.test", GOOD)
        mx("verify-name.test", "mx.wrongname.test", WRONGNAME)
        mx("broken.test", "mx.broken.test", BROKEN)
        mx("inject.test", "mx.inject.test", INJECT)
        mx("enc-inject.test", "mx.inject.test", INJECT)
        mx("none.test", "mx.good.test", GOOD)
        mx("a.sub.test", "mx.plain.test", PLAIN)
        mx("dane-ee.test", "mx.dane-ee.test", GOOD, [bad, ee])
        mx("dane-ee0.test", "mx.dane-ee0.test", GOOD, [ee0])
        mx("dane-ta.test", "mx.good.test", GOOD, [ta])
        mx("dane-bad.test", "mx.dane-bad.test", GOOD, [bad])
        mx("dane-insecure.test", "mx.dane-insecure.test", GOOD, [bad])
        mx("dane-plain.test", "mx.dane-plain.test", PLAIN, [ee])
        mx("dane-unusable.test", "mx.dane-unusable.test", OTHERCA,
           ["1 1 1 " + "00" * 32])
        secure = set()
        for d in ("dane-ee.test", "dane-ee0.test", "dane-ta.test",
                  "dane-bad.test", "dane-plain.test", "dane-unusable.test"):
            host = zone[d][0][1].split()[1]
            secure |= {d, host, tl(host)}
        # dane-insecure.test: the MX answer comes without the AD bit
        secure |= {"mx.dane-insecure.test", tl("mx.dane-insecure.test")}
        cls.dns = DNSServer(zone, secure=secure)

        cls.sinks = [
            SMTPSink(PLAIN, port),
            tls_sink(OTHERCA, port, oca, oca_key),
            tls_sink(GOOD, port, chain, good_key),
            tls_sink(WRONGNAME, port, wrong, wrong_key),
            tls_sink(BROKEN, port, break_tls=True),
            tls_sink(INJECT, port, oca, oca_key, inject=True),
        ]
        cls.peer = MTA(smtpd_listen="%s:%d" % (PEER, port),
                       mydestination="may.test, enc-peer.test, "
                       "verify-peer.test", myhostname="mx.may.test",
                       smtpd_tls_cert_file=peer, smtpd_tls_key_file=peer_key)
        cls.peer.ctl("start")

        policy = os.path.join(cls.src.dir, "tls_policy")
        with open(policy, "w") as f:
            f.write(POLICY)
        cls.src.ctl("makemap", policy)
        with open(cls.src.conf, "a") as f:
            f.write("resolver_nameservers = 127.0.0.1:%d\n" % cls.dns.port)
            f.write("remote_tls_cafile = %s\n" % cls.ca)
            f.write("remote_tls_policy_map = %s.lmdb\n" % policy)
        cls.src.start()
        wait_for(lambda: accepting(PEER, port), what="the TLS peer")
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.src.cleanup()
        cls.peer.cleanup()
        for s in cls.sinks:
            s.stop()
        cls.dns.stop()

    def send(self, rcpt):
        RemoteTLS.n += 1
        qid = "TLS%04d" % RemoteTLS.n
        path = os.path.join(self.src.dir, qid)
        write_queue_file(path, qid, "a@here.test", [rcpt], BODY)
        ans = remote_request(self.src, path, qid, "a@here.test", [rcpt],
                             rcpt.split("@")[1])
        return qid, ans[0]

    def line(self, qid, rcpt):
        return self.src.wait_log(r"%s: to=<%s>, relay=[^\n]*" %
                                 (qid, re.escape(rcpt))).group(0)

    def established(self, trust, host, addr):
        return self.src.wait_log(
            r"remote\[\d+\]: %s TLS connection established to %s\[%s\]:%d:"
            r" (TLSv1\.[23]) with cipher \S+ \(\d+/\d+ bits\)([^\n]*)" %
            (trust, re.escape(host), re.escape(addr), self.port))

    def sink(self, addr):
        return next(s for s in self.sinks
                    if s.server.server_address[0] == addr)

    # -- may ----------------------------------------------------------
    def test_may_to_second_instance_uses_tls(self):
        qid, a = self.send("carol@may.test")
        self.assertEqual((a["code"], a["dsn"]), ("2", "2.0.0"), a)
        m = self.established("Verified", "mx.may.test", PEER)
        self.assertEqual(m.group(1), "TLSv1.3")
        self.assertIn("status=sent (250 2.0.0", self.line(qid,
                                                          "carol@may.test"))
        msg = self.peer.wait_messages("carol", 1, domain="may.test")[0]
        self.assertRegex(msg, rb"with ESMTPS")

    def test_encrypt_and_verify_to_second_instance(self):
        for dom in ("enc-peer.test", "verify-peer.test"):
            qid, a = self.send("dave@" + dom)
            self.assertEqual((a["code"], a["dsn"]), ("2", "2.0.0"), a)
            self.assertIn("status=sent (250 2.0.0",
                          self.line(qid, "dave@" + dom))
            msg = self.peer.wait_messages("dave", 1, domain=dom)[0]
            self.assertRegex(msg, rb"with ESMTPS")
        self.established("Verified", "mx.may.test", PEER)

    def test_may_without_starttls_is_plaintext(self):
        qid, a = self.send("p@plain.test")
        self.assertEqual(a["code"], "2", a)
        self.assertIn("status=sent", self.line(qid, "p@plain.test"))
        self.assertNotIn("STARTTLS", self.sink(PLAIN).commands)

    def test_may_broken_handshake_retries_in_plaintext(self):
        qid, a = self.send("b@broken.test")
        self.assertEqual(a["code"], "2", a)
        self.src.wait_log(r"%s: Cannot start TLS with host mx\.broken\.test"
                          r"\[%s\]:%d: TLS handshake failed: [^\n]*; "
                          r"trying again without TLS" %
                          (qid, BROKEN, self.port))
        sessions = self.sink(BROKEN).sessions
        self.assertIn("STARTTLS", sessions[-2]["commands"])
        self.assertNotIn("STARTTLS", sessions[-1]["commands"])
        self.assertIn("status=sent", self.line(qid, "b@broken.test"))

    def test_may_injected_plaintext_after_220_retries_without_tls(self):
        qid, a = self.send("i@inject.test")
        self.assertEqual(a["code"], "2", a)
        self.src.wait_log(r"%s: host mx\.inject\.test\[%s\] sent data after "
                          r"its 220 to STARTTLS; trying again without TLS"
                          % (qid, INJECT))
        sessions = self.sink(INJECT).sessions
        self.assertNotIn("STARTTLS", sessions[-1]["commands"])
        self.assertEqual(len(self.sink(INJECT).messages), 1)

    def test_encrypt_injected_plaintext_after_220_defers(self):
        qid, a = self.send("i@enc-inject.test")
        self.assertEqual((a["code"], a["dsn"]), ("4", "4.7.5"), a)
        self.assertEqual(a["text"], "host mx.inject.test[%s] sent data "
                         "after its 220 to STARTTLS" % INJECT)

    def test_none_never_starts_tls(self):
        before = len(self.sink(GOOD).messages)
        qid, a = self.send("n@none.test")
        self.assertEqual(a["code"], "2", a)
        self.assertIsNone(self.sink(GOOD).messages[before]["tls"])

    # -- encrypt -------------------------------------------------------
    def test_encrypt_without_starttls_defers(self):
        qid, a = self.send("e@enc-plain.test")
        self.assertEqual((a["code"], a["dsn"]), ("4", "4.7.4"), a)
        self.assertEqual(a["text"], "TLS is required, but was not offered "
                         "by host mx.plain.test[%s]" % PLAIN)
        self.assertIn("dsn=4.7.4, status=deferred (TLS is required, but "
                      "was not offered by host mx.plain.test",
                      self.line(qid, "e@enc-plain.test"))

    def test_encrypt_parent_domain_entry(self):
        qid, a = self.send("e@a.sub.test")
        self.assertEqual((a["code"], a["dsn"]), ("4", "4.7.4"), a)

    def test_encrypt_accepts_any_certificate(self):
        before = len(self.sink(OTHERCA).messages)
        qid, a = self.send("e@enc.test")
        self.assertEqual(a["code"], "2", a)
        self.established("Untrusted", "mx.otherca.test", OTHERCA)
        self.assertIn(self.sink(OTHERCA).messages[before]["tls"],
                      ("TLSv1.2", "TLSv1.3"))

    # -- verify --------------------------------------------------------
    def test_verify_good_ca_and_name(self):
        qid, a = self.send("v@verify-good.test")
        self.assertEqual(a["code"], "2", a)
        self.established("Verified", "mx.good.test", GOOD)
        self.assertIn("status=sent", self.line(qid, "v@verify-good.test"))

    def test_verify_wrong_name_defers(self):
        qid, a = self.send("v@verify-name.test")
        self.assertEqual((a["code"], a["dsn"]), ("4", "4.7.5"), a)
        self.assertRegex(a["text"], r"^Server certificate not verified for "
                         r"host mx\.wrongname\.test\[127\.0\.0\.25\]:\d+: "
                         r"hostname mismatch")
        self.assertEqual(self.sink(WRONGNAME).messages, [])

    def test_verify_unknown_ca_defers(self):
        qid, a = self.send("v@verify-ca.test")
        self.assertEqual((a["code"], a["dsn"]), ("4", "4.7.5"), a)
        self.assertRegex(a["text"], r"^Server certificate not verified for "
                         r"host mx\.otherca\.test\[127\.0\.0\.23\]:\d+: "
                         r"unable to get local issuer certificate")
        self.assertIn("status=deferred (Server certificate not verified",
                      self.line(qid, "v@verify-ca.test"))

    # -- DANE ----------------------------------------------------------
    def test_dane_ee_spki_sha256_match(self):
        # the certificate names mx.good.test: DANE-EE ignores names
        qid, a = self.send("d@dane-ee.test")
        self.assertEqual(a["code"], "2", a)
        m = self.established("Verified", "mx.dane-ee.test", GOOD)
        self.assertEqual(m.group(2), " (DANE)")
        self.assertIn("status=sent", self.line(qid, "d@dane-ee.test"))

    def test_dane_ee_full_cert_sha512_match(self):
        qid, a = self.send("d@dane-ee0.test")
        self.assertEqual(a["code"], "2", a)
        self.assertEqual(self.established("Verified", "mx.dane-ee0.test",
                                          GOOD).group(2), " (DANE)")

    def test_dane_ta_match(self):
        qid, a = self.send("d@dane-ta.test")
        self.assertEqual(a["code"], "2", a)
        self.src.wait_log(r"Verified TLS connection established to "
                          r"mx\.good\.test\[%s\]:%d: \S+ with cipher \S+ "
                          r"\(\d+/\d+ bits\) \(DANE\)" % (GOOD, self.port))

    def test_dane_mismatch_defers(self):
        qid, a = self.send("d@dane-bad.test")
        self.assertEqual((a["code"], a["dsn"]), ("4", "4.7.5"), a)
        self.assertRegex(a["text"], r"(?i)^TLSA certificate match failed for "
                         r"host mx\.dane-bad\.test\[127\.0\.0\.24\]:\d+: "
                         r"no matching DANE TLSA records")
        self.assertIn("dsn=4.7.5, status=deferred (TLSA certificate match "
                      "failed", self.line(qid, "d@dane-bad.test"))

    def test_dane_without_validated_mx_is_may(self):
        # the TLSA record would not match, but the MX answer is not
        # validated: no DANE, opportunistic TLS, and the mail goes
        qid, a = self.send("d@dane-insecure.test")
        self.assertEqual(a["code"], "2", a)
        m = self.established("Trusted", "mx.dane-insecure.test", GOOD)
        self.assertEqual(m.group(2), "")

    def test_dane_peer_without_starttls_defers(self):
        qid, a = self.send("d@dane-plain.test")
        self.assertEqual((a["code"], a["dsn"]), ("4", "4.7.4"), a)
        self.assertIn("TLS is required, but was not offered by host "
                      "mx.dane-plain.test", a["text"])

    def test_dane_only_unusable_records_is_encrypt(self):
        # a PKIX-EE(1) record only: TLS required, not authenticated
        qid, a = self.send("d@dane-unusable.test")
        self.assertEqual(a["code"], "2", a)
        self.established("Untrusted", "mx.dane-unusable.test", OTHERCA)

    def test_resolver_reports_tlsa_and_ad(self):
        r = resolver_request(self.src, [
            ("req", "query"), ("type", "TLSA"),
            ("name", "_%d._tcp.mx.dane-ee.test" % self.port)])
        self.assertEqual((r["status"], r["ad"]), ("ok", "1"))
        self.assertIn("3 1 1 " + tlsa_rdata(self.good, 1, 1), r["rr"])


class ResolverUntrustedAD(unittest.TestCase):
    """resolver_dnssec_trust_ad = no (the default): the AD bit of the
    nameserver is not believed, so a dane destination gets may."""

    def test_ad_ignored_and_dane_falls_back_to_may(self):
        port = free_port()
        mta = MTA(smtp_port=str(port), resolver_timeout="1s",
                  resolver_retries="0", smtp_helo_timeout="5s",
                  remote_tls_security_level="dane")
        pki = os.path.join(mta.dir, "pki")
        os.mkdir(pki)
        th.make_ca(pki)
        cert, key = th.make_cert(pki, "good", "mx.good.test")
        zone = {"dane.test": [("MX", "10 mx.dane.test", 60)],
                "mx.dane.test": [("A", GOOD, 60)],
                "_%d._tcp.mx.dane.test" % port: [("TLSA", "3 1 1 " +
                                                   "00" * 32, 60)]}
        dns = DNSServer(zone, secure=set(zone))
        sink = tls_sink(GOOD, port, cert, key)
        try:
            with open(mta.conf, "a") as f:
                f.write("resolver_nameservers = 127.0.0.1:%d\n" % dns.port)
            mta.start()
            r = resolver_request(mta, [("req", "query"), ("type", "MX"),
                                       ("name", "dane.test")])
            self.assertEqual((r["status"], r["ad"]), ("ok", "0"))
            path = os.path.join(mta.dir, "q")
            write_queue_file(path, "ADQ1", "a@here.test", ["x@dane.test"],
                             BODY)
            a = remote_request(mta, path, "ADQ1", "a@here.test",
                               ["x@dane.test"], "dane.test")[0]
            # the TLSA record would not match: unvalidated, it is unused
            self.assertEqual(a["code"], "2", a)
            self.assertEqual(sink.messages[0]["tls"], "TLSv1.3")
            mta.wait_log(r"Untrusted TLS connection established to "
                         r"mx\.dane\.test\[%s\]:%d" % (GOOD, port))
        finally:
            mta.cleanup()
            sink.stop()
            dns.stop()


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("useradd"),
                     "root mode needs root")
class RemoteTLSRootMode(unittest.TestCase):
    """run_mode = root: remote, chrooted as its own user, reaches
    private/tlsproxy through the mail owner's group, and verify works
    with the CA file tlsproxy read before dropping privileges."""

    def test_verify_in_root_mode(self):
        ensure_users()
        port = free_port()
        mta = MTA(run_mode="root", smtp_port=str(port),
                  remote_tls_security_level="verify", **USERS)
        os.chmod(mta.dir, 0o755)
        pki = os.path.join(mta.dir, "pki")
        os.mkdir(pki)
        ca = th.make_ca(pki)
        cert, key = th.make_cert(pki, "good", "mx.rooted.test")
        dns = DNSServer({"rooted.test": [("MX", "10 mx.rooted.test", 60)],
                         "mx.rooted.test": [("A", GOOD, 60)]})
        sink = tls_sink(GOOD, port, cert, key)
        try:
            with open(mta.conf, "a") as f:
                f.write("resolver_nameservers = 127.0.0.1:%d\n" % dns.port)
                f.write("remote_tls_cafile = %s\n" % ca)
            mta.start()
            path = os.path.join(mta.dir, "q")
            write_queue_file(path, "ROOTTLS1", "a@here.test",
                             ["x@rooted.test"], BODY)
            a = remote_request(mta, path, "ROOTTLS1", "a@here.test",
                               ["x@rooted.test"], "rooted.test")[0]
            self.assertEqual(a["code"], "2", a)
            self.assertIn(sink.messages[0]["tls"], ("TLSv1.2", "TLSv1.3"))
            mta.wait_log(r"Verified TLS connection established to "
                         r"mx\.rooted\.test\[%s\]:%d" % (GOOD, port))
        finally:
            mta.cleanup()
            sink.stop()
            dns.stop()


if __name__ == "__main__":
    unittest.main()

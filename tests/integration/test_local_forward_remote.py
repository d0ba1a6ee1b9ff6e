"""test_local_forward_remote.py - forwarding seen from the next hop.

An alias names a remote address: local resubmits the message through
cleanup with the sender rewritten by SRS, qmgr hands the copy to remote,
which finds the MX through the DNS server on loopback and relays it to an
SMTP sink.  At the sink: the envelope sender is the SRS0 address, its
hash and day check with the instance's key, and the message is the one
the client sent with only our headers on top.  A bounce to the SRS
address comes back through local and remote to the original sender; a
forged or expired one is refused at RCPT time (550 5.1.1).
Runs unprivileged (as root too).
"""
import hashlib
import hmac
import os
import re
import smtplib
import time
import unittest

from mta import free_port, wait_for
from local_helpers import mta_with_maps, rcpt_reply
from remote_helpers import DNSServer
from sink_helpers import SMTPSink

DEST_IP, ORIG_IP = "127.0.0.21", "127.0.0.22"
ZONE = {
    "dest.test": [("MX", "10 mx.dest.test", 300)],
    "mx.dest.test": [("A", DEST_IP, 300)],
    "orig.test": [("MX", "10 mx.orig.test", 300)],
    "mx.orig.test": [("A", ORIG_IP, 300)],
}
B32 = "abcdefghijklmnopqrstuvwxyz234567"
ORIGINAL = (b"From: Carl <carl@orig.test>\r\n"
            b"To: fwd@localhost\r\n"
            b"Subject: forwarded end to end\r\n"
            b"Message-ID: <e2e.1@orig.test>\r\n"
            b"Date: Sun, 29 Nov 2026 04:00:00 +0000\r\n"
            b"\r\n"
            b"line one\r\n"
            b".a line that starts with a dot\r\n"
            b"From the start of a line\r\n")


def srs_hash(key, tt, domain, local):
    """common/srs.c: HMAC-SHA-512-256 over "tt=domain=local" (lower
    case), 4 base32 characters from the low bits of its first bytes."""
    mac = hmac.new(key, ("%s=%s=%s" % (tt, domain, local)).lower().encode(),
                   hashlib.sha512).digest()[:32]
    return "".join(B32[b & 31] for b in mac[:4])


def day_code(day):
    return B32[(day >> 5) & 31] + B32[day & 31]


def unstuff(data):
    """The message as the sink got it, without SMTP dot-stuffing, LF."""
    lines = data.split(b"\r\n")
    return b"\n".join(l[1:] if l.startswith(b"..") else l for l in lines)


class ForwardThroughRemote(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = DNSServer(ZONE)
        cls.port = free_port()
        cls.dest = SMTPSink(DEST_IP, cls.port)
        cls.orig = SMTPSink(ORIG_IP, cls.port)
        cls.mta = mta_with_maps(
            aliases="fwd: bob@dest.test\n",
            resolver_nameservers="127.0.0.1:%d" % cls.dns.port,
            smtp_port=str(cls.port), srs_domain="test.example",
            srs_secret_file="@DIR@/srs.key").start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()
        cls.dest.stop()
        cls.orig.stop()
        cls.dns.stop()

    def key(self):
        with open(os.path.join(self.mta.dir, "srs.key"), "rb") as f:
            return f.read()

    def forward_one(self):
        """Client -> smtpd -> local (alias) -> cleanup -> remote -> sink."""
        n = len(self.dest.messages)
        with self.mta.smtp() as s:
            s.sendmail("carl@orig.test", ["fwd@localhost"], ORIGINAL)
        wait_for(lambda: len(self.dest.messages) > n, 30,
                 "the forwarded copy at the sink")
        return self.dest.messages[n]

    def test_srs_sender_and_bytes_at_the_sink(self):
        msg = self.forward_one()
        self.assertEqual(msg["rcpt"], ["bob@dest.test"])
        m = re.match(r"MAIL FROM:<(SRS0=(\w{4})=(\w\w)=orig\.test=carl"
                     r"@test\.example)>", msg["mail"], re.I)
        self.assertTrue(m, msg["mail"])
        # the address verifies: our key's hash, today's day
        today = int(time.time()) // 86400
        self.assertIn(m.group(3).lower(),
                      (day_code(today), day_code(today - 1)))
        self.assertEqual(m.group(2).lower(),
                         srs_hash(self.key(), m.group(3), "orig.test",
                                  "carl"))
        # the bytes: the original, with only our headers on top
        got = unstuff(msg["data"])
        want = ORIGINAL.replace(b"\r\n", b"\n")
        self.assertTrue(got.endswith(want), got)
        added = got[:-len(want)].decode().splitlines()
        names = [l.split(":")[0] for l in added if not l[:1].isspace()]
        self.assertEqual(names.count("Delivered-To"), 1, added)
        self.assertIn("Delivered-To: fwd@localhost", added)
        self.assertEqual(set(names), {"Received", "Delivered-To"}, added)
        # the log: local forwarded it, remote relayed it to the MX
        m2 = self.mta.wait_log(r"to=<bob@dest\.test>, orig_to=<fwd@"
                               r"localhost>, relay=local, .*dsn=2\.0\.0, "
                               r"status=sent \(forwarded as (\w+)\)")
        self.mta.wait_log(r"%s: to=<bob@dest\.test>, relay=mx\.dest\.test"
                          r"\[%s\]:%d, .*dsn=2\.0\.0, status=sent \(250 "
                          % (m2.group(1), re.escape(DEST_IP), self.port))

    def test_bounce_to_srs_reaches_the_original_sender(self):
        srs = re.search(r"<(SRS0=[^>]+)>", self.forward_one()["mail"]).group(1)
        n = len(self.orig.messages)
        bounce = (b"From: MAILER-DAEMON@dest.test\r\nTo: %s\r\n"
                  b"Subject: Undelivered Mail\r\n\r\nbob is gone\r\n"
                  % srs.encode())
        with self.mta.smtp() as s:
            s.sendmail("", [srs], bounce)
        wait_for(lambda: len(self.orig.messages) > n, 30,
                 "the bounce at the original sender's MX")
        got = self.orig.messages[n]
        self.assertEqual(got["rcpt"], ["carl@orig.test"])
        self.assertTrue(got["mail"].upper().startswith("MAIL FROM:<>"),
                        got["mail"])
        data = unstuff(got["data"])
        self.assertTrue(data.endswith(b"\n\nbob is gone\n"), data)
        self.assertIn(b"\nSubject: Undelivered Mail\n", data)
        self.assertIn(b"Delivered-To: %s\n" % srs.encode(), data)
        self.mta.wait_log(r"to=<carl@orig\.test>, orig_to=<%s>, relay=local,"
                          r" .*status=sent \(forwarded as \w+\)"
                          % re.escape(srs))

    def test_forged_and_expired_srs_refused_at_rcpt(self):
        self.forward_one()  # local has made the key by now
        key = self.key()
        today = int(time.time()) // 86400
        good_tt = day_code(today)
        good = "SRS0=%s=%s=orig.test=carl@test.example" % (
            srs_hash(key, good_tt, "orig.test", "carl"), good_tt)
        self.assertEqual(rcpt_reply(self.mta, good, sender="")[0], 250)
        old_tt = day_code(today - 30)  # srs_max_age is 21 days
        expired = "SRS0=%s=%s=orig.test=carl@test.example" % (
            srs_hash(key, old_tt, "orig.test", "carl"), old_tt)
        h = srs_hash(key, good_tt, "orig.test", "carl")
        forged = "SRS0=%s=%s=orig.test=mallory@test.example" % (h, good_tt)
        for addr in (expired, forged):
            code, text = rcpt_reply(self.mta, addr, sender="")
            self.assertEqual(code, 550, addr)
            self.assertIn("5.1.1", text)
        self.mta.wait_log(r"reject: RCPT from .*550 5\.1\.1 <%s>"
                          % re.escape(forged))


if __name__ == "__main__":
    unittest.main()

"""test_mime_downgrade.py - RFC 6152 3: an 8-bit message relayed to a
peer that does not offer 8BITMIME goes converted to 7-bit MIME (leaf
parts quoted-printable, RFC 2045 6.7), or is returned (5.6.3) when it
cannot be converted or smtp_mime_downgrade = no.

remote is driven through private/remote as qmgr does
(remote_helpers.remote_request); the peer is rfc_peer.Peer, which keeps
the octets sent after the 354.  What the peer got is read back with
Python's email package: every part must decode to the original octets.
"""
import email
import email.policy
import os
import re
import unittest

from mta import MTA, free_port, wait_for
from remote_helpers import DNSServer, remote_request, write_queue_file
from rfc_peer import Peer
from sink_helpers import SMTPSink

NO_8BIT = ("PIPELINING", "SIZE 10000000")

PLAIN = ("Subject: plain\nFrom: <a@here.test>\n\n"
         "cr\u00e8me br\u00fbl\u00e9e = dessert  \n"
         ".\n"
         "..two dots\n" + "\u00e9" * 120 + "\n"
         "tab at the end\t\n"
         "last line, no newline \u00e0").encode()

MULTI = ("Subject: parts\nFrom: <a@here.test>\nMIME-Version: 1.0\n"
         "Content-Type: multipart/mixed; boundary=\"outer\"\n\n"
         "preamble\n"
         "--outer\n"
         "Content-Type: text/plain; charset=utf-8\n"
         "Content-Transfer-Encoding: 8bit\n\n"
         "fa\u00e7ade\n"
         "--outer\n"
         "Content-Type: text/plain\n\n"
         "seven bit only\n"
         "--outer\n"
         "Content-Type: multipart/alternative;\n boundary=inner\n\n"
         "--inner\n"
         "Content-Type: text/html; charset=utf-8\n\n"
         "<p>\u00fcber</p>\n"
         "--inner--\n"
         "--outer\n"
         "Content-Type: message/rfc822\n"
         "Content-Transfer-Encoding: 8bit\n\n"
         "Subject: forwarded\n\n"
         "na\u00efve inside\n"
         "--outer\n"
         "Content-Type: application/octet-stream\n"
         "Content-Transfer-Encoding: base64\n\n"
         "aGVsbG8gd29ybGQ=\n"
         "--outer--\n").encode()

BINARY = ("Subject: bin\nMIME-Version: 1.0\n"
          "Content-Type: multipart/mixed; boundary=b\n\n"
          "--b\nContent-Type: application/x-raw\n"
          "Content-Transfer-Encoding: binary\n\n\u00ff\u00fe\n--b--\n"
          ).encode()


def received(sess):
    """The message as the peer got it: CRLF to LF, dot-stuffing undone."""
    lines = sess["data"].split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return b"\n".join(line[1:] if line.startswith(b".") else line
                      for line in lines) + b"\n"


def leaves(data):
    """Every leaf's decoded octets, depth first (message/rfc822 too)."""
    def walk(m):
        if m.is_multipart():
            out = []
            for p in m.get_payload():
                out += walk(p)
            return out
        return [m.get_payload(decode=True)]
    return walk(email.message_from_bytes(data, policy=email.policy.compat32))


class Downgrade(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = DNSServer({})
        kw = dict(resolver_nameservers="127.0.0.1:%d" % cls.dns.port,
                  smtp_helo_timeout="5s", smtp_connect_timeout="2s",
                  remote_connection_reuse_time="0")
        cls.mta = MTA(**kw).start()
        cls.off = cls.anyway = None
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()
        for m in (cls.off, cls.anyway):
            if m:
                m.cleanup()
        cls.dns.stop()

    def setUp(self):
        self.peers = []

    def tearDown(self):
        for p in self.peers:
            p.stop()

    def send(self, body, ehlo=NO_8BIT, mta=None, body_type="8BITMIME"):
        mta = mta or self.mta
        p = Peer(ehlo=ehlo)
        self.peers.append(p)
        Downgrade.n += 1
        qid = "DG%04d" % Downgrade.n
        path = os.path.join(mta.dir, qid)
        write_queue_file(path, qid, "a@here.test", ["x@far.test"], body,
                         body_type=body_type)
        with open(path, "rb") as f:
            self.queued = f.read()
        self.path = path
        ans = remote_request(mta, path, qid, "a@here.test", ["x@far.test"],
                             "[127.0.0.1]:%d" % p.port)
        return ans[0], p.wait_closed()[0], qid

    def assert_7bit_mime(self, sess):
        self.assertTrue(all(b < 128 for b in sess["data"]), sess["data"])
        self.assertFalse([c for c in sess["commands"] if "BODY=" in c],
                         sess["commands"])
        size = int(re.search(r" SIZE=(\d+)", [
            c for c in sess["commands"] if c.startswith("MAIL")][0]).group(1))
        stuffing = sum(1 for line in sess["data"].split(b"\r\n")
                       if line.startswith(b".."))
        # RFC 1870 4: SIZE= is what was sent, the converted copy
        self.assertEqual(size, len(sess["data"]) - stuffing)

    def test_plain_text_quoted_printable(self):
        """A non-MIME 8-bit message to a peer without 8BITMIME goes as
        MIME quoted-printable (lines of at most 76, trailing white space
        and '=' encoded, a lone '.' still dot-stuffed) and decodes to
        the original body; the log says status=sent as usual."""
        ans, sess, qid = self.send(PLAIN)
        self.assertEqual((ans["code"], ans["dsn"]), ("2", "2.0.0"), ans)
        self.assert_7bit_mime(sess)
        data = received(sess)
        head, _, body = data.partition(b"\n\n")
        self.assertIn(b"\nMIME-Version: 1.0\n", head + b"\n")
        self.assertIn(b"\nContent-Transfer-Encoding: quoted-printable",
                      head)
        self.assertIn(b"\r\n..\r\n", sess["data"])
        self.assertTrue(all(len(line) <= 76 for line in body.split(b"\n")),
                        body)
        self.assertIn(b"=3D dessert =20\n", body)
        self.assertIn(b"tab at the end=09\n", body)
        orig_body = PLAIN.partition(b"\n\n")[2]
        # the queue's last line had no LF; it goes with a CRLF
        self.assertEqual(leaves(data), [orig_body + b"\n"])
        with open(self.path, "rb") as f:
            self.assertEqual(f.read(), self.queued)  # the queue file as it was
        self.mta.wait_log(r"%s: to=<x@far\.test>, relay=.*status=sent "
                          r"\(250 2\.0\.0 Ok: queued\)" % qid)

    def test_multipart_parts_encoded_or_kept(self):
        """multipart walked by its boundaries (nested too) and
        message/rfc822 into its own header and body: each 8-bit leaf
        becomes quoted-printable, 7-bit and base64 parts are kept octet
        for octet, the message part is relabelled 7bit."""
        ans, sess, _ = self.send(MULTI)
        self.assertEqual(ans["code"], "2", ans)
        self.assert_7bit_mime(sess)
        data = received(sess)
        self.assertEqual(leaves(data), leaves(MULTI))
        self.assertEqual(data.count(b"quoted-printable"), 3, data)
        self.assertIn(b"Content-Type: text/plain\n\nseven bit only\n", data)
        self.assertIn(b"base64\n\naGVsbG8gd29ybGQ=\n", data)
        self.assertIn(b"message/rfc822\nContent-Transfer-Encoding: 7bit\n",
                      data)

    def test_size_limit_counts_converted_copy(self):
        """RFC 1870: the size compared with the peer's SIZE is that of
        the copy that would be sent, which quoted-printable made larger
        than the queued message: 5.3.4 and no MAIL."""
        body = b"Subject: big\n\n" + b"\xe9" * 300 + b"\n"
        p_limit = len(body) + 100
        ans, sess, _ = self.send(body, ehlo=("PIPELINING",
                                             "SIZE %d" % p_limit))
        self.assertEqual((ans["code"], ans["dsn"]), ("5", "5.3.4"), ans)
        self.assertFalse([c for c in sess["commands"]
                          if c.startswith("MAIL")], sess["commands"])

    def test_binary_part_bounces(self):
        """A part labelled binary cannot become 7-bit: 5.6.3, with the
        reason, and no MAIL."""
        ans, sess, _ = self.send(BINARY)
        self.assertEqual((ans["code"], ans["dsn"]), ("5", "5.6.3"), ans)
        self.assertIn("cannot be converted to 7-bit MIME: a MIME part is "
                      "labelled binary", ans["text"])
        self.assertFalse([c for c in sess["commands"]
                          if c.startswith("MAIL")], sess["commands"])

    def test_peer_with_8bitmime_gets_original(self):
        """A peer that offers 8BITMIME gets the octets as queued."""
        ans, sess, _ = self.send(MULTI, ehlo=("PIPELINING", "8BITMIME"))
        self.assertEqual(ans["code"], "2", ans)
        self.assertEqual(received(sess), MULTI)
        self.assertTrue([c for c in sess["commands"]
                         if c.endswith(" BODY=8BITMIME")], sess["commands"])

    def other_mta(self, **kw):
        return MTA(resolver_nameservers="127.0.0.1:%d" % self.dns.port,
                   smtp_helo_timeout="5s", smtp_connect_timeout="2s",
                   remote_connection_reuse_time="0", **kw).start()

    def test_downgrade_off_bounces(self):
        """smtp_mime_downgrade = no: the old behaviour, 5.6.3."""
        if Downgrade.off is None:
            Downgrade.off = self.other_mta(smtp_mime_downgrade="no")
        ans, sess, _ = self.send(PLAIN, mta=Downgrade.off)
        self.assertEqual((ans["code"], ans["dsn"]), ("5", "5.6.3"), ans)
        self.assertIn("does not offer 8BITMIME", ans["text"])
        self.assertNotIn("converted", ans["text"])
        self.assertFalse([c for c in sess["commands"]
                          if c.startswith("MAIL")], sess["commands"])

    def test_send_8bit_anyway(self):
        """smtp_send_8bit_anyway = yes: what can be converted still is;
        what cannot (a binary part) goes as it is."""
        if Downgrade.anyway is None:
            Downgrade.anyway = self.other_mta(smtp_send_8bit_anyway="yes")
        ans, sess, _ = self.send(PLAIN, mta=Downgrade.anyway)
        self.assertEqual(ans["code"], "2", ans)
        self.assert_7bit_mime(sess)
        ans, sess, _ = self.send(BINARY, mta=Downgrade.anyway)
        self.assertEqual(ans["code"], "2", ans)
        self.assertEqual(received(sess), BINARY)


class DowngradeEndToEnd(unittest.TestCase):
    """The whole path: a client gives smtpd an 8-bit message (declared
    BODY=8BITMIME), cleanup queues it, qmgr hands it to remote, and the
    MX, which does not offer 8BITMIME, gets it as 7-bit MIME."""

    @classmethod
    def setUpClass(cls):
        cls.dns = DNSServer({
            "old.test": [("MX", "10 mx.old.test", 300)],
            "mx.old.test": [("A", "127.0.0.7", 300)]})
        port = free_port()
        cls.sink = SMTPSink("127.0.0.7", port, ehlo=NO_8BIT)
        cls.src = MTA(resolver_nameservers="127.0.0.1:%d" % cls.dns.port,
                      smtp_port=str(port)).start()

    @classmethod
    def tearDownClass(cls):
        cls.src.cleanup()
        cls.sink.stop()
        cls.dns.stop()

    def test_smtpd_to_remote_converted(self):
        text = "Grüße aus Köln = schön\n.\nfin\n"
        body = ("From: alice@localhost\r\nTo: bob@old.test\r\n"
                "Subject: umlauts\r\n\r\n" +
                text.replace("\n", "\r\n")).encode()
        with self.src.smtp() as s:
            s.ehlo()
            s.sendmail("alice@localhost", ["bob@old.test"], body,
                       mail_options=["BODY=8BITMIME"])
        wait_for(lambda: self.sink.messages, what="the relayed message")
        data = self.sink.messages[0]["data"]
        self.assertTrue(all(b < 128 for b in data), data)
        msg = received({"data": data})
        self.assertIn(b"\nContent-Transfer-Encoding: quoted-printable\n",
                      msg)
        self.assertIn(b"Gr=C3=BC=C3=9Fe aus K=C3=B6ln =3D sch=C3=B6n\n",
                      msg)
        self.assertEqual(leaves(msg), [text.encode()])
        self.src.wait_log(r"to=<bob@old\.test>, relay=mx\.old\.test"
                          r"\[127\.0\.0\.7\]:\d+, .*status=sent")


if __name__ == "__main__":
    unittest.main()

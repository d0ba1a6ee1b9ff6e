"""test_dovecot.py - a POP3 server reads what local(8) delivered.

Mail goes in over SMTP to a user of a virtual domain (map) and to a user
of a local domain (mailbox_template); Debian's Dovecot, configured by the
test, serves those Maildirs over POP3, and Python's poplib fetches each
message: the bytes RETR returns are the bytes in the Maildir file, which
are our Return-Path/Delivered-To/Received headers plus what was sent.
"""
import os
import poplib
import unittest

from mta import wait_for
from local_helpers import mta_with_maps, send
import dovecot_helpers

BODY = (b"From: Bob <bob@example.org>\r\nTo: alice@v1.example\r\n"
        b"Subject: pop me\r\n\r\nFirst line.\r\n.a line that starts with a "
        b"dot\r\nFrom the start of a line\r\n\r\nlast line\r\n")


@unittest.skipUnless(dovecot_helpers.available(),
                     "dovecot-pop3d is not installed (make deps)")
class DovecotReads(unittest.TestCase):
    def setUp(self):
        self.mta = mta_with_maps(
            virtual="alice@v1.example v1.example/alice/Maildir/\n",
            virtual_mailbox_domains="v1.example").start()
        self.dovecot = None

    def tearDown(self):
        if self.dovecot:
            self.dovecot.stop()
        self.mta.cleanup()

    def fetch(self, login):
        pop = poplib.POP3("127.0.0.1", self.dovecot.port, timeout=20)
        try:
            pop.user(login)
            pop.pass_("secret")
            count, _ = pop.stat()
            out = []
            for i in range(1, count + 1):
                _, lines, _ = pop.retr(i)
                out.append(b"".join(l + b"\n" for l in lines))
            return out
        finally:
            pop.quit()

    def test_pop3_retrieves_exact_bytes(self):
        send(self.mta, ["alice@v1.example", "carol@localhost"], BODY)
        alice_dir = os.path.join(self.mta.mail, "v1.example", "alice",
                                 "Maildir", "new")
        wait_for(lambda: os.path.isdir(alice_dir) and os.listdir(alice_dir),
                 20, "alice's message")
        carol = self.mta.wait_messages("carol", 1)[0]
        with open(os.path.join(alice_dir, os.listdir(alice_dir)[0]),
                  "rb") as f:
            alice = f.read()
        sent = BODY.replace(b"\r\n", b"\n")
        for msg, rcpt in ((alice, b"alice@v1.example"),
                          (carol, b"carol@localhost")):
            self.assertTrue(msg.startswith(
                b"Return-Path: <bob@example.org>\nDelivered-To: " + rcpt +
                b"\nReceived: "), msg[:200])
            self.assertTrue(msg.endswith(sent.split(b"\n", 3)[3]), msg)
        self.dovecot = dovecot_helpers.Dovecot(
            self.mta.dir, "maildir:%s/%%d/%%n/Maildir" % self.mta.mail,
            {"alice@v1.example": "secret", "carol@localhost": "secret"})
        self.dovecot.start(self.mta.mail)
        self.assertEqual(self.fetch("alice@v1.example"), [alice])
        self.assertEqual(self.fetch("carol@localhost"), [carol])


if __name__ == "__main__":
    unittest.main()

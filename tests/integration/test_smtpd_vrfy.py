"""test_smtpd_vrfy.py - VRFY, EXPN and VERB, for trusted clients and
strangers (smtpd(8)).

Three instances with the same maps: one that trusts the loopback test
client and turns all three commands on (its remote transport is the
test agent fake_agent.py, for the domain fail.test), one that turns them
on but trusts only 192.0.2.0/24 (the client is a stranger), and one that
trusts the client with the keys left at their defaults.  A client sends
X and sees exactly reply code Y with enhanced code Z; with VERB, the
sender's Maildir receives one trace whose MIME structure the email
package reads.
"""
import re
import unittest

from local_helpers import mta_with_maps
from smtpd_helpers import Client
from test_bounce import daemon_dir, parse, report_fields

VIRTUAL = """\
alice@v1.example  v1.example/alice/
"""

ALIASES = """\
staff: alice, bob,
   carol
team: staff, dave
self: self, other
fwd: someone@remote.example
cmd: "|/bin/cat"
loop1: loop2
loop2: loop1
big: %s
info@v1.example: alice@v1.example
""" % ", ".join("u%d" % i for i in range(101))

ON = dict(smtpd_vrfy_trusted="yes", smtpd_expn_trusted="yes",
          smtpd_verb_trusted="yes")


def instance(**extra):
    return mta_with_maps(virtual=VIRTUAL, aliases=ALIASES,
                         virtual_mailbox_domains="v1.example", **extra)


class Base(unittest.TestCase):
    def setUp(self):
        self.c = Client(self.mta.port)
        self.assertEqual(self.c.cmd(b"EHLO client.example")[0], 250)

    def tearDown(self):
        self.c.close()

    def expect(self, line, code, enh, text=None):
        got = self.c.cmd(line)
        self.assertEqual((got[0], got[1]), (code, enh), got[2])
        if text is not None:
            self.assertEqual(got[2], text)
        return got


class Trusted(Base):
    """The loopback client is in mynetworks and all three keys are on."""

    @classmethod
    def setUpClass(cls):
        m = instance(relay_domains="fail.test", **ON)
        with open(m.conf, "a") as f:  # a later line wins
            f.write("daemon_directory = %s\n" % daemon_dir(m.dir))
        cls.mta = m.start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def test_vrfy_answers_truthfully(self):
        self.expect(b"VRFY alice@v1.example", 250, "2.1.5",
                    "250 2.1.5 <alice@v1.example>\r\n")
        self.expect(b"VRFY <ALICE@V1.example>", 250, "2.1.5")
        self.expect(b"VRFY info@v1.example", 250, "2.1.5")  # an alias
        self.expect(b"VRFY staff", 250, "2.1.5",
                    "250 2.1.5 <staff@localhost>\r\n")
        self.expect(b"VRFY postmaster", 250, "2.1.5")
        self.expect(b"VRFY nobody@v1.example", 550, "5.1.1")
        self.expect(b"VRFY <nobody@v1.example>", 550, "5.1.1")
        self.assertRegex(self.mta.log_text(),
                         r"VRFY <nobody@v1\.example> from "
                         r"unknown\[127\.0\.0\.1\]: 550")

    def test_vrfy_remote_is_not_known(self):
        self.expect(b"VRFY someone@remote.example", 252, "2.5.2")
        self.expect(b"VRFY someone@fail.test", 252, "2.5.2")

    def test_vrfy_syntax(self):
        self.expect(b"VRFY", 501, "5.5.4")
        self.expect(b"VRFY    ", 501, "5.5.4")
        self.expect(b"VRFY alice@v1.example trailing", 501, "5.5.4")
        self.expect(b"VRFY a@@v1.example", 553, "5.1.3")
        self.expect(b"VRFY <alice@v1.example", 553, "5.1.3")
        self.expect(b"VRFY <>", 553, "5.1.3")
        self.expect(b'VRFY "a/b"@v1.example', 553, "5.1.3")

    def test_expn_lists_a_multi_target_alias(self):
        self.expect(b"EXPN staff", 250, "2.1.5",
                    "250-2.1.5 <alice@localhost>\r\n"
                    "250-2.1.5 <bob@localhost>\r\n"
                    "250 2.1.5 <carol@localhost>\r\n")
        # nested aliases are expanded as local(8) would
        self.expect(b"EXPN <team@localhost>", 250, "2.1.5",
                    "250-2.1.5 <alice@localhost>\r\n"
                    "250-2.1.5 <bob@localhost>\r\n"
                    "250-2.1.5 <carol@localhost>\r\n"
                    "250 2.1.5 <dave@localhost>\r\n")

    def test_expn_special_targets(self):
        self.expect(b"EXPN self", 250, "2.1.5",
                    "250-2.1.5 <self@localhost>\r\n"
                    "250 2.1.5 <other@localhost>\r\n")
        self.expect(b"EXPN fwd", 250, "2.1.5",
                    "250 2.1.5 <someone@remote.example>\r\n")
        self.expect(b"EXPN cmd", 250, "2.1.5",
                    '250 2.1.5 <"|/bin/cat">\r\n')
        self.expect(b"EXPN info@v1.example", 250, "2.1.5",
                    "250 2.1.5 <alice@v1.example>\r\n")

    def test_expn_limits_and_errors(self):
        self.expect(b"EXPN loop1", 550, "5.4.6")
        self.expect(b"EXPN big", 550, "5.5.3")
        self.expect(b"EXPN", 501, "5.5.4")
        self.expect(b"EXPN a@@localhost", 553, "5.1.3")
        self.expect(b"EXPN someone@remote.example", 252, "2.5.2")

    def test_expn_of_a_user_and_of_nobody(self):
        self.expect(b"EXPN alice@v1.example", 250, "2.1.5",
                    "250 2.1.5 <alice@v1.example>\r\n")
        self.expect(b"EXPN nobody@v1.example", 550, "5.1.1")

    def send(self, sender, rcpts, subject):
        self.expect(b"MAIL FROM:<%s>" % sender.encode(), 250, "2.1.0")
        for r in rcpts:
            self.expect(b"RCPT TO:<%s>" % r.encode(), 250, "2.1.5")
        self.expect(b"DATA", 354, None)
        self.c.send(b"Subject: %s\r\nFrom: <%s>\r\n\r\nhello\r\n.\r\n" %
                    (subject.encode(), sender.encode()))
        code, _, text = self.c.reply()
        self.assertEqual(code, 250, text)
        return re.search(r"queued as (\w+)", text).group(1)

    def trace_of(self, user, count):
        """The one trace among user's count messages."""
        msgs = [parse(raw) for raw in self.mta.wait_messages(user, count)]
        traces = [m for m in msgs if m["Subject"] == "Mail Delivery Trace"]
        self.assertEqual(len(traces), 1, [m["Subject"] for m in msgs])
        return traces[0]

    def test_verb_mails_one_trace_per_message(self):
        self.expect(b"VERB", 250, "2.0.0", "250 2.0.0 Verbose mode\r\n")
        qid = self.send("tracer@localhost", ["alice@localhost",
                        "okbob@fail.test", "nope@fail.test"], "traced")
        # VERB holds for the session: a second message gets its own
        qid2 = self.send("tracer2@localhost", ["alice@localhost"], "two")
        self.mta.wait_log(r"%s: removed" % qid, timeout=30)
        self.mta.wait_log(r"%s: removed" % qid2, timeout=30)
        self.assertRegex(self.mta.log_text(),
                         r"%s: sender delivery trace notification: \w+" %
                         qid)
        # the failed recipient also bounced: the trace is one of two
        t = self.trace_of("tracer", 2)
        self.assertEqual(t.get_content_type(), "multipart/report")
        self.assertEqual(t.get_param("report-type"), "delivery-status")
        self.assertEqual(t["To"], "<tracer@localhost>")
        kinds = [p.get_content_type() for p in t.get_payload()]
        self.assertEqual(kinds, ["text/plain", "message/delivery-status",
                                 "text/rfc822-headers"])
        msg, blocks = report_fields(t)
        self.assertEqual(msg["X-Mta-Queue-ID"], qid)
        self.assertEqual(msg["Reporting-MTA"], "dns; mx.test.example")
        got = {b["Final-Recipient"]: b for b in blocks}
        self.assertEqual(len(blocks), 3)
        self.assertEqual(sorted(got), ["rfc822; alice@localhost",
                                       "rfc822; nope@fail.test",
                                       "rfc822; okbob@fail.test"])
        a = got["rfc822; alice@localhost"]
        self.assertEqual((a["Action"], a["Status"]), ("delivered", "2.0.0"))
        self.assertNotIn("Remote-MTA", a)
        ok = got["rfc822; okbob@fail.test"]
        self.assertEqual((ok["Action"], ok["Status"]), ("relayed", "2.0.0"))
        self.assertEqual(ok["Remote-MTA"], "dns; mx.fail.test")
        self.assertEqual(ok["Diagnostic-Code"],
                         "smtp; 250 2.0.0 Ok: queued as FAKE")
        no = got["rfc822; nope@fail.test"]
        self.assertEqual((no["Action"], no["Status"]), ("failed", "5.1.1"))
        self.assertEqual(no["Remote-MTA"], "dns; mx.fail.test")
        self.assertTrue(no["Diagnostic-Code"].startswith("smtp; 550 5.1.1"),
                        no["Diagnostic-Code"])
        headers = t.get_payload()[2].get_payload()
        self.assertIn("Subject: traced", headers)
        self.assertNotIn("hello", headers)  # the header only
        t2 = self.trace_of("tracer2", 1)
        _, blocks2 = report_fields(t2)
        self.assertEqual([(b["Final-Recipient"], b["Action"]) for b in
                          blocks2], [("rfc822; alice@localhost",
                                      "delivered")])

    def test_no_trace_without_verb_or_sender(self):
        qid = self.send("quiet@localhost", ["alice@localhost",
                        "okcarl@fail.test"], "quiet")
        self.expect(b"VERB", 250, "2.0.0")
        qid0 = self.send("", ["alice@localhost"], "null sender")
        self.mta.wait_log(r"%s: removed" % qid, timeout=30)
        self.mta.wait_log(r"%s: removed" % qid0, timeout=30)
        log = self.mta.log_text()
        self.assertNotRegex(log, r"%s: sender delivery trace" % qid)
        self.assertNotRegex(log, r"%s: \w+ delivery trace" % qid0)
        self.assertEqual(self.mta.messages("quiet"), [])


class Stranger(Base):
    """All three keys on, but the client is not in mynetworks."""

    @classmethod
    def setUpClass(cls):
        cls.mta = instance(mynetworks="192.0.2.0/24",
                           smtpd_pregreet_wait_ms="0", **ON).start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def test_nothing_is_disclosed(self):
        known = self.expect(b"VRFY alice@v1.example", 252, "2.5.2")
        unknown = self.expect(b"VRFY nobody@v1.example", 252, "2.5.2")
        self.assertEqual(known[2], unknown[2])  # not a bit of difference
        self.expect(b"VRFY a@@b", 252, "2.5.2")
        self.expect(b"VRFY", 501, "5.5.4")
        self.expect(b"EXPN staff", 502, "5.5.1")
        self.expect(b"EXPN nobody@v1.example", 502, "5.5.1")
        self.expect(b"VERB", 502, "5.5.1")
        self.assertNotRegex(self.mta.log_text(), r"(VRFY|EXPN) <")


class TrustedDefaults(Base):
    """A trusted client, the keys at their defaults: all off."""

    @classmethod
    def setUpClass(cls):
        cls.mta = instance().start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def test_defaults_disclose_nothing(self):
        self.expect(b"VRFY alice@v1.example", 252, "2.5.2")
        self.expect(b"VRFY nobody@v1.example", 252, "2.5.2")
        self.expect(b"EXPN staff", 502, "5.5.1")
        self.expect(b"VERB", 502, "5.5.1")


if __name__ == "__main__":
    unittest.main()

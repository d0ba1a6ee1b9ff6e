"""test_rfc_conformance.py - smtpd(8) and cleanup(8) against the RFCs,
as an outside conformance checker would probe them over the wire: raw
command lines in, reply codes with enhanced status codes out, and the
bytes that reach the Maildir.  Each test names the RFC section it holds
the server to (RFC 5321 unless said otherwise); where we choose to be
stricter than the RFC requires, the test asserts what smtpd(8) documents.
"""
import re
import smtplib
import socket
import time
import unittest

from mta import MTA, free_port, wait_for
from smtpd_helpers import Client

# RFC 2034 3 (4): every 2xx/4xx/5xx reply but the greeting and the reply
# to HELO/EHLO begins its text with a status code of the same class
ENHANCED = re.compile(r"^([245])\d\d[ -]([245])\.\d{1,3}\.\d{1,3} ")


class SmtpdRFC(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mta = MTA(message_size_limit="100000").start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def client(self, ehlo=b"EHLO client.example"):
        c = Client(self.mta.port)
        self.addCleanup(c.close)
        if ehlo:
            code, _, _ = c.cmd(ehlo)
            self.assertEqual(code, 250)
        return c

    def expect(self, c, line, code, enh=None):
        got, genh, text = c.cmd(line)
        self.assertEqual(got, code, "%r -> %s" % (line, text))
        if enh is not None:
            self.assertEqual(genh, enh, "%r -> %s" % (line, text))
        return text

    def deliver(self, user, count=1):
        msgs = self.mta.wait_messages(user, count, domain="test.example")
        return msgs[count - 1]

    # -- command syntax -------------------------------------------------
    def test_verbs_and_parameters_case_insensitive(self):
        """2.4: verbs, "FROM:"/"TO:" and extension parameter names and
        values are case-insensitive."""
        c = self.client(b"ehlo client.example")
        self.expect(c, b"mail from:<a@client.example> body=8bitmime "
                    b"size=100", 250, "2.1.0")
        self.expect(c, b"rCpT tO:<case@test.example> notify=success,failure",
                    250, "2.1.5")
        self.expect(c, b"dAtA", 354)
        self.expect(c, b"Subject: case\r\n\r\nbody\r\n.", 250, "2.0.0")
        self.expect(c, b"quit", 221, "2.0.0")
        self.assertIn(b"Subject: case", self.deliver("case", 1))

    def test_command_line_limit(self):
        """4.5.3.1.4: a command line is at most 512 octets with its CRLF:
        512 is taken, 513 gets 500 5.5.2 ("line too long"), and the
        session goes on."""
        c = self.client()
        self.expect(c, b"NOOP " + b"x" * (512 - 7), 250, "2.0.0")
        self.expect(c, b"NOOP " + b"x" * (513 - 7), 500, "5.5.2")
        self.expect(c, b"NOOP", 250, "2.0.0")

    def test_unknown_command(self):
        """4.2.4 / RFC 3463: an unknown command is 500 5.5.2 (syntax
        error, command unrecognized)."""
        c = self.client()
        self.expect(c, b"FOOBAR", 500, "5.5.2")
        self.expect(c, b"SEND FROM:<a@b.example>", 500, "5.5.2")

    def test_bad_sequence(self):
        """4.1.4 / 4.3.2: commands out of order get 503 5.5.1; EHLO
        resets the transaction like RSET (4.1.4)."""
        c = self.client()
        self.expect(c, b"RCPT TO:<a@test.example>", 503, "5.5.1")
        self.expect(c, b"DATA", 503, "5.5.1")
        self.expect(c, b"MAIL FROM:<a@client.example>", 250, "2.1.0")
        self.expect(c, b"MAIL FROM:<a@client.example>", 503, "5.5.1")
        self.expect(c, b"DATA", 503, "5.5.1")
        self.expect(c, b"EHLO client.example", 250)
        self.expect(c, b"RCPT TO:<a@test.example>", 503, "5.5.1")

    def test_mail_needs_helo(self):
        """4.1.4: a client MUST say HELO or EHLO before MAIL; smtpd
        refuses MAIL before it with 503 5.5.1 (documented in smtpd(8))."""
        c = self.client(ehlo=None)
        self.expect(c, b"MAIL FROM:<a@client.example>", 503, "5.5.1")
        self.expect(c, b"HELO client.example", 250)
        self.expect(c, b"MAIL FROM:<a@client.example>", 250, "2.1.0")

    def test_parameters(self):
        """RFC 5321 4.1.1.11 / RFC 1869: an unknown parameter is 555
        5.5.4; a known one with a bad value is 501 5.5.4 (RFC 1870 SIZE,
        RFC 6152 BODY, RFC 3461 RET, ENVID, NOTIFY, ORCPT); BODY=BINARYMIME
        without BINARYMIME offered is refused (RFC 3030 3)."""
        c = self.client()
        for p, code in ((b"FOO=bar", 555), (b"SIZE=abc", 501),
                        (b"SIZE=-1", 501), (b"BODY=foo", 501),
                        (b"BODY=BINARYMIME", 501), (b"RET=ALL", 501),
                        (b"ENVID=a=b", 501)):
            self.expect(c, b"MAIL FROM:<a@client.example> " + p, code,
                        "5.5.4")
        self.expect(c, b"MAIL FROM:<a@client.example> RET=HDRS "
                    b"ENVID=a+2Bb", 250, "2.1.0")
        for p, code in ((b"FOO=bar", 555), (b"NOTIFY=BOGUS", 501),
                        (b"NOTIFY=NEVER,SUCCESS", 501), (b"ORCPT=foo", 501),
                        (b"NOTIFY=SUCCESS NOTIFY=DELAY", 501)):
            self.expect(c, b"RCPT TO:<p@test.example> " + p, code, "5.5.4")
        self.expect(c, b"RCPT TO:<p@test.example> NOTIFY=NEVER "
                    b"ORCPT=rfc822;p+40test.example", 250, "2.1.5")

    def test_parameter_given_twice(self):
        """RFC 1869 / 5321 4.1.1.11: each parameter once; SIZE= or BODY=
        twice is a syntax error, 501 5.5.4, as smtpd(8) documents."""
        c = self.client()
        self.expect(c, b"MAIL FROM:<a@client.example> SIZE=10 SIZE=20",
                    501, "5.5.4")
        self.expect(c, b"MAIL FROM:<a@client.example> BODY=7BIT "
                    b"BODY=8BITMIME", 501, "5.5.4")
        self.expect(c, b"MAIL FROM:<a@client.example> SIZE=10", 250, "2.1.0")

    def test_reply_quotes_are_printable_and_short(self):
        """4.2 / 4.5.3.1.5: reply text is printable ASCII and a reply
        line at most 512 octets with its CRLF, even where the reply
        quotes a long or 8-bit parameter back."""
        c = self.client()
        for line, code in ((b"MAIL FROM:<a@client.example> X=" + b"y" * 600,
                            555),
                           ("MAIL FROM:<a@client.example> BODY=\u00e9t\u00e9"
                            .encode(), 501)):
            text = self.expect(c, line, code, "5.5.4")
            self.assertLessEqual(len(text.encode("latin-1")), 512, text)
            self.assertRegex(text, r"^[\x20-\x7e]*\r\n$")

    def test_parameters_need_ehlo(self):
        """RFC 1869 / 5321 4.1.1.11: after HELO no extension is in force,
        so MAIL parameters are refused (555 5.5.4)."""
        c = self.client(b"HELO client.example")
        self.expect(c, b"MAIL FROM:<a@client.example> SIZE=10", 555, "5.5.4")

    def test_rset_noop_quit_syntax(self):
        """4.1.1.5, 4.1.1.9, 4.1.1.10: RSET and QUIT take no parameter
        (501 5.5.4, the transaction and session go on); NOOP may carry a
        string, which is ignored (250)."""
        c = self.client()
        self.expect(c, b"MAIL FROM:<a@client.example>", 250, "2.1.0")
        self.expect(c, b"RSET now", 501, "5.5.4")
        self.expect(c, b"RCPT TO:<a@test.example>", 250, "2.1.5")  # kept
        self.expect(c, b"NOOP some string", 250, "2.0.0")
        self.expect(c, b"RSET", 250, "2.0.0")
        self.expect(c, b"RCPT TO:<a@test.example>", 503, "5.5.1")
        self.expect(c, b"QUIT now", 501, "5.5.4")
        self.expect(c, b"QUIT", 221, "2.0.0")
        self.assertTrue(c.closed())

    def test_vrfy_expn_help(self):
        """3.5.3: VRFY may answer 252 (cannot verify, will accept);
        3.5.2 / 7.3: EXPN may be disabled (502 5.5.1); 4.1.1.8: HELP
        answers 214, with or without an argument."""
        c = self.client()
        self.expect(c, b"VRFY postmaster", 252, "2.5.2")
        self.expect(c, b"EXPN postmaster", 502, "5.5.1")
        self.expect(c, b"HELP", 214, "2.0.0")
        self.expect(c, b"HELP MAIL", 214, "2.0.0")

    def test_ehlo_reply_format(self):
        """4.1.1.1 / 4.2.1: EHLO's reply is "250-" lines and a last
        "250 " line; SIZE carries the fixed limit (RFC 1870 4); the
        extensions we support are listed."""
        c = self.client(ehlo=None)
        code, _, text = c.cmd(b"EHLO client.example")
        lines = text.rstrip("\r\n").split("\r\n")
        self.assertEqual(code, 250)
        for line in lines[:-1]:
            self.assertTrue(line.startswith("250-"), lines)
        self.assertTrue(lines[-1].startswith("250 "), lines)
        kw = [line[4:] for line in lines[1:]]
        self.assertIn("SIZE 100000", kw)
        for k in ("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "DSN",
                  "CHUNKING", "SMTPUTF8"):
            self.assertIn(k, kw)

    def test_enhanced_codes_everywhere(self):
        """RFC 2034 3 (4): every 2xx, 4xx and 5xx reply other than the
        greeting and the reply to HELO/EHLO begins with an enhanced code
        of the reply's class, on every line of a multiline reply."""
        c = self.client()
        for line in (b"NOOP", b"HELP", b"VRFY x", b"EXPN x", b"FOO",
                     b"MAIL FROM:<bad", b"MAIL FROM:<a@client.example>",
                     b"RCPT TO:<>", b"RCPT TO:<x@test.example>",
                     b"BDAT 0 LAST", b"RSET", b"RSET x", b"DATA x",
                     b"STARTTLS", b"AUTH PLAIN", b"QUIT"):
            _, _, text = c.cmd(line)
            for reply_line in text.rstrip("\r\n").split("\r\n"):
                m = ENHANCED.match(reply_line)
                self.assertTrue(m and m.group(1) == m.group(2),
                                "%r -> %r" % (line, reply_line))

    # -- addresses --------------------------------------------------------
    def test_postmaster_without_domain(self):
        """4.5.1: "RCPT TO:<postmaster>" without a domain MUST be
        accepted, in any case, and reaches the postmaster."""
        c = self.client()
        self.expect(c, b"MAIL FROM:<a@client.example>", 250, "2.1.0")
        self.expect(c, b"RCPT TO:<PostMaster>", 250, "2.1.5")
        self.expect(c, b"DATA", 354)
        self.expect(c, b"Subject: pm\r\n\r\nx\r\n.", 250, "2.0.0")
        # the domain is the first of mydestination (smtpd(8))
        self.assertTrue(self.mta.wait_messages("postmaster", 1,
                                               domain="localhost"))

    def test_null_sender_and_source_route(self):
        """4.5.5: the null reverse path MAIL FROM:<> is accepted;
        4.1.1.3 / C: a source route "@a,@b:" is accepted and ignored;
        2.4: the domain is case-insensitive.  The delivered message's
        Return-Path is the path without the route."""
        c = self.client()
        self.expect(c, b"MAIL FROM:<>", 250, "2.1.0")
        self.expect(c, b"RSET", 250, "2.0.0")
        self.expect(c, b"MAIL FROM:<@relay.example,@b.example:"
                    b"src@client.example>", 250, "2.1.0")
        self.expect(c, b"RCPT TO:<@relay.example:route@TEST.Example>", 250,
                    "2.1.5")
        self.expect(c, b"DATA", 354)
        self.expect(c, b"Subject: route\r\n\r\nx\r\n.", 250, "2.0.0")
        msg = self.deliver("route")
        self.assertTrue(msg.startswith(b"Return-Path: <src@client.example>"
                                       b"\n"), msg[:200])

    def test_address_forms(self):
        """4.1.2: quoted local parts and address literals (IPv4 and
        IPv6) are valid syntax and are not refused as bad syntax."""
        c = self.client()
        self.expect(c, b"MAIL FROM:<\"a b\"@client.example>", 250, "2.1.0")
        self.expect(c, b"RSET", 250, "2.0.0")
        self.expect(c, b"MAIL FROM:<a@[192.0.2.1]>", 250, "2.1.0")
        self.expect(c, b"RSET", 250, "2.0.0")
        self.expect(c, b"MAIL FROM:<a@[IPv6:2001:db8::1]>", 250, "2.1.0")
        self.expect(c, b"RCPT TO:<\"quoted user\"@test.example>", 250,
                    "2.1.5")
        self.expect(c, b"RCPT TO:<bad@@test.example>", 501, "5.1.3")
        self.expect(c, b"RCPT TO:bad@test.example", 501)

    def test_size_declared_over_limit(self):
        """RFC 1870 6.1: MAIL with SIZE= over the fixed limit is refused
        at once with 552 5.3.4 (RFC 3463: message too big for system);
        a message that grows past it in DATA gets 552 5.3.4 too."""
        c = self.client()
        self.expect(c, b"MAIL FROM:<a@client.example> SIZE=100001", 552,
                    "5.3.4")
        self.expect(c, b"MAIL FROM:<a@client.example> SIZE=99999", 250,
                    "2.1.0")
        self.expect(c, b"RCPT TO:<big@test.example>", 250, "2.1.5")
        self.expect(c, b"DATA", 354)
        self.expect(c, b"Subject: big\r\n\r\n" +
                    (b"y" * 998 + b"\r\n") * 110 + b".", 552, "5.3.4")
        self.expect(c, b"NOOP", 250, "2.0.0")

    def test_loop_detection_threshold(self):
        """6.3: a server that counts Received: fields to find loops uses
        a large threshold, normally at least 100: 99 are taken, 100 get
        554 5.4.6 (RFC 3463: routing loop detected)."""
        for hops, code, enh in ((99, 250, "2.0.0"), (100, 554, "5.4.6")):
            c = self.client()
            self.expect(c, b"MAIL FROM:<a@client.example>", 250, "2.1.0")
            self.expect(c, b"RCPT TO:<hops@test.example>", 250, "2.1.5")
            self.expect(c, b"DATA", 354)
            head = b"".join(b"Received: from h%d.example by h%d.example; "
                            b"Sun, 29 Nov 2026 10:00:00 +0000\r\n" % (i, i)
                            for i in range(hops))
            self.expect(c, head + b"Subject: hops\r\n\r\nx\r\n.", code,
                        enh)

    # -- message data -----------------------------------------------------
    def test_dot_stuffing(self):
        """4.5.2: a line of the data that begins with a dot had one more
        dot put in front by the client; the server takes the first dot
        away: ".." arrives as ".", "..." as "..", and only CRLF . CRLF
        ends the data."""
        c = self.client()
        self.expect(c, b"MAIL FROM:<a@client.example>", 250, "2.1.0")
        self.expect(c, b"RCPT TO:<dots@test.example>", 250, "2.1.5")
        self.expect(c, b"DATA", 354)
        self.expect(c, b"Subject: dots\r\n\r\n..\r\n...x\r\n.y\r\n"
                    b"a . b\r\n.", 250, "2.0.0")
        msg = self.deliver("dots")
        self.assertTrue(msg.endswith(b"\n\n.\n..x\ny\na . b\n"), msg)

    def test_pipelined_transactions(self):
        """RFC 2920 3.1: MAIL, RCPT, RSET and a second MAIL, RCPT and
        DATA in one packet get their replies in order; the data follows
        the 354 and the next transaction's commands follow the data in
        one packet too."""
        c = self.client()
        c.send(b"MAIL FROM:<a@client.example>\r\nRCPT TO:<p1@test.example>"
               b"\r\nRSET\r\nMAIL FROM:<a@client.example>\r\n"
               b"RCPT TO:<p2@test.example>\r\nDATA\r\n")
        got = [c.reply()[0] for _ in range(6)]
        self.assertEqual(got, [250, 250, 250, 250, 250, 354])
        c.send(b"Subject: pipe\r\n\r\nx\r\n.\r\nMAIL FROM:<a@client.example>"
               b"\r\nRCPT TO:<p2@test.example>\r\nNOOP\r\n")
        got = [c.reply()[:2] for _ in range(4)]
        self.assertEqual([g[0] for g in got], [250, 250, 250, 250])
        self.assertEqual(got[0][1], "2.0.0")
        self.assertTrue(self.mta.wait_messages("p2", 1,
                                               domain="test.example"))
        self.assertEqual(self.mta.messages("p1", domain="test.example"), [])

    def test_bdat(self):
        """RFC 3030 2 / 4.2: BDAT chunks, the last with LAST; BDAT 0 LAST
        ends a message; DATA inside a BDAT transaction is 503 5.5.1; the
        chunk's octets are data, dots and all."""
        c = self.client()
        self.expect(c, b"MAIL FROM:<a@client.example>", 250, "2.1.0")
        self.expect(c, b"RCPT TO:<chunk@test.example>", 250, "2.1.5")
        chunk = b"Subject: chunk\r\n\r\n.dot\r\n"
        self.expect(c, b"BDAT %d\r\n" % len(chunk) + chunk[:-2], 250,
                    "2.0.0")
        self.expect(c, b"DATA", 503, "5.5.1")
        self.expect(c, b"BDAT 0 LAST", 250, "2.0.0")
        msg = self.deliver("chunk")
        self.assertTrue(msg.endswith(b"\n\n.dot\n"), msg)
        self.expect(c, b"BDAT 0 LAST", 503, "5.5.1")

    def test_bdat_unreadable_size_closes(self):
        """RFC 3030 2: a BDAT whose size cannot be read leaves the server
        unable to find the next command; smtpd(8) documents that it then
        answers 501 5.5.4 and closes (a departure from RFC 5321 3.8)."""
        c = self.client()
        self.expect(c, b"MAIL FROM:<a@client.example>", 250, "2.1.0")
        self.expect(c, b"RCPT TO:<x@test.example>", 250, "2.1.5")
        self.expect(c, b"BDAT ten LAST", 501, "5.5.4")
        self.assertTrue(c.closed())

    def test_received_header(self):
        """RFC 5321 4.4: the server prepends "Received: from <helo>
        (<name> [<address>]) by <host> ... with <protocol> id <id> for
        <path>; <date-time>"; RFC 3848: ESMTP after EHLO, SMTP after
        HELO."""
        for hello, proto in ((b"EHLO rcv.client.example", "ESMTP"),
                             (b"HELO rcv.client.example", "SMTP")):
            c = self.client(hello)
            self.expect(c, b"MAIL FROM:<a@client.example>", 250, "2.1.0")
            self.expect(c, b"RCPT TO:<rcv@test.example>", 250, "2.1.5")
            self.expect(c, b"DATA", 354)
            text = self.expect(c, b"Subject: rcv\r\n\r\nx\r\n.", 250,
                               "2.0.0")
            qid = text.split()[-1]
            n = 1 if proto == "ESMTP" else 2
            msg = self.deliver("rcv", n).decode()
            head = msg.split("\n\n")[0]
            rcv = re.search(r"(?m)^Received: (.*(?:\n[ \t].*)*)", head)
            self.assertTrue(rcv, head)
            flat = re.sub(r"\s+", " ", rcv.group(1))
            self.assertRegex(flat, r"^from rcv\.client\.example \(\S+ "
                             r"\[127\.0\.0\.1\]\) by mx\.test\.example "
                             r"(\([^)]*\) )?with %s id %s "
                             r"for <rcv@test\.example>; "
                             r"\w{3}, \d{1,2} \w{3} \d{4} "
                             r"\d\d:\d\d:\d\d [+-]\d{4}$" % (proto, qid))


class SmtpdLimitsRFC(unittest.TestCase):
    """Behaviour at the limits, with small limits set."""

    @classmethod
    def setUpClass(cls):
        cls.mta = MTA(smtpd_recipient_limit="2", smtpd_timeout="2s").start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def test_too_many_recipients(self):
        """4.5.3.1.10: past the recipient limit RCPT gets 452 4.5.3 (RFC
        3463: too many recipients), and the transaction goes on with the
        recipients already taken."""
        c = Client(self.mta.port)
        self.addCleanup(c.close)
        c.cmd(b"EHLO client.example")
        self.assertEqual(c.cmd(b"MAIL FROM:<a@client.example>")[0], 250)
        self.assertEqual(c.cmd(b"RCPT TO:<r1@test.example>")[0], 250)
        self.assertEqual(c.cmd(b"RCPT TO:<r2@test.example>")[0], 250)
        self.assertEqual(c.cmd(b"RCPT TO:<r3@test.example>")[:2],
                         (452, "4.5.3"))
        self.assertEqual(c.cmd(b"DATA")[0], 354)
        self.assertEqual(c.cmd(b"Subject: many\r\n\r\nx\r\n.")[0], 250)
        for u in ("r1", "r2"):
            self.assertTrue(self.mta.wait_messages(u, 1,
                                                   domain="test.example"))
        self.assertEqual(self.mta.messages("r3", domain="test.example"), [])

    def test_timeout_421(self):
        """4.5.3.2 / 3.8: a server that gives up on a silent client says
        421 (4.4.2, RFC 3463: connection dropped) and closes."""
        c = Client(self.mta.port)
        self.addCleanup(c.close)
        c.cmd(b"EHLO client.example")
        start = time.time()
        code, enh, _ = c.reply()
        self.assertEqual((code, enh), (421, "4.4.2"))
        self.assertLess(time.time() - start, 10)
        self.assertTrue(c.closed())


class ReceivedIPv6(unittest.TestCase):
    def test_ipv6_client_address_literal(self):
        """RFC 5321 4.4 / 4.1.3: the client's address in Received: is an
        address literal, which for IPv6 carries the "IPv6:" tag."""
        port = free_port()
        m = MTA(smtpd_listen="[::1]:%d" % port)
        self.addCleanup(m.cleanup)
        try:
            socket.socket(socket.AF_INET6).bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback")
        m.ctl("start")

        def session():
            try:
                return smtplib.SMTP("::1", port, timeout=10)
            except OSError:
                return None
        s = wait_for(session, what="SMTP on [::1]:%d" % port)
        s.ehlo("v6.client.example")
        s.sendmail("a@client.example", ["six@test.example"],
                   b"Subject: v6\r\n\r\nx\r\n")
        s.quit()
        msg = m.wait_messages("six", 1, domain="test.example")[0]
        self.assertIn(b"Received: from v6.client.example (unknown "
                      b"[IPv6:::1])\n", msg)


if __name__ == "__main__":
    unittest.main()

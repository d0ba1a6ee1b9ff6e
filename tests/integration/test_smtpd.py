"""test_smtpd.py - every command, reply and limit of smtpd(8).

A client connects and sends X; it must see exactly reply code Y with
enhanced code Z; where mail is accepted, the Maildir holds it.  The
instance here trusts only 192.0.2.0/24, so the loopback test client is
a stranger (relay refused, pregreet checked); TrustedClient covers
mynetworks.
"""
import os
import re
import subprocess
import time
import unittest

from mta import MTA
from smtpd_helpers import Client, queue_files


class Commands(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mta = MTA(mynetworks="192.0.2.0/24", smtpd_pregreet_wait_ms="0",
                      smtpd_recipient_limit="3", smtpd_error_limit="8",
                      message_size_limit="20k").start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def setUp(self):
        self.c = Client(self.mta.port)

    def tearDown(self):
        self.c.close()

    def expect(self, line, code, enh, text=None):
        got = self.c.cmd(line)
        self.assertEqual((got[0], got[1]), (code, enh), got[2])
        if text is not None:
            self.assertIn(text, got[2])
        return got

    def test_ehlo_lists_extensions(self):
        code, _, text = self.c.cmd(b"EHLO client.example")
        self.assertEqual(code, 250)
        self.assertEqual(text.splitlines(), [
            "250-mx.test.example", "250-PIPELINING", "250-SIZE 20480",
            "250-8BITMIME", "250-SMTPUTF8", "250-CHUNKING", "250-DSN",
            "250 ENHANCEDSTATUSCODES"])

    def test_helo(self):
        self.assertEqual(self.c.cmd(b"HELO client.example")[0], 250)
        self.expect(b"HELO", 501, "5.5.4")
        self.expect(b"EHLO", 501, "5.5.4")

    def test_simple_commands(self):
        self.expect(b"NOOP", 250, "2.0.0")
        self.expect(b"HELP", 214, "2.0.0", "Commands: EHLO HELO MAIL RCPT "
                    "DATA BDAT RSET NOOP QUIT HELP VRFY")
        self.expect(b"VRFY alice", 252, "2.5.2")
        self.expect(b"VRFY nobody@localhost", 252, "2.5.2")
        self.expect(b"VRFY", 501, "5.5.4")
        self.expect(b"EXPN staff", 502, "5.5.1")
        self.expect(b"VERB", 502, "5.5.1")
        self.expect(b"RSET", 250, "2.0.0")
        self.expect(b"QUIT", 221, "2.0.0")
        self.assertTrue(self.c.closed())

    def test_unknown_and_bad_bytes(self):
        self.expect(b"FROB", 500, "5.5.2")
        self.expect(b"", 500, "5.5.2")
        self.expect(b"NOOP \xff\xfe", 500, "5.5.2")
        self.expect(b"NO\x00OP", 500, "5.5.2")
        self.expect(b"NOOP", 250, "2.0.0")

    def test_sequence(self):
        self.expect(b"MAIL FROM:<a@example.org>", 503, "5.5.1")
        self.c.cmd(b"EHLO client.example")
        self.expect(b"RCPT TO:<alice@localhost>", 503, "5.5.1")
        self.expect(b"DATA", 503, "5.5.1")
        self.expect(b"MAIL FROM:<a@example.org>", 250, "2.1.0")
        self.expect(b"MAIL FROM:<a@example.org>", 503, "5.5.1")
        self.expect(b"DATA", 503, "5.5.1")

    def test_syntax_and_parameters(self):
        self.c.cmd(b"EHLO client.example")
        self.expect(b"MAIL FROM:a@example.org", 501, "5.1.7")
        self.expect(b"MAIL TO:<a@example.org>", 501, "5.5.4")
        self.expect(b"MAIL FROM:<a@example.org> FOO=BAR", 555, "5.5.4")
        self.expect(b"MAIL FROM:<a@example.org> SIZE=x", 501, "5.5.4")
        self.expect(b"MAIL FROM:<a@example.org> SIZE=20481", 552, "5.3.4")
        self.expect(b"MAIL FROM:<a@example.org> BODY=BINARYMIME", 501,
                    "5.5.4")
        self.expect(b"MAIL FROM:<a@example.org> SIZE=100", 250, "2.1.0")

    def test_rcpt_syntax_and_parameters(self):
        self.c.cmd(b"EHLO client.example")
        self.c.cmd(b"MAIL FROM:<a@example.org>")
        self.expect(b"RCPT TO:<a b@localhost>", 501, "5.1.3")
        self.expect(b"RCPT TO:<alice@localhost> BAR=1", 555, "5.5.4")
        self.expect(b"RCPT TO:<alice@localhost> NOTIFY=OFTEN", 501, "5.5.4")

    def test_relay_denied(self):
        self.c.cmd(b"EHLO client.example")
        self.c.cmd(b"MAIL FROM:<a@example.org>")
        self.expect(b"RCPT TO:<x@elsewhere.example>", 554, "5.7.1",
                    "<x@elsewhere.example>: Relay access denied")

    def test_recipient_limit(self):
        self.c.cmd(b"EHLO client.example")
        self.c.cmd(b"MAIL FROM:<a@example.org>")
        for i in range(3):
            self.expect(b"RCPT TO:<r%d@localhost>" % i, 250, "2.1.5")
        self.expect(b"RCPT TO:<r9@localhost>", 452, "4.5.3")

    def test_error_limit(self):
        for _ in range(7):
            self.expect(b"FROB", 500, "5.5.2")
        self.expect(b"FROB", 421, "4.7.0")
        self.assertTrue(self.c.closed())

    def test_long_lines(self):
        # 512 octets for most commands, answered once, session goes on
        self.expect(b"NOOP " + b"x" * 505, 250, "2.0.0")
        self.expect(b"NOOP " + b"x" * 506, 500, "5.5.2", "line too long")
        self.c.cmd(b"EHLO client.example")
        # MAIL and RCPT get what the extensions add (RFC 1870, 3461)
        self.expect(b"MAIL FROM:<a@example.org> ENVID=" + b"e" * 100, 250,
                    "2.1.0")
        orcpt = b" ORCPT=rfc822;" + b"o" * 480
        self.expect(b"RCPT TO:<alice@localhost>" + orcpt, 250, "2.1.5")
        self.expect(b"RCPT TO:<alice@localhost>" + orcpt + b" " + b"x" * 600, 500,
                    "5.5.2")
        # far over the read buffer: one reply, then the next command
        self.c.send(b"NOOP " + b"y" * 100000 + b"\r\n")
        self.assertEqual(self.c.reply()[:2], (500, "5.5.2"))
        self.expect(b"NOOP", 250, "2.0.0")

    def test_message_size_at_end_of_data(self):
        self.c.cmd(b"EHLO client.example")
        self.c.cmd(b"MAIL FROM:<a@example.org>")
        self.c.cmd(b"RCPT TO:<big@localhost>")
        self.expect(b"DATA", 354, None)
        self.c.send(b"Subject: big\r\n\r\n" + (b"z" * 998 + b"\r\n") * 30 +
                    b".\r\n")
        self.assertEqual(self.c.reply()[:2], (552, "5.3.4"))
        self.expect(b"NOOP", 250, "2.0.0")
        self.assertEqual(self.mta.messages("big"), [])

    def test_long_data_lines_kept(self):
        line = b"L" * 5000 + b"\r\n"
        self.c.cmd(b"EHLO client.example")
        self.c.cmd(b"MAIL FROM:<a@example.org>")
        self.c.cmd(b"RCPT TO:<longline@localhost>")
        self.expect(b"DATA", 354, None)
        self.c.send(b"Subject: long\r\n\r\n" + line + b".\r\n")
        self.assertEqual(self.c.reply()[:2], (250, "2.0.0"))
        m = self.mta.wait_messages("longline", 1)[0]
        self.assertIn(b"\n" + b"L" * 5000 + b"\n", m)

    def test_pipelining_after_data_dropped(self):
        self.c.cmd(b"EHLO client.example")
        self.c.cmd(b"MAIL FROM:<a@example.org>")
        self.c.cmd(b"RCPT TO:<early@localhost>")
        self.c.send(b"DATA\r\nSubject: early\r\n\r\nx\r\n.\r\n")
        self.assertEqual(self.c.reply()[:2], (554, "5.5.0"))
        self.assertTrue(self.c.closed())
        self.mta.wait_log(r"improper command pipelining after DATA")
        self.assertEqual(self.mta.messages("early"), [])

    def test_pipelining_after_quit_dropped(self):
        self.c.send(b"QUIT\r\nNOOP\r\n")
        self.assertEqual(self.c.reply()[:2], (554, "5.5.0"))
        self.assertTrue(self.c.closed())

    def test_quit_then_close_is_no_abuse(self):
        import socket
        self.c.send(b"QUIT\r\n")
        self.c.s.shutdown(socket.SHUT_WR)  # the end of input is not input
        self.assertEqual(self.c.reply()[:2], (221, "2.0.0"))

    def test_pipelined_group_accepted(self):
        self.c.send(b"EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n"
                    b"RCPT TO:<piped@localhost>\r\nDATA\r\n")
        codes = [self.c.reply()[0] for _ in range(4)]
        self.assertEqual(codes, [250, 250, 250, 354])
        self.c.send(b"Subject: piped\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        self.assertEqual(self.c.reply()[:2], (250, "2.0.0"))
        self.assertEqual(self.c.reply()[:2], (221, "2.0.0"))
        self.mta.wait_messages("piped", 1)

    def test_smtputf8(self):
        self.c.cmd(b"EHLO client.example")
        self.expect("MAIL FROM:<jörg@example.org>".encode(), 553, "5.6.7")
        self.expect("MAIL FROM:<jörg@example.org> SMTPUTF8".encode(), 250,
                    "2.1.0")
        self.expect("RCPT TO:<utf8@localhost>".encode(), 250, "2.1.5")
        self.expect(b"MAIL FROM:<j\xc3@example.org> SMTPUTF8", 503, "5.5.1")
        self.expect(b"DATA", 354, None)
        self.c.send("Subject: grüße\r\n\r\nhällo\r\n.\r\n".encode())
        self.assertEqual(self.c.reply()[:2], (250, "2.0.0"))
        m = self.mta.wait_messages("utf8", 1)[0]
        self.assertIn("hällo".encode(), m)
        self.assertIn(b"with UTF8SMTP", m)

    def test_bdat(self):
        self.c.cmd(b"EHLO client.example")
        self.c.cmd(b"MAIL FROM:<a@example.org>")
        self.c.cmd(b"RCPT TO:<chunks@localhost>")
        part1 = b"Subject: chunks\r\n\r\nfirst "
        self.c.send(b"BDAT %d\r\n" % len(part1) + part1)
        self.assertEqual(self.c.reply()[:2], (250, "2.0.0"))
        self.expect(b"DATA", 503, "5.5.1")
        part2 = b"second\r\n.\r\nMAIL FROM:<x@y>\r\n"
        self.c.send(b"BDAT %d\r\n" % len(part2) + part2)
        self.assertEqual(self.c.reply()[:2], (250, "2.0.0"))
        code, enh, text = self.c.cmd(b"BDAT 0 LAST")
        self.assertEqual((code, enh), (250, "2.0.0"), text)
        self.assertIn("queued as", text)
        m = self.mta.wait_messages("chunks", 1)[0]
        self.assertTrue(m.endswith(b"\n\nfirst second\n.\nMAIL FROM:<x@y>\n"),
                        m)

    def test_bdat_refused_keeps_step(self):
        # without a transaction the chunk is read and dropped
        self.c.cmd(b"EHLO client.example")
        self.c.send(b"BDAT 10 LAST\r\nNOOP\r\nXXXX")
        self.assertEqual(self.c.reply()[:2], (503, "5.5.1"))
        self.expect(b"NOOP", 250, "2.0.0")
        self.expect(b"BDAT x", 501, "5.5.4")
        self.assertTrue(self.c.closed())

    def test_bdat_one_chunk_and_size(self):
        self.c.cmd(b"EHLO client.example")
        self.c.cmd(b"MAIL FROM:<a@example.org>")
        self.c.cmd(b"RCPT TO:<onechunk@localhost>")
        body = b"Subject: one\r\n\r\nonly chunk\r\n"
        self.c.send(b"BDAT %d LAST\r\n" % len(body) + body)
        self.assertEqual(self.c.reply()[:2], (250, "2.0.0"))
        self.c.cmd(b"MAIL FROM:<a@example.org>")
        self.c.cmd(b"RCPT TO:<onechunk@localhost>")
        big = b"y" * 15000
        self.c.send(b"BDAT %d\r\n" % len(big) + big)
        self.assertEqual(self.c.reply()[:2], (250, "2.0.0"))
        self.c.send(b"BDAT %d LAST\r\n" % len(big) + big)
        self.assertEqual(self.c.reply()[:2], (552, "5.3.4"))
        self.expect(b"NOOP", 250, "2.0.0")
        self.assertEqual(len(self.mta.wait_messages("onechunk", 1)), 1)

    def test_bdat_chunk_over_limit_closes(self):
        self.c.cmd(b"EHLO client.example")
        self.c.cmd(b"MAIL FROM:<a@example.org>")
        self.c.cmd(b"RCPT TO:<hugechunk@localhost>")
        self.c.send(b"BDAT 99999999999 LAST\r\nxxxx")
        code, enh, text = self.c.reply()
        self.assertEqual((code, enh), (552, "5.3.4"), text)
        self.assertTrue(self.c.closed())


class DSNAndTrust(unittest.TestCase):
    """Loopback is in mynetworks (the default): it may relay, and what
    it relays stays queued here (no remote transport), so the queue
    file's DSN records can be read."""

    @classmethod
    def setUpClass(cls):
        cls.mta = MTA(smtpd_verb_trusted="yes").start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def queued(self, c, body=b"Subject: t\r\n\r\nx\r\n"):
        """DATA with body; the queue file of the accepted message."""
        self.assertEqual(c.cmd(b"DATA")[0], 354)
        c.send(body + b".\r\n")
        code, _, text = c.reply()
        self.assertEqual(code, 250, text)
        qid = re.search(r"queued as (\w+)", text).group(1)
        files = queue_files(os.path.join(self.mta.dir, "queue"))
        self.assertIn(qid, files)
        return files[qid]

    def test_verb_marks_the_queue_file_for_a_trace(self):
        c = Client(self.mta.port)
        c.cmd(b"EHLO client.example")
        self.assertEqual(c.cmd(b"VERB")[:2], (250, "2.0.0"))
        c.cmd(b"MAIL FROM:<a@example.org>")
        c.cmd(b"RCPT TO:<far@remote.example> NOTIFY=NEVER")
        qf = self.queued(c)
        c.close()
        # the W record (mta-queue(5)); the client's NOTIFY= is kept
        self.assertIn(b"W\x00\x00\x00\x04VERB", qf)
        self.assertIn(b"N\x00\x00\x00\x05NEVER", qf)

    def test_trusted_relay_and_dsn_records(self):
        c = Client(self.mta.port)
        c.cmd(b"EHLO client.example")
        self.assertEqual(c.cmd(b"MAIL FROM:<a@example.org> RET=HDRS "
                               b"ENVID=env+2Bid")[0], 250)
        code, enh, text = c.cmd(b"RCPT TO:<far@remote.example> "
                                b"NOTIFY=FAILURE,DELAY "
                                b"ORCPT=rfc822;orig+40remote.example")
        self.assertEqual((code, enh), (250, "2.1.5"), text)
        self.assertEqual(c.cmd(b"DATA")[0], 354)
        c.send(b"Subject: dsn\r\n\r\nx\r\n.\r\n")
        code, _, text = c.reply()
        self.assertEqual(code, 250, text)
        qid = re.search(r"queued as (\w+)", text).group(1)
        c.close()
        qdir = os.path.join(self.mta.dir, "queue")
        files = queue_files(qdir)
        self.assertIn(qid, files)
        qf = files[qid]
        for want in (b"far@remote.example", b"rfc822;orig@remote.example",
                     b"FAILURE,DELAY", b"env+id", b"HDRS"):
            self.assertIn(want, qf)
        # each record is type, 4-byte length, payload: O and N follow R
        r = qf.index(b"R\x00\x00\x00\x12far@remote.example")
        self.assertGreater(qf.index(b"O\x00\x00\x00\x1arfc822;orig@"), r)
        self.assertGreater(qf.index(b"N\x00\x00\x00\x0dFAILURE,DELAY"), r)
        self.assertIn(b"E\x00\x00\x00\x06env+id", qf)
        self.assertIn(b"F\x00\x00\x00\x04HDRS", qf)


class Pregreet(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mta = MTA(mynetworks="192.0.2.0/24",
                      smtpd_pregreet_wait_ms="2000").start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def test_talker_before_greeting_dropped(self):
        c = Client(self.mta.port, greet=False)
        c.send(b"EHLO early.example\r\n")
        self.assertEqual(c.reply()[:2], (554, "5.5.0"))
        # RFC 5321 3.1: after a 554 greeting, 503 to all but QUIT
        self.assertEqual(c.reply()[:2], (503, "5.5.1"))
        self.assertEqual(c.cmd(b"MAIL FROM:<a@b.example>")[:2],
                         (503, "5.5.1"))
        self.assertEqual(c.cmd(b"QUIT")[:2], (221, "2.0.0"))
        self.assertTrue(c.closed())
        self.mta.wait_log(r"reject: pregreet from unknown\[127\.0\.0\.1\]")

    def test_patient_client_served(self):
        t = time.time()
        c = Client(self.mta.port)
        self.assertGreaterEqual(time.time() - t, 1.5)
        self.assertEqual(c.cmd(b"QUIT")[0], 221)
        c.close()


class Swaks(unittest.TestCase):
    def test_swaks_pipelining(self):
        mta = MTA(smtpd_pregreet_wait_ms="0").start()
        try:
            p = subprocess.run(
                ["swaks", "--server", "127.0.0.1", "--port", str(mta.port),
                 "--from", "s@example.org", "--to", "swaks@localhost",
                 "--pipeline", "--body", "via swaks"],
                capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertRegex(p.stdout, r"<-\s+250 2\.0\.0 Ok: queued as")
            m = mta.wait_messages("swaks", 1)[0]
            self.assertIn(b"via swaks", m)
        finally:
            mta.cleanup()


if __name__ == "__main__":
    unittest.main()


class Config(unittest.TestCase):
    def test_bad_mynetworks_names_file_and_line(self):
        m = MTA(mynetworks="127.0.0.0/8, 10.1.2.3/8")
        try:
            p = m.ctl("check", check=False)
            self.assertEqual(p.returncode, 78)
            self.assertRegex(p.stderr, re.escape(m.conf) + r":\d+: "
                             r"mynetworks: \"10\.1\.2\.3/8\": host bits "
                             r"set beyond the prefix length")
        finally:
            m.cleanup()

    def test_bad_bare_lf_setting(self):
        m = MTA(smtpd_bare_lf="sometimes")
        try:
            p = m.ctl("check", check=False)
            self.assertEqual(p.returncode, 78)
            self.assertIn("smtpd_bare_lf: bad value \"sometimes\": expected "
                          "normalize or reject", p.stderr)
        finally:
            m.cleanup()


class Timeouts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mta = MTA(smtpd_timeout="1s", smtpd_data_timeout="1s").start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def test_command_timeout(self):
        c = Client(self.mta.port)
        c.send(b"NOOP")  # half a command, then silence
        code, enh, text = c.reply()
        self.assertEqual((code, enh), (421, "4.4.2"), text)
        self.assertIn("timeout exceeded", text)
        self.assertTrue(c.closed())

    def test_data_timeout(self):
        c = Client(self.mta.port)
        c.cmd(b"EHLO client.example")
        c.cmd(b"MAIL FROM:<a@example.org>")
        c.cmd(b"RCPT TO:<slow@localhost>")
        self.assertEqual(c.cmd(b"DATA")[0], 354)
        c.send(b"Subject: slow\r\n\r\npart of a lin")
        self.assertEqual(c.reply()[:2], (421, "4.4.2"))
        self.assertTrue(c.closed())
        self.assertEqual(self.mta.messages("slow"), [])


class ConnectionLimits(unittest.TestCase):
    """anvil(8) counts sessions per client address for all smtpd
    processes; loopback is untrusted here so the limits apply."""

    def start(self, **kw):
        self.mta = MTA(mynetworks="192.0.2.0/24",
                       smtpd_pregreet_wait_ms="0", **kw).start()
        self.addCleanup(self.mta.cleanup)

    def test_count_limit(self):
        self.start(smtpd_client_connection_count_limit="2",
                   smtpd_client_connection_rate_limit="0")
        # start() probed the port: that session's slot is given back
        # before its disconnect line
        self.mta.wait_log(r"disconnect from")
        a, b = Client(self.mta.port), Client(self.mta.port)
        c = Client(self.mta.port, greet=False)
        self.assertEqual(c.reply()[:2], (421, "4.7.0"))
        self.assertTrue(c.closed())
        self.mta.wait_log(r"connection count limit exceeded: 3 from "
                          r"unknown\[127\.0\.0\.1\] for service smtpd")
        self.assertEqual(a.cmd(b"QUIT")[0], 221)
        a.close()

        def greeted():  # the slot comes back once the session is gone
            d = Client(self.mta.port, greet=False)
            try:
                return d.reply()[0] == 220 and d
            finally:
                d.close()
        from mta import wait_for
        wait_for(greeted, what="a slot after QUIT")
        self.assertEqual(b.cmd(b"NOOP")[0], 250)
        b.close()

    def test_rate_limit(self):
        # start() itself probes the port, and each probe is a session
        # too: count sessions in the log, not in the test
        self.start(smtpd_client_connection_rate_limit="5")
        for _ in range(10):
            c = Client(self.mta.port, greet=False)
            code, enh, text = c.reply()
            c.close()
            if code != 220:
                break
        self.assertEqual((code, enh), (421, "4.7.0"), text)
        self.assertIn("too many connections from 127.0.0.1", text)
        self.mta.wait_log(r"connection rate limit exceeded: 6 from")
        self.assertEqual(len(re.findall(r"(?<!dis)connect from unknown\[127\.0\.0"
                                        r"\.1\]", self.mta.log_text())), 6)

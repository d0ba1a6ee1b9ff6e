"""test_local_path.py - SMTP in, durable queue, Maildir out.

Scenarios, each against a fresh instance: a client sends mail, and we look
at what a user sees: the replies, the bytes in the Maildir, the log.
"""
import os
import re
import socket
import subprocess
import unittest

from mta import MTA, wait_for, BIN


def raw_session(port, chunks, expect_replies):
    """Send raw bytes (chunks) and read until expect_replies lines that
    end a reply have arrived (or the server closes)."""
    s = socket.create_connection(("127.0.0.1", port), 10)
    s.settimeout(10)
    # the greeting first: read with the first command's reply, it made
    # every later wait one reply short when it came alone
    data = read_replies(s, 1)
    for c in chunks:
        if c is None:  # wait for one more reply before going on
            data += read_replies(s, 1)
            continue
        if isinstance(c, int):  # wait until c replies in all
            have = len(re.findall(rb"(?m)^\d{3} ", data))
            data += read_replies(s, c - have)
            continue
        s.sendall(c)
    data += read_replies(s, expect_replies)
    s.close()
    return data.decode("latin-1")


def read_replies(s, n):
    """Read until n final reply lines ("NNN " form) or EOF."""
    buf = b""
    while len(re.findall(rb"(?m)^\d{3} ", buf)) < n:
        try:
            got = s.recv(65536)
        except socket.timeout:
            break
        if not got:
            break
        buf += got
    return buf


class LocalPath(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # loopback untrusted, so relaying is refused; clients here talk
        # at once, so no pregreet wait
        cls.mta = MTA(mynetworks="192.0.2.0/24",
                      smtpd_pregreet_wait_ms="0").start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def test_one_message(self):
        with self.mta.smtp() as s:
            s.ehlo("client.example")
            s.sendmail("bob@example.org", ["alice@localhost"],
                       b"Subject: hello\r\n\r\nHi Alice.\r\n")
        msg = self.mta.wait_messages("alice", 1)[0]
        head, body = msg.split(b"\n\n", 1)
        self.assertTrue(head.startswith(
            b"Return-Path: <bob@example.org>\nDelivered-To: alice@localhost\n"
            b"Received: from client.example (unknown [127.0.0.1])\n"
            b"\tby mx.test.example (mta) with ESMTP id "))
        self.assertRegex(head, rb"\n\tfor <alice@localhost>;\n\t\w{3}, ")
        self.assertRegex(head, rb"\nMessage-Id: <\d{14}\.\w{15}@mx\.test\.example>")
        self.assertRegex(head, rb"\nDate: \w{3}, \d+ \w{3} \d{4} ")
        self.assertIn(b"\nSubject: hello", head)
        self.assertEqual(body, b"Hi Alice.\n")
        qid = re.search(rb"with ESMTP id (\w+)", head).group(1).decode()
        self.mta.wait_log(qid + r": to=<alice@localhost>, relay=local, "
                          r"delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, "
                          r"dsn=2\.0\.0, status=sent \(delivered to maildir ")
        self.mta.wait_log(qid + ": removed")
        # the Maildir name carries the size of the file
        new = os.path.join(self.mta.maildir("alice"), "new")
        for n in os.listdir(new):
            size = int(re.search(r",S=(\d+)", n).group(1))
            self.assertEqual(size, os.path.getsize(os.path.join(new, n)))

    def test_hundred_messages_one_session(self):
        with self.mta.smtp() as s:
            for i in range(100):
                s.sendmail("bob@example.org", ["hundred@localhost"],
                           b"Subject: n%d\r\n\r\nnumber %d\r\n" % (i, i))
        msgs = self.mta.wait_messages("hundred", 100, timeout=60)
        bodies = sorted(m.split(b"\n\n", 1)[1] for m in msgs)
        self.assertEqual(bodies, sorted(b"number %d\n" % i for i in range(100)))

    def test_five_recipients(self):
        rcpts = ["r%d@localhost" % i for i in range(4)] + ["R4@test.example"]
        with self.mta.smtp() as s:
            refused = s.sendmail("bob@example.org", rcpts,
                                 b"Subject: five\r\n\r\nto five\r\n")
            self.assertEqual(refused, {})
        for i in range(4):
            m = self.mta.wait_messages("r%d" % i, 1)[0]
            self.assertIn(b"Delivered-To: r%d@localhost\n" % i, m)
            self.assertNotIn(b"\tfor <", m)  # several recipients
        m = self.mta.wait_messages("r4", 1, domain="test.example")[0]
        self.assertIn(b"Delivered-To: R4@test.example\n", m)

    def test_pipelined_transaction(self):
        out = raw_session(self.mta.port, [
            b"EHLO pipe.example\r\n", None,
            b"MAIL FROM:<p@example.org>\r\nRCPT TO:<pipe@localhost>\r\n"
            b"RCPT TO:<nobody@elsewhere.example>\r\n"
            b"RCPT TO:<pipe2@localhost>\r\nDATA\r\n", 7,
            b"Subject: piped\r\n\r\nbody\r\n.\r\nQUIT\r\n"], 9)
        codes = re.findall(r"(?m)^(\d{3})[ -]", out)
        self.assertIn("PIPELINING", out)
        finals = re.findall(r"(?m)^(\d{3}) ", out)
        self.assertEqual(finals, ["220", "250", "250", "250", "554", "250",
                                  "354", "250", "221"], out)
        self.assertIn("554 5.7.1 <nobody@elsewhere.example>: Relay access "
                      "denied", out)
        self.assertTrue(codes)
        self.mta.wait_messages("pipe", 1)
        self.mta.wait_messages("pipe2", 1)

    def test_exact_bytes(self):
        long_line = b"x" * 5000
        # on the wire: dot-stuffed as RFC 5321 4.5.2 says
        body = (b"Subject: bytes\r\n\r\n...leading dot\r\n..\r\n"
                b"caf\xc3\xa9 8-bit \xff\r\n" + long_line +
                b"\r\nbare\rCR inside\r\nlast line\r\n")
        out = raw_session(self.mta.port, [
            b"EHLO bytes.example\r\n", None,
            b"MAIL FROM:<b@example.org> BODY=8BITMIME\r\n", None,
            b"RCPT TO:<bytes@localhost>\r\n", None, b"DATA\r\n", None,
            body + b".\r\n",
            b"QUIT\r\n"], 2)
        self.assertRegex(out, r"250 2\.0\.0 Ok: queued as \w{15}")
        msg = self.mta.wait_messages("bytes", 1)[0]
        got = msg.split(b"\n\n", 1)[1]
        self.assertEqual(got, b"..leading dot\n.\ncaf\xc3\xa9 8-bit \xff\n" +
                         long_line + b"\nbare CR inside\nlast line\n")

    def test_relay_denied_and_logged(self):
        with self.mta.smtp() as s:
            s.ehlo("relay.example")
            s.mail("x@example.org")
            code, text = s.rcpt("victim@elsewhere.example")
        self.assertEqual(code, 554)
        self.assertIn(b"5.7.1", text)
        self.mta.wait_log(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]:"
                          r" 554 5\.7\.1 <victim@elsewhere\.example>: Relay "
                          r"access denied; from=<x@example\.org> "
                          r"to=<victim@elsewhere\.example> proto=ESMTP "
                          r"helo=<relay\.example>")

    def test_unsafe_mailbox_names_refused_at_rcpt(self):
        """Names that cannot be a mailbox directory are refused in the
        session (no later bounce, nothing written outside the base)."""
        with self.mta.smtp() as s:
            s.ehlo("names.example")
            s.mail("n@example.org")
            for bad, want in (("../etc@localhost", 501),  # not RFC 5321
                              ('"../etc"@localhost', 550),
                              ("a/b@localhost", 550),
                              ('".hidden"@localhost', 550),
                              ('"x/../y"@localhost', 550)):
                code, text = s.rcpt(bad)
                self.assertEqual((code, text[:5]), (want, b"5.1.3"), bad)
            code, _ = s.rcpt("Good+ext@localhost")
            self.assertEqual(code, 250)
            s.data(b"Subject: ok\r\n\r\nok\r\n")
        self.assertTrue(self.mta.wait_messages("good", 1)[0]
                        .endswith(b"\n\nok\n"))
        self.assertFalse(os.path.exists(os.path.join(self.mta.dir, "etc")))

    def test_bad_sequence_and_syntax(self):
        out = raw_session(self.mta.port, [
            b"MAIL FROM:<a@example.org>\r\n", None,
            b"HELO x.example\r\n", None,
            b"RCPT TO:<a@localhost>\r\n", None,
            b"MAIL FROM:<bad address>\r\n", None,
            b"MAIL FROM:<a@example.org> FOO=1\r\n", None,
            b"FROB\r\n", None,
            b"X" * 2000 + b"\r\n", None,
            b"NOOP\r\n", None, b"QUIT\r\n"], 1)
        finals = re.findall(r"(?m)^(\d{3} \d\.\d\.\d)", out)
        self.assertEqual(finals, ["503 5.5.1", "503 5.5.1", "501 5.1.7",
                                  "555 5.5.4", "500 5.5.2", "500 5.5.2",
                                  "250 2.0.0", "221 2.0.0"], out)

    def test_smuggling_bare_lf_normalized(self):
        out = raw_session(self.mta.port, [
            b"EHLO smuggle.example\r\n", None,
            b"MAIL FROM:<s@example.org>\r\n", None,
            b"RCPT TO:<smuggle@localhost>\r\n", None, b"DATA\r\n", None,
            b"Subject: x\r\n\r\nhello\n.\nMAIL FROM:<evil@example.org>\r\n"
            b"RCPT TO:<smuggled@localhost>\r\nDATA\r\n\r\nevil\r\n.\r\n"], 1)
        # smtpd_bare_lf = normalize: the bare LF ends a body line, never
        # the data; the smuggled commands are text of the one message
        # (test_smtpd_smuggling.py has the variants and reject mode)
        self.assertEqual(len(re.findall(r"queued as", out)), 1, out)
        m = self.mta.wait_messages("smuggle", 1)[0]
        self.assertIn(b"hello\n\nMAIL FROM:<evil@example.org>\n", m)
        self.assertEqual(self.mta.messages("smuggled"), [])

    def test_cut_before_dot_delivers_nothing(self):
        s = socket.create_connection(("127.0.0.1", self.mta.port), 10)
        for c in [b"EHLO cut.example\r\n", b"MAIL FROM:<c@example.org>\r\n",
                  b"RCPT TO:<cut@localhost>\r\n", b"DATA\r\n"]:
            s.sendall(c)
            read_replies(s, 1)
        s.sendall(b"Subject: cut\r\n\r\nnever finished\r\n")
        s.close()
        self.mta.wait_log(r"disconnect from unknown\[127\.0\.0\.1\] "
                          r"ehlo=1 mail=1 rcpt=1 data=1 commands=4")
        # nothing in incoming/ either: cleanup removed its temporary file
        inc = os.path.join(self.mta.dir, "queue", "incoming")
        wait_for(lambda: os.listdir(inc) == [], 10, "incoming/ empty")
        self.assertEqual(self.mta.messages("cut"), [])

    def test_size_limit(self):
        out = raw_session(self.mta.port, [
            b"EHLO size.example\r\n", None,
            b"MAIL FROM:<s@example.org> SIZE=999999999999\r\n", None,
            b"QUIT\r\n"], 1)
        self.assertIn("552 5.3.4", out)

    def test_separate_processes(self):
        for prog in ("master", "smtpd", "cleanup", "qmgr", "local"):
            if prog in ("smtpd", "cleanup", "local"):
                # started on demand: make sure one has been needed
                with self.mta.smtp() as s:
                    s.sendmail("p@example.org", ["ps@localhost"], b"\r\nx\r\n")
            self.assertTrue(self.mta.pids(prog), prog + " is not running")
        status = self.mta.ctl("status").stdout
        for prog in ("smtpd", "cleanup", "qmgr", "local"):
            self.assertRegex(status, r"(?m)^%s " % prog)

    def test_queue_listing_empty_after_delivery(self):
        with self.mta.smtp() as s:
            s.sendmail("q@example.org", ["q@localhost"], b"\r\nq\r\n")
        self.mta.wait_messages("q", 1)
        wait_for(lambda: "Mail queue is empty" in self.mta.ctl("queue").stdout,
                 20, "empty queue")


class Config(unittest.TestCase):
    def test_bad_config_names_file_and_line(self):
        m = MTA(smtpd_timeout="5 minutes")
        try:
            p = m.ctl("check", check=False)
            self.assertEqual(p.returncode, 78)
            self.assertRegex(p.stderr, re.escape(m.conf) +
                             r":\d+: smtpd_timeout: bad value \"5 minutes\"")
            with open(m.conf, "a") as f:
                f.write("no_such_key = 1\n")
            m2 = subprocess.run([os.path.join(BIN, "master"), "-f", "-c",
                                 m.conf], capture_output=True, text=True,
                                timeout=10)
            self.assertNotEqual(m2.returncode, 0)
            self.assertIn("bad value", m2.stderr)
        finally:
            m.cleanup()

    def test_config_print_changed(self):
        m = MTA()
        try:
            out = m.ctl("config", "-n").stdout
            self.assertIn("run_mode = user\n", out)
            self.assertIn("queue_run_delay = 1s\n", out)
            self.assertNotIn("hop_count_limit", out)
        finally:
            m.cleanup()


if __name__ == "__main__":
    unittest.main()

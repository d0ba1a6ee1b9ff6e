"""test_cleanup_reuse.py - one cleanup(8) connection for the messages of
an smtpd session (smtpd_data.c, cleanup_client_next, cleanup(8) "The
protocol").

A client sends several messages in one session: each is delivered
exactly as sent, and one cleanup process queued them all (the pid in
its log lines).  A message that goes wrong half-way (over the size
limit, a BDAT transaction ended by RSET, a bare LF refused, a header
section cleanup refuses, a client that goes quiet) costs only that message: the next
one in the same session is queued and delivered intact, and no file is
left in incoming/.  After `mtactl reload` the kept connection's cleanup
ends and the next message of the session goes to a new one.  Runs
unprivileged (as root too).
"""
import os
import re
import time
import unittest

from mta import MTA, wait_for
from smtpd_helpers import Client


def body(tag, lines=3):
    return (b"Subject: %s\r\n\r\n" % tag +
            b"".join(b"%s line %d\r\n" % (tag, i) for i in range(lines)))


def cleanup_connections(pid):
    """Inodes of the accepted private/cleanup connections pid holds."""
    held = set()
    for fd in os.listdir("/proc/%s/fd" % pid):
        try:
            t = os.readlink("/proc/%s/fd/%s" % (pid, fd))
        except OSError:
            continue
        if t.startswith("socket:["):
            held.add(t[8:-1])
    found = set()
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            cols = line.split()
            # state 03: connected (the listening socket is 01)
            if (len(cols) >= 8 and cols[7].endswith("private/cleanup")
                    and cols[5] == "03" and cols[6] in held):
                found.add(cols[6])
    return found


def gone(pid):
    """The process has exited (a zombie counts)."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


class CleanupReuse(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # loopback is a stranger here, so a bare LF is refused
        cls.mta = MTA(message_size_limit="20k", header_size_limit="2k",
                      mynetworks="192.0.2.0/24", smtpd_bare_lf="reject",
                      smtpd_pregreet_wait_ms="0").start()
        cls.incoming = os.path.join(cls.mta.dir, "queue", "incoming")

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def setUp(self):
        self.c = Client(self.mta.port)
        self.c.cmd(b"EHLO client.example")

    def tearDown(self):
        self.c.close()

    def send(self, rcpt, data):
        """One DATA transaction; the final reply (code, enh, text)."""
        self.assertEqual(self.c.cmd(b"MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(self.c.cmd(b"RCPT TO:<%s@localhost>" % rcpt)[0],
                         250)
        self.assertEqual(self.c.cmd(b"DATA")[0], 354)
        self.c.send(data + b".\r\n")
        return self.c.reply()

    def queued(self, rcpt, data):
        code, enh, text = self.send(rcpt, data)
        self.assertEqual((code, enh), (250, "2.0.0"), text)
        return re.search(r"queued as (\S+)", text).group(1)

    def cleanup_pid(self, qid):
        """The pid of the cleanup process that logged qid's message-id."""
        pat = re.compile(r"mta/cleanup\[(\d+)\]: %s: message-id=" % qid)
        self.mta.wait_log(pat.pattern)
        return pat.search(self.mta.log_text()).group(1)

    def delivered(self, rcpt, data):
        got = self.mta.wait_messages(rcpt.decode(), 1)
        self.assertEqual(len(got), 1)
        head, text = data.replace(b"\r\n", b"\n").split(b"\n\n", 1)
        got_head, got_text = got[0].split(b"\n\n", 1)
        self.assertEqual(got_text, text)
        self.assertIn(head + b"\n", got_head + b"\n")

    def no_incoming(self):
        wait_for(lambda: os.listdir(self.incoming) == [], 20,
                 "incoming/ to empty")

    def test_one_cleanup_for_the_session(self):
        ids, conns = [], []
        for i in range(4):
            ids.append(self.queued(b"seq%d" % i, body(b"seq%d" % i)))
            conns.append(cleanup_connections(self.cleanup_pid(ids[-1])))
        self.assertEqual(len({self.cleanup_pid(q) for q in ids}), 1)
        # one connection, open from the first message to the last (a
        # connection per message would be closed by its 250)
        self.assertEqual(len(conns[0]), 1, conns)
        self.assertEqual(conns, [conns[0]] * 4)
        for i in range(4):
            self.delivered(b"seq%d" % i, body(b"seq%d" % i))

    def test_failures_cost_only_their_message(self):
        first = self.queued(b"ok1", body(b"ok1"))
        # over message_size_limit: 552 at the end, the session goes on
        code, enh, _ = self.send(b"big", body(b"big", 2000))
        self.assertEqual((code, enh), (552, "5.3.4"))
        # a BDAT transaction abandoned with RSET
        self.assertEqual(self.c.cmd(b"MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(self.c.cmd(b"RCPT TO:<cut@localhost>")[0], 250)
        part = body(b"cut")
        self.c.send(b"BDAT %d\r\n" % len(part) + part)
        self.assertEqual(self.c.reply()[0], 250)
        self.assertEqual(self.c.cmd(b"RSET")[0], 250)
        # a bare LF, refused at the end of the data (smtpd_bare_lf)
        code, enh, _ = self.send(b"lf", b"Subject: lf\r\n\r\nbare\nlf\r\n")
        self.assertEqual((code, enh), (550, "5.5.2"))
        # cleanup's own refusal (header_size_limit): an answer, so its
        # connection stays in step for the next message
        code, enh, _ = self.send(b"hdr", b"X-Long: " + b"h" * 3000 +
                                 b"\r\n" + body(b"hdr"))
        self.assertEqual((code, enh), (552, "5.3.4"))
        last = self.queued(b"ok2", body(b"ok2"))
        self.assertNotEqual(first, last)
        self.delivered(b"ok1", body(b"ok1"))
        self.delivered(b"ok2", body(b"ok2"))
        for r in (b"big", b"cut", b"lf", b"hdr"):
            self.assertEqual(self.mta.messages(r.decode()), [])
        self.no_incoming()

    def test_quiet_client_then_more_mail(self):
        self.queued(b"q1", body(b"q1"))
        # the client says nothing for longer than smtpd keeps the
        # connection (SMTPD_CLEANUP_KEEP_MS, 1 s): this is the scenario,
        # not a wait for something
        time.sleep(1.5)
        self.queued(b"q2", body(b"q2"))
        self.delivered(b"q1", body(b"q1"))
        self.delivered(b"q2", body(b"q2"))

    def test_reload_between_messages(self):
        a = self.queued(b"r1", body(b"r1"))
        pid = self.cleanup_pid(a)
        self.mta.ctl("reload")
        # the old cleanup ends at the reload (it waited for a request)
        wait_for(lambda: gone(pid), 20, "cleanup %s to end" % pid)
        b = self.queued(b"r2", body(b"r2"))
        self.assertNotEqual(self.cleanup_pid(b), pid)
        self.delivered(b"r1", body(b"r1"))
        self.delivered(b"r2", body(b"r2"))


if __name__ == "__main__":
    unittest.main()

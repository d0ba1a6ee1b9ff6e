"""test_resolver.py - resolver(8) as its clients see it, on its socket
(private/resolver), with a DNS server on loopback that answers some
names and never answers others.

One resolver process (the default resolver_process_limit of 1) must
serve many clients at once: a zone that never answers holds only the
clients that asked it, clients asking the same question share one
lookup, and a client that half-closes after its question (as smtpd's
DNSBL batch does) still gets its answer.
"""
import os
import socket
import struct
import time
import unittest

import mta
from access_helpers import QuietDNSServer

ZONE = {
    "fast.test": [("A", "192.0.2.1", 60)],
    "other.test": [("A", "192.0.2.2", 60)],
}


def record(**attrs):
    """One ipc record (common/ipc.h): name length, name, value length
    (big-endian), value; a zero name length ends it."""
    out = b""
    for k, v in attrs.items():
        v = v.encode()
        out += bytes([len(k)]) + k.encode() + struct.pack(">I", len(v)) + v
    return out + b"\0"


def read_record(sock):
    """The attributes of one record, as (name, value) pairs."""
    buf = b""

    def need(n):
        nonlocal buf
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))  # never past this record
            if not chunk:
                raise EOFError("resolver closed the connection")
            buf += chunk

    pos, out = 0, []
    while True:
        need(pos + 1)
        n = buf[pos]
        pos += 1
        if n == 0:
            return out
        need(pos + n + 4)
        name = buf[pos:pos + n].decode()
        vlen = struct.unpack(">I", buf[pos + n:pos + n + 4])[0]
        pos += n + 4
        need(pos + vlen)
        out.append((name, buf[pos:pos + vlen].decode()))
        pos += vlen


class Resolver(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = QuietDNSServer(ZONE, quiet={"never.test", "never2.test",
                                              "never3.test", "never4.test",
                                              "shared.test"})
        cls.m = mta.MTA(resolver_nameservers="127.0.0.1:%d" % cls.dns.port,
                        resolver_timeout="4s", resolver_retries="0")
        cls.m.start()
        cls.path = os.path.join(cls.m.dir, "queue", "private", "resolver")

    @classmethod
    def tearDownClass(cls):
        cls.m.cleanup()
        cls.dns.stop()

    def ask(self, name, qtype="A", half_close=False):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(self.path)
        s.sendall(record(req="query", type=qtype, name=name))
        if half_close:
            s.shutdown(socket.SHUT_WR)
        self.addCleanup(s.close)
        return s

    def test_a_silent_zone_holds_only_its_own_clients(self):
        slow = self.ask("never.test")
        t0 = time.monotonic()
        fast = self.ask("fast.test")
        rec = read_record(fast)
        took = time.monotonic() - t0
        self.assertIn(("status", "ok"), rec)
        self.assertIn(("rr", "192.0.2.1"), rec)
        # one resolver process, and the silent zone has 4 s to answer
        self.assertLess(took, 2.0, "answer after %.1f s" % took)
        rec = read_record(slow)  # the nameserver's timeout, then tempfail
        self.assertIn(("status", "tempfail"), rec)

    def test_same_question_asked_once(self):
        socks = [self.ask("shared.test") for _ in range(5)]
        for s in socks:
            self.assertIn(("status", "tempfail"), read_record(s))
        self.assertEqual(self.dns.count("shared.test", "dropped"), 1,
                         self.dns.queries)

    def test_half_closed_client_gets_its_answer(self):
        s = self.ask("other.test", half_close=True)
        rec = read_record(s)
        self.assertIn(("rr", "192.0.2.2"), rec)
        self.assertEqual(s.recv(10), b"")  # and then the end

    def test_questions_on_one_connection_answered_in_order(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(self.path)
        self.addCleanup(s.close)
        s.sendall(record(req="query", type="A", name="never2.test") +
                  record(req="query", type="A", name="fast.test") +
                  record(req="stats"))
        self.assertIn(("status", "tempfail"), read_record(s))
        self.assertIn(("rr", "192.0.2.1"), read_record(s))
        self.assertIn("hits", dict(read_record(s)))

    def test_failed_question_asked_again_on_one_connection(self):
        # the second is read as the first's lookup ends; a temporary
        # failure is not cached, so it needs a lookup of its own
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(self.path)
        self.addCleanup(s.close)
        q = record(req="query", type="A", name="never3.test")
        s.sendall(q + q)
        self.assertIn(("status", "tempfail"), read_record(s))
        self.assertIn(("status", "tempfail"), read_record(s))

    def test_reload_answers_what_was_asked(self):
        # SIGHUP: the old process answers the question it holds and
        # exits; a new one takes the next clients
        pending = self.ask("never4.test")
        self.m.ctl("reload")
        self.m.wait_log(r"configuration reloaded|reload", 20)
        rec = read_record(self.ask("fast.test"))
        self.assertIn(("rr", "192.0.2.1"), rec)
        self.assertIn(("status", "tempfail"), read_record(pending))

    def test_bad_request_closes_that_client_only(self):
        bad = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        bad.settimeout(20)
        bad.connect(self.path)
        self.addCleanup(bad.close)
        bad.sendall(record(req="frobnicate"))
        self.assertEqual(bad.recv(10), b"")
        rec = read_record(self.ask("fast.test"))
        self.assertIn(("rr", "192.0.2.1"), rec)
        self.assertIn(("status", "tempfail"),
                      read_record(self.ask("x", qtype="NOPE")))


if __name__ == "__main__":
    unittest.main()

"""test_review_resolver.py - resolver(8) at the edges a local client can
push it to: more clients than it has descriptors for, and a client that
sends a request that never ends (the socket is open to every local
user).  The process must keep answering its other clients and must not
grow without bound.
"""
import os
import resource
import socket
import time
import unittest

import mta
from access_helpers import QuietDNSServer
from test_resolver import read_record, record

ZONE = {"fast.test": [("A", "192.0.2.1", 60)]}


class ResolverEdges(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = QuietDNSServer(ZONE, quiet={"never.test"})
        cls.m = mta.MTA(resolver_nameservers="127.0.0.1:%d" % cls.dns.port,
                        resolver_timeout="2s", resolver_retries="0")
        cls.m.start()
        cls.path = os.path.join(cls.m.dir, "queue", "private", "resolver")

    @classmethod
    def tearDownClass(cls):
        cls.m.cleanup()
        cls.dns.stop()

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(self.path)
        self.addCleanup(s.close)
        return s

    def resolver_pid(self):
        s = self.connect()
        s.sendall(record(req="query", type="A", name="fast.test"))
        self.assertIn(("rr", "192.0.2.1"), read_record(s))
        s.close()
        pids = self.m.pids("resolver")
        self.assertEqual(len(pids), 1, pids)
        return pids[0]

    def test_out_of_descriptors_is_no_crash(self):
        # a descriptor limit lower than its 1024 client slots (a
        # systemd default soft limit is 1024 for everything at once)
        pid = self.resolver_pid()
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (64, 64))
        socks = []
        for _ in range(90):
            s = self.connect()
            s.sendall(record(req="query", type="A", name="never.test"))
            socks.append(s)
        for s in socks:
            try:
                rec = read_record(s)
            except EOFError:
                self.fail("resolver closed a client without an answer: %s"
                          % self.m.log_text()[-2000:])
            self.assertIn(("status", "tempfail"), rec)
            s.close()
        self.assertEqual(self.m.pids("resolver"), [pid])
        self.assertNotRegex(self.m.log_text(), r"resolver\[\d+\]: fatal")
        s = self.connect()
        s.sendall(record(req="query", type="A", name="fast.test"))
        self.assertIn(("rr", "192.0.2.1"), read_record(s))

    def test_endless_request_is_cut_short(self):
        # a record of 60 KB attributes that never ends (within the 4 MB
        # of an ipc record): resolver requests are a type and a name, a
        # few hundred octets
        pid = self.resolver_pid()
        with open("/proc/%d/status" % pid) as f:
            rss0 = int([l for l in f if l.startswith("VmRSS")][0].split()[1])
        s = self.connect()
        attr = bytes([4]) + b"name" + (60000).to_bytes(4, "big") + \
            b"x" * 60000
        try:
            s.sendall(attr * 8)
            s.settimeout(5)
            closed = s.recv(10) == b""
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        except socket.timeout:
            closed = False
        self.assertTrue(closed, "resolver kept reading a 480 KB request")
        with open("/proc/%d/status" % pid) as f:
            rss = int([l for l in f if l.startswith("VmRSS")][0].split()[1])
        self.assertLess(rss - rss0, 1024, "resolver grew %d kB" % (rss - rss0))
        s = self.connect()
        s.sendall(record(req="query", type="A", name="fast.test"))
        self.assertIn(("rr", "192.0.2.1"), read_record(s))

    def test_client_that_does_not_read_holds_nobody(self):
        # thousands of questions sent and no answer read: its socket
        # fills up, and resolver(8) must not wait on it while others ask
        self.resolver_pid()  # fast.test in the cache
        hog = self.connect()
        hog.sendall(record(req="stats") * 6000)
        t0 = time.monotonic()
        s = self.connect()
        s.sendall(record(req="query", type="A", name="fast.test"))
        self.assertIn(("rr", "192.0.2.1"), read_record(s))
        took = time.monotonic() - t0
        self.assertLess(took, 0.5, "answer after %.2f s" % took)


if __name__ == "__main__":
    unittest.main()

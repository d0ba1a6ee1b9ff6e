"""test_review_tls.py - tlsproxy(8) against its own requesters and against
TLS clients that stall: a requester that sends half a request (or an
oversized one) must not delay another session's handshake; a client on
port 465 that never sends a ClientHello is dropped after
tls_handshake_timeout, by tlsproxy and by the smtpd that waits for it."""
import os
import socket
import ssl
import struct
import time
import unittest

import mta
from test_submission import submission_mta


class ReviewTLS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = submission_mta(tls_handshake_timeout="2s")
        cls.m.start()
        cls.sock = os.path.join(cls.m.dir, "queue", "private", "tlsproxy")
        mta.wait_for(lambda: cls.handshake_time() is not None, 30,
                     "a first TLS handshake on port 465")

    @classmethod
    def tearDownClass(cls):
        cls.m.cleanup()

    @classmethod
    def handshake_time(cls):
        """Seconds for a TLS handshake on port 465 (smtpd hands the socket
        to tlsproxy), or None if it failed."""
        ctx = ssl.create_default_context(cafile=cls.m.ca)
        t0 = time.monotonic()
        try:
            with socket.create_connection(
                    ("127.0.0.1", cls.m.ports["smtps"]), 20) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                    took = time.monotonic() - t0
                    s.settimeout(20)
                    banner = s.recv(100)
                    if not banner.startswith(b"220"):
                        return None
                    s.sendall(b"QUIT\r\n")
                    return took
        except (OSError, ssl.SSLError):
            return None

    def requester(self):
        r = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(r.close)
        r.connect(self.sock)
        return r

    def test_half_request_does_not_stall_handshakes(self):
        r = self.requester()
        # one attribute name and no value length: half a record; the
        # proxy takes this connection before smtpd's (FIFO backlog)
        r.sendall(b"\x03req")
        took = self.handshake_time()
        self.assertIsNotNone(took, "handshake on 465 failed")
        # the old proxy waited up to 5 s for the rest of the request
        self.assertLess(took, 2.5, "handshake took %.1f s with a stalled "
                        "requester attached" % took)
        # the stalled request is dropped at its own deadline
        self.m.wait_log(r"tlsproxy.*bad request \(not complete in 5 "
                        r"seconds\)", 15)
        r.settimeout(5)
        self.assertEqual(r.recv(10), b"", "the proxy kept the requester")

    def test_oversized_request_dropped(self):
        r = self.requester()
        r.settimeout(10)
        value = struct.pack(">I", 65536) + b"x" * 65536
        try:
            for _ in range(8):  # 512 KiB, over the 320 KiB of a request
                r.sendall(b"\x04tlsa" + value)
        except OSError:
            pass  # the proxy closed on us: what we want
        self.m.wait_log(r"tlsproxy.*bad request \(over 327680 bytes\)", 10)
        took = self.handshake_time()
        self.assertIsNotNone(took)
        self.assertLess(took, 2.5)

    def test_many_stalled_requesters_then_handshake(self):
        # fewer than the 64 requests read at once: no delay at all
        rs = [self.requester() for _ in range(20)]
        for r in rs:
            r.sendall(b"\x03re")
        took = self.handshake_time()
        self.assertIsNotNone(took)
        self.assertLess(took, 2.5, "%.1f s with 20 stalled requesters" % took)

    def test_not_a_socket_fails_the_request_not_the_proxy(self):
        # an O_PATH descriptor cannot be made non-blocking: the proxy
        # used to exit on it (log_fatal), dropping every TLS session
        r = self.requester()
        fd = os.open(self.m.dir, os.O_PATH)
        self.addCleanup(os.close, fd)
        rec = (b"\x03req" + struct.pack(">I", 6) + b"server" + b"\0")
        socket.send_fds(r, [rec], [fd])
        r.settimeout(10)
        answer = r.recv(4096)
        self.assertIn(b"fail", answer)
        self.assertIn(b"not a stream socket", answer)
        took = self.handshake_time()
        self.assertIsNotNone(took)
        self.assertNotRegex(self.m.log_text(),
                            r"tlsproxy pid \d+ exit status")

    def test_465_silent_client_dropped(self):
        # no ClientHello ever: tlsproxy gives up after
        # tls_handshake_timeout (2 s here), smtpd closes the connection
        with socket.create_connection(("127.0.0.1", self.m.ports["smtps"]),
                                      20) as c:
            t0 = time.monotonic()
            c.settimeout(15)
            self.assertEqual(c.recv(10), b"")
            took = time.monotonic() - t0
        self.assertLess(took, 8, "silent client held for %.1f s" % took)
        self.m.wait_log(r"tlsproxy.*TLS handshake failed.*handshake "
                        r"timed out")

    def test_starttls_silent_client_dropped(self):
        with socket.create_connection(("127.0.0.1",
                                       self.m.ports["submission"]), 20) as c:
            c.settimeout(15)
            f = c.makefile("rb")
            self.assertTrue(f.readline().startswith(b"220"))
            c.sendall(b"EHLO x\r\n")
            while not f.readline().startswith(b"250 "):
                pass
            c.sendall(b"STARTTLS\r\n")
            self.assertTrue(f.readline().startswith(b"220"))
            t0 = time.monotonic()
            self.assertEqual(c.recv(10), b"")
            took = time.monotonic() - t0
        self.assertLess(took, 8, "silent client held for %.1f s" % took)


if __name__ == "__main__":
    unittest.main()

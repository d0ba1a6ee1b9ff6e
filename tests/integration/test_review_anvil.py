"""test_review_anvil.py - anvil(8)'s failed-AUTH table spoken to directly
over private/anvil, as smtpd does: an IPv6 client counts as its /64 (a
host picking a new address per attempt is still counted), failures on an
account from many addresses never count against another address (no
lockout of the real user), and the table stays bounded (the oldest entry
makes room)."""
import os
import socket
import struct
import unittest

from mta import MTA, wait_for


def record(**attrs):
    out = b""
    for k, v in attrs.items():
        v = str(v).encode()
        out += bytes([len(k)]) + k.encode() + struct.pack(">I", len(v)) + v
    return out + b"\0"


class Anvil:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)
        self.buf = b""

    def close(self):
        self.s.close()

    def need(self, n):
        while len(self.buf) < n:
            b = self.s.recv(65536)
            if not b:
                raise EOFError("anvil closed the connection")
            self.buf += b

    def ask(self, **attrs):
        self.s.sendall(record(**attrs))
        answer, i = {}, 0
        while True:
            self.need(i + 1)
            nl = self.buf[i]
            if nl == 0:
                self.buf = self.buf[i + 1:]
                return answer
            self.need(i + 1 + nl + 4)
            name = self.buf[i + 1:i + 1 + nl].decode()
            vl = struct.unpack(">I", self.buf[i + 1 + nl:i + 5 + nl])[0]
            self.need(i + 5 + nl + vl)
            answer[name] = self.buf[i + 5 + nl:i + 5 + nl + vl].decode()
            i += 5 + nl + vl


class ReviewAnvil(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = MTA(smtpd_auth_failure_delay="1s",
                    smtpd_auth_failure_limit="5")
        cls.m.start()
        cls.path = os.path.join(cls.m.dir, "queue", "private", "anvil")
        wait_for(lambda: os.path.exists(cls.path), 20, "private/anvil")

    @classmethod
    def tearDownClass(cls):
        cls.m.cleanup()

    def anvil(self):
        a = Anvil(self.path)
        self.addCleanup(a.close)
        return a

    def failures(self, a, addr):
        return int(a.ask(req="auth_check", addr=addr)["failures"])

    def test_ipv6_counts_per_64(self):
        a = self.anvil()
        for i in range(3):
            a.ask(req="auth_fail", addr="2001:db8:1:2::%x" % (i + 1),
                  account="guess%d" % i)
        # a fourth address of the same /64 starts with its 3 failures
        self.assertEqual(self.failures(a, "2001:db8:1:2:ffff::9"), 3)
        self.assertEqual(self.failures(a, "2001:db8:1:3::1"), 0)

    def test_account_failures_do_not_lock_out_others(self):
        a = self.anvil()
        for i in range(20):
            r = a.ask(req="auth_fail", addr="198.51.100.%d" % (i + 1),
                      account="victim")
        self.assertEqual(r["failures"], "1")  # per address
        # the real user, from elsewhere: no failures, so no 421
        r = a.ask(req="auth_check", addr="203.0.113.7")
        self.assertEqual(r["failures"], "0")
        self.assertEqual(r["delay"], "0")
        # the delay owed by the account is owed after a failure only
        r = a.ask(req="auth_ok", addr="203.0.113.7", account="victim")
        self.assertEqual(r["delay"], "0")

    def test_table_is_bounded(self):
        a = self.anvil()
        a.ask(req="auth_fail", addr="192.0.2.1", account="first")
        self.assertEqual(self.failures(a, "192.0.2.1"), 1)
        # 8192 entries: 4200 failures with a new address and account each
        for i in range(4200):
            a.ask(req="auth_fail", addr="198.18.%d.%d" % (i // 256, i % 256),
                  account="acct%d" % i)
        self.assertEqual(self.failures(a, "192.0.2.1"), 0,
                         "the oldest entry was not the one to go")
        self.assertEqual(self.failures(a, "198.18.16.103"), 1)


if __name__ == "__main__":
    unittest.main()

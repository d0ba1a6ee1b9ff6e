"""test_smtpd_client.py - the client's host name (issue 3): the PTR name
of its address through resolver, kept only when forward-confirmed, in the
connect log line and in Received:; "unknown" otherwise, and a DNS that
does not answer holds the session up no longer than the lookup timeout."""
import time
import unittest

import mta
from remote_helpers import DNSServer


class ClientName(unittest.TestCase):
    def start(self, zone, **extra):
        self.dns = DNSServer(zone)
        self.addCleanup(self.dns.stop)
        settings = {"resolver_nameservers": "127.0.0.1:%d" % self.dns.port,
                    "smtpd_client_lookup_timeout": "2s"}
        settings.update(extra)
        self.m = mta.MTA(**settings).start()
        self.addCleanup(self.m.cleanup)

    def deliver_one(self):
        with self.m.smtp() as s:
            s.sendmail("bob@localhost", ["alice@localhost"],
                       "Subject: hi\r\n\r\nhi\r\n")
        return self.m.wait_messages("alice", 1)[0].decode()

    def test_forward_confirmed_name(self):
        self.start({"1.0.0.127.in-addr.arpa": [("PTR", "client.test.example",
                                                300)],
                    "client.test.example": [("A", "127.0.0.1", 300)]})
        raw = self.deliver_one()
        self.assertIn("(client.test.example [127.0.0.1])", raw)
        self.m.wait_log(r"connect from client\.test\.example\[127\.0\.0\.1\]")

    def test_name_that_does_not_point_back_is_unknown(self):
        self.start({"1.0.0.127.in-addr.arpa": [("PTR", "liar.test.example",
                                                300)],
                    "liar.test.example": [("A", "192.0.2.1", 300)]})
        raw = self.deliver_one()
        self.assertIn("(unknown [127.0.0.1])", raw)
        self.assertNotIn("liar", self.m.log_text())

    def test_no_ptr_is_unknown(self):
        self.start({})
        raw = self.deliver_one()
        self.assertIn("(unknown [127.0.0.1])", raw)

    def test_silent_dns_costs_at_most_the_timeout(self):
        # a nameserver address where nobody answers
        self.start({}, resolver_nameservers="127.0.0.1:%d" % mta.free_port(),
                   smtpd_client_lookup_timeout="1s")
        t = time.time()
        with self.m.smtp() as s:
            self.assertEqual(s.noop()[0], 250)
        self.assertLess(time.time() - t, 10)
        self.m.wait_log(r"connect from unknown\[127\.0\.0\.1\]")


if __name__ == "__main__":
    unittest.main()


class Stats(unittest.TestCase):
    def test_resolver_counters_in_mtactl_stats(self):
        import json
        dns = DNSServer({"1.0.0.127.in-addr.arpa": [("PTR", "c.test", 300)],
                         "c.test": [("A", "127.0.0.1", 300)]})
        self.addCleanup(dns.stop)
        m = mta.MTA(resolver_nameservers="127.0.0.1:%d" % dns.port,
                    smtpd_client_lookup_timeout="2s").start()
        self.addCleanup(m.cleanup)
        for _ in range(2):  # the second session's lookups hit the cache
            with m.smtp() as s:
                s.noop()
        st = json.loads(m.ctl("stats", "--json").stdout)["resolver"]
        self.assertEqual(st["misses"], 2)  # PTR and A, once each
        self.assertGreaterEqual(st["hits"], 2)
        self.assertGreaterEqual(st["entries"], 2)
        out = m.ctl("stats").stdout
        self.assertRegex(out, r"resolver: hits=\d+ misses=2 entries=\d+")
        self.assertIn("queue:", out)
        m.stop()
        p = m.ctl("stats", check=False)
        self.assertEqual(p.returncode, 69)

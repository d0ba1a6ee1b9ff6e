"""test_remote_reuse.py - remote(8) keeps an SMTP connection open after a
healthy session (RSET instead of QUIT) and sends the next message for the
same MX host and address over it (issue 8: connection reuse).

One instance relays through the DNS server on loopback to sinks on
127.0.0.4x that keep each connection's commands apart: several messages
go over fewer connections than messages, with conn_use=N in the delivery
line; an idle connection is closed with QUIT when
remote_connection_reuse_time runs out; a peer that closes an idle
connection, or drops it at the next MAIL, costs a fresh connection and
never a deferral; STARTTLS connections are reused too.  A second instance
with remote_connection_reuse_time = 0 uses one connection per message.
"""
import os
import re
import time
import unittest

from mta import MTA, free_port, wait_for
from remote_helpers import DNSServer
from sink_helpers import reuse_sink
import tls_helpers as th

SINKS = {"many.test": "127.0.0.41", "closer.test": "127.0.0.42",
         "dropper.test": "127.0.0.43", "off.test": "127.0.0.44",
         "tls.test": "127.0.0.45"}


class RemoteReuse(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = port = free_port()
        zone = {}
        for dom, addr in SINKS.items():
            zone[dom] = [("MX", "10 mx." + dom, 300)]
            zone["mx." + dom] = [("A", addr, 300)]
        cls.dns = DNSServer(zone)
        common = dict(resolver_nameservers="127.0.0.1:%d" % cls.dns.port,
                      smtp_port=str(port), smtp_connect_timeout="5s",
                      smtp_helo_timeout="10s")
        cls.src = MTA(remote_connection_reuse_time="2s", **common)
        cls.off = MTA(remote_connection_reuse_time="0", **common)
        pki = os.path.join(cls.src.dir, "pki")
        os.mkdir(pki)
        th.make_ca(pki)
        cert, key = th.make_cert(pki, "tls", "mx.tls.test")
        cls.sinks = {
            "many.test": reuse_sink(SINKS["many.test"], port),
            "closer.test": reuse_sink(SINKS["closer.test"], port,
                                      close_after_rset=True),
            "dropper.test": reuse_sink(SINKS["dropper.test"], port,
                                       drop_second_mail=True),
            "off.test": reuse_sink(SINKS["off.test"], port),
            "tls.test": reuse_sink(SINKS["tls.test"], port, cert, key),
        }
        cls.src.start()
        cls.off.start()

    @classmethod
    def tearDownClass(cls):
        cls.src.cleanup()
        cls.off.cleanup()
        for s in cls.sinks.values():
            s.stop()
        cls.dns.stop()

    def relay(self, mta, dom, n):
        """n messages to dom, each sent once the one before arrived (so
        that each request finds the connection the one before left);
        the recipients in order."""
        sink = self.sinks[dom]
        base = len(sink.messages)
        rcpts = []
        for i in range(n):
            rcpt = "u%d-%d@%s" % (i, int(time.time() * 1000) % 100000, dom)
            rcpts.append(rcpt)
            with mta.smtp() as s:
                s.sendmail("alice@localhost", [rcpt],
                           b"Subject: reuse %d\r\n\r\nbody %d\r\n" % (i, i))
            wait_for(lambda: len(sink.messages) >= base + i + 1,
                     what="message %d at the sink for %s" % (i, dom))
        for r in rcpts:
            mta.wait_log(r"to=<%s>, relay=mx\.%s\[%s\]:%d, [^\n]*"
                         r"status=sent" % (re.escape(r), re.escape(dom),
                                           re.escape(SINKS[dom]), self.port))
        return rcpts

    def line(self, mta, rcpt):
        return mta.wait_log(r"to=<%s>, [^\n]*" % re.escape(rcpt)).group(0)

    def test_several_messages_over_fewer_connections(self):
        sink = self.sinks["many.test"]
        rcpts = self.relay(self.src, "many.test", 5)
        self.assertEqual(len(sink.messages), 5)
        self.assertLess(len(sink.sessions), 5, sink.sessions)
        self.assertGreaterEqual(sink.count("RSET"), 5 - len(sink.sessions))
        uses = [re.search(r"conn_use=(\d+)", self.line(self.src, r))
                for r in rcpts]
        self.assertIsNone(uses[0])  # the first message opened it
        self.assertTrue(any(u and int(u.group(1)) >= 2 for u in uses),
                        [self.line(self.src, r) for r in rcpts])
        # conn_use sits after relay=, as in Postfix
        self.assertRegex(self.src.log_text(),
                         r"to=<[^>]+@many\.test>, relay=mx\.many\.test"
                         r"\[127\.0\.0\.41\]:%d, conn_use=\d+, delay=" %
                         self.port)
        # one greeting and EHLO per connection, not per message
        self.assertEqual(sink.count("EHLO"), len(sink.sessions))
        # idle longer than remote_connection_reuse_time (2s): QUIT
        last = sink.sessions[-1]
        wait_for(lambda: last["closed"], timeout=15,
                 what="the idle connection to be closed")
        self.assertEqual(last["commands"][-2:], ["RSET", "QUIT"])

    def test_peer_closing_idle_connection_costs_no_deferral(self):
        sink = self.sinks["closer.test"]
        rcpts = self.relay(self.src, "closer.test", 3)
        self.assertEqual(len(sink.messages), 3)
        self.assertEqual(len(sink.sessions), 3)
        for r in rcpts:
            self.assertIn("status=sent", self.line(self.src, r))
        self.assertNotRegex(self.src.log_text(),
                            r"@closer\.test>.*status=deferred")

    def test_peer_dropping_at_mail_is_retried_on_fresh_connection(self):
        sink = self.sinks["dropper.test"]
        rcpts = self.relay(self.src, "dropper.test", 3)
        self.assertEqual(len(sink.messages), 3)
        self.assertEqual([m["rcpt"] for m in sink.messages],
                         [[r] for r in rcpts])
        for r in rcpts:
            self.assertIn("status=sent", self.line(self.src, r))
        self.assertNotRegex(self.src.log_text(),
                            r"@dropper\.test>.*status=deferred")
        # at least one request found its cached connection dead at MAIL
        # and went on over a new one
        self.src.wait_log(r"cached connection to mx\.dropper\.test"
                          r"\[127\.0\.0\.43\]:%d was closed \([^\n]*\); "
                          r"connecting again" % self.port)
        # each kept connection got its RSET, then died at the next MAIL
        self.assertEqual(len(sink.sessions), 3)
        for sess in sink.sessions[:2]:
            self.assertEqual(sess["commands"][-2:],
                             ["RSET", "MAIL FROM:<alice@localhost>"])

    def test_reuse_off_with_zero(self):
        sink = self.sinks["off.test"]
        rcpts = self.relay(self.off, "off.test", 3)
        self.assertEqual(len(sink.sessions), 3)
        self.assertEqual(sink.count("RSET"), 0)
        wait_for(lambda: all(s["closed"] for s in sink.sessions),
                 what="every connection closed")
        for s in sink.sessions:
            self.assertEqual(s["commands"][-1], "QUIT")
        for r in rcpts:
            self.assertNotIn("conn_use=", self.line(self.off, r))

    def test_tls_connection_reused(self):
        sink = self.sinks["tls.test"]
        self.relay(self.src, "tls.test", 4)
        self.assertEqual(len(sink.messages), 4)
        self.assertTrue(all(m["tls"] for m in sink.messages), sink.messages)
        self.assertLess(len(sink.sessions), 4)
        self.assertEqual(sink.count("STARTTLS"), len(sink.sessions))
        self.assertEqual(len(re.findall(
            r"TLS connection established to mx\.tls\.test",
            self.src.log_text())), len(sink.sessions))


if __name__ == "__main__":
    unittest.main()

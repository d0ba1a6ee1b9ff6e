"""test_remote.py - relaying to other domains: resolver(8) and remote(8).

A DNS server on loopback (remote_helpers.DNSServer) serves the zones; the
peers are SMTP sinks with scripted replies, or a second instance of this
system, on 127.0.0.x addresses sharing one port (smtp_port).  Each test
hands remote a request as qmgr does and checks the answers per
recipient, what the peer received and the log lines.
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import unittest

from mta import MTA, free_port, wait_for
from remote_helpers import (DNSServer, remote_request, resolver_request,
                            write_queue_file)
from sink_helpers import SMTPSink

ZONE = {
    # preference 10 is down, 20 answers
    "fallback.test": [("MX", "10 down.fallback.test", 300),
                      ("MX", "20 up.fallback.test", 300)],
    "down.fallback.test": [("A", "127.0.0.2", 300)],
    "up.fallback.test": [("A", "127.0.0.3", 300)],
    # no MX: the A record is the implicit MX
    "implicit.test": [("A", "127.0.0.3", 300)],
    "nullmx.test": [("MX", "0 .", 300)],
    "loop.test": [("MX", "10 mx.test.example", 300)],
    "cname.test": [("MX", "10 alias.cname.test", 300)],
    "alias.cname.test": [("CNAME", "real.cname.test", 300)],
    "real.cname.test": [("A", "127.0.0.3", 300)],
    "tcp.test": [("MX", "10 up.fallback.test", 300)],
    "greet421.test": [("MX", "10 busy.greet421.test", 300),
                      ("MX", "20 up.fallback.test", 300)],
    "busy.greet421.test": [("A", "127.0.0.4", 300)],
    "picky.test": [("MX", "10 picky.picky.test", 300)],
    "picky.picky.test": [("A", "127.0.0.5", 300)],
    "tempmail.test": [("MX", "10 tm.tempmail.test", 300)],
    "tm.tempmail.test": [("A", "127.0.0.6", 300)],
    "slow.test": [("MX", "10 slow.slow.test", 300)],
    "slow.slow.test": [("A", "127.0.0.7", 300)],
    "helo.test": [("MX", "10 old.helo.test", 300)],
    "old.helo.test": [("A", "127.0.0.8", 300)],
    "dest.test": [("MX", "10 mx.dest.test", 300)],
    "mx.dest.test": [("A", "127.0.0.9", 300)],
    "small.test": [("MX", "10 mx.small.test", 300)],
    "mx.small.test": [("A", "127.0.0.10", 300)],
    # both families: IPv6 is tried first, and refused here, then IPv4
    "dual.test": [("MX", "10 mx.dual.test", 300)],
    "mx.dual.test": [("AAAA", "::1", 300), ("A", "127.0.0.3", 300)],
    "six.test": [("MX", "10 mx.six.test", 300)],
    "mx.six.test": [("AAAA", "::1", 300)],
    "3.0.0.127.in-addr.arpa": [("PTR", "up.fallback.test", 300)],
    "badmx.test": [("MX", "10 gone.badmx.test", 300)],
    "noaddr.test": [("TXT", "exists, but no MX and no address", 300)],
    "txt.test": [("TXT", "v=spf1 -all", 300), ("AAAA", "::1", 60)],
    # a 4xx from the first MX: the backup MX gets those recipients
    "grey.test": [("MX", "10 mx1.grey.test", 300),
                  ("MX", "20 up.fallback.test", 300)],
    "mx1.grey.test": [("A", "127.0.0.11", 300)],
    "busymail.test": [("MX", "10 tm.tempmail.test", 300),
                      ("MX", "20 up.fallback.test", 300)],
    "fulldata.test": [("MX", "10 mx1.fulldata.test", 300),
                      ("MX", "20 up.fallback.test", 300)],
    "mx1.fulldata.test": [("A", "127.0.0.12", 300)],
}

BODY = (b"Subject: relay test\nFrom: <a@here.test>\n\nline one\n"
        b".leading dot\n..two dots\nlast\n")


class RemoteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = DNSServer(ZONE, servfail={"servfail.test"},
                            truncate={"tcp.test"}, secure={"txt.test"})
        cls.port = free_port()
        cls.sinks = {
            "127.0.0.3": SMTPSink("127.0.0.3", cls.port),
            "127.0.0.4": SMTPSink("127.0.0.4", cls.port,
                                  greeting="421 4.3.2 busy, try later"),
            "127.0.0.5": SMTPSink(
                "127.0.0.5", cls.port, replies={
                    "RCPT": lambda a: "550 5.1.1 <%s>: no such user" % a
                    if a.startswith("bad") else None}),
            "127.0.0.6": SMTPSink(
                "127.0.0.6", cls.port,
                replies={"MAIL": lambda a: "451 4.3.0 try again later"}),
            "127.0.0.7": SMTPSink("127.0.0.7", cls.port, greet_delay=3),
            "127.0.0.8": SMTPSink(
                "127.0.0.8", cls.port, ehlo=(),
                replies={"EHLO": lambda a: "502 5.5.2 no EHLO here"}),
            "127.0.0.10": SMTPSink("127.0.0.10", cls.port,
                                   ehlo=("SIZE 100", "PIPELINING")),
            "127.0.0.11": SMTPSink(
                "127.0.0.11", cls.port, replies={
                    "RCPT": lambda a:
                    "450 4.2.0 <%s>: greylisted" % a if a.startswith("grey")
                    else "550 5.1.1 <%s>: no such user" % a
                    if a.startswith("bad") else None}),
            "127.0.0.12": SMTPSink("127.0.0.12", cls.port,
                                   data_reply="451 4.3.0 queue full"),
        }
        # transport map: mapped.test goes to a fixed host, no MX lookup
        cls.mapdir = tempfile.mkdtemp(prefix="mta-map-")
        cls.map = os.path.join(cls.mapdir, "transport")
        subprocess.run(["mdb_load", "-n", "-T", "-f", "/dev/stdin",
                        cls.map], check=True,
                       input="mapped.test\n[127.0.0.3]:%d\n" % cls.port,
                       text=True)
        cls.mta = MTA(resolver_nameservers="127.0.0.1:%d" % cls.dns.port,
                      smtp_port=str(cls.port), smtp_helo_timeout="1s",
                      smtp_connect_timeout="2s", resolver_timeout="1s",
                      resolver_retries="0", transport_maps=cls.map,
                      resolver_dnssec_trust_ad="yes").start()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()
        for s in cls.sinks.values():
            s.stop()
        cls.dns.stop()
        shutil.rmtree(cls.mapdir, ignore_errors=True)

    def send(self, rcpts, nexthop, body=BODY, sender="a@here.test",
             **kw):
        RemoteTest.n += 1
        qid = "TQ%04d" % RemoteTest.n
        path = os.path.join(self.mta.dir, qid)
        write_queue_file(path, qid, sender, rcpts, body, **kw)
        return qid, remote_request(self.mta, path, qid, sender, rcpts,
                                   nexthop)

    def line(self, qid, rcpt):
        m = self.mta.wait_log(r"%s: to=<%s>, relay=[^\n]*" %
                              (qid, re.escape(rcpt)))
        return m.group(0)

    def test_second_mx_when_first_is_down(self):
        sink = self.sinks["127.0.0.3"]
        before = len(sink.messages)
        qid, ans = self.send(["bob@fallback.test"], "fallback.test")
        self.assertEqual(ans[0]["code"], "2", ans)
        self.assertEqual(ans[0]["dsn"], "2.0.0")
        self.assertIn("250 2.0.0 Ok: queued as SINK1", ans[0]["text"])
        self.assertEqual(ans[0]["mta"], "up.fallback.test")
        msg = sink.messages[before]
        # CRLF line ends, dot-stuffed on the wire (the sink keeps it raw)
        self.assertIn(b"\r\n..leading dot\r\n...two dots\r\nlast\r\n",
                      msg["data"])
        self.assertEqual(msg["rcpt"], ["bob@fallback.test"])
        log = self.line(qid, "bob@fallback.test")
        self.assertIn("relay=up.fallback.test[127.0.0.3]:%d" % self.port,
                      log)
        self.assertRegex(log, r"delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, "
                         r"dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok")
        self.assertRegex(self.mta.log_text(), qid + r": connect to "
                         r"down\.fallback\.test\[127\.0\.0\.2\]")

    def test_implicit_mx(self):
        qid, ans = self.send(["c@implicit.test"], "implicit.test")
        self.assertEqual(ans[0]["code"], "2", ans)
        self.assertIn("relay=implicit.test[127.0.0.3]",
                      self.line(qid, "c@implicit.test"))

    def test_null_mx_bounces_at_once(self):
        qid, ans = self.send(["x@nullmx.test"], "nullmx.test")
        self.assertEqual((ans[0]["code"], ans[0]["dsn"]), ("5", "5.1.10"))
        self.assertIn("does not accept mail (nullMX)", ans[0]["text"])
        self.assertIn("relay=none", self.line(qid, "x@nullmx.test"))
        self.assertIn("status=bounced", self.line(qid, "x@nullmx.test"))

    def test_nxdomain_bounces(self):
        qid, ans = self.send(["x@nowhere.test"], "nowhere.test")
        self.assertEqual((ans[0]["code"], ans[0]["dsn"]), ("5", "5.1.2"))
        self.assertIn("Host or domain name not found", ans[0]["text"])

    def test_no_mx_and_no_address_bounces(self):
        qid, ans = self.send(["x@noaddr.test"], "noaddr.test")
        self.assertEqual((ans[0]["code"], ans[0]["dsn"]), ("5", "5.4.4"))
        self.assertIn("type=A: Host found but no data record", ans[0]["text"])

    def test_mx_host_not_found_defers(self):
        qid, ans = self.send(["x@badmx.test"], "badmx.test")
        self.assertEqual((ans[0]["code"], ans[0]["dsn"]), ("4", "4.4.3"))
        self.assertIn("name=gone.badmx.test type=A: Host not found",
                      ans[0]["text"])

    def test_servfail_defers(self):
        qid, ans = self.send(["x@servfail.test"], "servfail.test")
        self.assertEqual((ans[0]["code"], ans[0]["dsn"]), ("4", "4.4.3"))
        self.assertIn("SERVFAIL", ans[0]["text"])
        self.assertIn("status=deferred", self.line(qid, "x@servfail.test"))

    def test_mx_pointing_at_us_is_a_loop(self):
        qid, ans = self.send(["x@loop.test"], "loop.test")
        self.assertEqual((ans[0]["code"], ans[0]["dsn"]), ("5", "5.4.6"))
        self.assertIn("loops back to myself", ans[0]["text"])

    def test_cname_mx_target(self):
        qid, ans = self.send(["x@cname.test"], "cname.test")
        self.assertEqual(ans[0]["code"], "2", ans)
        self.assertIn("relay=alias.cname.test[127.0.0.3]",
                      self.line(qid, "x@cname.test"))

    def test_truncated_answer_retried_over_tcp(self):
        qid, ans = self.send(["x@tcp.test"], "tcp.test")
        self.assertEqual(ans[0]["code"], "2", ans)
        self.assertGreaterEqual(self.dns.count("tcp.test", "MX"), 2)

    def test_421_greeting_tries_next_mx(self):
        qid, ans = self.send(["x@greet421.test"], "greet421.test")
        self.assertEqual(ans[0]["code"], "2", ans)
        self.assertGreaterEqual(len(self.sinks["127.0.0.4"].sessions), 1)
        self.assertRegex(self.mta.log_text(), qid + r": host busy\.greet421"
                         r"\.test\[127\.0\.0\.4\] refused to talk to me: "
                         r"421 4\.3\.2 busy")

    def test_per_recipient_results_and_dsn(self):
        rcpts = ["good@picky.test", "bad@picky.test", "also@picky.test"]
        qid, ans = self.send(rcpts, "picky.test", dsn={
            0: ("rfc822;good+x=y@picky.test", "SUCCESS,FAILURE")})
        self.assertEqual([ans[i]["code"] for i in range(3)],
                         ["2", "5", "2"], ans)
        self.assertEqual(ans[1]["dsn"], "5.1.1")
        self.assertIn("host picky.picky.test[127.0.0.5] said: 550 5.1.1 "
                      "<bad@picky.test>: no such user (in reply to RCPT TO "
                      "command)", ans[1]["text"])
        self.assertIn("status=bounced", self.line(qid, "bad@picky.test"))
        sink = self.sinks["127.0.0.5"]
        self.assertIn("RCPT TO:<good@picky.test> NOTIFY=SUCCESS,FAILURE "
                      "ORCPT=rfc822;good+2Bx+3Dy@picky.test", sink.commands)
        self.assertTrue(any(c.startswith("MAIL FROM:<a@here.test> SIZE=")
                            for c in sink.commands))

    def test_more_than_fifty_recipients_split(self):
        sink = self.sinks["127.0.0.5"]
        before = len(sink.messages)
        rcpts = ["u%d@picky.test" % i for i in range(120)]
        qid, ans = self.send(rcpts, "picky.test")
        self.assertEqual(sorted(set(a["code"] for a in ans.values())), ["2"])
        self.assertEqual([len(m["rcpt"]) for m in sink.messages[before:]],
                         [50, 50, 20])

    def test_4xx_mail_from_defers_with_peer_text(self):
        qid, ans = self.send(["a@tempmail.test", "b@tempmail.test"],
                             "tempmail.test")
        for i in (0, 1):
            self.assertEqual((ans[i]["code"], ans[i]["dsn"]), ("4", "4.3.0"))
            self.assertIn("451 4.3.0 try again later (in reply to MAIL "
                          "FROM command)", ans[i]["text"])

    def test_4xx_tries_next_mx_per_recipient(self):
        # Postfix's behaviour: a server's 4xx leaves the recipient for the
        # next MX in the same attempt; 2xx and 5xx are final where given
        up = self.sinks["127.0.0.3"]
        before = len(up.messages)
        rcpts = ["grey1@grey.test", "ok@grey.test", "bad@grey.test"]
        qid, ans = self.send(rcpts, "grey.test")
        self.assertEqual([ans[i]["code"] for i in range(3)], ["2", "2", "5"],
                         ans)
        self.assertEqual(ans[0]["mta"], "up.fallback.test")
        self.assertEqual(ans[1]["mta"], "mx1.grey.test")
        self.assertEqual(ans[2]["mta"], "mx1.grey.test")
        self.assertEqual([m["rcpt"] for m in up.messages[before:]],
                         [["grey1@grey.test"]])
        self.assertIn("relay=up.fallback.test[127.0.0.3]:%d" % self.port,
                      self.line(qid, "grey1@grey.test"))
        self.assertIn("relay=mx1.grey.test[127.0.0.11]:%d" % self.port,
                      self.line(qid, "ok@grey.test"))
        self.assertIn("status=bounced", self.line(qid, "bad@grey.test"))

    def test_4xx_mail_and_data_try_next_mx(self):
        for dom, first in (("busymail.test", "127.0.0.6"),
                           ("fulldata.test", "127.0.0.12")):
            up = self.sinks["127.0.0.3"]
            before = len(up.messages)
            tried = len(self.sinks[first].sessions)
            qid, ans = self.send(["x@" + dom], dom)
            self.assertEqual(ans[0]["code"], "2", (dom, ans))
            self.assertEqual(len(self.sinks[first].sessions), tried + 1)
            self.assertEqual(up.messages[before]["rcpt"], ["x@" + dom])

    def test_mx_session_limit_keeps_first_answer(self):
        # one session allowed: the first MX's 4xx is the result, with its
        # text, and the backup is not contacted
        up = self.sinks["127.0.0.3"]
        mta = MTA(resolver_nameservers="127.0.0.1:%d" % self.dns.port,
                  smtp_port=str(self.port), smtp_helo_timeout="1s",
                  smtp_connect_timeout="2s", resolver_timeout="1s",
                  resolver_retries="0", smtp_mx_session_limit="1").start()
        try:
            before = len(up.messages)
            path = os.path.join(mta.dir, "LIM1")
            write_queue_file(path, "LIM1", "a@here.test",
                             ["grey2@grey.test"], BODY)
            ans = remote_request(mta, path, "LIM1", "a@here.test",
                                 ["grey2@grey.test"], "grey.test")
            self.assertEqual((ans[0]["code"], ans[0]["dsn"]),
                             ("4", "4.2.0"), ans)
            self.assertIn("450 4.2.0 <grey2@grey.test>: greylisted",
                          ans[0]["text"])
            self.assertEqual(len(up.messages), before)
        finally:
            mta.cleanup()

    def test_slow_greeting_times_out_and_defers(self):
        qid, ans = self.send(["x@slow.test"], "slow.test")
        self.assertEqual(ans[0]["code"], "4", ans)
        self.assertIn("conversation timed out", ans[0]["text"])

    def test_helo_fallback(self):
        sink = self.sinks["127.0.0.8"]
        qid, ans = self.send(["x@helo.test"], "helo.test")
        self.assertEqual(ans[0]["code"], "2", ans)
        self.assertIn("HELO mx.test.example", sink.commands)
        # no extensions offered: plain MAIL FROM
        self.assertIn("MAIL FROM:<a@here.test>", sink.commands)

    def test_literal_route_skips_mx(self):
        qid, ans = self.send(["x@whatever.test"], "[127.0.0.3]:%d" %
                             self.port)
        self.assertEqual(ans[0]["code"], "2", ans)
        self.assertIn("relay=127.0.0.3[127.0.0.3]:%d" % self.port,
                      self.line(qid, "x@whatever.test"))

    def test_transport_map_route(self):
        qid, ans = self.send(["x@mapped.test"], "mapped.test")
        self.assertEqual(ans[0]["code"], "2", ans)
        self.assertIn("relay=127.0.0.3[127.0.0.3]:%d" % self.port,
                      self.line(qid, "x@mapped.test"))
        self.assertEqual(self.dns.count("mapped.test", "MX"), 0)

    def test_size_over_peer_limit_bounces_before_mail(self):
        sink = self.sinks["127.0.0.10"]
        qid, ans = self.send(["x@small.test"], "small.test", body=BODY * 2)
        self.assertEqual((ans[0]["code"], ans[0]["dsn"]), ("5", "5.3.4"))
        self.assertIn("exceeds size limit 100", ans[0]["text"])
        self.assertFalse(any(c.startswith("MAIL") for c in sink.commands))

    def test_utf8_address_needs_smtputf8(self):
        qid, ans = self.send(["j\u00fcrgen@helo.test"], "helo.test")
        self.assertEqual((ans[0]["code"], ans[0]["dsn"]), ("5", "5.6.7"))
        rcpt = "j\u00fcrgen@picky.test"
        qid, ans = self.send([rcpt], "picky.test")
        self.assertEqual(ans[0]["code"], "2", ans)
        self.assertIn("MAIL FROM:<a@here.test> SIZE=%d SMTPUTF8" %
                      (len(BODY) + BODY.count(b"\n")),  # CRLF: RFC 1870 4
                      self.sinks["127.0.0.5"].commands)

    def test_ipv6_then_ipv4(self):
        # nothing listens on [::1]:port yet: IPv6 fails, IPv4 delivers
        qid, ans = self.send(["x@dual.test"], "dual.test")
        self.assertEqual(ans[0]["code"], "2", ans)
        self.assertRegex(self.mta.log_text(), qid + r": connect to "
                         r"mx\.dual\.test\[::1\]:\d+: Connection refused")
        self.assertIn("relay=mx.dual.test[127.0.0.3]",
                      self.line(qid, "x@dual.test"))

    @unittest.skipUnless(socket.has_ipv6, "no IPv6")
    def test_ipv6_peer(self):
        try:
            sink = SMTPSink("::1", self.port)
        except OSError as e:
            self.skipTest("cannot listen on [::1]: %s" % e)
        try:
            qid, ans = self.send(["x@six.test"], "six.test")
            self.assertEqual(ans[0]["code"], "2", ans)
            self.assertEqual(len(sink.messages), 1)
            self.assertIn("relay=mx.six.test[::1]:%d" % self.port,
                          self.line(qid, "x@six.test"))
        finally:
            sink.stop()

    def test_8bit_body(self):
        body = "Subject: caf\u00e9\n\ncr\u00e8me\n".encode()
        qid, ans = self.send(["e@picky.test"], "picky.test", body=body,
                             body_type="8BITMIME")
        self.assertEqual(ans[0]["code"], "2", ans)
        self.assertIn("MAIL FROM:<a@here.test> SIZE=%d BODY=8BITMIME"
                      % (len(body) + body.count(b"\n")), self.sinks["127.0.0.5"].commands)
        # a peer without 8BITMIME does not get 8-bit data (RFC 6152 3):
        # it bounces (smtp_send_8bit_anyway = no, test_rfc_remote.py)
        before = len(self.sinks["127.0.0.8"].messages)
        qid, ans = self.send(["e@helo.test"], "helo.test", body=body,
                             body_type="8BITMIME")
        self.assertEqual((ans[0]["code"], ans[0]["dsn"]), ("5", "5.6.3"),
                         ans)
        self.assertEqual(len(self.sinks["127.0.0.8"].messages), before)

    def test_long_lines_broken(self):
        # RFC 5321 4.5.3.1.6: at most 998 octets before CRLF; remote breaks
        # longer lines with CRLF SPACE (smtp_line_length_limit = 998)
        long_hdr = b"X-Long: " + b"h" * 1500
        long_body = b"." + b"b" * 2500
        body = (b"Subject: long lines\n" + long_hdr + b"\n\n" + long_body +
                b"\nshort\n")
        qid, ans = self.send(["long@picky.test"], "picky.test", body=body)
        self.assertEqual(ans[0]["code"], "2", ans)
        data = self.sinks["127.0.0.5"].messages[-1]["data"]
        lines = data.split(b"\r\n")
        # (a doubled dot is transparency, not counted: RFC 5321 4.5.3.1.6)
        self.assertLessEqual(max(len(l) - l.startswith(b"..")
                                 for l in lines), 998)
        # the receiver's view: continuation lines, nothing lost or reordered
        self.assertEqual(data.replace(b"\r\n ", b""),
                         body.replace(b"\n.", b"\n..")
                         .replace(b"\n", b"\r\n"))
        self.assertIn(b"\r\n " + b"h" * 10, data)  # header folded
        self.assertTrue(any(l.startswith(b"..b") and len(l) == 999
                            for l in lines))

    def test_resolver_answers_and_cache(self):
        r = resolver_request(self.mta, [("req", "query"), ("type", "TXT"),
                                        ("name", "txt.test")])
        self.assertEqual((r["status"], r["rr"]), ("ok", ["v=spf1 -all"]))
        self.assertEqual(r["ad"], "1")
        r = resolver_request(self.mta, [("req", "query"), ("type", "AAAA"),
                                        ("name", "TXT.test")])
        self.assertEqual(r["rr"], ["::1"])
        self.assertEqual(r["ttl"], "60")
        r = resolver_request(self.mta, [("req", "query"), ("type", "MX"),
                                        ("name", "txt.test")])
        self.assertEqual(r["status"], "nodata")
        r = resolver_request(self.mta, [("req", "query"), ("type", "A"),
                                        ("name", "none.test")])
        self.assertEqual((r["status"], r["ad"]), ("nxdomain", "0"))
        r = resolver_request(self.mta, [("req", "query"), ("type", "PTR"),
                                        ("name", "127.0.0.3")])
        self.assertEqual(r["rr"], ["up.fallback.test"])
        r = resolver_request(self.mta, [("req", "query"), ("type", "SPF"),
                                        ("name", "txt.test")])
        self.assertEqual((r["status"], r["text"]), ("tempfail", "bad query"))
        n = self.dns.count("txt.test", "TXT")
        before = resolver_request(self.mta, [("req", "stats")])
        for _ in range(3):
            r = resolver_request(self.mta, [("req", "query"),
                                            ("type", "TXT"),
                                            ("name", "txt.test")])
            self.assertEqual(r["status"], "ok")
        after = resolver_request(self.mta, [("req", "stats")])
        # one resolver process in this test: its cache took all three
        self.assertEqual(self.dns.count("txt.test", "TXT"), n)
        self.assertEqual(int(after["hits"]) - int(before["hits"]), 3)


class Relayhost(unittest.TestCase):
    """relayhost sends every domain to one host, without MX lookups."""

    def test_relayhost(self):
        dns = DNSServer({})
        port = free_port()
        sink = SMTPSink("127.0.0.3", port)
        mta = MTA(resolver_nameservers="127.0.0.1:%d" % dns.port,
                  relayhost="[127.0.0.3]:%d" % port).start()
        try:
            path = os.path.join(mta.dir, "q1")
            write_queue_file(path, "RH1", "a@here.test", ["z@far.test"],
                             BODY)
            ans = remote_request(mta, path, "RH1", "a@here.test",
                                 ["z@far.test"], "far.test")
            self.assertEqual(ans[0]["code"], "2", ans)
            self.assertEqual(sink.messages[0]["rcpt"], ["z@far.test"])
            self.assertEqual(dns.queries, [])
            mta.wait_log(r"RH1: to=<z@far\.test>, relay=127\.0\.0\.3"
                         r"\[127\.0\.0\.3\]:%d" % port)
        finally:
            mta.cleanup()
            sink.stop()
            dns.stop()


class RelayToSecondInstance(unittest.TestCase):
    """remote delivers to another instance of this system, found by MX."""

    def test_relay_to_second_instance(self):
        dns = DNSServer(ZONE)
        port = free_port()
        dest = MTA(smtpd_listen="127.0.0.9:%d" % port,
                   mydestination="dest.test", myhostname="mx.dest.test")
        dest.port = port
        src = MTA(resolver_nameservers="127.0.0.1:%d" % dns.port,
                  smtp_port=str(port))
        try:
            dest.ctl("start")
            wait_for(lambda: _accepting("127.0.0.9", port),
                     what="second instance")
            src.start()
            path = os.path.join(src.dir, "q1")
            write_queue_file(path, "RQ1", "a@here.test", ["carol@dest.test"],
                             BODY)
            ans = remote_request(src, path, "RQ1", "a@here.test",
                                 ["carol@dest.test"], "dest.test")
            self.assertEqual(ans[0]["code"], "2", ans)
            msgs = dest.wait_messages("carol", 1, domain="dest.test")
            self.assertIn(b"\n.leading dot\n..two dots\nlast\n", msgs[0])
            self.assertIn(b"Subject: relay test", msgs[0])
            src.wait_log(r"RQ1: to=<carol@dest\.test>, relay=mx\.dest\.test"
                         r"\[127\.0\.0\.9\]:%d, .*status=sent \(250 2\.0\.0"
                         % port)
        finally:
            src.cleanup()
            dest.cleanup()
            dns.stop()


def _accepting(addr, port):
    try:
        socket.create_connection((addr, port), 1).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()

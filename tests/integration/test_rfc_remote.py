"""test_rfc_remote.py - remote(8), the SMTP client, against the RFCs, as
an outside conformance checker would probe it: a scripted peer
(rfc_peer.py) answers as the test says and records what the client
sent.  Each test names the RFC section it holds remote to.

remote is driven directly through private/remote, as qmgr does
(remote_helpers.remote_request), with the nexthop "[127.0.0.1]:port".
"""
import os
import re
import unittest

from mta import MTA
from remote_helpers import DNSServer, remote_request, write_queue_file
from rfc_peer import Peer

BODY = (b"Subject: rfc test\nFrom: <a@here.test>\n\n"
        b"line one\n.leading dot\n..two dots\nlast line\n")
WIRE = len(BODY) + BODY.count(b"\n")  # its size with CRLF (RFC 1870 4)


class RemoteRFC(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = DNSServer({})
        cls.mta = MTA(resolver_nameservers="127.0.0.1:%d" % cls.dns.port,
                      smtp_helo_timeout="5s", smtp_connect_timeout="2s",
                      remote_connection_reuse_time="0").start()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()
        cls.dns.stop()

    def setUp(self):
        self.peers = []

    def tearDown(self):
        for p in self.peers:
            p.stop()

    def peer(self, **kw):
        p = Peer(**kw)
        self.peers.append(p)
        return p

    def send(self, peer, rcpts=("x@far.test",), body=BODY, **kw):
        RemoteRFC.n += 1
        qid = "RFC%04d" % RemoteRFC.n
        path = os.path.join(self.mta.dir, qid)
        write_queue_file(path, qid, "a@here.test", list(rcpts), body, **kw)
        return remote_request(self.mta, path, qid, "a@here.test",
                              list(rcpts), "[127.0.0.1]:%d" % peer.port)

    # -- RFC 5321 -----------------------------------------------------
    def test_session_ends_with_quit(self):
        """RFC 5321 4.1.1.10 / 3.3: a successful session ends with QUIT
        after the 250 to the data; the message is dot-stuffed with CRLF
        line ends (4.5.2) and the final dot comes after a CRLF."""
        p = self.peer()
        ans = self.send(p, body=BODY + b"no newline at the end")
        self.assertEqual(ans[0]["code"], "2", ans)
        sess = p.wait_closed()[0]
        self.assertEqual(sess["commands"][-1], "QUIT")
        self.assertEqual(sess["data"],
                         b"Subject: rfc test\r\nFrom: <a@here.test>\r\n\r\n"
                         b"line one\r\n..leading dot\r\n...two dots\r\n"
                         b"last line\r\nno newline at the end\r\n")

    def test_ehlo_refused_helo_fallback(self):
        """RFC 5321 4.1.4 / 3.2: a server that does not know EHLO says
        500 (or 502); the client falls back to HELO and then sends no
        ESMTP parameter."""
        p = self.peer(answer=lambda c, _: "500 5.5.1 what?"
                      if c.startswith("EHLO") else None)
        ans = self.send(p)
        self.assertEqual(ans[0]["code"], "2", ans)
        cmds = p.wait_closed()[0]["commands"]
        self.assertTrue(cmds[0].startswith("EHLO "), cmds)
        self.assertTrue(cmds[1].startswith("HELO "), cmds)
        self.assertEqual(cmds[2], "MAIL FROM:<a@here.test>")

    def test_421_to_ehlo_no_helo(self):
        """RFC 5321 3.8: 421 means the server closes the channel: the
        client does not go on with HELO, and defers the mail."""
        # the peer leaves the channel open: the client must not use it
        p = self.peer(answer=lambda c, _: [b"421 4.3.2 going down\r\n"]
                      if c.startswith("EHLO") else None)
        ans = self.send(p)
        self.assertEqual(ans[0]["code"], "4", ans)
        cmds = p.wait_closed()[0]["commands"]
        self.assertEqual([c.split()[0] for c in cmds], ["EHLO"])

    def test_554_greeting_then_quit(self):
        """RFC 5321 3.1: a server may answer the connection with 554 and
        then waits for QUIT; the client sends QUIT, not a thing more,
        and the mail is deferred (4.4.2: another MX may take it)."""
        p = self.peer(greeting="554 5.3.2 no service here")
        ans = self.send(p)
        self.assertEqual(ans[0]["code"], "4", ans)
        self.assertIn("554 5.3.2 no service here", ans[0]["text"])
        self.assertEqual(p.wait_closed()[0]["commands"], ["QUIT"])

    def test_421_greeting(self):
        """RFC 5321 3.1 / 4.2.3: 421 at connect is a temporary refusal;
        the recipient is deferred with the peer's text."""
        p = self.peer(greeting="421 4.3.2 busy, try later")
        ans = self.send(p)
        self.assertEqual(ans[0]["code"], "4", ans)
        self.assertIn("421 4.3.2 busy", ans[0]["text"])

    def test_multiline_reply_across_packets(self):
        """RFC 5321 4.2.1: a multiline reply is "code-" lines then
        "code SP"; a reply may come in any number of packets.  The EHLO
        keywords after the split are still seen: SIZE is declared and
        the commands are pipelined (RFC 2920)."""
        ehlo = [b"250-peer.test hi\r\n250-PIPE", b"LINING\r\n250-SI",
                b"ZE 5000\r\n", b"250 8BITMIME\r\n"]
        p = self.peer(answer=lambda c, _: ehlo if c.startswith("EHLO")
                      else [b"250-2.1.0 first", b" line\r\n250 2.1.0 Ok\r\n"]
                      if c.startswith("MAIL") else None)
        ans = self.send(p)
        self.assertEqual(ans[0]["code"], "2", ans)
        sess = p.wait_closed()[0]
        self.assertIn("MAIL FROM:<a@here.test> SIZE=%d" % WIRE,
                      sess["commands"])
        self.assertIn(sess["commands"][1].split()[0], ("MAIL",))
        self.assertIn("MAIL FROM:<a@here.test> SIZE=%d" % WIRE,
                      sess["early"])  # pipelined with RCPT and DATA

    def test_no_pipelining_unless_offered(self):
        """RFC 2920 3.1: a client pipelines only when the server offers
        PIPELINING: each command waits for the reply to the one before."""
        p = self.peer(ehlo=("8BITMIME",))
        ans = self.send(p, rcpts=("x@far.test", "y@far.test"))
        self.assertEqual(ans[0]["code"], "2", ans)
        sess = p.wait_closed()[0]
        self.assertEqual(sess["early"], [], sess)
        self.assertEqual([c.split()[0] for c in sess["commands"]],
                         ["EHLO", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"])

    def test_rcpt_partial_failure(self):
        """RFC 5321 3.3: a refused RCPT fails (5xx) or defers (4xx) only
        that recipient; the others get the data."""
        def answer(c, _):
            if "bad@" in c:
                return "550 5.1.1 no such user"
            if "grey@" in c:
                return "450 4.2.0 greylisted"
            return None
        p = self.peer(answer=answer)
        ans = self.send(p, rcpts=("ok@far.test", "bad@far.test",
                                  "grey@far.test"))
        self.assertEqual([ans[i]["code"] for i in range(3)],
                         ["2", "5", "4"], ans)
        self.assertIn(b"line one", p.wait_closed()[0]["data"])

    def test_552_to_rcpt_is_temporary(self):
        """RFC 5321 4.5.3.1.10: servers long said 552 for "too many
        recipients"; a client treats 552 to RCPT as 452, so the
        recipient is tried again later, not bounced."""
        p = self.peer(answer=lambda c, _: "552 5.5.3 too many recipients"
                      if "two@" in c else None)
        ans = self.send(p, rcpts=("one@far.test", "two@far.test"))
        self.assertEqual(ans[0]["code"], "2", ans)
        self.assertEqual(ans[1]["code"], "4", ans)
        self.assertEqual(ans[1]["dsn"], "4.5.3", ans)
        self.assertIn("552 5.5.3 too many recipients", ans[1]["text"])

    def test_2xx_to_data_is_not_delivery(self):
        """4.1.1.4 / 4.3.2: DATA is answered 354, and only the reply after
        the data reports delivery; a peer that says 250 to DATA itself
        got no message, so the recipient is deferred, not delivered."""
        p = self.peer(answer=lambda c, _: "250 2.0.0 sure"
                      if c == "DATA" else None)
        ans = self.send(p)
        self.assertEqual((ans[0]["code"], ans[0]["dsn"]), ("4", "4.5.0"),
                         ans)
        self.assertIn("250 2.0.0 sure", ans[0]["text"])

    def test_ipv6_address_literal(self):
        """4.1.3 / 5.1: an address literal names the host itself (no MX
        lookup); an IPv6 one carries the "IPv6:" tag, which is not part
        of the address to connect to."""
        try:
            p = self.peer(addr="::1")
        except OSError:
            self.skipTest("no IPv6 loopback")
        RemoteRFC.n += 1
        qid = "RFC%04d" % RemoteRFC.n
        path = os.path.join(self.mta.dir, qid)
        write_queue_file(path, qid, "a@here.test", ["x@[ipv6:::1]"], BODY)
        ans = remote_request(self.mta, path, qid, "a@here.test",
                             ["x@[ipv6:::1]"], "[ipv6:::1]:%d" % p.port)
        self.assertEqual(ans[0]["code"], "2", ans)
        self.assertIn("RCPT TO:<x@[ipv6:::1]>",
                      p.wait_closed()[0]["commands"])

    def test_too_many_recipients_next_transaction(self):
        """4.5.3.1.10 / 4.5.3.1.8: a server out of room for recipients
        answers 452 (or, old style, 552) to the rest; the client sends
        the message to those it took, then the others in a new
        transaction in the same session, and all are delivered."""
        state = {"n": 0}

        def answer(c, _):
            if c.startswith("MAIL"):
                state["n"] = 0
            elif c.startswith("RCPT"):
                state["n"] += 1
                if state["n"] > 2:
                    return ("452 4.5.3 too many recipients" if state["n"] == 3
                            else "552 5.5.3 too many recipients")
            return None
        p = self.peer(answer=answer)
        rcpts = ["r%d@far.test" % i for i in range(5)]
        ans = self.send(p, rcpts=rcpts)
        self.assertEqual([ans[i]["code"] for i in range(5)], ["2"] * 5, ans)
        sessions = p.wait_closed()
        self.assertEqual(len(sessions), 1)
        cmds = sessions[0]["commands"]
        self.assertEqual(sum(1 for c in cmds if c.startswith("MAIL")), 3)
        self.assertEqual(sum(1 for c in cmds if c == "DATA"), 3)

    # -- RFC 1870 SIZE -------------------------------------------------
    def test_size_over_peer_limit_not_sent(self):
        """RFC 1870 6: a client that knows the message is bigger than
        the server's SIZE does not send it: permanent failure 5.3.4, and
        no MAIL command at all."""
        p = self.peer(ehlo=("PIPELINING", "SIZE 100"))
        ans = self.send(p, body=BODY + b"x" * 200 + b"\n")
        self.assertEqual(ans[0]["code"], "5", ans)
        self.assertEqual(ans[0]["dsn"], "5.3.4", ans)
        cmds = p.wait_closed()[0]["commands"]
        self.assertFalse([c for c in cmds if c.startswith("MAIL")], cmds)
        self.assertEqual(cmds[-1], "QUIT")

    def test_size_is_the_octets_sent(self):
        """RFC 1870 4: SIZE= is the number of octets sent after the 354,
        CRLF pairs included (the queue keeps LF line ends), but not the
        dots of dot-stuffing nor the final dot; lines broken at 998
        octets (RFC 5321 4.5.3.1.6) count with their breaks, a last line
        without its LF with the CRLF it is sent with."""
        p = self.peer()
        body = BODY + b"L" * 1500 + b"\n.x\nno final newline"
        ans = self.send(p, body=body)
        self.assertEqual(ans[0]["code"], "2", ans)
        sess = p.wait_closed()[0]
        size = int(re.search(r" SIZE=(\d+)", [c for c in sess["commands"]
                                             if c.startswith("MAIL")][0])
                   .group(1))
        stuffing = sum(1 for line in sess["data"].split(b"\r\n")
                       if line.startswith(b".."))
        self.assertEqual(stuffing, 3)
        self.assertEqual(size, len(sess["data"]) - stuffing)

    def test_no_size_param_when_not_offered(self):
        """RFC 1870 / RFC 5321 4.1.1.2: no SIZE= (or any other
        parameter) to a server that did not offer the extension."""
        p = self.peer(ehlo=("PIPELINING",))
        ans = self.send(p)
        self.assertEqual(ans[0]["code"], "2", ans)
        self.assertIn("MAIL FROM:<a@here.test>",
                      p.wait_closed()[0]["commands"])

    # -- RFC 6152 8BITMIME ---------------------------------------------
    def test_8bit_to_peer_without_8bitmime_bounces(self):
        """RFC 6152 3: 8-bit data goes only to a server that offers
        8BITMIME; without it the client must convert or fail.  An 8-bit
        header cannot be converted (RFC 2047 encoding is not done): we
        fail (5.6.3), send no MAIL, and never say BODY=8BITMIME."""
        p = self.peer(ehlo=("PIPELINING", "SIZE 10000000"))
        body = "Subject: caf\u00e9\n\ncr\u00e8me\n".encode()
        ans = self.send(p, body=body, body_type="8BITMIME")
        self.assertEqual(ans[0]["code"], "5", ans)
        self.assertEqual(ans[0]["dsn"], "5.6.3", ans)
        cmds = p.wait_closed()[0]["commands"]
        self.assertFalse([c for c in cmds if c.startswith("MAIL")], cmds)

    def test_undeclared_8bit(self):
        """RFC 6152 3: the BODY= parameter declares 8-bit data.  A message
        whose client did not declare its 8-bit octets is declared
        BODY=8BITMIME to a server that offers it, and goes to one that
        does not only converted to 7-bit MIME (test_mime_downgrade.py)."""
        body = "Subject: x\n\nna\u00efve\n".encode()
        p = self.peer()
        ans = self.send(p, body=body)  # body_type 7BIT
        self.assertEqual(ans[0]["code"], "2", ans)
        cmds = p.wait_closed()[0]["commands"]
        self.assertTrue([c for c in cmds if c.startswith("MAIL") and
                         c.endswith(" BODY=8BITMIME")], cmds)
        p = self.peer(ehlo=("PIPELINING", "SIZE 100000"))
        ans = self.send(p, body=body)
        self.assertEqual(ans[0]["code"], "2", ans)
        sess = p.wait_closed()[0]
        self.assertFalse([c for c in sess["commands"] if "BODY=" in c])
        self.assertIn(b"na=C3=AFve\r\n", sess["data"])

    def test_7bit_content_declared_8bitmime(self):
        """RFC 6152 3: what must not go to a server without 8BITMIME is
        8-bit data; a message declared 8BITMIME that holds only 7-bit
        octets goes, without BODY=."""
        p = self.peer(ehlo=("PIPELINING",))
        ans = self.send(p, body_type="8BITMIME")
        self.assertEqual(ans[0]["code"], "2", ans)
        cmds = p.wait_closed()[0]["commands"]
        self.assertIn("MAIL FROM:<a@here.test>", cmds)
        self.assertFalse([c for c in cmds if "BODY=" in c], cmds)

    def test_8bitmime_offered(self):
        """RFC 6152 3: to a server that offers 8BITMIME, an 8-bit
        message goes with BODY=8BITMIME and its octets unchanged."""
        p = self.peer()
        body = "Subject: x\n\ncr\u00e8me\n".encode()
        ans = self.send(p, body=body, body_type="8BITMIME")
        self.assertEqual(ans[0]["code"], "2", ans)
        sess = p.wait_closed()[0]
        self.assertTrue([c for c in sess["commands"]
                         if re.match(r"MAIL FROM:<a@here\.test> SIZE=\d+ "
                                     r"BODY=8BITMIME$", c)], sess)
        self.assertIn("cr\u00e8me\r\n".encode(), sess["data"])


class RelayDSN(unittest.TestCase):
    """RFC 3461 6.2.2.2 (a success notice for relayed mail): the whole
    system, relaying through relayhost to the scripted peer."""

    @classmethod
    def setUpClass(cls):
        cls.peer = Peer()
        cls.mta = MTA(relayhost="[127.0.0.1]:%d" % cls.peer.port,
                      remote_connection_reuse_time="0").start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()
        cls.peer.stop()

    def relay(self, user):
        s = self.mta.smtp()
        s.ehlo("client.example")
        s.mail("sender@test.example")
        code, _ = s.docmd("RCPT TO:<%s@far.example> NOTIFY=SUCCESS" % user)
        self.assertEqual(code, 250)
        code, text = s.data(b"Subject: dsn relay\r\n\r\nx\r\n")
        self.assertEqual(code, 250)
        s.quit()
        qid = text.decode().split()[-1]
        self.mta.wait_log(r"%s: removed" % qid)
        return qid

    def test_peer_with_dsn_takes_the_notice_over(self):
        """6.2.2.2 / 5.2.2: relayed to a server that offers DSN, NOTIFY
        goes with the RCPT and that server (or the next) reports
        success; we send no notice of our own."""
        self.peer.ehlo = ("PIPELINING", "8BITMIME", "DSN")
        qid = self.relay("withdsn")
        self.assertTrue([c for s in self.peer.sessions for c in s["commands"]
                         if c.startswith("RCPT TO:<withdsn@far.example> "
                                         "NOTIFY=SUCCESS")])
        self.assertNotRegex(self.mta.log_text(),
                            r"%s: sender delivery status notification" % qid)

    def test_peer_without_dsn_gets_relayed_notice(self):
        """6.2.2.2 / RFC 3464 2.3.3: relayed to a server without DSN, the
        sender who asked for NOTIFY=SUCCESS gets a notice with Action:
        relayed (not delivered: the final delivery is not known)."""
        self.peer.ehlo = ("PIPELINING", "8BITMIME")
        self.relay("nodsn")
        msgs = self.mta.wait_messages("sender", 1, domain="test.example")
        notice = msgs[-1].decode()
        self.assertIn("Final-Recipient: rfc822; nodsn@far.example", notice)
        self.assertIn("Action: relayed", notice)
        self.assertNotIn("Action: delivered", notice)


if __name__ == "__main__":
    unittest.main()

"""test_smtpd_access.py - access control in smtpd (smtpd(8), "Access
control"): the client access map, the sender access map and the DNS
block lists, the way a postmaster of an ISP runs them.

One instance trusts 127.0.0.1 only (mynetworks); the tests talk to it
from other loopback addresses (127.0.0.2 ...), each address a different
kind of client.  A DNS server on loopback (remote_helpers.DNSServer)
serves the client host names and the block lists:

  bl.test        lists 127.0.0.2 (with TXT), .1, .6, .12 (long, dirty
                 TXT), .13 (no TXT)
  filtered.test  answers 127.0.0.10 for 127.0.0.3: outside its filter
  broken.test    SERVFAIL for 127.0.0.4
  slow.test      no answer at all for 127.0.0.5
  wl.test        the allow list (smtpd_dnswl_sites): 127.0.0.30 (also in
                 bl.test), 127.0.0.31 answered 127.0.0.255 (dnswl.org's
                 "over quota": no listing; also in bl.test), SERVFAIL
                 for 127.0.0.36 (in bl.test)
  chbl.test      client host names (smtpd_rhsbl_client_sites):
                 host32.dyn.example (127.0.0.32, PTR and A agree) and
                 host33.dyn.example (127.0.0.33's PTR; its A is another)
  hbl.test       HELO names (smtpd_rhsbl_helo_sites): spammy.example,
                 spammy2.example, and 192.0.2.9 (a bare address, never
                 asked)

Every refusal comes at RCPT with Postfix's wording, is logged as
"NOQUEUE: reject: RCPT from ..." and counted in mtactl stats.
"""
import os
import re
import socket
import ssl
import subprocess
import unittest

import mta
from access_helpers import QuietDNSServer, smtp_from, stats
from test_starttls import make_ca

TXT2 = "Listed by bl.test, see https://bl.test/q?127.0.0.2"
DIRTY = "\x07Listed\x1b[1m " + "y" * 240

ZONE = {
    "2.0.0.127.bl.test": [("A", "127.0.0.2", 60), ("TXT", TXT2, 60)],
    "1.0.0.127.bl.test": [("A", "127.0.0.2", 60)],
    "6.0.0.127.bl.test": [("A", "127.0.0.2", 60)],
    "12.0.0.127.bl.test": [("A", "127.0.0.4", 60), ("TXT", DIRTY, 60)],
    "13.0.0.127.bl.test": [("A", "127.0.0.2", 60)],
    "3.0.0.127.filtered.test": [("A", "127.0.0.10", 60)],
    # sender domains (smtpd_rhsbl_sender_sites)
    "bad.example.dbl.test": [("A", "127.0.1.2", 60),
                             ("TXT", "bad.example is a spam domain", 60)],
    "quiet.example.dbl.test": [("A", "127.0.1.2", 60)],
    # allow list (smtpd_dnswl_sites)
    "30.0.0.127.bl.test": [("A", "127.0.0.2", 60)],
    "30.0.0.127.wl.test": [("A", "127.0.10.2", 60)],
    "31.0.0.127.bl.test": [("A", "127.0.0.2", 60)],
    "31.0.0.127.wl.test": [("A", "127.0.0.255", 60)],
    "36.0.0.127.bl.test": [("A", "127.0.0.2", 60)],
    # client host names (smtpd_rhsbl_client_sites)
    "32.0.0.127.in-addr.arpa": [("PTR", "host32.dyn.example", 60)],
    "host32.dyn.example": [("A", "127.0.0.32", 60)],
    "host32.dyn.example.chbl.test": [("A", "127.0.1.2", 60),
                                     ("TXT", "dynamic host", 60)],
    "33.0.0.127.in-addr.arpa": [("PTR", "host33.dyn.example", 60)],
    "host33.dyn.example": [("A", "127.0.0.99", 60)],
    "host33.dyn.example.chbl.test": [("A", "127.0.1.2", 60)],
    # HELO names (smtpd_rhsbl_helo_sites)
    "spammy.example.hbl.test": [("A", "127.0.1.2", 60),
                                ("TXT", "spammy HELO", 60)],
    "spammy2.example.hbl.test": [("A", "127.0.1.2", 60)],
    "192.0.2.9.hbl.test": [("A", "127.0.1.2", 60)],
    # client names (PTR, then the name's address back)
    "10.0.0.127.in-addr.arpa": [("PTR", "host10.dsl.example.net", 60)],
    "host10.dsl.example.net": [("A", "127.0.0.10", 60)],
}

CLIENT_MAP = """\
127.0.0.6        OK
127.0.0.7        REJECT no clients from here
127.0.0.8        DEFER come back later
127.0.0.9        FROBNICATE now
127.0.0.14       421 4.7.0 closing for you
127.0.1          REJECT network blocked
127.0.1.2        DUNNO
.dsl.example.net 550 5.7.0 no dynamic hosts
"""

HELO_MAP = """\
bad.helo.example     REJECT go away
.spam.example        REJECT spam network
[192.0.2.7]          REJECT literal refused
198.51.100           REJECT net refused
"""

RCPT_MAP = """\
blocked@localhost    REJECT mailbox closed
later@localhost      DEFER try tomorrow
ok@elsewhere.example OK
"""

SENDER_MAP = """\
spammer@bad.example    REJECT no thanks
bad2.example           REJECT domain blocked
.evil.example          REJECT parent blocked
junk@                  REJECT localpart blocked
<>                     DEFER no bounces now
ok@bad2.example        OK
"""

SITES = ("bl.test, filtered.test=127.0.0.[2..9], broken.test, slow.test")


class Access(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = QuietDNSServer(ZONE, servfail={"4.0.0.127.broken.test",
                                                     "36.0.0.127.wl.test"},
                                 quiet={"5.0.0.127.slow.test"})
        cls.m = m = mta.MTA(
            mynetworks="127.0.0.1/32", smtpd_pregreet_wait_ms="0",
            resolver_nameservers="127.0.0.1:%d" % cls.dns.port,
            resolver_timeout="6s", resolver_retries="0",
            resolver_process_limit="8",
            smtpd_client_lookup_timeout="2s",
            smtpd_dnsbl_sites=SITES, smtpd_dnsbl_timeout="3s",
            smtpd_rhsbl_sender_sites="dbl.test",
            smtpd_dnswl_sites="wl.test", smtpd_rhsbl_client_sites="chbl.test",
            smtpd_rhsbl_helo_sites="hbl.test")
        cmap = os.path.join(m.dir, "client_access")
        smap = os.path.join(m.dir, "sender_access")
        hmap = os.path.join(m.dir, "helo_access")
        rmap = os.path.join(m.dir, "recipient_access")
        for path, text in ((cmap, CLIENT_MAP), (smap, SENDER_MAP),
                           (hmap, HELO_MAP), (rmap, RCPT_MAP)):
            with open(path, "w") as f:
                f.write(text)
            m.ctl("makemap", path)
        cls.ca, cert, key = make_ca(m.dir)
        with open(m.conf, "a") as f:
            f.write("smtpd_helo_access_map = %s\n"
                    "smtpd_recipient_access_map = %s\n" % (hmap, rmap))
            f.write("smtpd_client_access_map = %s\n"
                    "smtpd_sender_access_map = %s\n"
                    "smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n"
                    "smtpd_passwd_map = %s\n"
                    % (cmap, smap, cert, key, os.path.join(m.dir, "passwd")))
        p = subprocess.run([os.path.join(mta.BIN, "mtactl"), "-c", m.conf,
                            "passwd", "add", "ann"], input="s3cret pass\n",
                           text=True, capture_output=True)
        assert p.returncode == 0, p.stderr
        m.start()

    @classmethod
    def tearDownClass(cls):
        cls.m.cleanup()
        cls.dns.stop()

    def rcpt(self, src, sender="a@example.org", rcpt="alice@localhost",
             helo="client.example"):
        """MAIL and RCPT from src: RCPT's (code, text)."""
        with smtp_from(self.m, src) as s:
            s.ehlo(helo)
            code, text = s.mail(sender)
            self.assertEqual(code, 250, text)
            return s.rcpt(rcpt)

    def assertReject(self, src, code, text, **kw):
        got = self.rcpt(src, **kw)
        self.assertEqual(got, (code, text.encode()))
        return got

    def logged(self, src, reply, sender="a@example.org",
               rcpt="alice@localhost", name="unknown"):
        self.m.wait_log(re.escape(
            "NOQUEUE: reject: RCPT from %s[%s]: %s; from=<%s> to=<%s> "
            "proto=ESMTP helo=<client.example>" % (name, src, reply, sender,
                                                   rcpt)))

    # -- DNSBL ----------------------------------------------------------
    def test_listed_client_rejected_with_txt(self):
        before = stats(self.m)["reject"]["dnsbl"]
        text = ("5.7.1 Service unavailable; Client host [127.0.0.2] "
                "blocked using bl.test; " + TXT2)
        self.assertReject("127.0.0.2", 554, text)
        self.logged("127.0.0.2", "554 " + text)
        self.assertEqual(stats(self.m)["reject"]["dnsbl"], before + 1)

    def test_listed_without_txt(self):
        self.assertReject("127.0.0.13", 554,
                          "5.7.1 Service unavailable; Client host "
                          "[127.0.0.13] blocked using bl.test")

    def test_late_client_still_checked(self):
        # a listed client that waits longer than smtpd_dnsbl_timeout (3 s)
        # between the connect and its RCPT: the answers came meanwhile and
        # still count (they were dropped unread, and the client let on)
        import time
        with smtp_from(self.m, "127.0.0.2") as s:
            s.ehlo("client.example")
            self.assertEqual(s.mail("a@example.org")[0], 250)
            time.sleep(3.5)  # the client's pause is what is tested
            code, text = s.rcpt("alice@localhost")
        self.assertEqual(code, 554, text)
        self.assertIn(b"blocked using bl.test; " + TXT2.encode(), text)

    def test_txt_bounded_and_cleaned(self):
        code, text = self.rcpt("127.0.0.12")
        self.assertEqual(code, 554)
        prefix = (b"5.7.1 Service unavailable; Client host [127.0.0.12] "
                  b"blocked using bl.test; Listed[1m yyy")
        self.assertTrue(text.startswith(prefix), text)
        reason = text.split(b"bl.test; ", 1)[1]
        self.assertEqual(len(reason), 200)  # ACCESS_TEXT_MAX
        self.assertFalse(re.search(rb"[\x00-\x1f\x7f]", text))
        log = self.m.wait_log(r"blocked using bl.test; Listed\[1m y+; "
                              r"from=").group(0)
        self.assertNotIn("\x1b", log)

    def test_answer_outside_filter_not_listed(self):
        self.assertEqual(self.rcpt("127.0.0.3")[0], 250)
        self.m.wait_log(r"dnsbl filtered\.test: 3\.0\.0\.127\.filtered\.test "
                        r"answered 127\.0\.0\.10, outside "
                        r"filtered\.test=127\.0\.0\.\[2\.\.9\]: not listed")

    def test_servfail_is_no_listing(self):
        self.assertEqual(self.rcpt("127.0.0.4")[0], 250)
        self.m.wait_log(r"warning: dnsbl broken\.test: lookup of "
                        r"4\.0\.0\.127\.broken\.test failed \(.*SERVFAIL.*\)"
                        r": taken as not listed")

    def test_timeout_is_no_listing(self):
        code, _ = self.rcpt("127.0.0.5")
        self.assertEqual(code, 250)
        self.m.wait_log(r"warning: dnsbl slow\.test: lookup of "
                        r"5\.0\.0\.127\.slow\.test failed \(no answer from "
                        r"resolver in time\): taken as not listed")

    def test_greeting_does_not_wait_for_dnsbl(self):
        # slow.test never answers for 127.0.0.5 (smtpd_dnsbl_timeout 3 s):
        # the greeting comes at once, the RCPT after the DNSBL wait
        with socket.create_connection(("127.0.0.1", self.m.port), 1.5,
                                      source_address=("127.0.0.5", 0)) as c:
            c.settimeout(1.5)
            self.assertEqual(c.recv(512)[:4], b"220 ")
        self.assertEqual(self.rcpt("127.0.0.5")[0], 250)

    # -- sender domain block list -------------------------------------
    def test_rhsbl_sender(self):
        before = stats(self.m)["reject"]["rhsbl"]
        text = ("5.7.1 Service unavailable; Sender address [x@bad.example] "
                "blocked using dbl.test; bad.example is a spam domain")
        self.assertReject("127.0.0.20", 554, text, sender="x@bad.example")
        self.logged("127.0.0.20", "554 " + text, sender="x@bad.example")
        self.assertReject("127.0.0.20", 554, "5.7.1 Service unavailable; "
                          "Sender address [y@quiet.example] blocked using "
                          "dbl.test", sender="y@QUIET.example")
        self.assertEqual(stats(self.m)["reject"]["rhsbl"], before + 2)
        # only the domain itself is listed (the null sender, which has no
        # domain, is never asked; here the sender map defers it)
        for sender in ("x@sub.bad.example", "x@good.example"):
            self.assertEqual(self.rcpt("127.0.0.20", sender=sender)[0], 250,
                             sender)

    # -- allow list (smtpd_dnswl_sites) ----------------------------------
    def test_dnswl_client_skips_block_lists(self):
        # in bl.test and in wl.test: let on, logged and counted; the
        # sender and HELO lists are skipped too, the maps are not
        before = stats(self.m)["smtpd"]["dnswl_pass"]
        self.assertEqual(self.rcpt("127.0.0.30", sender="x@bad.example",
                                   helo="spammy.example"), (250, b"2.1.5 Ok"))
        self.m.wait_log(re.escape(
            "dnswl wl.test: client [127.0.0.30] listed (127.0.10.2): "
            "DNSBL checks skipped"))
        self.assertEqual(stats(self.m)["smtpd"]["dnswl_pass"], before + 1)
        self.assertReject("127.0.0.30", 554, "5.7.1 <junk@x.example>: "
                          "Sender address rejected: localpart blocked",
                          sender="junk@x.example")
        self.assertReject("127.0.0.30", 554, "5.7.1 <bad.helo.example>: "
                          "Helo command rejected: go away",
                          helo="bad.helo.example")

    def test_dnswl_over_quota_is_no_pass(self):
        before = stats(self.m)["smtpd"]["dnswl_pass"]
        self.assertReject("127.0.0.31", 554, "5.7.1 Service unavailable; "
                          "Client host [127.0.0.31] blocked using bl.test")
        self.m.wait_log(re.escape(
            "warning: dnswl wl.test: 31.0.0.127.wl.test answered "
            "127.0.0.255, an error code of the list"))
        self.assertNotIn("client [127.0.0.31] listed", self.m.log_text())
        self.assertEqual(stats(self.m)["smtpd"]["dnswl_pass"], before)

    def test_dnswl_servfail_is_no_pass(self):
        self.assertReject("127.0.0.36", 554, "5.7.1 Service unavailable; "
                          "Client host [127.0.0.36] blocked using bl.test")
        self.m.wait_log(r"warning: dnswl wl\.test: lookup of "
                        r"36\.0\.0\.127\.wl\.test failed \(.*SERVFAIL.*\)"
                        r": taken as not listed")

    # -- client and HELO name block lists -------------------------------
    def test_rhsbl_client_verified_name(self):
        before = stats(self.m)["reject"]["rhsbl_client"]
        text = ("5.7.1 Service unavailable; Client host "
                "[host32.dyn.example] blocked using chbl.test; dynamic host")
        self.assertReject("127.0.0.32", 554, text)
        self.logged("127.0.0.32", "554 " + text, name="host32.dyn.example")
        self.assertEqual(stats(self.m)["reject"]["rhsbl_client"],
                         before + 1)
        # a PTR name whose address is not the client's is not its name:
        # not asked
        self.assertEqual(self.rcpt("127.0.0.33")[0], 250)
        self.m.wait_log(re.escape("connect from unknown[127.0.0.33]"))
        self.assertEqual(self.dns.count("host33.dyn.example.chbl.test",
                                        "A"), 0)

    def test_rhsbl_helo(self):
        before = stats(self.m)["reject"]["rhsbl_helo"]
        text = ("5.7.1 Service unavailable; Helo command [spammy.example] "
                "blocked using hbl.test; spammy HELO")
        self.assertReject("127.0.0.34", 554, text, helo="spammy.example")
        self.m.wait_log(re.escape(
            "NOQUEUE: reject: RCPT from unknown[127.0.0.34]: 554 " + text +
            "; from=<a@example.org> to=<alice@localhost> proto=ESMTP "
            "helo=<spammy.example>"))
        self.assertEqual(stats(self.m)["reject"]["rhsbl_helo"], before + 1)
        # an address literal, or an address given bare, is no domain
        for helo in ("[192.0.2.9]", "192.0.2.9"):
            self.assertEqual(self.rcpt("127.0.0.34", helo=helo)[0], 250,
                             helo)
        self.assertEqual(self.dns.count("192.0.2.9.hbl.test", "A"), 0)
        # a second EHLO with another name is asked about that name
        with smtp_from(self.m, "127.0.0.34") as s:
            s.ehlo("good.example")
            self.assertEqual(s.mail("a@example.org")[0], 250)
            self.assertEqual(s.rcpt("alice@localhost")[0], 250)
            s.rset()
            s.ehlo("spammy.example")
            self.assertEqual(s.mail("a@example.org")[0], 250)
            self.assertEqual(s.rcpt("alice@localhost"), (554, text.encode()))
        self.assertFalse([q for q in self.dns.queries
                          if q[0].endswith("hbl.test") and "[" in q[0]])

    def test_name_lists_not_asked_for_trusted_or_authenticated(self):
        # mynetworks: no list at all; AUTH: not the HELO list (the
        # client's own lists went out at connect, before AUTH)
        self.assertEqual(self.rcpt("127.0.0.1", helo="spammy2.example")[0],
                         250)
        self.assertEqual(self.dns.count("1.0.0.127.wl.test", "A"), 0)
        with smtp_from(self.m, "127.0.0.35") as s:
            s.ehlo("spammy2.example")
            s.starttls(context=ssl.create_default_context(cafile=self.ca))
            s.ehlo("spammy2.example")
            s.login("ann", "s3cret pass")
            self.assertEqual(s.mail("a@example.org")[0], 250)
            self.assertEqual(s.rcpt("alice@localhost")[0], 250)
        self.assertEqual(self.dns.count("spammy2.example.hbl.test", "A"), 0)
        # the same HELO from a client that is neither is asked
        self.assertReject("127.0.0.35", 554, "5.7.1 Service unavailable; "
                          "Helo command [spammy2.example] blocked using "
                          "hbl.test", helo="spammy2.example")
        self.assertEqual(self.dns.count("spammy2.example.hbl.test", "A"), 1)

    # -- HELO and recipient maps ----------------------------------------
    def test_helo_by_name_parent_and_literal(self):
        before = stats(self.m)["reject"]["helo_access"]
        for helo, text in (
                ("bad.helo.example", "go away"),
                ("Mail.SPAM.example", "spam network"),
                ("[192.0.2.7]", "literal refused"),
                ("[198.51.100.9]", "net refused")):
            self.assertEqual(self.rcpt("127.0.0.20", helo=helo),
                             (554, ("5.7.1 <%s>: Helo command rejected: %s"
                                    % (helo, text)).encode()))
        self.m.wait_log(re.escape(
            "NOQUEUE: reject: RCPT from unknown[127.0.0.20]: 554 5.7.1 "
            "<bad.helo.example>: Helo command rejected: go away; "
            "from=<a@example.org> to=<alice@localhost> proto=ESMTP "
            "helo=<bad.helo.example>"))
        self.assertEqual(stats(self.m)["reject"]["helo_access"], before + 4)
        self.assertEqual(self.rcpt("127.0.0.20", helo="good.example")[0],
                         250)

    def test_recipient_map(self):
        before = stats(self.m)["reject"]["recipient_access"]
        self.assertReject("127.0.0.20", 554, "5.7.1 <blocked@localhost>: "
                          "Recipient address rejected: mailbox closed",
                          rcpt="blocked@localhost")
        self.assertReject("127.0.0.20", 450, "4.7.1 <later@localhost>: "
                          "Recipient address rejected: try tomorrow",
                          rcpt="later@localhost")
        self.logged("127.0.0.20", "554 5.7.1 <blocked@localhost>: Recipient "
                    "address rejected: mailbox closed",
                    rcpt="blocked@localhost")
        self.assertEqual(stats(self.m)["reject"]["recipient_access"],
                         before + 2)
        # OK in the map never opens the relay
        code, text = self.rcpt("127.0.0.20", rcpt="ok@elsewhere.example")
        self.assertEqual(code, 554, text)
        self.assertIn(b"Relay access denied", text)
        # and the client in mynetworks is not asked
        self.assertEqual(self.rcpt("127.0.0.1", rcpt="blocked@localhost")[0],
                         250)

    def test_mynetworks_exempt(self):
        # 127.0.0.1 is listed in bl.test and trusted: not even asked
        self.assertEqual(self.rcpt("127.0.0.1", sender="junk@x.example")[0],
                         250)
        self.assertEqual(self.dns.count("1.0.0.127.bl.test", "A"), 0)

    def test_authenticated_exempt(self):
        with smtp_from(self.m, "127.0.0.2") as s:
            s.ehlo("client.example")
            s.starttls(context=ssl.create_default_context(cafile=self.ca))
            s.ehlo("client.example")
            s.login("ann", "s3cret pass")
            self.assertEqual(s.mail("spammer@bad.example")[0], 250)
            self.assertEqual(s.rcpt("alice@localhost")[0], 250)

    # -- client access map ----------------------------------------------
    def test_client_ok_skips_dnsbl(self):
        self.assertEqual(self.rcpt("127.0.0.6")[0], 250)
        self.assertEqual(self.dns.count("6.0.0.127.bl.test", "A"), 0)
        self.assertEqual(self.dns.count("6.0.0.127.wl.test", "A"), 0)
        # but the sender map still applies
        self.assertReject("127.0.0.6", 554, "5.7.1 <junk@x.example>: Sender "
                          "address rejected: localpart blocked",
                          sender="junk@x.example")

    def test_client_reject_by_address(self):
        before = stats(self.m)["reject"]["client_access"]
        text = ("5.7.1 <unknown[127.0.0.7]>: Client host rejected: no "
                "clients from here")
        self.assertReject("127.0.0.7", 554, text)
        self.logged("127.0.0.7", "554 " + text)
        self.assertEqual(stats(self.m)["reject"]["client_access"],
                         before + 1)

    def test_client_defer(self):
        self.assertReject("127.0.0.8", 450, "4.7.1 <unknown[127.0.0.8]>: "
                          "Client host rejected: come back later")

    def test_client_421_closes_the_session(self):
        # RFC 5321 3.8: after a 421 the server closes the connection
        with smtp_from(self.m, "127.0.0.14") as s:
            s.ehlo("client.example")
            self.assertEqual(s.mail("a@example.org")[0], 250)
            self.assertEqual(s.rcpt("alice@localhost"), (
                421, b"4.7.0 <unknown[127.0.0.14]>: Client host rejected: "
                b"closing for you"))
            s.sock.settimeout(10)
            self.assertEqual(s.sock.recv(100), b"")

    def test_client_reject_by_network_and_dunno(self):
        self.assertReject("127.0.1.1", 554, "5.7.1 <unknown[127.0.1.1]>: "
                          "Client host rejected: network blocked")
        self.assertEqual(self.rcpt("127.0.1.2")[0], 250)

    def test_client_reject_by_parent_domain(self):
        text = ("5.7.0 <host10.dsl.example.net[127.0.0.10]>: Client host "
                "rejected: no dynamic hosts")
        self.assertReject("127.0.0.10", 550, text)
        self.logged("127.0.0.10", "550 " + text,
                    name="host10.dsl.example.net")

    def test_unknown_value_is_a_config_error(self):
        self.assertReject("127.0.0.9", 451,
                          "4.3.5 Server configuration error")
        self.m.wait_log(r"warning: smtpd_client_access_map \S+client_access: "
                        r"key \"127\.0\.0\.9\": unknown value \"FROBNICATE "
                        r"now\"")

    # -- sender access map ----------------------------------------------
    def test_sender_by_address(self):
        before = stats(self.m)["reject"]["sender_access"]
        text = ("5.7.1 <spammer@bad.example>: Sender address rejected: "
                "no thanks")
        self.assertReject("127.0.0.11", 554, text,
                          sender="spammer@bad.example")
        self.logged("127.0.0.11", "554 " + text,
                    sender="spammer@bad.example")
        self.assertEqual(stats(self.m)["reject"]["sender_access"],
                         before + 1)
        # an extension is looked up with and without it
        self.assertReject("127.0.0.11", 554, "5.7.1 "
                          "<spammer+x@bad.example>: Sender address "
                          "rejected: no thanks",
                          sender="spammer+x@bad.example")

    def test_sender_by_domain_and_parent(self):
        self.assertReject("127.0.0.11", 554, "5.7.1 <x@bad2.example>: "
                          "Sender address rejected: domain blocked",
                          sender="x@bad2.example")
        # the address's own entry comes first
        self.assertEqual(self.rcpt("127.0.0.11", sender="ok@bad2.example")
                         [0], 250)
        # "bad2.example" is that domain only; ".evil.example" its children
        self.assertEqual(self.rcpt("127.0.0.11", sender="x@sub.bad2.example")
                         [0], 250)
        self.assertReject("127.0.0.11", 554, "5.7.1 <x@mx.sub.evil.example>: "
                          "Sender address rejected: parent blocked",
                          sender="x@mx.sub.evil.example")
        self.assertEqual(self.rcpt("127.0.0.11", sender="x@evil.example")[0],
                         250)

    def test_sender_by_localpart(self):
        self.assertReject("127.0.0.11", 554, "5.7.1 <junk@any.example>: "
                          "Sender address rejected: localpart blocked",
                          sender="junk@any.example")

    def test_null_sender(self):
        text = "4.7.1 <>: Sender address rejected: no bounces now"
        self.assertReject("127.0.0.11", 450, text, sender="")
        self.logged("127.0.0.11", "450 " + text, sender="")

    def test_unlisted_client_and_sender_accepted(self):
        with smtp_from(self.m, "127.0.0.11") as s:
            s.ehlo("client.example")
            self.assertEqual(s.mail("friend@good.example")[0], 250)
            self.assertEqual(s.rcpt("alice@localhost")[0], 250)
            self.assertEqual(s.data(b"Subject: hi\r\n\r\nhello\r\n")[0], 250)
        self.m.wait_messages("alice", 1)


class MissingMap(unittest.TestCase):
    """A map that is set but not built: mtactl check says so, and smtpd
    answers 451 (never a silent accept) until it is built."""

    def test_check_and_451(self):
        m = mta.MTA(mynetworks="127.0.0.1/32", smtpd_pregreet_wait_ms="0")
        self.addCleanup(m.cleanup)
        cmap = os.path.join(m.dir, "client_access")
        with open(m.conf, "a") as f:
            f.write("smtpd_client_access_map = %s\n" % cmap)
        out = m.ctl("check", check=False).stdout
        self.assertIn("problem: smtpd_client_access_map: %s.lmdb: No such "
                      "file or directory" % cmap, out)
        self.assertIn("fix: write %s (mta-maps(5)), then mtactl makemap %s"
                      % (cmap, cmap), out)
        m.start()
        with smtp_from(m, "127.0.0.2") as s:
            s.ehlo("client.example")
            s.mail("a@example.org")
            self.assertEqual(s.rcpt("alice@localhost"),
                             (451, b"4.3.0 <unknown[127.0.0.2]>: Temporary "
                              b"lookup failure"))
        with open(cmap, "w") as f:
            f.write("127.0.0.3 REJECT\n")
        m.ctl("makemap", cmap)
        self.assertNotIn("smtpd_client_access_map",
                         m.ctl("check", check=False).stdout)
        # unprivileged smtpd reopens the replaced map at the next lookup
        with smtp_from(m, "127.0.0.2") as s:
            s.ehlo("client.example")
            s.mail("a@example.org")
            self.assertEqual(s.rcpt("alice@localhost")[0], 250)


class DnsblHeldOpen(unittest.TestCase):
    """A session's DNSBL answers wait for its first RCPT; meanwhile the
    one resolver process must serve everybody else (the queries are
    half-closed, so resolver(8) is done with them once it answered)."""

    def test_idle_session_does_not_hold_the_resolver(self):
        dns = QuietDNSServer(ZONE)
        m = mta.MTA(mynetworks="127.0.0.1/32", smtpd_pregreet_wait_ms="0",
                    resolver_nameservers="127.0.0.1:%d" % dns.port,
                    resolver_timeout="2s", resolver_retries="0",
                    resolver_process_limit="1",
                    smtpd_client_lookup_timeout="2s",
                    smtpd_dnsbl_sites="bl.test", smtpd_dnsbl_timeout="3s")
        try:
            m.start()
            idle = []
            for src in ("127.0.0.20", "127.0.0.21"):
                c = socket.create_connection(("127.0.0.1", m.port), 10,
                                             source_address=(src, 0))
                c.settimeout(10)
                self.assertEqual(c.recv(512)[:4], b"220 ")
                idle.append(c)  # greeted, its DNSBL answers unread
            with smtp_from(m, "127.0.0.2") as s:
                s.ehlo("client.example")
                s.mail("a@example.org")
                self.assertEqual(s.rcpt("alice@localhost")[0], 554)
            for c in idle:
                c.close()
        finally:
            m.cleanup()
            dns.stop()


class ClientNames(unittest.TestCase):
    """The client's own reverse zone decides how its name lookup goes:
    a zone that never answers must fail that lookup only, and a PTR set
    of many names in such a zone must not hold the greeting (and
    resolver(8)) a lookup timeout per name."""

    def test_names_share_one_wait(self):
        import socket
        import time
        names = ["n%d.quiet.test" % i for i in range(8)]
        zone = {"14.0.0.127.in-addr.arpa": [("PTR", n, 60) for n in names]}
        dns = QuietDNSServer(zone, quiet=set(names))
        m = mta.MTA(mynetworks="127.0.0.1/32", smtpd_pregreet_wait_ms="0",
                    resolver_nameservers="127.0.0.1:%d" % dns.port,
                    resolver_timeout="3s", resolver_retries="0",
                    smtpd_client_lookup_timeout="1s")
        try:
            m.start()
            t0 = time.time()
            c = socket.create_connection(("127.0.0.1", m.port), 30,
                                         source_address=("127.0.0.14", 0))
            c.settimeout(30)
            greeting = c.recv(512)
            took = time.time() - t0
            c.close()
            self.assertRegex(greeting, rb"^220 ")
            # the PTR's own wait, then one more for all five names (1 s
            # a name before: over 5 s)
            self.assertLess(took, 3.0, "greeting after %.1fs" % took)
            m.wait_log(re.escape("connect from unknown[127.0.0.14]"))
        finally:
            m.cleanup()
            dns.stop()

    def test_a_timeout_does_not_fail_later_lookups(self):
        import socket
        zone = {"15.0.0.127.in-addr.arpa": [("PTR", "n.quiet.test", 60)],
                "16.0.0.127.in-addr.arpa": [("PTR", "good16.test", 60)],
                "good16.test": [("A", "127.0.0.16", 60)]}
        dns = QuietDNSServer(zone, quiet={"n.quiet.test"})
        m = mta.MTA(mynetworks="127.0.0.1/32", smtpd_pregreet_wait_ms="0",
                    resolver_nameservers="127.0.0.1:%d" % dns.port,
                    resolver_timeout="1s", resolver_retries="0",
                    smtpd_client_lookup_timeout="3s")
        try:
            m.start()
            for src in ("127.0.0.15", "127.0.0.16"):
                c = socket.create_connection(("127.0.0.1", m.port), 30,
                                             source_address=(src, 0))
                c.settimeout(30)
                self.assertRegex(c.recv(512), rb"^220 ")
                c.close()
            # the name's lookup that timed out is the only one that failed
            self.assertIn("connect from unknown[127.0.0.15]", m.log_text())
            self.assertIn("connect from good16.test[127.0.0.16]",
                          m.log_text())
        finally:
            m.cleanup()
            dns.stop()


if __name__ == "__main__":
    unittest.main()

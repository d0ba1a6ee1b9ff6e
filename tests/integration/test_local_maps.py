"""test_local_maps.py - virtual mailbox domains, aliases, quota, loops.

Scenarios against one instance with a virtual mailbox map, an alias file
and an include file, all compiled with mtactl: mail lands in the mailbox
the map names, unknown users get 550 5.1.1 at RCPT time, aliases expand
(chains, self-reference, :include:), loops bounce with 5.4.6, remote
targets are forwarded with SRS (a forged SRS address is refused at RCPT
time), command and file targets are refused (not allowed by default).
"""
import os
import pwd
import re
import subprocess
import unittest

from mta import MTA, wait_for, BIN
from local_helpers import mta_with_maps, rcpt_reply, send, log_count

VIRTUAL = """\
# two virtual domains of an ISP
alice@v1.example  v1.example/alice/
Carol@V1.example  v1.example/carol/
mbox@v1.example   v1.example/mbox/mary
@v2.example       v2.example/catchall/
"""

ALIASES = """\
# aliases(5)
postmaster: admin
staff: alice, bob,
   carol
team: staff, dave
self: self, other
loop1: loop2
loop2: loop3
loop3: loop1
fwd: someone@remote.example
cmd: "|/bin/cat"
tofile: /tmp/never-written-by-mta-tests
list: :include:@DIR@/list.txt
deep1: deep2
deep2: deep3
deep3: deep4
deep4: deep5
info@v1.example: alice@v1.example
"""


class LocalMaps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mta = mta_with_maps(
            virtual=VIRTUAL, aliases=ALIASES,
            files={"list.txt": "# members\nerin\nfrank, grace\n"},
            virtual_mailbox_domains="v1.example, v2.example, v3.example",
            alias_max_depth="3", mbox_lock_timeout="1s",
            srs_domain="test.example",
            srs_secret_file="@DIR@/srs.key").start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def vmail(self, path):
        new = os.path.join(self.mta.mail, path, "new")
        try:
            names = sorted(os.listdir(new))
        except FileNotFoundError:
            return []
        out = []
        for n in names:
            with open(os.path.join(new, n), "rb") as f:
                out.append(f.read())
        return out

    def wait_vmail(self, path, n):
        return wait_for(lambda: len(self.vmail(path)) >= n and
                        self.vmail(path), 20, "%d message(s) in %s" %
                        (n, path))

    def test_virtual_user_and_case(self):
        send(self.mta, ["alice@v1.example", "CAROL@v1.example"],
             b"Subject: v\r\n\r\nvirtual\r\n")
        msgs = wait_for(lambda: [m for m in self.vmail("v1.example/alice")
                                 if m.endswith(b"\n\nvirtual\n")], 20,
                        "the message in alice's mailbox")
        self.assertIn(b"Delivered-To: alice@v1.example\n", msgs[0])
        self.wait_vmail("v1.example/carol", 1)
        self.mta.wait_log(r"to=<alice@v1\.example>, relay=local, .*"
                          r"status=sent \(delivered to maildir .*/"
                          r"v1\.example/alice\)")

    def test_unknown_virtual_user_550(self):
        code, text = rcpt_reply(self.mta, "nobody@v1.example")
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith("5.1.1 <nobody@v1.example>"), text)
        self.mta.wait_log(r"reject: RCPT .* 550 5\.1\.1 <nobody@v1\.example>")
        # a domain without an entry in the map has no users either
        self.assertEqual(rcpt_reply(self.mta, "x@v3.example")[0], 550)

    def test_catch_all(self):
        self.assertEqual(rcpt_reply(self.mta, "anyone+tag@v2.example")[0],
                         250)
        send(self.mta, ["anyone+tag@v2.example", "zed@v2.example"])
        self.wait_vmail("v2.example/catchall", 2)

    def test_postmaster_resolves_everywhere(self):
        for rcpt in ("postmaster@v1.example", "PostMaster@v3.example",
                     "mailer-daemon@v1.example", "postmaster@localhost"):
            self.assertEqual(rcpt_reply(self.mta, rcpt)[0], 250, rcpt)
        send(self.mta, ["postmaster@v3.example"])
        self.mta.wait_messages("admin", 1)
        self.mta.wait_log(r"to=<admin@localhost>, orig_to=<postmaster@"
                          r"v3\.example>, relay=local.*status=sent")

    def test_virtual_alias(self):
        before = len(self.vmail("v1.example/alice"))
        self.assertEqual(rcpt_reply(self.mta, "info@v1.example")[0], 250)
        send(self.mta, ["info@v1.example"])
        self.wait_vmail("v1.example/alice", before + 1)

    def test_alias_chain(self):
        send(self.mta, ["team@localhost"], b"Subject: team\r\n\r\nall\r\n")
        for u in ("alice", "bob", "carol", "dave"):
            msg = self.mta.wait_messages(u, 1)[-1]
            self.assertIn(b"Delivered-To: team@localhost\n", msg)
        self.mta.wait_log(r"to=<carol@localhost>, orig_to=<team@localhost>, "
                          r"relay=local,.*status=sent")

    def test_self_reference_is_the_mailbox(self):
        send(self.mta, ["self@localhost"])
        self.mta.wait_messages("self", 1)
        self.mta.wait_messages("other", 1)

    def test_loop_bounces(self):
        send(self.mta, ["loop2@localhost"])
        self.mta.wait_log(r"to=<loop2@localhost>, relay=local,.*dsn=5\.4\.6, "
                          r"status=bounced \(alias loop: loop2@localhost -> "
                          r"loop3@localhost -> loop1@localhost -> "
                          r"loop2@localhost\)")

    def test_depth_limit(self):
        send(self.mta, ["deep1@localhost"])
        self.mta.wait_log(r"to=<deep1@localhost>, .*dsn=5\.4\.6, status="
                          r"bounced \(alias nesting deeper than "
                          r"alias_max_depth\)")
        self.assertEqual(self.mta.messages("deep5"), [])

    def test_include(self):
        send(self.mta, ["list@localhost"])
        for u in ("erin", "frank", "grace"):
            self.mta.wait_messages(u, 1)

    def test_forward_with_srs(self):
        send(self.mta, ["fwd@localhost"], sender="carl@example.org")
        m = self.mta.wait_log(r"to=<someone@remote\.example>, orig_to=<fwd@"
                              r"localhost>, relay=local, .*dsn=2\.0\.0, "
                              r"status=sent \(forwarded as (\w+)\)")
        newid = m.group(1)
        m = self.mta.wait_log(r"%s: from=<(SRS0=(\w{4})=(\w\w)=example\.org="
                              r"carl@test\.example)>, size=\d+, nrcpt=1"
                              % newid)
        srs = m.group(1)
        # the forwarded copy carries our Delivered-To (loops come back)
        self.assertIn("forwarded for <fwd@localhost> as %s" % newid,
                      self.mta.log_text())
        # a bounce to the SRS address goes back to the original sender
        self.assertEqual(rcpt_reply(self.mta, srs)[0], 250)
        send(self.mta, [srs], b"Subject: bounce\r\n\r\nx\r\n", sender="")
        self.mta.wait_log(r"to=<carl@example\.org>, orig_to=<%s>, "
                          r"relay=local, .*status=sent \(forwarded as" %
                          re.escape(srs))
        # a forged one is refused at RCPT time (smtpd has the key)
        forged = srs[:5] + ("aaaa" if m.group(2) != "aaaa" else "bbbb") + \
            srs[9:]
        code, text = rcpt_reply(self.mta, forged, sender="")
        self.assertEqual(code, 550)
        self.assertIn("5.1.1", text)

    def test_command_target_refused_by_default(self):
        send(self.mta, ["cmd@localhost"])
        self.mta.wait_log(r"to=<\|/bin/cat>, orig_to=<cmd@localhost>, .*"
                          r"dsn=5\.7\.1, status=bounced \(alias target "
                          r"\|/bin/cat: delivery to commands is not allowed "
                          r"\(allow_mail_to_commands\)\)")

    def test_file_target_refused_by_default(self):
        send(self.mta, ["tofile@localhost"])
        self.mta.wait_log(r"to=</tmp/never-written-by-mta-tests>, orig_to="
                          r"<tofile@localhost>, .*dsn=5\.7\.1, status=bounced "
                          r"\(alias target /tmp/never-written-by-mta-tests: "
                          r"delivery to files is not allowed "
                          r"\(allow_mail_to_files\)\)")
        self.assertFalse(os.path.exists("/tmp/never-written-by-mta-tests"))

    def test_delivered_to_loop(self):
        send(self.mta, ["hops@localhost"],
             b"Delivered-To: other@example.net\r\n"
             b"Delivered-To: HOPS@localhost\r\nSubject: x\r\n\r\nloop\r\n")
        self.mta.wait_log(r"to=<hops@localhost>, relay=local,.*dsn=5\.4\.6, "
                          r"status=bounced \(mail forwarding loop for "
                          r"hops@localhost\)")
        self.assertEqual(self.mta.messages("hops"), [])

    def mbox_text(self):
        try:
            with open(os.path.join(self.mta.mail, "v1.example", "mbox",
                                   "mary"), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def test_mbox(self):
        # one class-wide mailbox: this test owns mbox@v1.example
        body = (b"Subject: mbox\r\n\r\nFrom here\r\n>From there\r\n"
                b"From\r\nno newline at the end")
        send(self.mta, ["mbox@v1.example"], body)
        wait_for(lambda: b"no newline" in self.mbox_text(), 20, "mbox")
        text = self.mbox_text()
        self.assertRegex(text, rb"^From bob@example\.org \w{3} \w{3} [ \d]\d "
                         rb"\d\d:\d\d:\d\d \d{4}\nReturn-Path: <bob@example"
                         rb"\.org>\nDelivered-To: mbox@v1\.example\n")
        self.assertTrue(text.endswith(b"\n\n>From here\n>>From there\n"
                                      b"From\nno newline at the end\n\n"),
                        text)
        # the text is visible before local's fsync; the lock goes after it
        lock = os.path.join(self.mta.mail, "v1.example", "mbox", "mary.lock")
        wait_for(lambda: not os.path.exists(lock), 10, "the lock released")

        # two deliveries at once, then one while a reader holds the lock
        with self.mta.smtp() as s1, self.mta.smtp() as s2:
            for s in (s1, s2):
                s.ehlo("c")
                s.mail("bob@example.org")
                s.rcpt("mbox@v1.example")
            for i, s in enumerate((s1, s2)):
                s.data(b"Subject: parallel %d\r\n\r\nbody %d\r\n" % (i, i))
        wait_for(lambda: b"body 0" in self.mbox_text() and
                 b"body 1" in self.mbox_text(), 20, "both messages")
        import fcntl
        import mailbox
        path = os.path.join(self.mta.mail, "v1.example", "mbox", "mary")
        mb = mailbox.mbox(path)
        subjects = sorted(m["Subject"] for m in mb)
        mb.close()
        self.assertEqual(subjects, ["mbox", "parallel 0", "parallel 1"])
        with open(path, "rb+") as f:
            fcntl.lockf(f, fcntl.LOCK_EX)
            send(self.mta, ["mbox@v1.example"], b"Subject: late\r\n\r\nx\r\n")
            self.mta.wait_log(r"to=<mbox@v1\.example>, .*dsn=4\.2\.0, "
                              r"status=deferred \(mbox .*/mary is locked "
                              r"by another process\)")
            self.assertNotIn(b"Subject: late", self.mbox_text())
            fcntl.lockf(f, fcntl.LOCK_UN)
        wait_for(lambda: b"Subject: late" in self.mbox_text(), 20,
                 "delivery after the lock is released")
        mb = mailbox.mbox(path)
        self.assertEqual(len(mb), 4)
        mb.close()

    def test_map_rebuilt_while_running(self):
        self.assertEqual(rcpt_reply(self.mta, "newbie@v1.example")[0], 550)
        path = os.path.join(self.mta.dir, "virtual")
        with open(path, "a") as f:
            f.write("newbie@v1.example v1.example/newbie/\n")
        self.mta.ctl("makemap", path)
        self.assertEqual(rcpt_reply(self.mta, "newbie@v1.example")[0], 250)
        send(self.mta, ["newbie@v1.example"])
        self.wait_vmail("v1.example/newbie", 1)


PIPE_ALIASES = """\
pipe: "|cat > @DIR@/out/piped; id -un > @DIR@/out/who"
pipefail: "|echo no such list >&2; exit 67"
pipetemp: "|exit 75"
pipeslow: "|sleep 30"
pipeinc: :include:@DIR@/inc.txt
"""


class PipeCommands(unittest.TestCase):
    """allow_mail_to_commands = yes: |command targets run, as nobody when
    we are root, with a time limit."""

    @classmethod
    def setUpClass(cls):
        cls.mta = mta_with_maps(aliases=PIPE_ALIASES,
                                files={"inc.txt": "\"|cat\"\n"},
                                allow_mail_to_commands="yes",
                                command_time_limit="1s")
        out = os.path.join(cls.mta.dir, "out")
        os.mkdir(out)
        os.chmod(out, 0o777)
        os.chmod(cls.mta.dir, 0o711)
        cls.mta.start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def read(self, name):
        try:
            with open(os.path.join(self.mta.dir, "out", name), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def test_command_gets_the_message(self):
        send(self.mta, ["pipe@localhost"], b"Subject: p\r\n\r\npiped\r\n")
        wait_for(lambda: self.read("who"), 20, "the command's output")
        msg = self.read("piped")
        self.assertTrue(msg.startswith(b"Return-Path: <bob@example.org>\n"
                                       b"Delivered-To: pipe@localhost\n"
                                       b"Received: "), msg)
        self.assertTrue(msg.endswith(b"\n\npiped\n"), msg)
        self.assertEqual(self.read("who").strip(), b"nobody" if
                         os.getuid() == 0 else
                         pwd.getpwuid(os.getuid()).pw_name.encode())
        self.mta.wait_log(r"orig_to=<pipe@localhost>, relay=local, .*"
                          r"dsn=2\.0\.0, status=sent \(delivered to command: ")

    def test_command_results(self):
        send(self.mta, ["pipefail@localhost", "pipetemp@localhost",
                        "pipeslow@localhost", "pipeinc@localhost"])
        self.mta.wait_log(r"orig_to=<pipefail@localhost>, .*dsn=5\.3\.0, "
                          r"status=bounced \(command .*: exit 67: no such "
                          r"list\)")
        self.mta.wait_log(r"orig_to=<pipetemp@localhost>, .*dsn=4\.3\.0, "
                          r"status=deferred \(command exit 75: exit 75: \)")
        self.mta.wait_log(r"orig_to=<pipeslow@localhost>, .*dsn=4\.3\.0, "
                          r"status=deferred \(command sleep 30: time limit "
                          r"of 1s exceeded\)")
        self.mta.wait_log(r"orig_to=<pipeinc@localhost>, .*dsn=5\.7\.1, "
                          r"status=bounced \(alias target \|cat: delivery to "
                          r"commands is not allowed in :include: files\)")


class MapErrors(unittest.TestCase):
    def setUp(self):
        self.mta = MTA()

    def tearDown(self):
        self.mta.cleanup()

    def test_bad_line_names_file_and_line(self):
        path = os.path.join(self.mta.dir, "virtual")
        with open(path, "w") as f:
            f.write("a@b.example b/a/\n\nlonely\n")
        p = self.mta.ctl("makemap", path, check=False)
        self.assertEqual(p.returncode, 78)
        self.assertIn("%s:3: expected \"key value\"" % path, p.stderr)
        self.assertFalse(os.path.exists(path + ".lmdb"))

    def test_duplicate_alias(self):
        path = os.path.join(self.mta.dir, "aliases")
        with open(path, "w") as f:
            f.write("a: b\nA: c\n")
        with open(self.mta.conf, "a") as f:
            f.write("alias_maps = %s\n" % path)
        p = self.mta.ctl("newaliases", check=False)
        self.assertEqual(p.returncode, 78)
        self.assertIn("%s:2: duplicate key \"a\"" % path, p.stderr)

    def test_lmdb_file_readable_by_mdb_tools(self):
        path = os.path.join(self.mta.dir, "virtual")
        with open(path, "w") as f:
            f.write("a@b.example b/a/\n")
        self.assertIn("1 entries", self.mta.ctl("makemap", path).stdout)
        out = subprocess.run(["mdb_dump", "-n", "-p", path + ".lmdb"],
                             capture_output=True, text=True).stdout
        self.assertIn("a@b.example", out)


class Quota(unittest.TestCase):
    def run_quota(self, bounce):
        m = MTA(mailbox_quota="2k", mailbox_quota_bounce=bounce).start()
        try:
            send(m, ["q@localhost"], b"Subject: 1\r\n\r\n" + b"x" * 1200 +
                 b"\r\n")
            m.wait_messages("q", 1)
            send(m, ["q@localhost"], b"Subject: 2\r\n\r\n" + b"y" * 1200 +
                 b"\r\n")
            return m.wait_log(r"to=<q@localhost>, .*dsn=(\S+), status=(\w+) "
                              r"\(mailbox full: \d+ bytes used, quota "
                              r"2048\)").groups()
        finally:
            m.cleanup()

    def test_over_quota_deferred(self):
        self.assertEqual(self.run_quota("no"), ("4.2.2", "deferred"))

    def test_over_quota_bounced(self):
        self.assertEqual(self.run_quota("yes"), ("5.2.2", "bounced"))


class EmbeddedDefault(unittest.TestCase):
    """make run's setting: no maps, any local part is delivered."""

    def test_any_user_without_maps(self):
        m = MTA(virtual_mailbox_domains="v9.example").start()
        try:
            send(m, ["whoever.x@localhost", "any@v9.example"])
            m.wait_messages("whoever.x", 1)
            m.wait_messages("any", 1, domain="v9.example")
        finally:
            m.cleanup()


if __name__ == "__main__":
    unittest.main()

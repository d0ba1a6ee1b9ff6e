"""test_local_quota.py - Maildir++ quota: local(8) and the maildirsize file.

With mailbox_quota (and mailbox_quota_count) set, local keeps the
Maildir++ "maildirsize" file at the root of each Maildir as Dovecot and
Courier read it: the first line is the quota definition, each delivery
appends "SIZE 1", and the file is made again from the Maildir when it
is missing, 5120 bytes or more, of another definition, 15 minutes old,
or says "over quota" with more than one line.  A message that does not
fit is deferred (4.2.2) or bounced (5.2.2).  Dovecot with its quota
plugin reads our file and appends its own "-SIZE -1" when a message is
deleted over POP3; without the plugin, a deletion makes room once the
file is counted again.  Without a quota no maildirsize is written.
"""
import os
import poplib
import re
import time
import unittest

from mta import MTA, wait_for
from local_helpers import send
import dovecot_helpers

MSG = b"Subject: q\r\n\r\n" + b"x" * 1200 + b"\r\n"


def maildirsize(m, user):
    """(definition, [(bytes, count), ...]) of user's maildirsize."""
    with open(os.path.join(m.maildir(user), "maildirsize")) as f:
        lines = f.read().split("\n")
    assert lines[-1] == "", lines  # every line ends in a newline
    return lines[0], [tuple(int(x) for x in l.split()) for l in lines[1:-1]]


def sums(m, user):
    rows = maildirsize(m, user)[1]
    return sum(r[0] for r in rows), sum(r[1] for r in rows)


def sizes(m, user, sub="new"):
    d = os.path.join(m.maildir(user), sub)
    return sorted(os.path.getsize(os.path.join(d, n)) for n in os.listdir(d))


def make_maildir(m, user, files=(), maildirsize_text=None):
    """A Maildir made before the system delivers to it: files (name,
    bytes) in cur/, and the maildirsize text given."""
    root = m.maildir(user)
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(root, sub))
    for name, data in files:
        with open(os.path.join(root, "cur", name), "wb") as f:
            f.write(data)
    if maildirsize_text is not None:
        with open(os.path.join(root, "maildirsize"), "w") as f:
            f.write(maildirsize_text)
    return root


def sent(m, user, n=1):
    """Wait until user has n "status=sent" log lines."""
    pat = r"to=<%s@localhost>,[^\n]*status=sent" % user
    wait_for(lambda: len(re.findall(pat, m.log_text())) >= n, 30,
             "%d deliveries to %s" % (n, user))


class MaildirsizeFile(unittest.TestCase):
    def tearDown(self):
        self.m.cleanup()

    def test_made_with_definition_then_appended(self):
        self.m = MTA(mailbox_quota="100k", mailbox_quota_count="10").start()
        send(self.m, ["a@localhost"], MSG)
        sent(self.m, "a")
        size = sizes(self.m, "a")[0]
        name = os.listdir(os.path.join(self.m.maildir("a"), "new"))[0]
        self.assertIn(",S=%d" % size, name)
        # made from the (empty) Maildir, then the delivery's line
        self.assertEqual(maildirsize(self.m, "a"),
                         ("102400S,10C", [(0, 0), (size, 1)]))
        send(self.m, ["a@localhost"], MSG + b"more\r\n")
        sent(self.m, "a", 2)
        s1, s2 = sizes(self.m, "a")
        self.assertEqual(maildirsize(self.m, "a"),
                         ("102400S,10C", [(0, 0), (s1, 1), (s2, 1)]))
        # nothing of ours is left in tmp/
        self.assertEqual(os.listdir(os.path.join(self.m.maildir("a"),
                                                 "tmp")), [])

    def test_no_quota_no_file(self):
        self.m = MTA().start()
        send(self.m, ["a@localhost"], MSG)
        sent(self.m, "a")
        self.assertFalse(os.path.exists(
            os.path.join(self.m.maildir("a"), "maildirsize")))

    def test_made_again(self):
        """A file of 5120 bytes or more, one of another definition and
        one whose many lines say "over quota" are counted again from
        the Maildir (three 1000-byte messages in cur/ each)."""
        self.m = MTA(mailbox_quota="100k")
        old = [("%d.M1P1.old,S=1000:2,S" % i, b"x" * 1000) for i in range(3)]
        make_maildir(self.m, "big", old, "102400S\n" + "10 1\n" * 1100)
        make_maildir(self.m, "olddef", old, "5000S\n3000 3\n")
        make_maildir(self.m, "drift", old,
                     "102400S\n200000 1\n3000 3\n")
        self.assertGreater(os.path.getsize(os.path.join(
            self.m.maildir("big"), "maildirsize")), 5120)
        self.m.start()
        send(self.m, ["big@localhost", "olddef@localhost",
                      "drift@localhost"], MSG)
        for u in ("big", "olddef", "drift"):
            sent(self.m, u)
            size = sizes(self.m, u)[0]
            self.assertEqual(maildirsize(self.m, u),
                             ("102400S", [(3000, 3), (size, 1)]), u)


class OverQuota(unittest.TestCase):
    def tearDown(self):
        self.m.cleanup()

    def run_count(self, bounce):
        self.m = MTA(mailbox_quota="100k", mailbox_quota_count="1",
                     mailbox_quota_bounce=bounce).start()
        send(self.m, ["c@localhost"], MSG)
        sent(self.m, "c")
        send(self.m, ["c@localhost"], MSG)
        return self.m.wait_log(
            r"to=<c@localhost>, .*dsn=(\S+), status=(\w+) \(mailbox "
            r"full: 1 messages, quota 1 messages\)").groups()

    def test_count_deferred(self):
        self.assertEqual(self.run_count("no"), ("4.2.2", "deferred"))
        self.assertEqual(len(self.m.messages("c")), 1)

    def test_count_bounced(self):
        self.assertEqual(self.run_count("yes"), ("5.2.2", "bounced"))

    def test_fresh_line_believed_until_old(self):
        """One fresh line that says full is believed without counting
        the Maildir (which is empty); 15 minutes old, it is counted
        again and the deferred message goes in."""
        self.m = MTA(mailbox_quota="100k")
        make_maildir(self.m, "f", (), "102400S\n200000 1\n")
        self.m.start()
        send(self.m, ["f@localhost"], MSG)
        self.m.wait_log(r"to=<f@localhost>, .*dsn=4\.2\.2, status=deferred "
                        r"\(mailbox full: 200000 bytes used, quota 102400\)")
        self.assertEqual(self.m.messages("f"), [])
        path = os.path.join(self.m.maildir("f"), "maildirsize")
        old = time.time() - 16 * 60
        os.utime(path, (old, old))
        sent(self.m, "f")
        self.assertEqual(maildirsize(self.m, "f"),
                         ("102400S", [(0, 0), (sizes(self.m, "f")[0], 1)]))


@unittest.skipUnless(dovecot_helpers.available(),
                     "dovecot-pop3d is not installed (make deps)")
class DovecotQuota(unittest.TestCase):
    QUOTA_PLUGIN = ("mail_plugins = $mail_plugins quota\n"
                    "plugin {\n  quota = maildir:User quota\n}\n")

    def setUp(self):
        self.dovecot = None
        self.m = None

    def tearDown(self):
        if self.dovecot:
            self.dovecot.stop()
        if self.m:
            self.m.cleanup()

    def dovecot_start(self, extra):
        self.dovecot = dovecot_helpers.Dovecot(
            self.m.dir, "maildir:%s/%%d/%%n/Maildir" % self.m.mail,
            {"d@localhost": "secret"}, extra)
        self.dovecot.start(self.m.mail)

    def pop3_delete_first(self):
        pop = poplib.POP3("127.0.0.1", self.dovecot.port, timeout=20)
        try:
            pop.user("d@localhost")
            pop.pass_("secret")
            count = pop.stat()[0]
            pop.dele(1)
        finally:
            pop.quit()
        return count

    def test_dovecot_quota_plugin_reads_and_appends(self):
        self.m = MTA(mailbox_quota="3k").start()
        send(self.m, ["d@localhost"], MSG)
        sent(self.m, "d")
        send(self.m, ["d@localhost"], MSG + b"second\r\n")
        sent(self.m, "d", 2)
        s1, s2 = sizes(self.m, "d")
        self.assertEqual(sums(self.m, "d"), (s1 + s2, 2))
        self.dovecot_start(self.QUOTA_PLUGIN)
        # Dovecot's view: our definition and our sums (in KiB, rounded
        # up)
        p = self.dovecot.doveadm("quota", "get", "-u", "d@localhost")
        self.assertEqual(p.returncode, 0, p.stderr + self.dovecot.log_text())
        rows = {l.split()[2]: l.split()[3:5] for l in p.stdout.splitlines()
                if l.startswith("User quota")}
        self.assertEqual(rows["MESSAGE"], ["2", "-"], p.stdout)
        self.assertEqual(rows["STORAGE"], [str((s1 + s2 + 1023) // 1024), "3"],
                         p.stdout)
        self.assertEqual(self.pop3_delete_first(), 2)
        # Dovecot recorded the deletion in our file, under our definition
        definition, rows = maildirsize(self.m, "d")
        self.assertEqual(definition, "3072S")
        self.assertEqual(rows[-1], (-s1, -1))  # the first, the smaller
        self.assertEqual(sums(self.m, "d")[1], 1)
        left = sizes(self.m, "d", "new") + sizes(self.m, "d", "cur")
        self.assertEqual(sums(self.m, "d")[0], sum(left))
        # and a third message fits beside the one left
        send(self.m, ["d@localhost"], MSG)
        sent(self.m, "d", 3)
        self.assertEqual(sums(self.m, "d")[1], 2)

    def test_pop3_delete_without_plugin_makes_room(self):
        self.m = MTA(mailbox_quota_count="2").start()
        send(self.m, ["d@localhost"], MSG)
        sent(self.m, "d")
        send(self.m, ["d@localhost"], MSG)
        sent(self.m, "d", 2)
        send(self.m, ["d@localhost"], b"Subject: third\r\n\r\nthird\r\n")
        self.m.wait_log(r"to=<d@localhost>, .*dsn=4\.2\.2, status=deferred "
                        r"\(mailbox full: 2 messages, quota 2 messages\)")
        self.assertEqual(maildirsize(self.m, "d")[0], "2C")
        self.dovecot_start("")
        self.assertEqual(self.pop3_delete_first(), 2)
        # Dovecot without the plugin leaves maildirsize as it was (one
        # line, fresh: believed); once it is old it is counted again
        self.assertEqual(sums(self.m, "d")[1], 2)
        path = os.path.join(self.m.maildir("d"), "maildirsize")
        old = time.time() - 16 * 60
        os.utime(path, (old, old))
        sent(self.m, "d", 3)
        self.assertTrue(any(b"Subject: third" in m
                            for m in self.m.messages("d")))
        self.assertEqual(sums(self.m, "d")[1], 2)


if __name__ == "__main__":
    unittest.main()

"""test_local_files.py - "/file" and "/dir/" alias targets
(allow_mail_to_files = yes), unprivileged.

A /file target gets the message appended in mbox format by the same code
as mailboxes (From line, >From quoting, locks, fsync); a /dir/ target is
a Maildir.  Each delivery logs relay=local with "delivered to file PATH"
or "delivered to maildir PATH"; a file whose directory is missing is
deferred (no directories are made for it); a file locked by another
process is deferred and left as it was.  The identities used in root
mode are tested in test_local_dotforward.py.
"""
import fcntl
import os
import re
import shutil
import unittest

from mta import wait_for
from local_helpers import mta_with_maps, send

ALIASES = """\
tofile: @DIR@/out/box
todir: @DIR@/out/md/
again: @DIR@/out/md3/
both: @DIR@/out/box2, "@DIR@/out/md2/"
nodir: @DIR@/missing/box
locked: @DIR@/out/locked
"""
MESSAGE = (b"From: Bob <bob@example.org>\r\n"
           b"Subject: to a file\r\n"
           b"Message-ID: <files.1@example.org>\r\n"
           b"Date: Sun, 29 Nov 2026 04:00:00 +0000\r\n"
           b"\r\n"
           b"first line\r\n"
           b"From the start of a line\r\n"
           b">From already quoted\r\n")
FROM_LINE = rb"From bob@example\.org \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n"


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


class FileTargets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mta = mta_with_maps(aliases=ALIASES, allow_mail_to_files="yes",
                                mbox_lock_timeout="1s")
        cls.out = os.path.join(cls.mta.dir, "out")
        os.mkdir(cls.out)
        cls.mta.start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def maildir_files(self, d):
        new = os.path.join(self.out, d, "new")
        names = sorted(os.listdir(new)) if os.path.isdir(new) else []
        return [read(os.path.join(new, n)) for n in names]

    def test_mbox_file(self):
        path = os.path.join(self.out, "box")
        send(self.mta, ["tofile@localhost"], MESSAGE)
        data = wait_for(lambda: read(path).endswith(b"\n\n") and read(path),
                        20, "the message in %s" % path)
        m = re.match(FROM_LINE + rb"Return-Path: <bob@example\.org>\n"
                     rb"Delivered-To: tofile@localhost\n"
                     rb"Received: [^\n]*\n(?:\t[^\n]*\n)*", data)
        self.assertTrue(m, data)
        body = (MESSAGE.replace(b"\r\n", b"\n")
                .replace(b"\nFrom the", b"\n>From the")
                .replace(b"\n>From already", b"\n>>From already"))
        self.assertEqual(data[m.end():], body + b"\n")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        self.mta.wait_log(r"to=<%s>, orig_to=<tofile@localhost>, "
                          r"relay=local, delay=[\d.]+, delays=[\d.]+/[\d.]+/"
                          r"[\d.]+/[\d.]+, dsn=2\.0\.0, status=sent "
                          r"\(delivered to file %s\)"
                          % (re.escape(path), re.escape(path)))

    def test_maildir_directory(self):
        send(self.mta, ["todir@localhost"], MESSAGE)
        files = wait_for(lambda: self.maildir_files("md"), 20,
                         "the message in out/md/new")
        m = re.match(rb"Return-Path: <bob@example\.org>\n"
                     rb"Delivered-To: todir@localhost\n"
                     rb"Received: [^\n]*\n(?:\t[^\n]*\n)*", files[0])
        self.assertTrue(m, files[0])
        self.assertEqual(files[0][m.end():], MESSAGE.replace(b"\r\n", b"\n"))
        md = os.path.join(self.out, "md")
        self.mta.wait_log(r"to=<%s/>, orig_to=<todir@localhost>, relay=local"
                          r", .*dsn=2\.0\.0, status=sent \(delivered to "
                          r"maildir %s\)" % (re.escape(md), re.escape(md)))

    def test_maildir_removed_between_deliveries_is_made_again(self):
        # local remembers the Maildirs it made; one removed since (all of
        # it, or only new/) is made again, not deferred
        md = os.path.join(self.out, "md3")
        for n, remove in enumerate((None, md, os.path.join(md, "new"))):
            if remove:
                shutil.rmtree(remove)
            send(self.mta, ["again@localhost"], MESSAGE)
            wait_for(lambda: self.maildir_files("md3"), 20,
                     "delivery %d in out/md3/new" % (n + 1))
            for sub in ("tmp", "new", "cur"):
                self.assertTrue(os.path.isdir(os.path.join(md, sub)), sub)
        self.assertNotRegex(self.mta.log_text(),
                            r"orig_to=<again@localhost>.*status=deferred")

    def test_mbox_and_maildir_hold_the_same_message(self):
        send(self.mta, ["both@localhost"], MESSAGE)
        box = os.path.join(self.out, "box2")
        data = wait_for(lambda: read(box).endswith(b"\n\n") and read(box),
                        20, "the mbox")
        md = wait_for(lambda: self.maildir_files("md2"), 20, "the Maildir")
        m = re.match(FROM_LINE, data)
        unquoted = re.sub(rb"\n>(>*From )", rb"\n\1", data[m.end():])
        self.assertEqual(unquoted[:-1], md[0])

    def test_missing_directory_deferred(self):
        send(self.mta, ["nodir@localhost"])
        path = os.path.join(self.mta.dir, "missing", "box")
        self.mta.wait_log(r"to=<%s>, orig_to=<nodir@localhost>, .*dsn=4\.2\.0"
                          r", status=deferred \(mbox delivery failed: open "
                          r"%s: No such file or directory\)"
                          % (re.escape(path), re.escape(path)))
        self.assertFalse(os.path.exists(os.path.dirname(path)))

    def test_locked_file_deferred_then_delivered(self):
        path = os.path.join(self.out, "locked")
        with open(path, "wb") as f:
            f.write(b"From old Sun Nov 29 00:00:00 2026\n\nold\n\n")
        before = read(path)
        with open(path, "rb+") as f:
            fcntl.lockf(f, fcntl.LOCK_EX)
            send(self.mta, ["locked@localhost"])
            self.mta.wait_log(r"to=<%s>, .*dsn=4\.2\.0, status=deferred "
                              r"\(mbox %s is locked by another process\)"
                              % (re.escape(path), re.escape(path)))
            self.assertEqual(read(path), before)
        wait_for(lambda: read(path).endswith(b"\nHello.\n\n"), 30,
                 "the retried delivery")
        self.assertTrue(read(path).startswith(before))


if __name__ == "__main__":
    unittest.main()

"""test_local_dotforward.py - root mode: ~/.forward of system users and
the identities of file and command targets.  Runs only as root (CI
does): it creates a system user whose home is in the test directory.

- A .forward (comments, "\\user", a /file, a |command) is followed: the
  user's own mailbox, the file and the command's output are written as
  the user, never as root.
- A .forward that is group/world writable, owned by someone else, a
  symbolic link, or one the user cannot read is not followed: the log
  says why, and the mail goes to the mailbox.
- A loop through an alias and a .forward bounces (5.4.6): one chain.
- allow_forward = no ignores the file.
- An alias's /file target is written as the owner of the compiled alias
  map, or as command_user when root owns it.
"""
import os
import pwd
import re
import shutil
import subprocess
import unittest

from mta import MTA, wait_for
from local_helpers import send
import test_root_mode

USER = "mtatest-fwd"


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("useradd"),
                     ".forward and file targets as other users need root")
class DotForwardRootMode(unittest.TestCase):
    def setUp(self):
        test_root_mode.ensure_users()
        self.mtas = []
        self.base = MTA()  # only for a directory we clean up
        os.chmod(self.base.dir, 0o755)
        self.home = os.path.join(self.base.dir, "home", USER)
        os.makedirs(self.home)
        os.chmod(os.path.dirname(self.home), 0o755)
        subprocess.run(["userdel", USER], check=False,
                       stderr=subprocess.DEVNULL)
        subprocess.run(["useradd", "-M", "-d", self.home, "-s",
                        "/usr/sbin/nologin", USER], check=True)
        self.pw = pwd.getpwnam(USER)
        os.chmod(self.home, 0o700)
        os.chown(self.home, self.pw.pw_uid, self.pw.pw_gid)
        self.out = os.path.join(self.base.dir, "out")
        os.mkdir(self.out)
        os.chmod(self.out, 0o777)
        self.aliases = os.path.join(self.base.dir, "aliases")
        with open(self.aliases, "w") as f:
            f.write("loopfwd: %s\n"
                    "byalias: %s/byalias\n"
                    "byowner: %s/byowner\n" % (USER, self.out, self.out))

    def tearDown(self):
        for m in self.mtas:
            m.cleanup()
        subprocess.run(["userdel", USER], check=False)
        self.base.cleanup()

    def start(self, **extra):
        m = MTA(run_mode="root", local_users="system",
                home_mailbox="Maildir/", alias_maps=self.aliases,
                allow_mail_to_files="yes", allow_mail_to_commands="yes",
                srs_secret_file=os.path.join(self.base.dir, "srs.key"),
                **test_root_mode.USERS, **extra)
        os.chmod(m.dir, 0o755)
        self.mtas.append(m)
        m.ctl("newaliases")  # before start: chrooted smtpd opens maps once
        return m.start()

    def dot_forward(self, text, mode=0o600, owner=None, name=".forward"):
        path = os.path.join(self.home, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        uid = self.pw.pw_uid if owner is None else owner
        os.chown(path, uid, self.pw.pw_gid)
        return path

    def owner(self, path):
        return pwd.getpwuid(os.stat(path).st_uid).pw_name

    def mailbox(self):
        new = os.path.join(self.home, "Maildir", "new")
        return sorted(os.listdir(new)) if os.path.isdir(new) else []

    def test_followed_as_the_user(self):
        box = os.path.join(self.home, "fwdbox")
        who = os.path.join(self.home, "who")
        self.dot_forward("# keep a copy, file one, tell a program\n"
                         "\\%s, %s\n\"|id -un > %s; pwd >> %s\"\n"
                         % (USER, box, who, who))
        m = self.start()
        send(m, [USER + "@localhost"])
        wait_for(self.mailbox, 20, "the copy in ~/Maildir/new")
        wait_for(lambda: read(box).endswith(b"\n\nHello.\n\n"), 20,
                 "the copy in ~/fwdbox")
        wait_for(lambda: read(who).strip(), 20, "the command's output")
        # as the user, in the user's home directory
        wait_for(lambda: len(read(who).split()) == 2, 20, "pwd's output")
        self.assertEqual(read(who).decode().split(), [USER, self.home])
        self.assertEqual(self.owner(box), USER)
        new = os.path.join(self.home, "Maildir", "new")
        self.assertEqual(self.owner(os.path.join(new, self.mailbox()[0])),
                         USER)
        m.wait_log(r"to=<%s>, orig_to=<%s@localhost>, relay=local, .*"
                   r"dsn=2\.0\.0, status=sent \(delivered to file %s\)"
                   % (re.escape(box), USER, re.escape(box)))
        m.wait_log(r"to=<%s@localhost>, relay=local, .*status=sent "
                   r"\(delivered to maildir %s/Maildir\)"
                   % (USER, re.escape(self.home)))

    def refused(self, m, why):
        """Not followed: the log says why; the mail is in the mailbox."""
        n = len(self.mailbox())
        send(m, [USER + "@localhost"])
        m.wait_log(r"local\[\d+\]: warning: \.forward for <%s@localhost> "
                   r"not followed: %s/\.forward: %s"
                   % (USER, re.escape(self.home), why))
        wait_for(lambda: len(self.mailbox()) > n, 20, "the mailbox copy")
        self.assertFalse(os.path.exists(os.path.join(self.out, "stolen")))

    def test_unsafe_forward_files_not_followed(self):
        target = "%s/stolen\n" % self.out
        m = self.start()
        self.dot_forward(target, mode=0o664)
        self.refused(m, "writable by group or others")
        nobody = pwd.getpwnam("nobody").pw_uid
        self.dot_forward(target, mode=0o644, owner=nobody)
        self.refused(m, "not owned by the user or root")
        # root's own file the user may not read: read as the user, so no
        self.dot_forward(target, owner=0)
        self.refused(m, "Permission denied")
        path = os.path.join(self.home, ".forward")
        os.unlink(path)
        real = os.path.join(self.home, "real")
        with open(real, "w") as f:
            f.write(target)
        os.chown(real, self.pw.pw_uid, self.pw.pw_gid)
        os.symlink(real, path)
        self.refused(m, "a symbolic link")

    def test_forward_with_extension(self):
        # user+lists: ~/.forward+lists when there is one; another
        # extension, or one unfit for a file name: ~/.forward
        lists = os.path.join(self.home, "listbox")
        plain = os.path.join(self.home, "plainbox")
        self.dot_forward("%s\n" % lists, name=".forward+lists")
        self.dot_forward("%s\n" % plain)
        m = self.start()
        send(m, [USER + "+Lists@localhost"])
        wait_for(lambda: read(lists).endswith(b"\n\n"), 20,
                 "the copy in ~/listbox")
        send(m, [USER + "+other@localhost"])
        wait_for(lambda: read(plain).endswith(b"\n\n"), 20,
                 "the copy in ~/plainbox")
        n = read(plain).count(b"\nHello.\n")
        send(m, ['"%s+a/b"@localhost' % USER])  # no file name
        wait_for(lambda: read(plain).count(b"\nHello.\n") > n, 20,
                 "a second copy in ~/plainbox")
        self.assertEqual(read(lists).count(b"\nHello.\n"), 1)
        # an unsafe .forward+ext is not followed: the log says why, and
        # ~/.forward applies
        self.dot_forward("%s\n" % lists, mode=0o666, name=".forward+lists")
        os.chmod(os.path.join(self.home, ".forward+lists"), 0o666)
        send(m, [USER + "+lists@localhost"])
        m.wait_log(r"warning: \.forward for <%s\+lists@localhost> not "
                   r"followed: %s/\.forward\+lists: writable by group or "
                   r"others" % (USER, re.escape(self.home)))
        wait_for(lambda: read(plain).count(b"\nHello.\n") > n + 1, 20,
                 "a third copy in ~/plainbox")
        self.assertEqual(read(lists).count(b"\nHello.\n"), 1)

    def test_loop_through_alias_and_forward(self):
        self.dot_forward("loopfwd\n")
        m = self.start()
        send(m, [USER + "@localhost"])
        m.wait_log(r"to=<%s@localhost>, relay=local, .*dsn=5\.4\.6, status="
                   r"bounced \(alias loop: %s@localhost -> loopfwd@localhost"
                   r" -> %s@localhost\)" % (USER, USER, USER))
        self.assertEqual(self.mailbox(), [])

    def test_allow_forward_no(self):
        self.dot_forward("%s/stolen\n" % self.out)
        m = self.start(allow_forward="no")
        send(m, [USER + "@localhost"])
        wait_for(self.mailbox, 20, "the copy in ~/Maildir/new")
        self.assertFalse(os.path.exists(os.path.join(self.out, "stolen")))
        self.assertNotIn(".forward", m.log_text())

    def test_alias_file_identity(self):
        m = self.start()
        send(m, ["byalias@localhost"])
        path = os.path.join(self.out, "byalias")
        wait_for(lambda: read(path).endswith(b"\n\n"), 20, path)
        self.assertEqual(self.owner(path), "nobody")  # command_user
        # a map compiled by (or given to) a user: written as that user
        os.chown(self.aliases + ".lmdb", self.pw.pw_uid, self.pw.pw_gid)
        send(m, ["byowner@localhost"])
        path = os.path.join(self.out, "byowner")
        wait_for(lambda: read(path).endswith(b"\n\n"), 20, path)
        self.assertEqual(self.owner(path), USER)


if __name__ == "__main__":
    unittest.main()

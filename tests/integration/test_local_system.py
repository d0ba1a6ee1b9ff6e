"""test_local_system.py - local_users = system: mydestination users are
system accounts (getpwnam), delivered as that user.

As any user (run_mode = user): an unknown account gets 550 5.1.1 at RCPT
time, postmaster still resolves, the own account gets an mbox in
mail_spool_directory (or, as root, is refused: never deliver as root).
As root (run_mode = root, CI): a test account with its home in the test
directory gets ~/Maildir/ or an mbox in the spool, files owned by it, and
virtual mail is still written as local_user; the account is removed after.
"""
import os
import re
import pwd
import shutil
import subprocess
import unittest

from mta import MTA, wait_for
from local_helpers import rcpt_reply, send
import test_root_mode

SYSUSER = "mtatest-sys"


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


class SystemUsersUserMode(unittest.TestCase):
    def setUp(self):
        self.spool = None
        self.mta = MTA(local_users="system", home_mailbox="")
        self.spool = os.path.join(self.mta.dir, "spool")
        os.mkdir(self.spool)
        with open(self.mta.conf, "a") as f:
            f.write("mail_spool_directory = %s\n" % self.spool)
        self.mta.start()

    def tearDown(self):
        self.mta.cleanup()

    def test_unknown_account_550(self):
        code, text = rcpt_reply(self.mta, "no-such-account-77@localhost")
        self.assertEqual(code, 550)
        self.assertIn("5.1.1", text)
        self.assertEqual(rcpt_reply(self.mta, "postmaster@localhost")[0],
                         250)

    def test_own_account(self):
        me = pwd.getpwuid(os.getuid()).pw_name
        self.assertEqual(rcpt_reply(self.mta, me + "@localhost")[0], 250)
        send(self.mta, [me + "@localhost", "postmaster@localhost"])
        self.mta.wait_messages("postmaster", 1)
        if os.getuid() == 0:
            self.mta.wait_log(r"to=<root@localhost>, .*dsn=4\.3\.0, status="
                              r"deferred \(will not deliver as root")
            self.assertEqual(os.listdir(self.spool), [])
        else:
            path = os.path.join(self.spool, me)
            wait_for(lambda: b"\n\nHello.\n\n" in read(path), 20,
                     "mbox in the spool")
            self.mta.wait_log(r"to=<%s@localhost>, relay=local, .*status="
                              r"sent \(delivered to mailbox %s\)" %
                              (me, path))


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("useradd"),
                     "delivery as system users needs root")
class SystemUsersRootMode(unittest.TestCase):
    def setUp(self):
        test_root_mode.ensure_users()
        self.mtas = []
        self.base = MTA()  # only for a directory we clean up
        os.chmod(self.base.dir, 0o755)
        self.home = os.path.join(self.base.dir, "home")
        os.mkdir(self.home, 0o755)
        home = os.path.join(self.home, SYSUSER)
        subprocess.run(["useradd", "-M", "-d", home, "-s",
                        "/usr/sbin/nologin", SYSUSER], check=True)
        self.pw = pwd.getpwnam(SYSUSER)
        os.mkdir(home, 0o700)
        os.chown(home, self.pw.pw_uid, self.pw.pw_gid)

    def tearDown(self):
        for m in self.mtas:
            m.cleanup()
        subprocess.run(["userdel", SYSUSER], check=False)
        self.base.cleanup()

    def start(self, newaliases=False, **extra):
        m = MTA(run_mode="root", local_users="system",
                virtual_mailbox_domains="v.example",
                **test_root_mode.USERS, **extra)
        os.chmod(m.dir, 0o755)
        os.mkdir(m.mail)
        vmail = pwd.getpwnam(test_root_mode.USERS["local_user"])
        os.chown(m.mail, vmail.pw_uid, vmail.pw_gid)
        self.mtas.append(m)
        if newaliases:  # before start: chrooted smtpd opens maps once
            m.ctl("newaliases")
        return m.start()

    def owner(self, path):
        return pwd.getpwuid(os.stat(path).st_uid).pw_name

    def test_home_maildir_as_the_user(self):
        m = self.start(home_mailbox="Maildir/")
        send(m, [SYSUSER + "@localhost", "v@v.example"])
        new = os.path.join(self.home, SYSUSER, "Maildir", "new")
        files = wait_for(lambda: os.path.isdir(new) and os.listdir(new), 20,
                         "the message in ~/Maildir/new")
        self.assertEqual(self.owner(os.path.join(new, files[0])), SYSUSER)
        self.assertEqual(self.owner(new), SYSUSER)
        vm = m.wait_messages("v", 1, domain="v.example")
        self.assertTrue(vm)
        vnew = os.path.join(m.maildir("v", "v.example"), "new")
        self.assertEqual(self.owner(os.path.join(vnew, os.listdir(vnew)[0])),
                         test_root_mode.USERS["local_user"])
        # local itself stays root only to fork the delivery processes
        self.assertEqual(self.owner("/proc/%d" % m.pids("local")[0]), "root")
        m.wait_log(r"to=<%s@localhost>, relay=local, .*status=sent "
                   r"\(delivered to maildir %s/%s/Maildir\)" %
                   (SYSUSER, self.home, SYSUSER))

    def test_alias_forward_and_command_in_root_mode(self):
        aliases = os.path.join(self.base.dir, "aliases")
        out = os.path.join(self.base.dir, "out")
        os.mkdir(out)
        os.chmod(out, 0o777)
        with open(aliases, "w") as f:
            f.write("fwd: %s, far@remote.example\n"
                    "cmd: \"|id -un > %s/who\"\n" % (SYSUSER, out))
        m = self.start(home_mailbox="Maildir/", alias_maps=aliases,
                       srs_secret_file=os.path.join(self.base.dir, "srs.key"),
                       allow_mail_to_commands="yes", newaliases=True)
        send(m, ["fwd@localhost", "cmd@localhost"])
        m.wait_log(r"to=<far@remote\.example>, orig_to=<fwd@localhost>, "
                   r"relay=local, .*status=sent \(forwarded as \w+\)")
        m.wait_log(r"to=<%s@localhost>, orig_to=<fwd@localhost>, .*"
                   r"status=sent" % SYSUSER)
        who = os.path.join(out, "who")
        wait_for(lambda: read(who).strip(), 20, "the command's output")
        self.assertEqual(read(who).strip(), b"nobody")
        # a map rebuilt while running: the chrooted smtpd that still has
        # the old one finishes its session and is replaced.  Not under
        # "make sanitize": there a root-mode daemon that exits (max_use,
        # max_idle, or this) spins in LeakSanitizer's exit check, which
        # cannot trace a process that changed uid, and master, told it was
        # idle, starts no other (also seen with max_use = 1, no map change)
        if os.environ.get("MTA_SAN_REPORTS"):
            return
        self.assertEqual(rcpt_reply(m, "newalias@localhost")[0], 550)
        with open(aliases, "a") as f:
            f.write("newalias: %s\n" % SYSUSER)
        m.ctl("newaliases")
        wait_for(lambda: rcpt_reply(m, "newalias@localhost")[0] == 250, 20,
                 "smtpd to accept the new alias")
        m.wait_log(r"smtpd\[\d+\]: map .*aliases\.lmdb was replaced or is "
                   r"missing; restarting after this session")

    def test_spool_mbox_as_the_user(self):
        spool = os.path.join(self.base.dir, "spool")
        os.mkdir(spool)
        os.chmod(spool, 0o1777)
        m = self.start(home_mailbox="", mail_spool_directory=spool)
        send(m, [SYSUSER + "@localhost"])
        path = os.path.join(spool, SYSUSER)
        wait_for(lambda: read(path).endswith(b"\n\nHello.\n\n"), 20,
                 "the mbox")
        self.assertEqual(self.owner(path), SYSUSER)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)

    def test_spool_mbox_made_where_the_user_cannot(self):
        # Debian's /var/mail: 2775 root:mail, users write their own file
        # but cannot make it; local makes it for them, then writes as them
        spool = os.path.join(self.base.dir, "spool")
        os.mkdir(spool)
        os.chmod(spool, 0o2775)
        m = self.start(home_mailbox="", mail_spool_directory=spool)
        send(m, [SYSUSER + "@localhost"])
        path = os.path.join(spool, SYSUSER)
        wait_for(lambda: read(path).endswith(b"\n\nHello.\n\n"), 20,
                 "the mbox")
        st = os.stat(path)
        self.assertEqual(self.owner(path), SYSUSER)
        self.assertEqual(st.st_gid, self.pw.pw_gid)
        self.assertEqual(st.st_mode & 0o777, 0o600)
        m.wait_log(r"local\[\d+\]: created mailbox %s for uid %d"
                   % (re.escape(path), self.pw.pw_uid))
        # a second message is appended to the file it now has
        send(m, [SYSUSER + "@localhost"])
        wait_for(lambda: read(path).count(b"\nHello.\n") == 2, 20,
                 "the second message")
        self.assertNotIn(os.path.basename(path) + ".lock",
                         os.listdir(spool))


if __name__ == "__main__":
    unittest.main()

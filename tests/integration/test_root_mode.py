"""test_root_mode.py - run_mode = root: each daemon under its own user,
smtpd chrooted, and mail still flows.  Runs only as root (CI does); it
creates three system users for the test when they are missing."""
import grp
import os
import pwd
import shutil
import stat
import subprocess
import unittest

from mta import BIN, MTA, wait_for
from drop_helpers import DROP_GROUP, as_nobody, daemon_dir

USERS = {"mail_owner": "mtatest", "smtpd_user": "mtatest-smtpd",
         "local_user": "mtatest-vmail", "remote_user": "mtatest-remote",
         "resolver_user": "mtatest-dns", "tlsproxy_user": "mtatest-tls"}


def ensure_users():
    subprocess.run(["groupadd", "-r", "-f", "mtatest"], check=True)
    subprocess.run(["groupadd", "-r", "-f", DROP_GROUP], check=True)
    for key, name in USERS.items():
        try:
            pwd.getpwnam(name)
        except KeyError:
            own = key in ("local_user", "remote_user", "resolver_user",
                          "tlsproxy_user")
            group = [] if own else ["-g", "mtatest"]
            subprocess.run(["useradd", "-r", "-M", "-s", "/usr/sbin/nologin"]
                           + group + [name], check=True)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("useradd"),
                     "root mode needs root")
class RootMode(unittest.TestCase):
    def setUp(self):
        ensure_users()
        # mtactl setup makes this directory's copy of mtadrop set-group-ID
        self.bindir = daemon_dir()
        self.mta = MTA(run_mode="root", daemon_directory=self.bindir,
                       setgid_group=DROP_GROUP, **USERS)
        os.chmod(self.mta.dir, 0o755)
        os.chmod(self.mta.conf, 0o644)
        os.mkdir(self.mta.mail)
        vmail = pwd.getpwnam(USERS["local_user"])
        os.chown(self.mta.mail, vmail.pw_uid, vmail.pw_gid)
        self.mta.ctl("setup")
        self.mta.start()

    def tearDown(self):
        self.mta.cleanup()
        shutil.rmtree(self.bindir, ignore_errors=True)

    def status(self, pid):
        """Fields of /proc/PID/status (a non-dumpable process's /proc
        files are owned by root, so the uid is read from here)."""
        with open("/proc/%d/status" % pid) as f:
            return dict(l.rstrip("\n").split(":\t", 1) for l in f
                        if ":\t" in l)

    def owner(self, pid):
        uid = int(self.status(pid)["Uid"].split()[1])  # effective uid
        return pwd.getpwuid(uid).pw_name

    def test_users_chroot_and_delivery(self):
        with self.mta.smtp() as s:
            s.sendmail("r@example.org", ["rooted@localhost"], b"\r\nhi\r\n")
        msg = self.mta.wait_messages("rooted", 1)[0]
        self.assertTrue(msg.endswith(b"\n\nhi\n"))
        self.assertEqual(self.owner(self.mta.pids("master")[0]), "root")
        self.assertEqual(self.owner(self.mta.pids("qmgr")[0]), "mtatest")
        self.assertEqual(self.owner(self.mta.pids("cleanup")[0]), "mtatest")
        self.assertEqual(self.owner(self.mta.pids("local")[0]), "mtatest-vmail")
        smtpd = self.mta.pids("smtpd")[0]
        self.assertEqual(self.owner(smtpd), "mtatest-smtpd")
        self.assertEqual(os.readlink("/proc/%d/root" % smtpd),
                         os.path.join(self.mta.dir, "queue"))
        st = os.stat(os.path.join(self.mta.maildir("rooted"), "new"))
        self.assertEqual(pwd.getpwuid(st.st_uid).pw_name, "mtatest-vmail")

    def test_check_healthy_then_planted_mode(self):
        p = self.mta.ctl("check")
        self.assertIn("mail system healthy", p.stdout)
        db = os.path.join(self.mta.dir, "queue", "db")
        os.chmod(db, 0o777)
        p = self.mta.ctl("check", check=False)
        self.assertEqual(p.returncode, 78)
        self.assertIn("fix: chmod 0770 %s" % db, p.stdout)
        os.chown(db, 0, 0)
        p = self.mta.ctl("check", check=False)
        self.assertRegex(p.stdout, r"fix: chown mtatest:\d+ %s" % db)
        drop = os.path.join(self.mta.dir, "queue", "maildrop")
        os.chmod(drop, 0o1733)  # every user could forge a drop
        p = self.mta.ctl("check", check=False)
        self.assertIn("%s has mode 1733" % drop, p.stdout)
        self.assertIn("fix: mtactl setup (or chmod 1730 %s)" % drop, p.stdout)
        os.chmod(os.path.join(self.bindir, "mtadrop"), 0o755)
        p = self.mta.ctl("check", check=False)
        self.assertIn("%s/mtadrop has mode 0755" % self.bindir, p.stdout)

    def test_children_hardened(self):
        """No supplementary groups (local: the mail owner's group alone,
        to resubmit forwards to cleanup), no core, no_new_privs."""
        with self.mta.smtp() as s:
            s.sendmail("r@example.org", ["hard@localhost"], b"\r\nhi\r\n")
        self.mta.wait_messages("hard", 1)
        for prog in ("smtpd", "cleanup", "qmgr", "local", "pickup"):
            for pid in self.mta.pids(prog):
                st = self.status(pid)
                want = str(pwd.getpwnam(USERS["mail_owner"]).pw_gid) \
                    if prog == "local" else ""
                self.assertEqual(st["Groups"].strip(), want, prog)
                self.assertEqual(st["NoNewPrivs"].strip(), "1", prog)
                with open("/proc/%d/limits" % pid) as f:
                    core = [l for l in f if l.startswith("Max core")][0]
                self.assertEqual(core.split()[4:6], ["0", "0"], prog)

    def test_control_refuses_outsider(self):
        """Even with the socket opened to all, an ordinary user not in
        the mail owner's group is refused by the peer-credential check."""
        q = os.path.join(self.mta.dir, "queue")
        os.chmod(os.path.join(q, "public"), 0o711)
        os.chmod(os.path.join(q, "public", "master"), 0o666)
        os.chmod(self.mta.conf, 0o644)
        mtactl = os.path.join(BIN, "mtactl")
        p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                            "--clear-groups", mtactl,
                            "-c", self.mta.conf, "status"],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertNotIn("smtpd", p.stdout)
        self.mta.wait_log(r"control: connection from an unauthorised user "
                          r"refused")
        self.assertEqual(self.mta.ctl("status").returncode, 0)

    def test_control_admits_group_member(self):
        """A user with the mail owner's group as a supplementary group
        (an administrator in group mta) may use mtactl."""
        os.chmod(self.mta.conf, 0o644)
        p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                            "--groups=mtatest", os.path.join(BIN, "mtactl"),
                            "-c", self.mta.conf, "status"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"(?m)^smtpd ")

    def test_sendmail_by_ordinary_user(self):
        """pickup takes the uid from the kernel: nobody's mail is from
        nobody, whatever the environment says."""
        env = dict(os.environ, USER="root", LOGNAME="root")
        p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                            "--clear-groups", os.path.join(BIN, "sendmail"),
                            "-C", self.mta.conf, "-t"], env=env,
                           input=b"To: nb@localhost\n\nfrom nobody\n",
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        msg = self.mta.wait_messages("nb", 1)[0]
        self.assertIn(b"Return-Path: <nobody@", msg)
        self.mta.wait_log(r"uid=%d from=<nobody@" % pwd.getpwnam("nobody")
                          .pw_uid)

    def test_sendmail_while_stopped(self):
        """The system is down: sendmail, run by nobody, has mtadrop (set-
        group-ID) write the maildrop file, which records nobody's uid;
        nobody cannot write maildrop/ directly, and a uid field of its
        own is not taken.  At the start pickup queues the mail from
        nobody."""
        self.mta.ctl("stop")
        drop = os.path.join(self.mta.dir, "queue", "maildrop")
        st = os.stat(drop)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o1730)
        self.assertEqual(grp.getgrgid(st.st_gid).gr_name, DROP_GROUP)
        env = dict(os.environ, USER="root", LOGNAME="root")
        p = as_nobody([os.path.join(BIN, "sendmail"), "-C", self.mta.conf,
                       "-t"], b"To: down@localhost\n\nwhile down\n", env)
        self.assertEqual(p.returncode, 0, p.stderr)
        nobody = pwd.getpwnam("nobody").pw_uid
        files = os.listdir(drop)
        self.assertEqual(len(files), 1)
        with open(os.path.join(drop, files[0]), "rb") as f:
            self.assertTrue(f.read().startswith(
                b"MTA-MAILDROP 2\0uid=%d\0" % nobody))
        # not around mtadrop: the directory refuses nobody
        p = as_nobody(["sh", "-c", "echo x > %s/forged" % drop], b"")
        self.assertNotEqual(p.returncode, 0)
        # through mtadrop with a uid of its own: refused at pickup
        p = as_nobody([os.path.join(self.bindir, "mtadrop"), "-c",
                       self.mta.conf],
                      b"uid=0\0rcpt=forged@localhost\0size=8\0\0\nforged\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(os.listdir(drop)), 2)
        self.mta.start()
        msg = self.mta.wait_messages("down", 1)[0]
        self.assertIn(b"Return-Path: <nobody@", msg)
        self.assertIn(b"\nwhile down\n", msg)
        self.mta.wait_log(r"uid=%d from=<nobody@" % nobody)
        self.mta.wait_log(r"malformed or unreadable maildrop file, removed")
        wait_for(lambda: os.listdir(drop) == [], what="maildrop emptied")
        self.assertEqual(self.mta.messages("forged"), [])


if __name__ == "__main__":
    unittest.main()


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("useradd"),
                     "root mode needs root")
class RootForward(unittest.TestCase):
    def test_forward_reaches_cleanup(self):
        """local runs as the mailbox owner with the mail owner's group
        only so that a forwarded copy can be resubmitted to cleanup."""
        ensure_users()
        m = MTA(run_mode="root", **USERS)
        self.addCleanup(m.cleanup)
        os.chmod(m.dir, 0o755)
        os.mkdir(m.mail)
        vmail = pwd.getpwnam(USERS["local_user"])
        os.chown(m.mail, vmail.pw_uid, vmail.pw_gid)
        aliases = os.path.join(m.dir, "aliases")
        with open(aliases, "w") as f:
            f.write("fwd: someone@remote.example\n")
        with open(m.conf, "a") as f:
            f.write("alias_maps = %s\nsrs_secret_file = %s\n" %
                    (aliases, os.path.join(m.dir, "srs.key")))
        m.ctl("newaliases")
        m.start()
        with m.smtp() as s:
            s.sendmail("carl@example.org", ["fwd@localhost"],
                       b"Subject: f\r\n\r\nforward me\r\n")
        found = m.wait_log(r"to=<someone@remote\.example>, orig_to=<fwd@"
                           r"localhost>, relay=local, .*status=sent "
                           r"\(forwarded as (\w+)\)")
        m.wait_log(r"%s: from=<SRS0=" % found.group(1))

"""test_install.py - make install into a DESTDIR (any user) and mtactl
setup (root only: it creates system users, all named mtainst-* so they
never collide with other tests, and removes them afterwards)."""
import grp
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import unittest

from mta import BIN, MTA, TOP, wait_for

DAEMONS = ["master", "smtpd", "cleanup", "qmgr", "local", "mtadrop"]


def make_install(destdir, prefix="/usr/local", *more):
    # -o all: install what the test run built (bin or bin-san), no rebuild
    return subprocess.run(["make", "-s", "-C", TOP, "-o", "all", "install",
                           "BIN=" + BIN, "DESTDIR=" + destdir,
                           "PREFIX=" + prefix] + list(more),
                          capture_output=True, text=True, timeout=120)


class Install(unittest.TestCase):
    def setUp(self):
        self.dest = tempfile.mkdtemp(prefix="mtainst-")

    def tearDown(self):
        shutil.rmtree(self.dest, ignore_errors=True)

    def path(self, *p):
        return os.path.join(self.dest, *p)

    def test_tree(self):
        p = make_install(self.dest, "/usr")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        for d in DAEMONS:
            f = self.path("usr/libexec/mta", d)
            self.assertTrue(os.access(f, os.X_OK), f)
        for prog in ("mtactl", "sendmail"):
            mode = stat.S_IMODE(os.stat(self.path("usr/sbin", prog)).st_mode)
            self.assertEqual(mode, 0o755, prog)
        for link in ("mailq", "newaliases"):
            self.assertEqual(os.readlink(self.path("usr/sbin", link)),
                             "sendmail")
        self.assertTrue(os.access(self.path("usr/libexec/mta/pickup"),
                                  os.X_OK))
        self.assertFalse(os.path.exists(self.path("usr/libexec/mta/sendmail")))
        self.assertTrue(os.path.exists(self.path("usr/share/man/man1/"
                                                 "sendmail.1")))
        for page in ("man8/master.8", "man8/mtactl.8", "man5/mta.conf.5"):
            self.assertTrue(os.path.exists(self.path("usr/share/man", page)))
        with open(self.path("lib/systemd/system/mta.service")) as f:
            unit = f.read()
        self.assertIn("ExecStart=/usr/sbin/mtactl start", unit)
        self.assertIn("ExecReload=/usr/sbin/mtactl reload", unit)
        self.assertNotIn("@", unit)
        conf = self.path("etc/mta/mta.conf")
        with open(conf) as f:
            text = f.read()
        self.assertIn("daemon_directory = /usr/libexec/mta\n", text)
        # the sample is valid: the installed mtactl accepts it
        c = subprocess.run([self.path("usr/sbin/mtactl"), "-c", conf,
                            "config"], capture_output=True, text=True)
        self.assertEqual(c.returncode, 0, c.stderr)
        self.assertIn("daemon_directory = /usr/libexec/mta", c.stdout)

    def test_keeps_existing_config(self):
        os.makedirs(self.path("etc/mta"))
        with open(self.path("etc/mta/mta.conf"), "w") as f:
            f.write("myhostname = mine.example\n")
        p = make_install(self.dest)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("keeping", p.stdout)
        with open(self.path("etc/mta/mta.conf")) as f:
            self.assertEqual(f.read(), "myhostname = mine.example\n")


USERS = {"mail_owner": "mtainst-o", "smtpd_user": "mtainst-s",
         "local_user": "mtainst-v", "remote_user": "mtainst-r",
         "resolver_user": "mtainst-d", "tlsproxy_user": "mtainst-t",
         "setgid_group": "mtainst-p"}


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("useradd"),
                     "mtactl setup creates users: root only")
class Setup(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mtainst-")
        self.conf = os.path.join(self.dir, "mta.conf")
        with open(self.conf, "w") as f:
            f.write("queue_directory = %s/queue\n" % self.dir)
            for k, v in USERS.items():
                f.write("%s = %s\n" % (k, v))

    def tearDown(self):
        for name in USERS.values():
            subprocess.run(["userdel", name], capture_output=True)
        for name in ("mtainst-o", "mtainst-v", "mtainst-r", "mtainst-d",
                     "mtainst-t", "mtainst-p"):
            subprocess.run(["groupdel", name], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def setup_cmd(self):
        return subprocess.run([os.path.join(BIN, "mtactl"), "-c", self.conf,
                               "setup"], capture_output=True, text=True,
                              timeout=60)

    def test_idempotent(self):
        first = self.setup_cmd()
        self.assertEqual(first.returncode, 0, first.stderr)
        for key, name in USERS.items():
            if key != "setgid_group":
                self.assertIn("creating user " + name, first.stdout)
        self.assertIn("creating group mtainst-p", first.stdout)
        owner = pwd.getpwnam("mtainst-o")
        self.assertEqual(grp.getgrgid(owner.pw_gid).gr_name, "mtainst-o")
        self.assertEqual(pwd.getpwnam("mtainst-s").pw_gid, owner.pw_gid)
        self.assertEqual(pwd.getpwnam("mtainst-s").pw_shell,
                         "/usr/sbin/nologin")
        q = os.path.join(self.dir, "queue")
        want = {"incoming": 0o700, "msg": 0o700, "maildrop": 0o1730,
                "public": 0o711, "private": 0o711, "db": 0o770}
        for d, mode in want.items():
            st = os.stat(os.path.join(q, d))
            self.assertEqual(stat.S_IMODE(st.st_mode), mode, d)
            self.assertEqual(st.st_uid, owner.pw_uid, d)
        st = os.stat(os.path.join(q, "maildrop"))
        self.assertEqual(grp.getgrgid(st.st_gid).gr_name, "mtainst-p")
        second = self.setup_cmd()
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertNotIn("creating", second.stdout)

    def test_refused_to_ordinary_user(self):
        os.chmod(self.dir, 0o755)  # let nobody read the config
        p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                            "--clear-groups", os.path.join(BIN, "mtactl"),
                            "-c", self.conf, "setup"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 77, p.stderr)
        self.assertIn("must be run as root", p.stderr)


E2E = {"mail_owner": "mtainst-e", "smtpd_user": "mtainst-es",
       "local_user": "mtainst-ev", "remote_user": "mtainst-er",
       "resolver_user": "mtainst-ed", "tlsproxy_user": "mtainst-et",
       "setgid_group": "mtainst-ep"}


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("useradd"),
                     "installs as root and creates users")
class EndToEnd(unittest.TestCase):
    """make install as root without DESTDIR (into a private prefix, with
    a private config directory so nothing of the host is touched) runs
    mtactl setup; the installed system then starts, passes mtactl check,
    delivers, and each daemon runs as its own user."""

    def setUp(self):
        self.mta = None
        self.prefix = tempfile.mkdtemp(prefix="mtainst-prefix-")

    def tearDown(self):
        if self.mta:
            self.mta.cleanup()
        shutil.rmtree(self.prefix, ignore_errors=True)
        for name in E2E.values():
            subprocess.run(["userdel", name], capture_output=True)
        for name in ("mtainst-e", "mtainst-ev", "mtainst-er", "mtainst-ed",
                     "mtainst-et", "mtainst-ep"):
            subprocess.run(["groupdel", name], capture_output=True)

    def uid_of(self, pid):
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("Uid:"):
                    return pwd.getpwuid(int(line.split()[2])).pw_name
        return None

    def test_install_setup_start_deliver(self):
        os.chmod(self.prefix, 0o755)
        self.mta = MTA(run_mode="root", daemon_directory=os.path.join(
            self.prefix, "libexec", "mta"), **E2E)
        os.chmod(self.mta.dir, 0o755)
        p = make_install("", self.prefix, "SYSCONFDIR=" + self.mta.dir,
                         "UNITDIR=" + os.path.join(self.prefix, "unit"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("keeping %s/mta.conf" % self.mta.dir, p.stdout)
        self.assertIn("creating user mtainst-e ", p.stdout)  # setup ran
        vmail = pwd.getpwnam("mtainst-ev")
        os.mkdir(self.mta.mail)
        os.chown(self.mta.mail, vmail.pw_uid, vmail.pw_gid)
        mtactl = os.path.join(self.prefix, "sbin", "mtactl")
        c = subprocess.run([mtactl, "-c", self.mta.conf, "check"],
                           capture_output=True, text=True)
        self.assertEqual(c.returncode, 0, c.stdout + c.stderr)
        self.assertIn("mail system healthy", c.stdout)
        subprocess.run([mtactl, "-c", self.mta.conf, "start"], check=True,
                       capture_output=True, timeout=60)
        wait_for(self.mta.accepting, what="SMTP port")
        with self.mta.smtp() as s:
            s.sendmail("r@example.org", ["inst@localhost"], b"\r\nhi\r\n")
        self.mta.wait_messages("inst", 1)
        want = {"master": "root", "smtpd": "mtainst-es",
                "cleanup": "mtainst-e", "qmgr": "mtainst-e",
                "pickup": "mtainst-e", "anvil": "mtainst-e",
                "local": "mtainst-ev"}
        seen = set()
        for pid in self.mta.pids():
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                prog = os.path.basename(f.read().split(b"\0")[0].decode())
            self.assertIn(prog, want)
            exe = os.readlink("/proc/%d/exe" % pid)  # the installed one
            self.assertTrue(exe.startswith(self.prefix + "/libexec/mta/"),
                            exe)
            self.assertEqual(self.uid_of(pid), want[prog], prog)
            seen.add(prog)
            if prog == "smtpd":
                self.assertEqual(os.readlink("/proc/%d/root" % pid),
                                 os.path.join(self.mta.dir, "queue"))
        self.assertTrue({"master", "smtpd", "qmgr"} <= seen, seen)
        self.sendmail_while_stopped(mtactl)

    def sendmail_while_stopped(self, mtactl):
        """The installed mtadrop is set-group-ID to setgid_group: nobody's
        sendmail leaves the mail in maildrop/ while the system is down,
        and it is delivered from nobody after the start."""
        drop = os.path.join(self.prefix, "libexec", "mta", "mtadrop")
        st = os.stat(drop)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o2755)
        self.assertEqual(grp.getgrgid(st.st_gid).gr_name, "mtainst-ep")
        subprocess.run([mtactl, "-c", self.mta.conf, "stop"], check=True,
                       capture_output=True, timeout=60)
        os.chmod(self.mta.conf, 0o644)
        p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                            "--clear-groups",
                            os.path.join(self.prefix, "sbin", "sendmail"),
                            "-C", self.mta.conf, "late@localhost"],
                           input=b"Subject: down\n\nsent while down\n",
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(os.listdir(os.path.join(self.mta.dir, "queue",
                                                     "maildrop"))), 1)
        subprocess.run([mtactl, "-c", self.mta.conf, "start"], check=True,
                       capture_output=True, timeout=60)
        msg = self.mta.wait_messages("late", 1)[0]
        self.assertIn(b"Return-Path: <nobody@mx.test.example>", msg)
        self.assertIn(b"\nsent while down\n", msg)


if __name__ == "__main__":
    unittest.main()

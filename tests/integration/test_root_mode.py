"""test_root_mode.py - run_mode = root: each daemon under its own user,
smtpd chrooted, and mail still flows.  Runs only as root (CI does); it
creates three system users for the test when they are missing."""
import os
import pwd
import shutil
import subprocess
import unittest

from mta import MTA

USERS = {"mail_owner": "mtatest", "smtpd_user": "mtatest-smtpd",
         "local_user": "mtatest-vmail"}


def ensure_users():
    subprocess.run(["groupadd", "-r", "-f", "mtatest"], check=True)
    for key, name in USERS.items():
        try:
            pwd.getpwnam(name)
        except KeyError:
            group = [] if key == "local_user" else ["-g", "mtatest"]
            subprocess.run(["useradd", "-r", "-M", "-s", "/usr/sbin/nologin"]
                           + group + [name], check=True)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("useradd"),
                     "root mode needs root")
class RootMode(unittest.TestCase):
    def setUp(self):
        ensure_users()
        self.mta = MTA(run_mode="root", **USERS)
        os.chmod(self.mta.dir, 0o755)
        os.mkdir(self.mta.mail)
        vmail = pwd.getpwnam(USERS["local_user"])
        os.chown(self.mta.mail, vmail.pw_uid, vmail.pw_gid)
        self.mta.start()

    def tearDown(self):
        self.mta.cleanup()

    def owner(self, pid):
        return pwd.getpwuid(os.stat("/proc/%d" % pid).st_uid).pw_name

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


if __name__ == "__main__":
    unittest.main()

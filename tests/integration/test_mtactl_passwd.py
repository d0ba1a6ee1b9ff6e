"""test_mtactl_passwd.py - mtactl passwd add|del|list on the LMDB map named
by smtpd_passwd_map: the password comes from stdin, the map holds an
Argon2id hash (never the password), errors have clear texts and codes."""
import os
import subprocess
import unittest

from mta import MTA, BIN


class MtactlPasswdTest(unittest.TestCase):
    def setUp(self):
        self.mta = MTA()
        self.map = os.path.join(self.mta.dir, "passwd")
        with open(self.mta.conf, "a") as f:
            f.write("smtpd_passwd_map = %s\n" % self.map)
        self.addCleanup(self.mta.cleanup)

    def passwd(self, *args, stdin=""):
        return subprocess.run([os.path.join(BIN, "mtactl"), "-c",
                               self.mta.conf, "passwd"] + list(args),
                              input=stdin, capture_output=True, text=True,
                              timeout=60)

    def test_add_list_del(self):
        p = self.passwd("add", "alice@example.com", stdin="s3cret pw\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "alice@example.com: password set\n")
        self.assertEqual(self.passwd("add", "bob", stdin="x\n").returncode, 0)
        self.assertEqual(self.passwd("list").stdout,
                         "alice@example.com\nbob\n")
        with open(os.path.join(self.map, "data.mdb"), "rb") as f:
            data = f.read()
        self.assertIn(b"$argon2id$v=19$m=65536,t=3,p=1$", data)
        self.assertNotIn(b"s3cret", data)
        self.assertEqual(self.passwd("del", "bob").returncode, 0)
        self.assertEqual(self.passwd("list").stdout, "alice@example.com\n")
        p = self.passwd("del", "bob")
        self.assertEqual(p.returncode, 65)
        self.assertIn("bob: no such user", p.stderr)

    def test_errors(self):
        p = self.passwd("add", "alice", stdin="")
        self.assertEqual(p.returncode, 65)
        self.assertIn("no password on standard input", p.stderr)
        p = self.passwd("add", "bad user", stdin="pw\n")
        self.assertEqual(p.returncode, 65)
        self.assertIn("bad user name", p.stderr)
        p = self.passwd("add", "alice", stdin="x" * 300 + "\n")
        self.assertEqual(p.returncode, 65)
        p = self.passwd("list")
        self.assertEqual(p.returncode, 69)
        self.assertIn(self.map, p.stderr)
        self.assertEqual(self.passwd("frobnicate").returncode, 64)


if __name__ == "__main__":
    unittest.main()

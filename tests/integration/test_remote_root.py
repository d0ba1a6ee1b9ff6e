"""test_remote_root.py - run_mode = root: resolver runs as its own user
(resolver_user) and remote as its own (remote_user), both chrooted into
the queue directory, and a relay still finds its MX through the test DNS
server and delivers.  Runs only as root (CI does); creates the users."""
import os
import pwd
import shutil
import subprocess
import unittest

from mta import MTA, free_port
from remote_helpers import DNSServer, remote_request, write_queue_file
from sink_helpers import SMTPSink
from test_root_mode import USERS, ensure_users

MORE = {"remote_user": "mtatest-remote", "resolver_user": "mtatest-dns"}


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("useradd"),
                     "root mode needs root")
class RemoteRootMode(unittest.TestCase):
    def test_users_chroot_and_relay(self):
        ensure_users()
        for name in MORE.values():
            try:
                pwd.getpwnam(name)
            except KeyError:
                subprocess.run(["useradd", "-r", "-M", "-s",
                                "/usr/sbin/nologin", name], check=True)
        dns = DNSServer({"rooted.test": [("MX", "10 mx.rooted.test", 60)],
                         "mx.rooted.test": [("A", "127.0.0.3", 60)]})
        port = free_port()
        sink = SMTPSink("127.0.0.3", port)
        settings = dict(USERS, **MORE)
        mta = MTA(run_mode="root", smtp_port=str(port),
                  resolver_nameservers="127.0.0.1:%d" % dns.port, **settings)
        try:
            os.chmod(mta.dir, 0o755)
            mta.start()
            path = os.path.join(mta.dir, "q")
            write_queue_file(path, "ROOT1", "a@here.test",
                             ["x@rooted.test"], b"Subject: r\n\nhi\n")
            ans = remote_request(mta, path, "ROOT1", "a@here.test",
                                 ["x@rooted.test"], "rooted.test")
            self.assertEqual(ans[0]["code"], "2", ans)
            self.assertEqual(sink.messages[0]["data"],
                             b"Subject: r\r\n\r\nhi\r\n")
            queue = os.path.join(mta.dir, "queue")
            for prog, key in (("remote", "remote_user"),
                              ("resolver", "resolver_user")):
                pid = mta.pids(prog)[0]
                owner = pwd.getpwuid(os.stat("/proc/%d" % pid).st_uid)
                self.assertEqual(owner.pw_name, MORE[key])
                self.assertEqual(os.readlink("/proc/%d/root" % pid), queue)
        finally:
            mta.cleanup()
            sink.stop()
            dns.stop()


if __name__ == "__main__":
    unittest.main()

"""test_smtpd_fork.py - smtpd's sessions are processes forked from one
listener (smtpd(8) "PROCESSES", master(8) "Session services"): the limit
holds, a crashed session is logged and ends alone, the listener may die,
reload and stop behave as before, a session holds only its own socket,
and nothing of one session is seen by the next."""
import os
import re
import signal
import socket
import time
import unittest

import mta
from fork_helpers import (fd_links, listen_inode, listener_pid, ppid,
                          server_inode, session_pid, status)
from smtpd_helpers import Client

# AddressSanitizer catches SIGSEGV (and reports, and exits 1), not SIGABRT
SANITIZED = bool(os.environ.get("MTA_SAN_REPORTS")) or "-san" in mta.BIN
CRASH = signal.SIGABRT if SANITIZED else signal.SIGSEGV


def greeted(sock, timeout):
    """The greeting line, or None when none came within timeout."""
    sock.settimeout(timeout)
    try:
        return sock.recv(512)
    except socket.timeout:
        return None


def deliver(c, user, text):
    """A whole transaction on a raw Client; the reply codes."""
    codes = [c.cmd(b"MAIL FROM:<a@example.org>")[0],
             c.cmd(b"RCPT TO:<%s@localhost>" % user.encode())[0],
             c.cmd(b"DATA")[0]]
    c.send(b"Subject: fork\r\n\r\n" + text.encode() + b"\r\n.\r\n")
    codes.append(c.reply()[0])
    return codes


class ForkedSessions(unittest.TestCase):
    def setUp(self):
        self.m = None

    def tearDown(self):
        if self.m:
            self.m.cleanup()

    def start(self, **extra):
        extra.setdefault("smtpd_pregreet_wait_ms", "0")
        self.m = mta.MTA(**extra).start()
        mta.wait_for(lambda: listener_pid(self.m), 10, "the listener")
        return self.m

    def session(self):
        c = Client(self.m.port)
        pid = mta.wait_for(lambda: session_pid(self.m, c), 10,
                           "the session's process")
        return c, pid

    def test_limit_holds_and_status_counts_sessions(self):
        m = self.start(smtpd_process_limit="2")
        a, pa = self.session()
        b, pb = self.session()
        self.assertNotEqual(pa, pb)
        st = status(m)
        self.assertEqual((st["busy"], st["limit"]), (2, 2))
        # a third client waits in the listen backlog, unanswered
        third = socket.create_connection(("127.0.0.1", m.port), 10)
        self.assertIsNone(greeted(third, 1.5))
        self.assertEqual(status(m)["busy"], 2)
        # one session ends: the third gets its session at once
        self.assertEqual(a.cmd(b"QUIT")[0], 221)
        a.close()
        self.assertRegex(greeted(third, 10) or b"", rb"^220 ")
        third.close()
        b.close()
        mta.wait_for(lambda: status(m)["busy"] == 0, 10, "no session")

    def test_crashed_session_ends_alone(self):
        m = self.start()
        a, pa = self.session()
        b, pb = self.session()
        self.assertEqual(a.cmd(b"EHLO a.example")[0], 250)
        lpid = mta.wait_for(lambda: listener_pid(m), 10, "the listener")
        os.kill(pa, CRASH)
        m.wait_log(r"warning: process \S+/smtpd pid %d killed by signal %d"
                   % (pa, CRASH))
        m.wait_log(r"warning: smtpd: service throttled")
        # a crash may be a probe for the layout and the stack canary that
        # all sessions of one listener share: a new listener (a new exec)
        # makes them anew
        m.wait_log(r"smtpd: a session crashed; starting a new listener")
        self.assertTrue(a.closed())
        # the other session goes on as if nothing happened
        self.assertEqual(b.cmd(b"EHLO b.example")[0], 250)
        self.assertEqual(deliver(b, "bob", "survived"), [250, 250, 354, 250])
        b.cmd(b"QUIT")
        self.assertIn(b"survived", m.wait_messages("bob", 1)[0])
        # after the throttle, new clients are served again
        c = Client(m.port, timeout=30)
        self.assertEqual(c.cmd(b"QUIT")[0], 221)
        self.assertEqual(status(m)["restarts"], 1)
        mta.wait_for(lambda: listener_pid(m) not in (None, lpid), 10,
                     "a new listener")

    def test_listener_killed(self):
        m = self.start()
        a, pa = self.session()
        lpid = mta.wait_for(lambda: listener_pid(m), 10, "the listener")
        self.assertEqual(ppid(pa), m.pids("master")[0])  # master's child
        os.kill(lpid, signal.SIGKILL)
        m.wait_log(r"process \S+/smtpd pid %d killed by signal 9" % lpid)
        # a client that comes meanwhile waits for the next listener
        late = Client(m.port, timeout=30)
        self.assertNotEqual(listener_pid(m), lpid)
        # the session in progress goes on
        a.cmd(b"EHLO a.example")
        late.cmd(b"EHLO late.example")
        self.assertEqual(deliver(a, "carol", "goes on"), [250, 250, 354, 250])
        self.assertEqual(deliver(late, "carol", "late"), [250, 250, 354, 250])
        a.cmd(b"QUIT")
        late.cmd(b"QUIT")
        got = b"".join(m.wait_messages("carol", 2))
        self.assertIn(b"goes on", got)
        self.assertIn(b"late", got)

    def test_stop_leaves_no_smtpd(self):
        m = self.start(shutdown_timeout="2s")
        clients = [self.session()[0] for _ in range(3)]
        busy = clients[0]
        busy.cmd(b"EHLO x.example")
        busy.cmd(b"MAIL FROM:<a@example.org>")
        self.assertEqual(status(m)["busy"], 3)
        m.ctl("stop")
        self.assertEqual(m.pids("smtpd"), [])
        self.assertEqual(m.pids(), [])
        m.wait_log(r"3 session\(s\) still busy after shutdown_timeout")
        for c in clients:
            self.assertTrue(c.closed())

    def test_master_killed_takes_sessions(self):
        m = self.start()
        a, pa = self.session()
        os.kill(m.pids("master")[0], signal.SIGKILL)
        mta.wait_for(lambda: not m.pids("smtpd"), 10, "no smtpd left")
        self.assertTrue(a.closed())

    def test_reload(self):
        m = self.start(message_size_limit="100000")
        old, _ = self.session()
        self.assertIn("SIZE 100000", old.cmd(b"EHLO old.example")[2])
        with open(m.conf, "a") as f:
            f.write("message_size_limit = 200000\n")
        lpid = mta.wait_for(lambda: listener_pid(m), 10, "the listener")
        m.ctl("reload")
        mta.wait_for(lambda: listener_pid(m) not in (None, lpid), 10,
                     "a new listener")
        new = Client(m.port)
        self.assertIn("SIZE 200000", new.cmd(b"EHLO new.example")[2])
        # the session from before the reload keeps its settings and ends
        # when its client is done, not before
        self.assertIn("SIZE 100000", old.cmd(b"EHLO old.example")[2])
        self.assertEqual(deliver(old, "dave", "old"), [250, 250, 354, 250])
        self.assertEqual(old.cmd(b"QUIT")[0], 221)
        self.assertIn(b"old", m.wait_messages("dave", 1)[0])
        new.cmd(b"QUIT")

    def test_listener_replaced_after_max_use(self):
        m = self.start(max_use="2")
        first = mta.wait_for(lambda: listener_pid(m), 10, "the listener")
        for i in range(5):
            c = Client(m.port)
            self.assertEqual(c.cmd(b"QUIT")[0], 221)
            c.close()
        mta.wait_for(lambda: listener_pid(m) not in (None, first), 10,
                     "a fresh listener")
        self.assertNotRegex(m.log_text(), r"killed by signal|exit status")

    def test_descriptors(self):
        m = self.start()
        a, pa = self.session()
        b, pb = self.session()
        lpid = mta.wait_for(lambda: listener_pid(m), 10, "the listener")
        listening = "socket:[%s]" % listen_inode(m.port)
        mine = "socket:[%s]" % server_inode(m.port, a.s.getsockname()[1])
        other = "socket:[%s]" % server_inode(m.port, b.s.getsockname()[1])
        fds = fd_links(pa)
        self.assertIn(mine, fds.values())
        self.assertNotIn(listening, fds.values())
        self.assertNotIn(other, fds.values())
        # no pipe to master (status, grants) or to the listener
        self.assertEqual([l for l in fds.values() if l.startswith("pipe:")],
                         [], fds)
        # its client's socket is the only one (logging to a file here)
        self.assertEqual([l for l in fds.values()
                          if l.startswith("socket:")], [mine])
        # the listener keeps no client
        lfds = fd_links(lpid).values()
        self.assertIn(listening, lfds)
        self.assertNotIn(mine, lfds)
        self.assertNotIn(other, lfds)

    def test_listener_that_cannot_accept_is_not_spun(self):
        import resource
        if os.environ.get("MTA_SAN_REPORTS"):
            # ASan needs descriptors of its own (its report file, maps):
            # with none left the sanitized listener dies in ASan, not in
            # our accept path, which this test is about
            self.skipTest("descriptor exhaustion under ASan (make sanitize)")
        m = self.start()
        lpid = mta.wait_for(lambda: listener_pid(m), 10, "the listener")
        # the listener out of descriptors: accept fails (EMFILE), the
        # grant starts no session, the connection still waits
        used = set(fd_links(lpid))
        lowest_free = min(set(range(len(used) + 1)) - used)
        soft, hard = resource.prlimit(lpid, resource.RLIMIT_NOFILE)
        resource.prlimit(lpid, resource.RLIMIT_NOFILE, (lowest_free, hard))
        warning = "warning: accept: Too many open files"
        try:
            waiting = socket.create_connection(("127.0.0.1", m.port), 10)
            m.wait_log(re.escape(warning))
            # master pauses its grants instead of granting again at
            # once, a warning a turn (thousands a second before)
            before = m.log_text().count(warning)
            time.sleep(1.0)  # a rate is measured, nothing awaited
            turns = m.log_text().count(warning) - before
            self.assertLessEqual(turns, 10)
        finally:
            resource.prlimit(lpid, resource.RLIMIT_NOFILE, (soft, hard))
        # with descriptors again, the waiting client is served
        self.assertRegex(greeted(waiting, 10) or b"", rb"^220 ")
        waiting.close()

    def test_forged_spare_report_is_not_trusted(self):
        import shutil
        import subprocess
        # a compromised daemon (here in place of remote) holds the status
        # pipe every child shares, and its records name their writer
        m = mta.MTA(relay_domains="fail.test", smtpd_pregreet_wait_ms="0")
        d = os.path.join(m.dir, "libexec")
        os.mkdir(d)
        for name in os.listdir(mta.BIN):
            if name != "remote":
                os.symlink(os.path.join(mta.BIN, name), os.path.join(d, name))
        here = os.path.dirname(os.path.abspath(__file__))
        shutil.copy(os.path.join(here, "forged_report_agent.py"),
                    os.path.join(d, "remote"))
        with open(m.conf, "a") as f:
            f.write("daemon_directory = %s\n" % d)
        self.m = m.start()
        lpid = mta.wait_for(lambda: listener_pid(m), 10, "the listener")
        victim = subprocess.Popen(["sleep", "60"])
        try:
            with open(os.path.join(m.dir, "forge"), "w") as f:
                f.write("%d %d\n" % (lpid, victim.pid))
            with m.smtp() as c:  # a message for remote starts it
                c.sendmail("a@example.org", ["x@fail.test"],
                           "Subject: x\r\n\r\nx\r\n")
            mta.wait_for(lambda: os.path.exists(
                os.path.join(m.dir, "forged")), 20, "the forged report")
            # the "spare" it names is no child of master: not tracked
            m.wait_log(r"smtpd: listener pid %d reported a bad session "
                       r"pid %d" % (lpid, victim.pid))
            m.stop()  # so not sent master's SIGTERM
            self.assertIsNone(victim.poll())
        finally:
            victim.kill()
            victim.wait()

    def test_no_state_between_sessions(self):
        m = self.start(mynetworks="192.0.2.1/32")
        first, p1 = self.session()
        first.cmd(b"EHLO first.example")
        self.assertEqual(first.cmd(b"MAIL FROM:<x@first.example>")[0], 250)
        self.assertEqual(first.cmd(b"RCPT TO:<erin@localhost>")[0], 250)
        first.cmd(b"QUIT")
        first.close()
        second, p2 = self.session()
        # each session is a process of its own, never the listener
        self.assertNotEqual(p1, p2)
        self.assertNotEqual(p2, listener_pid(m))
        # no HELO, no transaction, no recipient carried over
        self.assertEqual(second.cmd(b"RCPT TO:<erin@localhost>")[:2],
                         (503, "5.5.1"))
        self.assertEqual(second.cmd(b"DATA")[0], 503)
        second.cmd(b"HELO second.example")
        self.assertEqual(deliver(second, "erin", "second"),
                         [250, 250, 354, 250])
        second.cmd(b"QUIT")
        raw = m.wait_messages("erin", 1)[0]
        self.assertIn(b"from second.example", raw)
        self.assertNotIn(b"first.example", raw)


class ForkedAuth(unittest.TestCase):
    """AUTH and TLS of one session are not seen by the next."""

    def test_auth_not_inherited(self):
        import ssl
        import subprocess
        from test_starttls import make_ca
        m = mta.MTA(mynetworks="192.0.2.1/32", smtpd_pregreet_wait_ms="0")
        self.addCleanup(m.cleanup)
        ca, cert, key = make_ca(m.dir)
        pmap = os.path.join(m.dir, "passwd")
        with open(m.conf, "a") as f:
            f.write("smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n"
                    "smtpd_passwd_map = %s\n" % (cert, key, pmap))
        p = subprocess.run([os.path.join(mta.BIN, "mtactl"), "-c", m.conf,
                            "passwd", "add", "ann"], input="s3cret pass\n",
                           text=True, capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        m.start()
        s = m.smtp()
        s.ehlo("one.example")
        s.starttls(context=ssl.create_default_context(cafile=ca))
        s.ehlo("one.example")
        s.login("ann", "s3cret pass")
        s.mail("ann@localhost")
        self.assertEqual(s.rcpt("x@far.example")[0], 250)
        # the next client, while the first is still authenticated
        c = Client(m.port)
        c.cmd(b"EHLO two.example")
        self.assertEqual(c.cmd(b"MAIL FROM:<ann@localhost>")[0], 250)
        self.assertEqual(c.cmd(b"RCPT TO:<x@far.example>")[:2],
                         (554, "5.7.1"))
        self.assertEqual(deliver(c, "frank", "plain")[-1], 250)
        c.cmd(b"QUIT")
        s.quit()
        raw = m.wait_messages("frank", 1)[0]
        self.assertRegex(raw, rb"with ESMTP id")


if __name__ == "__main__":
    unittest.main()

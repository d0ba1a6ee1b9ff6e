"""mta.py - start a private instance of the mail system for one test.

Each instance lives in its own temporary directory, listens on a free
loopback port, runs unprivileged (run_mode = user, also as root) and logs
to a file the test can read.  Waits are bounded polls of a file, a socket
or a log line, never bare sleeps.
"""
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time

TOP = os.environ.get("MTA_TOP", os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..")))
BIN = os.environ.get("MTA_BIN", os.path.join(TOP, "bin"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=20.0, what="condition"):
    """Poll pred() until it is true; fail after timeout seconds."""
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out after %.0fs waiting for %s" %
                         (timeout, what))


class MTA:
    def __init__(self, **extra):
        self.dir = tempfile.mkdtemp(prefix="mta-test-")
        self.port = free_port()
        self.conf = os.path.join(self.dir, "mta.conf")
        self.log = os.path.join(self.dir, "maillog")
        self.mail = os.path.join(self.dir, "mail")
        settings = {
            "run_mode": "user",
            "queue_directory": os.path.join(self.dir, "queue"),
            "daemon_directory": BIN,
            "smtpd_listen": "127.0.0.1:%d" % self.port,
            "myhostname": "mx.test.example",
            "mydestination": "localhost, test.example",
            "mailbox_base": self.mail,
            "maillog_file": self.log,
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "queue_run_delay": "1s",
            # no DNS for client names unless a test serves it: the
            # machine's own resolver may be far or missing
            "smtpd_client_lookup_timeout": "0",
        }
        settings.update(extra)
        with open(self.conf, "w") as f:
            for k, v in settings.items():
                f.write("%s = %s\n" % (k, v))

    # -- life cycle -------------------------------------------------
    def ctl(self, *args, check=True):
        p = subprocess.run([os.path.join(BIN, "mtactl"), "-c", self.conf]
                           + list(args), capture_output=True, text=True,
                           timeout=120)
        if check and p.returncode != 0:
            raise AssertionError("mtactl %s: exit %d: %s%s" % (
                " ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def start(self):
        self.ctl("start")
        wait_for(self.accepting, what="SMTP port %d" % self.port)
        return self

    def accepting(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 1).close()
            return True
        except OSError:
            return False

    def stop(self):
        self.ctl("stop", check=False)
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def cleanup(self):
        self.stop()
        if os.environ.get("MTA_KEEP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def pids(self, program=None):
        """Processes of this instance (argv has our config path)."""
        found = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if self.conf.encode() not in argv:
                continue
            name = os.path.basename(argv[0].decode(errors="replace"))
            if name == "mtactl":
                continue
            if program is None or name == program:
                found.append(int(d))
        return found

    # -- what a user sees -------------------------------------------
    def smtp(self):
        return smtplib.SMTP("127.0.0.1", self.port, timeout=30)

    def maildir(self, user, domain="localhost"):
        return os.path.join(self.mail, domain, user, "Maildir")

    def messages(self, user, domain="localhost"):
        new = os.path.join(self.maildir(user, domain), "new")
        try:
            names = sorted(os.listdir(new))
        except FileNotFoundError:
            return []
        out = []
        for n in names:
            with open(os.path.join(new, n), "rb") as f:
                out.append(f.read())
        return out

    def wait_messages(self, user, count, domain="localhost", timeout=30):
        return wait_for(lambda: len(self.messages(user, domain)) >= count
                        and self.messages(user, domain), timeout,
                        "%d message(s) for %s@%s" % (count, user, domain))

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=20):
        import re
        return wait_for(lambda: re.search(pattern, self.log_text()),
                        timeout, "log line /%s/" % pattern)

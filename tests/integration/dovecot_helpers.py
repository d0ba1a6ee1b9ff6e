"""dovecot_helpers.py - a private Dovecot POP3 server over our Maildirs.

Configured from scratch in a temporary directory (no system config read):
POP3 on a free loopback port, plain-text logins from a passwd-file, and
mail_location pointing at the mailboxes local(8) wrote.  As root the
mail is read as nobody (Dovecot refuses uid 0 for mail); as an ordinary
user, everything runs as that user.
"""
import grp
import os
import pwd
import shutil
import socket
import subprocess

from mta import free_port, wait_for

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def available():
    return os.path.exists(DOVECOT)


class Dovecot:
    def __init__(self, workdir, mail_location, users, extra=""):
        """users: {login: password}; login is user@domain; extra: more
        dovecot.conf text (e.g. the quota plugin)."""
        self.dir = os.path.join(workdir, "dovecot")
        os.makedirs(self.dir)
        self.port = free_port()
        self.log = os.path.join(self.dir, "dovecot.log")
        me = pwd.getpwuid(os.getuid())
        if os.getuid() == 0:
            reader = pwd.getpwnam("nobody")
            login_user, internal = "dovenull", "dovecot"
        else:
            reader, login_user, internal = me, me.pw_name, me.pw_name
        self.uid, self.gid = reader.pw_uid, reader.pw_gid
        passwd = os.path.join(self.dir, "passwd")
        with open(passwd, "w") as f:
            for login, password in users.items():
                f.write("%s:{PLAIN}%s:%d:%d::%s::\n" % (
                    login, password, self.uid, self.gid, self.dir))
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write("""\
base_dir = {d}/run
state_dir = {d}/state
log_path = {log}
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = {uid}
default_login_user = {login}
default_internal_user = {internal}
mail_location = {loc}
pop3_uidl_format = %f
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
}}
service anvil {{
  chroot =
}}
service pop3-login {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {passwd}
}}
""".format(d=self.dir, log=self.log, uid=min(self.uid, 500) or 1,
           login=login_user, internal=internal, loc=mail_location,
           port=self.port, passwd=passwd))
            f.write(extra)
            if os.getuid() != 0:
                # the listeners' default group is "dovecot", which an
                # ordinary user cannot chown to
                group = grp.getgrgid(os.getgid()).gr_name
                for svc, sock in (("stats", "stats-writer"),
                                  ("dict", "dict"),
                                  ("dict-async", "dict-async")):
                    f.write("service %s {\n  unix_listener %s {\n"
                            "    group = %s\n  }\n}\n" % (svc, sock, group))
        self.proc = None

    def start(self, mail_root):
        if os.getuid() == 0:
            # Dovecot reads the mail as an ordinary user
            for root, dirs, files in os.walk(mail_root):
                for n in dirs + files:
                    os.chown(os.path.join(root, n), self.uid, self.gid)
            os.chown(mail_root, self.uid, self.gid)
            os.chmod(os.path.dirname(self.dir), 0o711)
            os.chmod(self.dir, 0o755)
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("dovecot exited: %s %s" % (
                    self.proc.stderr.read().decode(errors="replace"),
                    self.log_text()))
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return True
            except OSError:
                return False
        wait_for(up, 20, "dovecot on port %d" % self.port)
        return self

    def doveadm(self, *args):
        """doveadm against this instance (its auth socket and config)."""
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        return subprocess.run([doveadm, "-c", self.conf] + list(args),
                              capture_output=True, text=True, timeout=30)

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stderr.close()

"""test_power_cut.py - acknowledged mail survives a power cut under load.

The queue and the mailboxes live on an ext4 file system of their own (a
loop device).  While four clients send, the file system is shut down
the way a power cut leaves it: EXT4_IOC_SHUTDOWN with NOLOGFLUSH (as
xfstests' "godown" does), so nothing that was not yet committed to the
journal on the device survives, page cache and running transaction
included.  Every process of the instance is then killed, the file
system unmounted and mounted again (journal recovery), and the system
started on it.  Every message that got a 250 before the cut must be
delivered; qmgr must start on the recovered index (its LMDB must not be
corrupt).  Two cuts: one while mail arrives and is delivered, one right
after the restart while the backlog is delivered.

Needs root (mount) and a kernel with loop devices; skipped otherwise.
What it cannot show: writes the device accepted but had not flushed
(here the loop device's backing file keeps them).
"""
import fcntl
import os
import re
import shutil
import smtplib
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from mta import MTA, wait_for

EXT4_IOC_SHUTDOWN = 0x8004587D        # _IOR('X', 125, __u32)
EXT4_GOING_FLAGS_NOLOGFLUSH = 2       # neither data nor journal flushed
SENDERS = 4
CUT_AFTER = 80                        # acknowledged messages per cut


class Sender(threading.Thread):
    """Sends numbered messages until told to stop; keeps the acked tags."""

    def __init__(self, port, name, acked, lock):
        super().__init__(daemon=True)
        self.port, self.name = port, name
        self.acked, self.lock = acked, lock
        self.stop = False
        self.n = 0

    def run(self):
        s = None
        while not self.stop:
            tag = "%s-%d" % (self.name, self.n)
            try:
                if s is None:
                    s = smtplib.SMTP("127.0.0.1", self.port, timeout=10)
                    s.ehlo("power.example")
                s.mail("p@example.org")
                s.rcpt("pc@localhost")
                code, _ = s.data(b"Subject: %s\r\n\r\npower cut %s\r\n"
                                 % (tag.encode(), tag.encode()))
                if code == 250:
                    with self.lock:
                        self.acked.add(tag)
                self.n += 1
            except (OSError, smtplib.SMTPException):
                try:
                    if s is not None:
                        s.close()
                except OSError:
                    pass
                s = None
                self.n += 1
                time.sleep(0.05)
        try:
            if s is not None:
                s.close()
        except OSError:
            pass


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


class PowerCut(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a file system of its own")
        self.base = tempfile.mkdtemp(prefix="mta-power-")
        self.img = os.path.join(self.base, "fs.img")
        self.mnt = os.path.join(self.base, "mnt")
        os.mkdir(self.mnt)
        with open(self.img, "wb") as f:
            f.truncate(1 << 30)
        r = run("mkfs.ext4", "-q", "-F", self.img)
        if r.returncode != 0:
            self.skipTest("mkfs.ext4: " + r.stderr.strip())
        r = run("mount", "-o", "loop", self.img, self.mnt)
        if r.returncode != 0:
            shutil.rmtree(self.base, ignore_errors=True)
            self.skipTest("cannot mount a loop device here: " +
                          r.stderr.strip())
        self.mta = MTA(queue_directory=os.path.join(self.mnt, "queue"),
                       mailbox_base=os.path.join(self.mnt, "mail"),
                       service_restart_delay="0s")
        self.mta.start()

    def tearDown(self):
        if not hasattr(self, "mta"):
            return
        self.kill_all()
        run("umount", self.mnt)
        self.mta.cleanup()
        shutil.rmtree(self.base, ignore_errors=True)

    def kill_all(self):
        for pid in self.mta.pids():
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        wait_for(lambda: not self.mta.pids(), 30, "every process gone")

    def delivered(self):
        tags = {}
        md = os.path.join(self.mnt, "mail", "localhost", "pc", "Maildir")
        for sub in ("new", "cur"):
            d = os.path.join(md, sub)
            for name in os.listdir(d) if os.path.isdir(d) else []:
                with open(os.path.join(d, name), "rb") as f:
                    m = re.search(rb"\nSubject: (\S+)\n", f.read())
                if m:
                    t = m.group(1).decode()
                    tags[t] = tags.get(t, 0) + 1
        return tags

    def cut(self, acked, lock, senders, wanted):
        wait_for(lambda: len(acked) >= wanted, 120,
                 "%d messages acknowledged" % wanted)
        fd = os.open(self.mnt, os.O_RDONLY)
        try:
            fcntl.ioctl(fd, EXT4_IOC_SHUTDOWN,
                        struct.pack("I", EXT4_GOING_FLAGS_NOLOGFLUSH))
        finally:
            os.close(fd)
        # a 250 after this point needed an fsync that can only fail now
        for s in senders:
            s.stop = True
        for s in senders:
            s.join(30)
        self.kill_all()
        r = run("umount", self.mnt)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run("mount", "-o", "loop", self.img, self.mnt)
        self.assertEqual(r.returncode, 0, r.stderr)
        with lock:
            return set(acked)

    def test_acknowledged_mail_survives_two_cuts(self):
        acked, lock = set(), threading.Lock()
        must = set()
        for cut in range(2):
            senders = [Sender(self.mta.port, "c%ds%d" % (cut, i), acked,
                              lock) for i in range(SENDERS)]
            for s in senders:
                s.start()
            must |= self.cut(acked, lock, senders,
                             len(acked) + CUT_AFTER)
            seen = len(self.mta.log_text())
            self.mta.start()
            # qmgr started on the recovered index
            wait_for(lambda: re.search(r"qmgr\[\d+\]: queue reconciled",
                                       self.mta.log_text()[seen:]), 60,
                     "qmgr's start on the recovered queue")
            self.assertNotRegex(self.mta.log_text()[seen:],
                                r"qmgr\[\d+\]: (fatal|error):")
        try:
            wait_for(lambda: must <= set(self.delivered()), 90,
                     "every acknowledged message delivered")
        except AssertionError:
            pass  # the counts below say what is missing
        got = self.delivered()
        missing = sorted(must - set(got))
        twice = sum(1 for c in got.values() if c > 1)
        print("\n  power cut: %d acknowledged, %d delivered, %d missing, "
              "%d delivered twice" % (len(must), len(got), len(missing),
                                      twice))
        self.assertEqual(missing, [], "acknowledged but lost")


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""throughput.py - messages per second and CPU per message, the scenarios
of issue 8, with Postfix's smtp-source as the client.

Each scenario starts a fresh instance in the foreground as a child of this
script, sends with smtp-source, waits until every message is in the
Maildirs, stops the instance and takes the CPU of the whole system
(master and every process it ever reaped) from wait4().  The client's own
CPU is not counted.  smtp-source comes from an installed Postfix or from
Debian's postfix package unpacked into build-bench/ (apt-get download).

Usage: throughput.py [SCALE]   SCALE multiplies the message counts (1.0).
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import mta  # noqa: E402

TOP = mta.TOP
CACHE = os.path.join(TOP, "build-bench")


def postfix_tool(name):
    """smtp-source / smtp-sink: installed, or unpacked from the .deb."""
    for d in ("/usr/sbin", "/usr/bin"):
        if os.path.exists(os.path.join(d, name)):
            return [os.path.join(d, name)], {}
    root = os.path.join(CACHE, "postfix")
    if not os.path.exists(os.path.join(root, "usr/sbin", name)):
        os.makedirs(CACHE, exist_ok=True)
        if not glob.glob(os.path.join(CACHE, "postfix_*.deb")):
            subprocess.run(["apt-get", "download", "postfix"], cwd=CACHE,
                           check=True, capture_output=True)
        deb = glob.glob(os.path.join(CACHE, "postfix_*.deb"))[0]
        subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(root,
                                                         "usr/lib/postfix"))
    return [os.path.join(root, "usr/sbin", name)], env


def count_delivered(mail):
    n = 0
    for d in glob.glob(os.path.join(mail, "*", "*", "Maildir", "new")):
        n += len(os.listdir(d))
    return n


class Run:
    """One instance in the foreground, a child of this process."""

    def __init__(self, **extra):
        self.m = mta.MTA(**extra)
        self.p = subprocess.Popen([os.path.join(mta.BIN, "mtactl"), "-c",
                                   self.m.conf, "start", "-f"],
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        mta.wait_for(self.m.accepting, 30, "the SMTP port")

    def stop(self):
        os.kill(self.p.pid, signal.SIGTERM)
        _, status, ru = os.wait4(self.p.pid, 0)
        self.p.returncode = status
        return ru.ru_utime + ru.ru_stime

    def cleanup(self):
        shutil.rmtree(self.m.dir, ignore_errors=True)


def scenario(name, sessions, msgs, size_kb, rcpts=1):
    src, env = postfix_tool("smtp-source")
    run = Run(smtpd_process_limit=max(100, sessions + 10))
    try:
        expect = msgs * rcpts
        t0 = time.time()
        cmd = src + ["-s", str(sessions), "-m", str(msgs),
                     "-l", str(size_kb * 1024), "-f", "bench@localhost",
                     "-t", "user@localhost", "-c",
                     "127.0.0.1:%d" % run.m.port]
        if rcpts > 1:
            cmd[len(src):len(src)] = ["-r", str(rcpts)]
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        t_sent = time.time() - t0
        mta.wait_for(lambda: count_delivered(run.m.mail) >= expect, 600,
                     "%d deliveries" % expect)
        elapsed = time.time() - t0
        cpu = run.stop()
        print("throughput: %-34s %6.0f msgs/s (%d msgs, accepted in %.1f s,"
              " delivered in %.1f s), %.2f ms CPU/msg%s" % (
                  name, msgs / elapsed, msgs, t_sent, elapsed,
                  cpu * 1000 / msgs,
                  ", %.0f deliveries/s" % (expect / elapsed)
                  if rcpts > 1 else ""))
    finally:
        if run.p.returncode is None:
            run.stop()
        run.cleanup()


def idle_sessions(n=1000):
    """n idle sessions held; memory per session; a new greeting's delay."""
    import socket
    run = Run(smtpd_process_limit=n + 50)
    socks = []
    try:
        before = smtpd_pss(run.m)
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", run.m.port), 30)
            s.recv(512)
            socks.append(s)
        t = time.time()
        s = socket.create_connection(("127.0.0.1", run.m.port), 30)
        s.recv(512)
        greet = time.time() - t
        s.close()
        after = smtpd_pss(run.m)
        print("throughput: %d idle sessions held: %.0f KB per session "
              "(smtpd PSS), a new session's greeting after %.3f s" %
              (n, (after - before) / n, greet))
    except OSError as e:
        print("throughput: idle sessions: failed after %d: %s" %
              (len(socks), e))
    finally:
        for s in socks:
            s.close()
        run.stop()
        run.cleanup()


def smtpd_pss(m):
    total = 0
    for pid in m.pids("smtpd"):
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                total += int(re.search(r"Pss:\s+(\d+)", f.read()).group(1))
        except OSError:
            pass
    return total


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    n = lambda k: max(10, int(k * scale))  # noqa: E731
    scenario("local delivery, 1 session", 1, n(2000), 2)
    scenario("local delivery, 20 sessions", 20, n(5000), 2)
    scenario("100 KB messages, 10 sessions", 10, n(1000), 100)
    scenario("5 recipients per message, 10 sessions", 10, n(1000), 2, 5)
    idle_sessions()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""throughput.py - the scenarios of issue 8, driven by bin/smtpload.

Each scenario starts a fresh instance in the foreground as a child of this
script (`mtactl start -f`), sends with smtpload, waits until every
delivery is a file in a Maildir new/, stops the instance and prints:
accepted and delivered msgs/s, latency from the 250 to the file in new/
(its ctime, the rename into new/; the kernel's coarse clock makes this
good to a few ms), CPU per message per program (sampled from /proc while
the children live; the whole system's total from wait4() on master),
peak memory (VmHWM) per program, fsyncs per message (perf, as root; else
n/a), and the file-system type of the directories and its journal.

Environment:
  BENCH_SCALE=0.2            shrink the message counts
  BENCH_TARGET=host:port     drive another SMTP server instead
  BENCH_MAILDIR_ROOT=dir     ... whose Maildirs are under dir
  BENCH_RCPT=user@domain     the recipient there (default user@localhost;
                             with 5 recipients user1..user5@domain)
  BENCH_TARGET_PID=pid       its master's pid: CPU and fsyncs per program
                             from perf of that process tree (root)
  BENCH_SCENARIOS=a,b        only these (local1, local20, big, rcpt5,
                             relay, idle)
  BENCH_IDLE=500,1000        the idle scenario's session counts (default
                             500,1000,5000; with BENCH_TARGET: none
                             unless given)
  BENCH_SINK_PORT=port       with BENCH_TARGET: the relay scenario's sink
                             listens there (the target's relayhost) and
                             counts what the target relays to it
Trusts: the instance under test only as far as counting its files.
Never: counts the client's or this script's CPU as the MTA's.
"""
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import mta  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
SEQ = re.compile(rb"\nX-Bench-Seq: (\d+)")


def say(line):
    print("bench: " + line, flush=True)


def fs_info(path):
    """file-system type of path, and whether it has a journal (jbd2)."""
    try:
        out = subprocess.run(["findmnt", "-n", "-o", "SOURCE,FSTYPE", "-T",
                              path], capture_output=True, text=True).stdout
        dev, fstype = out.split()[:2]
    except (OSError, ValueError):
        return "unknown"
    journal = "no journal"
    if fstype == "ext4" and os.path.isdir("/proc/fs/jbd2"):
        name = os.path.basename(os.path.realpath(dev))
        if any(j.startswith(name + "-") for j in os.listdir("/proc/fs/jbd2")):
            journal = "journaled"
    elif fstype != "ext4":
        journal = "journal unknown"
    return "%s on %s, %s" % (fstype, dev, journal)


def journal_commits(path):
    """transactions committed so far by the jbd2 journal of path's file
    system, or None (no journal, or not readable)."""
    try:
        out = subprocess.run(["findmnt", "-n", "-o", "SOURCE", "-T", path],
                             capture_output=True, text=True).stdout
        name = os.path.basename(os.path.realpath(out.split()[0]))
        for j in os.listdir("/proc/fs/jbd2"):
            if j.startswith(name + "-"):
                with open("/proc/fs/jbd2/%s/info" % j) as f:
                    return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return None


def new_dirs(root):
    found = []
    for dirpath, dirnames, _ in os.walk(root):
        if os.path.basename(dirpath) == "new":
            found.append(dirpath)
            dirnames[:] = []
    return found


def all_files(root):
    return set(os.path.join(d, n) for d in new_dirs(root)
               for n in os.listdir(d))


def count_files(root):
    return sum(len(os.listdir(d)) for d in new_dirs(root))


def latencies(root, sent, old=frozenset()):
    """seconds from each 250 to the ctime of its file(s) in new/ (files
    in old were there before this scenario)."""
    out = []
    for d in new_dirs(root):
        for name in os.listdir(d):
            p = os.path.join(d, name)
            if p in old:
                continue
            with open(p, "rb") as f:
                m = SEQ.search(f.read(8192))
            if m and int(m.group(1)) in sent:
                out.append(os.stat(p).st_ctime - sent[int(m.group(1))])
    out.sort()
    return out


def pct(v, p):
    return v[min(len(v) - 1, int(len(v) * p))] * 1000 if v else float("nan")


class Sampler(threading.Thread):
    """CPU and peak memory of every process below master, by program."""

    def __init__(self, root_pid):
        super().__init__(daemon=True)
        self.root = root_pid
        self.seen = {}          # pid -> (comm, cpu seconds, hwm KB)
        self.halt = False

    def tree(self):
        pids, todo = [], [self.root]
        while todo:
            p = todo.pop()
            pids.append(p)
            try:
                with open("/proc/%d/task/%d/children" % (p, p)) as f:
                    todo.extend(int(x) for x in f.read().split())
            except OSError:
                pass
        return pids

    def sample(self):
        for p in self.tree():
            try:
                with open("/proc/%d/stat" % p) as f:
                    st = f.read()
                with open("/proc/%d/status" % p) as f:
                    hwm = re.search(r"VmHWM:\s+(\d+)", f.read())
            except OSError:
                continue
            comm = st[st.index("(") + 1:st.rindex(")")]
            f = st[st.rindex(")") + 2:].split()
            cpu = (int(f[11]) + int(f[12])) / TICK
            self.seen[p] = (comm, cpu, int(hwm.group(1)) if hwm else 0)

    def run(self):
        while not self.halt:
            self.sample()
            time.sleep(0.25)

    def by_program(self):
        cpu, mem, n = {}, {}, {}
        for comm, c, h in self.seen.values():
            cpu[comm] = cpu.get(comm, 0) + c
            mem[comm] = max(mem.get(comm, 0), h)
            n[comm] = n.get(comm, 0) + 1
        return cpu, mem, n


class Instance:
    """One instance in the foreground, a child of this process."""

    def __init__(self, **extra):
        self.m = mta.MTA(**extra)
        self.p = subprocess.Popen([os.path.join(mta.BIN, "mtactl"), "-c",
                                   self.m.conf, "start", "-f"],
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        mta.wait_for(self.m.accepting, 30, "the SMTP port")
        self.sampler = Sampler(self.p.pid)
        self.sampler.start()
        self.target = "127.0.0.1:%d" % self.m.port
        self.maildirs = self.m.mail
        self.dirs = [self.m.mail, os.path.join(self.m.dir, "queue")]

    def stop(self):
        self.sampler.halt = True
        self.sampler.join()
        self.sampler.sample()
        os.kill(self.p.pid, signal.SIGTERM)
        _, status, ru = os.wait4(self.p.pid, 0)
        self.p.returncode = status
        return ru.ru_utime + ru.ru_stime

    def cleanup(self):
        if self.p.returncode is None:
            self.stop()
        shutil.rmtree(self.m.dir, ignore_errors=True)


class Foreign:
    """BENCH_TARGET: another server; only its Maildirs are visible."""

    def __init__(self, **extra):
        self.target = os.environ["BENCH_TARGET"]
        self.maildirs = os.environ["BENCH_MAILDIR_ROOT"]
        self.dirs = [self.maildirs]
        self.sampler = None

    def stop(self):
        return None

    def cleanup(self):
        pass


PERF_HZ = 500
FORK = re.compile(r"PERF_RECORD_FORK\((\d+):\d+\):\((\d+):\d+\)")


# the bench's own files (perf's samples, smtpload's record) stay off the
# measured file system (TMPDIR): their writes would add journal commits
OWN_FILES = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


class Perf:
    """perf record -a (root): CPU samples and fsync calls, by program, of
    master's process tree only (other work on the machine is left out)."""

    def __init__(self, root_pid):
        self.root = root_pid
        self.p = None
        if os.geteuid() != 0 or shutil.which("perf") is None:
            return
        self.out = tempfile.mktemp(prefix="bench-perf-", dir=OWN_FILES)
        self.p = subprocess.Popen(
            # every fsync counted (-c 1); CPU sampled every 2 ms
            ["perf", "record", "-q", "-a", "-c", "1", "-o", self.out,
             "-e", "cpu-clock/period=%d/" % (1000000000 // PERF_HZ),
             "-e", "syscalls:sys_enter_fsync",
             "-e", "syscalls:sys_enter_fdatasync"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)     # perf's start-up: no log line to wait for

    def stop(self):
        """{program: [cpu seconds, fsyncs]} or None without perf."""
        if self.p is None:
            return None
        self.p.send_signal(signal.SIGINT)
        self.p.wait()
        text = subprocess.run(["perf", "script", "-i", self.out,
                               "--show-task-events", "-F", "comm,pid,event"],
                              capture_output=True, text=True).stdout
        os.unlink(self.out)
        ours, res = {self.root}, {}
        for line in text.splitlines():
            m = FORK.search(line)
            if m:
                if int(m.group(2)) in ours:
                    ours.add(int(m.group(1)))
                continue
            f = line.split()
            if len(f) < 3 or not f[1].isdigit() or int(f[1]) not in ours:
                continue
            r = res.setdefault(f[0], [0.0, 0])
            if f[2].startswith("cpu-clock"):
                r[0] += 1.0 / PERF_HZ
            elif "fsync" in f[2] or "fdatasync" in f[2]:
                r[1] += 1
        return res


def scenario(name, sessions, msgs, size, rcpts=1, per_session=0):
    foreign = "BENCH_TARGET" in os.environ
    limit = max(100, sessions + 10)
    inst = (Foreign if foreign else Instance)(smtpd_process_limit=limit)
    rec = tempfile.mktemp(prefix="bench-rec-", dir=OWN_FILES)
    rcpt = os.environ.get("BENCH_RCPT", "user@localhost")
    try:
        old = all_files(inst.maildirs) if foreign else frozenset()
        base = len(old) if foreign else 0
        expect = msgs * rcpts
        tpid = os.environ.get("BENCH_TARGET_PID")
        perf = (Perf(inst.p.pid) if not foreign else
                Perf(int(tpid)) if tpid else None)
        jpath = inst.m.dir if hasattr(inst, "m") else inst.maildirs
        j0 = journal_commits(jpath)
        t0 = time.time()
        cmd = [os.path.join(mta.BIN, "smtpload"), "-s", str(sessions),
               "-m", str(msgs), "-S", str(size), "-r", str(rcpts),
               "-p", str(per_session), "-t", rcpt, "-o", rec, inst.target]
        r = subprocess.run(cmd, capture_output=True, text=True)
        t_acc = time.time() - t0
        acc = re.search(r"(\d+) accepted", r.stdout)
        accepted = int(acc.group(1)) if acc else 0
        if r.returncode != 0:
            say("%s: smtpload: %s%s" % (name, r.stdout.strip(),
                                          r.stderr.strip()))
        expect = accepted * rcpts
        mta.wait_for(lambda: count_files(inst.maildirs) - base >= expect,
                     600, "%d deliveries" % expect)
        t_del = time.time() - t0
        j1 = journal_commits(jpath)
        prof = perf.stop() if perf else None
        total = inst.stop()
        sent = {}
        with open(rec) as f:
            for line in f:
                seq, t, _ = line.split()
                sent[int(seq)] = float(t)
        lat = latencies(inst.maildirs, sent, old)
        say("%s: %d msgs x %d B x %d rcpt, %d sessions%s" % (
            name, msgs, size, rcpts, sessions,
            "" if foreign else " (smtpd_process_limit = %d)" % limit))
        say("  accepted %.0f msgs/s, delivered %.0f msgs/s (%.0f "
            "deliveries/s); %s" % (
                accepted / t_acc, accepted / t_del, expect / t_del,
                r.stdout.split(";")[-1].strip()))
        say("  250 -> new/: p50 %.1f ms, p99 %.1f ms (%d files)" % (
            pct(lat, 0.5), pct(lat, 0.99), len(lat)))
        if total is not None and accepted and prof is not None:
            say("  CPU ms/msg: all %.3f (wait4 of master); by program "
                "(perf samples of master's tree): %s" % (
                    total * 1000 / accepted, ", ".join(
                        "%s %.3f" % (k, v[0] * 1000 / accepted)
                        for k, v in sorted(prof.items()) if v[0])))
        elif total is not None and accepted:
            cpu, mem, n = inst.sampler.by_program()
            per = ", ".join("%s %.3f" % (k, v * 1000 / accepted)
                            for k, v in sorted(cpu.items()))
            say("  CPU ms/msg: all %.3f (wait4 of master); sampled from "
                "/proc every 0.25 s (no perf without root): %s; not "
                "attributed (exited between samples) %.3f" % (
                    total * 1000 / accepted, per,
                    (total - sum(cpu.values())) * 1000 / accepted))
        elif prof is not None and accepted:
            say("  CPU ms/msg: all %.3f (perf samples of the process tree "
                "of BENCH_TARGET_PID): %s" % (
                    sum(v[0] for v in prof.values()) * 1000 / accepted,
                    ", ".join("%s %.3f" % (k, v[0] * 1000 / accepted)
                              for k, v in sorted(prof.items()) if v[0])))
        else:
            say("  CPU per program: n/a (another server; BENCH_TARGET_PID "
                "= its master's pid gives it, as root)")
        if total is not None:
            cpu, mem, n = inst.sampler.by_program()
            say("  peak memory (VmHWM, largest process): %s" % ", ".join(
                "%s %d KB (%d procs)" % (k, mem[k], n[k])
                for k in sorted(mem)))
        say("  fsyncs per message: %s" % (
            "%.2f (%s)" % (sum(v[1] for v in prof.values()) / accepted,
                           ", ".join("%s %.2f" % (k, v[1] / accepted)
                                     for k, v in sorted(prof.items())
                                     if v[1]))
            if prof is not None and accepted
            else "n/a (needs root and perf, and our own instance)"))
        if j0 is not None and j1 is not None and accepted:
            say("  journal commits per message: %.2f (the whole file "
                "system's, other work on it included)" % (
                    (j1 - j0) / accepted))
        say("  file systems: " + "; ".join(
            "%s: %s" % (os.path.basename(d), fs_info(d)) for d in inst.dirs))
    finally:
        if os.path.exists(rec):
            os.unlink(rec)
        inst.cleanup()


class Sink(threading.Thread):
    """The relay scenario's far end: accepts everything (PIPELINING),
    keeps no mail, notes when each X-Bench-Seq arrived."""

    def __init__(self, port=0):
        super().__init__(daemon=True)
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", port))
        self.srv.listen(512)
        self.port = self.srv.getsockname()[1]
        self.got = {}
        self.count = 0

    def run(self):
        import asyncio
        asyncio.run(self.serve())

    async def serve(self):
        import asyncio
        server = await asyncio.start_server(self.session, sock=self.srv,
                                            limit=1 << 22)
        async with server:
            await server.serve_forever()

    async def session(self, r, w):
        sock = w.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        w.write(b"220 sink.example ESMTP\r\n")
        try:
            while True:
                line = await r.readline()
                if not line:
                    break
                cmd = line[:4].upper()
                if cmd in (b"EHLO", b"HELO"):
                    w.write(b"250-sink.example\r\n250-PIPELINING\r\n"
                            b"250 8BITMIME\r\n")
                elif cmd == b"DATA":
                    w.write(b"354 go\r\n")
                    await w.drain()
                    # the whole message at once: a readline() per line
                    # capped the sink itself near 440 msgs/s
                    msg = await r.readuntil(b"\r\n.\r\n")
                    m = re.search(rb"(?m)^X-Bench-Seq: (\d+)", msg)
                    seq = int(m.group(1)) if m else None
                    self.count += 1
                    if seq is not None:
                        self.got[seq] = time.time()
                    w.write(b"250 2.0.0 Ok\r\n")
                elif cmd == b"QUIT":
                    w.write(b"221 bye\r\n")
                    await w.drain()
                    break
                else:
                    w.write(b"250 2.0.0 Ok\r\n")
                await w.drain()
        except (ConnectionError, ValueError, EOFError):
            pass
        w.close()


def relay(sessions, msgs):
    foreign = "BENCH_TARGET" in os.environ
    if foreign and not os.environ.get("BENCH_SINK_PORT"):
        say("relay: SKIPPED with BENCH_TARGET but no BENCH_SINK_PORT (the "
            "port of the target's relayhost, where the sink is to listen; "
            "postfix_private.sh --relay prints it)")
        return
    if not foreign and not os.path.exists(os.path.join(mta.BIN, "remote")):
        say("relay to an SMTP sink: SKIPPED - no %s/remote: the remote "
            "delivery agent (issue 5) is not in this build"  % mta.BIN)
        return
    sink = Sink(int(os.environ["BENCH_SINK_PORT"]) if foreign else 0)
    sink.start()
    inst = (Foreign() if foreign else
            Instance(smtpd_process_limit=100,
                     relayhost="[127.0.0.1]:%d" % sink.port))
    rec = tempfile.mktemp(prefix="bench-rec-", dir=OWN_FILES)
    try:
        tpid = os.environ.get("BENCH_TARGET_PID")
        perf = (Perf(inst.p.pid) if not foreign else
                Perf(int(tpid)) if tpid else None)
        jpath = inst.maildirs if foreign else inst.m.dir
        j0 = journal_commits(jpath)
        t0 = time.time()
        r = subprocess.run([os.path.join(mta.BIN, "smtpload"), "-s",
                            str(sessions), "-m", str(msgs), "-S", "2048",
                            "-t", "user@far.example", "-o", rec,
                            inst.target], capture_output=True, text=True)
        t_acc = time.time() - t0
        acc = re.search(r"(\d+) accepted", r.stdout)
        accepted = int(acc.group(1)) if acc else 0
        if r.returncode != 0:
            say("relay: smtpload: %s%s" % (r.stdout.strip(),
                                            r.stderr.strip()))
        mta.wait_for(lambda: sink.count >= accepted, 300,
                     "%d messages at the sink" % accepted)
        t_del = time.time() - t0
        j1 = journal_commits(jpath)
        prof = perf.stop() if perf else None
        total = inst.stop()
        sent = {}
        with open(rec) as f:
            for line in f:
                seq, t, _ = line.split()
                sent[int(seq)] = float(t)
        lat = sorted(sink.got[k] - sent[k] for k in sent if k in sink.got)
        say("relay to an SMTP sink (%s, Python asyncio sink on port %d), "
            "%d msgs x 2048 B, %d sessions" % (
                "BENCH_TARGET's relayhost" if foreign else "relayhost",
                sink.port, msgs, sessions))
        say("  accepted %.0f msgs/s, relayed %.0f msgs/s (%d at the sink); "
            "%s" % (accepted / t_acc, accepted / t_del, sink.count,
                    r.stdout.split(";")[-1].strip()))
        say("  250 -> sink's 250: p50 %.1f ms, p99 %.1f ms" % (
            pct(lat, 0.5), pct(lat, 0.99)))
        if accepted and total is not None:
            say("  CPU ms/msg: all %.3f (wait4 of master)%s" % (
                total * 1000 / accepted, "" if prof is None else
                "; " + ", ".join("%s %.3f" % (k, v[0] * 1000 / accepted)
                                 for k, v in sorted(prof.items()) if v[0])))
        elif accepted and prof is not None:
            say("  CPU ms/msg: all %.3f (perf samples of the process tree "
                "of BENCH_TARGET_PID): %s" % (
                    sum(v[0] for v in prof.values()) * 1000 / accepted,
                    ", ".join("%s %.3f" % (k, v[0] * 1000 / accepted)
                              for k, v in sorted(prof.items()) if v[0])))
        elif accepted:
            say("  CPU per program: n/a (another server; BENCH_TARGET_PID "
                "= its master's pid gives it, as root)")
        if accepted:
            if prof is not None:
                say("  fsyncs per message: %.2f (%s)" % (
                    sum(v[1] for v in prof.values()) / accepted,
                    ", ".join("%s %.2f" % (k, v[1] / accepted)
                              for k, v in sorted(prof.items()) if v[1])))
            if j0 is not None and j1 is not None:
                say("  journal commits per message: %.2f" % (
                    (j1 - j0) / accepted))
        say("  file systems: " + "; ".join(
            "%s: %s" % (os.path.basename(d), fs_info(d)) for d in inst.dirs
            if os.path.isdir(d)))     # relaying, ours makes no mail/
    finally:
        if os.path.exists(rec):
            os.unlink(rec)
        inst.cleanup()


def pss(pids):
    """the summed PSS (KB) of these processes, and how many were read."""
    total = n = 0
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                total += int(re.search(r"Pss:\s+(\d+)", f.read()).group(1))
            n += 1
        except (OSError, AttributeError):
            pass
    return total, n


def probe(host, port):
    t = time.time()
    s = socket.create_connection((host, port), 30)
    s.recv(512)
    greet = time.time() - t
    s.sendall(b"EHLO probe.example\r\n")
    buf = b""
    while not re.search(rb"(^|\n)250 ", buf):
        got = s.recv(4096)
        if not got:
            raise OSError("probe: closed during EHLO")
        buf += got
    ehlo = time.time() - t - greet
    s.close()
    return greet, ehlo


FOREIGN_BASE = {}     # BENCH_TARGET_PID -> (PSS KB, processes) at first
PROBES = 5            # fresh sessions timed while the idle ones are held


def idle(k):
    """k idle sessions held; memory per session; a fresh session's times.
    With BENCH_TARGET the memory is the growth of the PSS of the process
    tree of BENCH_TARGET_PID (its master) and the target's own process
    limit must allow k + 1 sessions."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = k + 100
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (min(want, hard), hard))
        except (ValueError, OSError):
            pass
    foreign = "BENCH_TARGET" in os.environ
    tpid = os.environ.get("BENCH_TARGET_PID")
    inst = Foreign() if foreign else Instance(smtpd_process_limit=k + 50)
    host, port = inst.target.rsplit(":", 1)
    port = int(port)
    root = int(tpid) if foreign and tpid else None if foreign else inst.p.pid
    tree = (lambda: Sampler(root).tree()) if root else list  # noqa: E731
    socks = []
    try:
        before_smtpd = pss(inst.m.pids("smtpd"))[0] if not foreign else 0
        before, n0 = pss(tree())
        if foreign and root:
            # a target that keeps idle processes (Postfix: max_idle 100 s)
            # serves these sessions with the previous run's: measure from
            # its tree as it was before the first idle run
            before, n0 = FOREIGN_BASE.setdefault(root, (before, n0))
        t0 = time.time()
        for _ in range(k):
            s = socket.create_connection((host, port), 60)
            socks.append(s)
        for s in socks:
            if not s.recv(512).startswith(b"220"):
                raise OSError("no 220 greeting")
        t_open = time.time() - t0
        after, n1 = pss(tree())
        after_smtpd = pss(inst.m.pids("smtpd"))[0] if not foreign else 0
        # one probe is one sample of a loaded machine: take PROBES, one
        # after another (each closed before the next)
        times = [probe(host, port) for _ in range(PROBES)]
        greet, ehlo = times[0]
        greets = sorted(t[0] for t in times)
        if foreign:
            mem = ("%.0f KB per session (PSS growth of BENCH_TARGET_PID's "
                   "process tree: %d processes before the first idle run, "
                   "%d now%s)" % (
                       (after - before) / k, n0, n1,
                       "; more than one per session: restart the target "
                       "for a fair figure" if n1 > n0 + k + 5 else "")
                   if root else "memory n/a (no BENCH_TARGET_PID)")
        else:
            mem = ("%.0f KB per session (smtpd PSS; master's whole tree "
                   "%.0f KB, %d processes before, %d after)" % (
                       (after_smtpd - before_smtpd) / k,
                       (after - before) / k, n0, n1))
        say("idle %d sessions%s: all greeted in %.1f s; %s; a fresh "
            "session: greeting %.1f ms, EHLO %.2f ms (of %d fresh "
            "sessions one after another: greeting median %.1f ms, max "
            "%.1f ms)" % (
                k, "" if foreign else " (smtpd_process_limit = %d)" % (
                    k + 50), t_open, mem, greet * 1000, ehlo * 1000,
                PROBES, greets[len(greets) // 2] * 1000, greets[-1] * 1000))
    except OSError as e:
        say("idle %d sessions: failed after %d: %s" % (k, len(socks), e))
    finally:
        for s in socks:
            s.close()
        inst.cleanup()


def main():
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    only = os.environ.get("BENCH_SCENARIOS")
    want = (lambda s: only is None or s in only.split(","))  # noqa: E731
    n = (lambda k: max(20, int(k * scale)))  # noqa: E731
    say("client: bin/smtpload; machine: %d cores, load %s" % (
        os.cpu_count(), " ".join("%.1f" % x for x in os.getloadavg())))
    if want("local1"):
        scenario("local delivery, 1 session", 1, n(1500), 2048)
    if want("local20"):
        scenario("local delivery, 20 sessions", 20, n(4000), 2048)
    if want("big"):
        scenario("100 KB messages, 10 sessions", 10, n(800), 102400)
    if want("rcpt5"):
        scenario("5 recipients, 10 sessions", 10, n(800), 2048, 5)
    if want("relay"):
        relay(20, n(3000))
    if (want("idle") and "BENCH_TARGET" in os.environ
            and "BENCH_IDLE" not in os.environ):
        say("idle sessions: SKIPPED with BENCH_TARGET and no BENCH_IDLE "
            "(K sessions need a process limit above K there: "
            "postfix_private.sh --procs N)")
    elif want("idle"):
        ks = os.environ.get("BENCH_IDLE", "500,1000,5000")
        for k in (int(x) for x in ks.split(",")):
            idle(max(10, int(k * min(scale, 1.0))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

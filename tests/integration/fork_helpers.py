"""fork_helpers.py - which process serves which SMTP connection, for the
tests of smtpd's forked sessions (test_smtpd_fork.py).

The server end of a client's TCP connection is found in /proc/net/tcp
(local port = the server's, remote port = the client's), and its socket
inode among the descriptors of the instance's smtpd processes.
"""
import json
import os


def _tcp_rows():
    rows = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    p = line.split()
                    rows.append((int(p[1].split(":")[1], 16),
                                 int(p[2].split(":")[1], 16),
                                 p[3], p[9]))
        except FileNotFoundError:
            pass
    return rows


def server_inode(port, client_port):
    """The inode of the server's socket for the client at client_port."""
    for lport, rport, _, inode in _tcp_rows():
        if lport == port and rport == client_port:
            return inode
    return None


def listen_inode(port):
    for lport, _, state, inode in _tcp_rows():
        if lport == port and state == "0A":  # TCP_LISTEN
            return inode
    return None


def fd_links(pid):
    """{fd: link} of a process (empty when it is gone)."""
    out = {}
    d = "/proc/%d/fd" % pid
    try:
        for fd in os.listdir(d):
            try:
                out[int(fd)] = os.readlink(os.path.join(d, fd))
            except OSError:
                pass
    except OSError:
        pass
    return out


def holders(m, inode):
    """The smtpd pids of instance m that hold the socket inode."""
    want = "socket:[%s]" % inode
    return [pid for pid in m.pids("smtpd")
            if want in fd_links(pid).values()]


def session_pid(m, client):
    """The pid of the smtpd process serving a connected client socket
    (a smtpd_helpers.Client or a socket)."""
    sock = getattr(client, "s", client)
    inode = server_inode(m.port, sock.getsockname()[1])
    pids = holders(m, inode) if inode else []
    return pids[0] if len(pids) == 1 else None


def listener_pid(m):
    """The smtpd listener: the one holding the listening socket."""
    pids = holders(m, listen_inode(m.port))
    return pids[0] if len(pids) == 1 else None


def status(m, service="smtpd"):
    out = json.loads(m.ctl("status", "--json").stdout)
    for s in out["services"]:
        if s["service"] == service:
            return s
    return None


def ppid(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])

"""remote_helpers.py - what the remote/resolver tests need beside mta.py:

- DNSServer: a small authoritative DNS server on 127.0.0.1 (UDP and TCP
  on one port) serving a zone given as a dict (TLSA records too); names
  may be set to answer SERVFAIL, to come truncated over UDP (so the
  client must retry over TCP) or with the AD bit (as a validating
  resolver would for DNSSEC-signed data).  It counts the queries it gets.
- the SMTP sink the remote tests talk to is in sink_helpers.py.
- write_queue_file / remote_request / resolver_request: speak the queue
  file format (mta-queue(5)) and the IPC records (common/ipc.h) so a test
  can drive private/remote and private/resolver as qmgr and remote do.
"""
import array
import os
import socket
import struct
import threading
import time

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15,
         "TXT": 16, "AAAA": 28, "TLSA": 52}


def _name(n):
    out = b""
    for label in n.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def _rdata(t, v):
    if t == "A":
        return socket.inet_pton(socket.AF_INET, v)
    if t == "AAAA":
        return socket.inet_pton(socket.AF_INET6, v)
    if t == "MX":
        pref, host = v.split()
        return struct.pack(">H", int(pref)) + _name(host)
    if t in ("CNAME", "PTR", "NS"):
        return _name(v)
    if t == "TXT":
        return bytes([len(v)]) + v.encode()
    if t == "TLSA":  # "USAGE SELECTOR MTYPE HEX" (RFC 6698 2.1)
        u, sel, mt, data = v.split(None, 3)
        return bytes([int(u), int(sel), int(mt)]) + bytes.fromhex(data)
    if t == "SOA":
        return (_name("ns.test") + _name("hostmaster.test") +
                struct.pack(">IIIII", 1, 3600, 600, 86400, int(v)))
    raise ValueError(t)


def _rr(name, t, ttl, v):
    rd = _rdata(t, v)
    return _name(name) + struct.pack(">HHIH", TYPES[t], 1, ttl,
                                     len(rd)) + rd


class DNSServer:
    """zone: {name: [(type, value, ttl), ...]}; servfail, truncate,
    secure (answered with the AD bit, as a validating resolver would): sets
    of names.  Negative answers carry an SOA whose minimum is neg_ttl."""

    def __init__(self, zone, servfail=(), truncate=(), neg_ttl=60, port=0,
                 secure=()):
        self.zone = {k.lower().rstrip("."): v for k, v in zone.items()}
        self.secure = set(secure)  # names answered with the AD bit
        self.servfail = set(servfail)
        self.truncate = set(truncate)
        self.neg_ttl = neg_ttl
        self.queries = []
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for _ in range(50):
            self.udp.bind(("127.0.0.1", port))
            self.port = self.udp.getsockname()[1]
            try:
                self.tcp.bind(("127.0.0.1", self.port))
                break
            except OSError:
                self.udp.close()
                self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tcp.listen(16)
        self.stopping = False
        for f in (self._serve_udp, self._serve_tcp):
            threading.Thread(target=f, daemon=True).start()

    def stop(self):
        self.stopping = True
        self.udp.close()
        self.tcp.close()

    def count(self, name, qtype):
        return sum(1 for q in self.queries if q == (name, qtype))

    def answer(self, req, over_tcp):
        qid, flags = struct.unpack(">HH", req[:4])
        pos, labels = 12, []
        while req[pos]:
            labels.append(req[pos + 1:pos + 1 + req[pos]].decode())
            pos += 1 + req[pos]
        qtype = struct.unpack(">H", req[pos + 1:pos + 3])[0]
        question = req[12:pos + 5]
        name = ".".join(labels).lower()
        tname = {v: k for k, v in TYPES.items()}.get(qtype, str(qtype))
        self.queries.append((name, tname))
        rcode, an, ns, tc = 0, [], [], 0
        if name in self.servfail:
            rcode = 2
        elif name in self.truncate and not over_tcp:
            tc = 1
        elif name not in self.zone:
            rcode = 3
        else:
            target = name
            for _ in range(8):  # follow CNAMEs inside the zone
                recs = self.zone.get(target, [])
                cn = [r for r in recs if r[0] == "CNAME"]
                if cn and tname != "CNAME":
                    an.append(_rr(target, "CNAME", cn[0][2], cn[0][1]))
                    target = cn[0][1].lower().rstrip(".")
                    continue
                an += [_rr(target, t, ttl, v) for t, v, ttl in recs
                       if t == tname]
                break
        if rcode == 3 or (rcode == 0 and not an and not tc):
            ns.append(_rr("test", "SOA", self.neg_ttl, str(self.neg_ttl)))
        rflags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode
        rflags |= 0x0200 if tc else 0
        rflags |= 0x0020 if name in self.secure else 0
        head = struct.pack(">HHHHHH", qid, rflags, 1, len(an), len(ns), 0)
        return head + question + b"".join(an) + b"".join(ns)

    def _serve_udp(self):
        while not self.stopping:
            try:
                req, peer = self.udp.recvfrom(4096)
                self.udp.sendto(self.answer(req, False), peer)
            except OSError:
                return
            except Exception:  # a bad packet: no answer
                continue

    def _serve_tcp(self):
        while not self.stopping:
            try:
                s, _ = self.tcp.accept()
            except OSError:
                return
            try:
                s.settimeout(5)
                ln = struct.unpack(">H", _recv_exact(s, 2))[0]
                out = self.answer(_recv_exact(s, ln), True)
                s.sendall(struct.pack(">H", len(out)) + out)
            except Exception:
                pass
            finally:
                s.close()


def _recv_exact(s, n):
    b = b""
    while len(b) < n:
        got = s.recv(n - len(b))
        if not got:
            raise EOFError
        b += got
    return b


# -- queue files and IPC ----------------------------------------------
def write_queue_file(path, qid, sender, rcpts, body, body_type="7BIT",
                     dsn=None):
    """rcpts: list of addresses; dsn: {index: (orcpt, notify)}."""
    def rec(t, payload):
        if isinstance(payload, str):
            payload = payload.encode()
        return t.encode() + struct.pack(">I", len(payload)) + payload
    out = b"MTAQ" + rec("V", "1") + rec("I", qid)
    out += rec("T", "%d.000000" % int(time.time())) + rec("S", sender)
    for i, r in enumerate(rcpts):
        out += rec("R", r)
        if dsn and i in dsn:
            out += rec("O", dsn[i][0]) + rec("N", dsn[i][1])
    out += rec("B", body_type) + rec("M", b"")
    out += rec("D", body) + rec("X", str(len(body)))
    with open(path, "wb") as f:
        f.write(out)


def ipc_encode(pairs):
    out = b""
    for k, v in pairs:
        if isinstance(v, str):
            v = v.encode()
        out += bytes([len(k)]) + k.encode() + struct.pack(">I", len(v)) + v
    return out + b"\0"


def ipc_read(sock, buf):
    """One record from sock: (list of (name, value), rest of buffer)."""
    while True:
        pos, pairs = 0, []
        try:
            while True:
                n = buf[pos]
                if n == 0:
                    return pairs, buf[pos + 1:]
                name = buf[pos + 1:pos + 1 + n].decode()
                ln = struct.unpack(">I", buf[pos + 1 + n:pos + 5 + n])[0]
                if pos + 5 + n + ln > len(buf):
                    raise IndexError
                pairs.append((name, buf[pos + 5 + n:pos + 5 + n + ln]
                              .decode("utf-8", "replace")))
                pos += 5 + n + ln
        except (IndexError, struct.error):
            got = sock.recv(65536)
            if not got:
                raise EOFError("connection closed")
            buf += got


def remote_request(mta, qfile, qid, sender, rcpts, nexthop, timeout=60):
    """Drive private/remote as qmgr does; returns {idx: dict(answer)}."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(os.path.join(mta.dir, "queue", "private", "remote"))
    now = int(time.time() * 1000)
    pairs = [("req", "deliver"), ("queue_id", qid), ("sender", sender),
             ("arrival", str(now)), ("size", "0"), ("t_active", str(now)),
             ("t_sent", str(now)), ("nexthop", nexthop)]
    for i, r in enumerate(rcpts):
        pairs += [("idx", str(i)), ("rcpt", r)]
    fd = os.open(qfile, os.O_RDONLY)
    data = ipc_encode(pairs)
    s.sendmsg([data[:1]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                            array.array("i", [fd]))])
    s.sendall(data[1:])
    os.close(fd)
    answers, buf = {}, b""
    while True:
        rec, buf = ipc_read(s, buf)
        d = dict(rec)
        if "done" in d:
            break
        answers[int(d["idx"])] = d
    s.close()
    return answers


def resolver_request(mta, pairs, timeout=30):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(os.path.join(mta.dir, "queue", "private", "resolver"))
    s.sendall(ipc_encode(pairs))
    rec, _ = ipc_read(s, b"")
    s.close()
    out = {}
    for k, v in rec:
        if k == "rr":
            out.setdefault("rr", []).append(v)
        else:
            out[k] = v
    return out



def _main(argv):
    """For trying relaying by hand (README):
         remote_helpers.py dns PORT DOMAIN=ADDR...  DOMAIN: MX 10 mx.DOMAIN,
                                                     mx.DOMAIN: A ADDR
         remote_helpers.py sink ADDR PORT           print what arrives"""
    if len(argv) >= 3 and argv[0] == "dns":
        zone = {}
        for spec in argv[2:]:
            dom, addr = spec.split("=")
            zone[dom] = [("MX", "10 mx.%s" % dom, 60)]
            zone["mx." + dom] = [("A", addr, 60)]
        srv = DNSServer(zone, port=int(argv[1]))
        print("DNS on 127.0.0.1:%d (UDP and TCP) for %s" %
              (srv.port, ", ".join(a.split("=")[0] for a in argv[2:])),
              flush=True)
        while True:
            time.sleep(3600)
    if len(argv) == 3 and argv[0] == "sink":
        from sink_helpers import SMTPSink
        sink = SMTPSink(argv[1], int(argv[2]))
        print("SMTP sink on %s:%s" % (argv[1], argv[2]), flush=True)
        seen = 0
        while True:
            time.sleep(0.2)
            for m in sink.messages[seen:]:
                print("--- %s %s\n%s" % (m["mail"], m["rcpt"],
                      m["data"].decode("utf-8", "replace")), flush=True)
            seen = len(sink.messages)
    print(_main.__doc__)
    return 2


if __name__ == "__main__":
    import sys
    sys.exit(_main(sys.argv[1:]))

#!/usr/bin/env python3
"""fake_agent.py - a delivery agent that fails on purpose, for tests.

master starts it in place of `remote` (the test puts it into a private
daemon_directory under that name).  It speaks the delivery protocol of
qmgr (attribute records, the queue file passed as a descriptor) and
answers each recipient by its local part:
  ok...     2.0.0 delivered
  fail4...  450 4.2.0 (deferred; the destination answered)
  down...   4.4.1 connection refused (the destination did not answer)
  inject... 550 5.1.1 with CR LF and a header line inside the text
  baddsn... 550 with a status code that is not one
  anything else: 550 5.1.1 user unknown
Each answer is logged to the instance's maillog in the Postfix format, so
the test reads attempts and their times from the log like a postmaster.
"""
import os
import socket
import struct
import sys
import time

LISTEN_FD, STATUS_FD = 3, 4


def config(path):
    conf = {}
    with open(path) as f:
        for line in f:
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.split("=", 1)
                conf[k.strip()] = v.strip()
    return conf


def report(status):
    # struct service_msg (common/service.h): pid, status, arg
    try:
        os.write(STATUS_FD, struct.pack("iii", os.getpid(), status, 0))
    except OSError:
        pass


def put_record(sock, attrs):
    out = b""
    for name, value in attrs:
        n = name.encode()
        v = value.encode() if isinstance(value, str) else value
        out += bytes([len(n)]) + n + struct.pack(">I", len(v)) + v
    sock.sendall(out + b"\0")


class Reader:
    def __init__(self, sock):
        self.sock, self.buf, self.fds = sock, b"", []

    def fill(self):
        data, anc, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(16))
        for level, kind, raw in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                self.fds += list(struct.unpack("%di" % (len(raw) // 4),
                                               raw[:len(raw) - len(raw) % 4]))
        if not data:
            raise EOFError
        self.buf += data

    def record(self):
        while True:
            attrs, i = [], 0
            try:
                while self.buf[i] != 0:
                    nl = self.buf[i]
                    name = self.buf[i + 1:i + 1 + nl].decode()
                    vl = struct.unpack(">I", self.buf[i + 1 + nl:i + 5 + nl])[0]
                    if i + 5 + nl + vl > len(self.buf):
                        raise IndexError
                    attrs.append((name, self.buf[i + 5 + nl:i + 5 + nl + vl]
                                  .decode(errors="replace")))
                    i += 5 + nl + vl
                self.buf = self.buf[i + 1:]
                return attrs
            except (IndexError, struct.error):
                self.fill()


def answer(rcpt):
    local = rcpt.split("@")[0].lower()
    if local.startswith("ok"):
        return 2, "2.0.0", "250 2.0.0 Ok: queued as FAKE"
    if local.startswith("fail4"):
        return 4, "4.2.0", "450 4.2.0 <%s>: Mailbox busy, try later" % rcpt
    if local.startswith("inject"):  # a peer's reply with line breaks
        return 5, "5.1.1", "550 5.1.1 no such user\r\nX-Injected: yes\n" \
            "\nInjected body"
    if local.startswith("baddsn"):  # an agent's malformed status code
        return 5, "5.1.1; X-Bad: 1", "550 user unknown"
    if local.startswith("down"):
        return 4, "4.4.1", "connect to mx.fail.test[192.0.2.1]:25: " \
            "Connection refused"
    return 5, "5.1.1", "550 5.1.1 <%s>: Recipient address rejected: " \
        "User unknown" % rcpt


def serve(conn, log):
    r = Reader(conn)
    while True:
        try:
            req = r.record()
        except EOFError:
            return
        fds, r.fds = r.fds, []
        for fd in fds:
            os.close(fd)
        d = dict(req)
        pairs = [(req[i][1], req[i + 1][1]) for i in range(len(req) - 1)
                 if req[i][0] == "idx" and req[i + 1][0] == "rcpt"]
        for idx, rcpt in pairs:
            code, dsn, text = answer(rcpt)
            status = {2: "sent", 4: "deferred", 5: "bounced"}[code]
            with open(log, "a") as f:
                f.write("%s fake mta/remote[%d]: %s: to=<%s>, relay=%s, "
                        "delay=0, delays=0/0/0/0, dsn=%s, status=%s (%s) "
                        "t=%.3f\n" % (time.strftime("%b %e %H:%M:%S"),
                                      os.getpid(), d.get("queue_id"), rcpt,
                                      d.get("nexthop"), dsn, status, text,
                                      time.time()))
            put_record(conn, [("idx", idx), ("code", str(code)),
                              ("dsn", dsn), ("text", text),
                              ("mta", "mx.fail.test")])
        put_record(conn, [("done", "1")])


def main():
    conf = config(sys.argv[sys.argv.index("-c") + 1])
    log = conf.get("maillog_file", "/dev/null")
    lsock = socket.socket(fileno=LISTEN_FD)
    lsock.setblocking(True)
    report(1)
    while True:
        conn, _ = lsock.accept()
        report(2)
        try:
            serve(conn, log)
        finally:
            conn.close()
        report(1)


if __name__ == "__main__":
    main()

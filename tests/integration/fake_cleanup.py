"""fake_cleanup.py - stand in for cleanup(8) on private/cleanup.

The real socket is moved aside (master keeps listening on it); the fake
takes each new connection in turn from a list of modes and records the
envelope it read:
  pass    relay the bytes to the real cleanup and back
  no_id   read the envelope and hang up (no queue ID)
  hangup  give a queue ID, read one data record and hang up
  refuse  read the whole message and answer 554 5.7.1
Connections past the end of the list pass.  The wire format is ipc.h's:
a byte of name length, the name, four bytes of value length (big-endian),
the value; a zero name length ends a record.
"""
import os
import socket
import struct
import threading

FAKE_ID = "4FAKEQUEUE01"
REFUSAL = "5.7.1 Error: refused by the fake"


def record(*pairs):
    out = b""
    for name, value in pairs:
        value = value.encode() if isinstance(value, str) else value
        out += bytes([len(name)]) + name.encode()
        out += struct.pack(">I", len(value)) + value
    return out + b"\0"


class Reader:
    def __init__(self, sock):
        self.s, self.buf = sock, b""

    def take(self, n):
        while len(self.buf) < n:
            got = self.s.recv(65536)
            if not got:
                raise EOFError
            self.buf += got
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def record(self):
        """One record as a list of (name, value bytes)."""
        attrs = []
        while True:
            nl = self.take(1)[0]
            if nl == 0:
                return attrs
            name = self.take(nl).decode()
            vl = struct.unpack(">I", self.take(4))[0]
            attrs.append((name, self.take(vl)))


class FakeCleanup:
    def __init__(self, queue_dir, modes):
        self.path = os.path.join(queue_dir, "private", "cleanup")
        self.real = self.path + ".real"
        self.modes = list(modes)
        self.envelopes = []  # (mode, [(name, value str)]) per connection
        self.lock = threading.Lock()
        os.rename(self.path, self.real)
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(self.path)
        os.chmod(self.path, 0o666)
        self.ls.listen(8)
        self.ls.settimeout(0.2)
        self.running = True
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def stop(self):
        self.running = False
        self.t.join(10)
        self.ls.close()
        os.unlink(self.path)
        os.rename(self.real, self.path)

    def loop(self):
        while self.running:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            with self.lock:
                mode = self.modes.pop(0) if self.modes else "pass"
            threading.Thread(target=self.serve, args=(c, mode),
                             daemon=True).start()

    def serve(self, c, mode):
        c.settimeout(20)
        try:
            if mode == "pass":
                return self.relay(c)
            r = Reader(c)
            env = [(n, v.decode()) for n, v in r.record()]
            with self.lock:
                self.envelopes.append((mode, env))
            if mode == "no_id":
                return
            c.sendall(record(("queue_id", FAKE_ID)))
            while True:
                rec = r.record()
                if mode == "hangup" or any(n == "end" for n, _ in rec):
                    break
            if mode == "refuse":
                c.sendall(record(("status", "554"), ("text", REFUSAL)))
        except (EOFError, OSError):
            pass
        finally:
            c.close()

    def relay(self, c):
        up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        up.settimeout(20)
        up.connect(self.real)

        def pump(a, b):
            try:
                while True:
                    got = a.recv(65536)
                    if not got:
                        break
                    b.sendall(got)
            except OSError:
                pass
            try:
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        t = threading.Thread(target=pump, args=(up, c), daemon=True)
        t.start()
        pump(c, up)
        t.join(30)
        up.close()
        c.close()

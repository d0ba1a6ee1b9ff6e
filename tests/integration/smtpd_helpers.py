"""smtpd_helpers.py - raw SMTP conversations for the smtpd tests.

A Client speaks bytes, reads whole replies (multi-line included) with a
bound, and hands back (code, enhanced code, text) so tests can assert on
exactly what a client sees.
"""
import os
import re
import socket

REPLY_END = re.compile(rb"(?m)^(\d{3}) [^\r\n]*\r\n")


class Client:
    def __init__(self, port, greet=True, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port), timeout)
        self.s.settimeout(timeout)
        self.buf = b""
        if greet:
            code, _, _ = self.reply()
            assert code == 220, code

    def send(self, data):
        self.s.sendall(data)

    def reply(self):
        """One whole reply: (code, enhanced code or None, full text)."""
        while True:
            m = REPLY_END.search(self.buf)
            if m:
                # a final line ends the reply that holds every line before
                text = self.buf[:m.end()].decode("latin-1")
                self.buf = self.buf[m.end():]
                enh = re.match(r"\d{3}[ -](\d\.\d{1,3}\.\d{1,3}) ",
                               text.splitlines()[-1])
                return int(m.group(1)), enh and enh.group(1), text
            try:
                got = self.s.recv(65536)
            except socket.timeout:
                raise AssertionError("no reply; have %r" % self.buf)
            if not got:
                raise EOFError("closed; have %r" % self.buf)
            self.buf += got

    def cmd(self, line):
        """Send one command line (CRLF added) and return its reply."""
        self.send(line + b"\r\n")
        return self.reply()

    def closed(self):
        """Whether the server closed the connection (bounded wait)."""
        try:
            while True:
                got = self.s.recv(65536)
                if not got:
                    return True
                self.buf += got
        except ConnectionResetError:
            return True  # closed with our unread bytes in its buffer
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


def queue_files(queue_dir):
    """Every committed queue file's bytes, by queue ID.  qmgr moves files
    from incoming/ to msg/ at any time: one seen in neither place (it was
    moved between the two walks) is looked for again."""
    for _ in range(20):
        out, moved = {}, False
        for top in ("incoming", "msg"):
            for root, _, names in os.walk(os.path.join(queue_dir, top)):
                for n in names:
                    if n.endswith(".tmp"):
                        continue
                    try:
                        with open(os.path.join(root, n), "rb") as f:
                            out[n] = f.read()
                    except FileNotFoundError:
                        moved = True
        if not moved:
            return out
    return out

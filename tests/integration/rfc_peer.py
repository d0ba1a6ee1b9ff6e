"""rfc_peer.py - a scripted SMTP peer for the RFC conformance tests of
remote(8) (test_rfc_remote.py), where sink_helpers.SMTPSink is too
polite: it writes each reply as the test says, split into as many
packets as the test likes, and records when each command came relative
to the replies, so a test can tell whether the client pipelined.

- greeting: the first reply (a list of packets, or a str);
- answer(cmd, peer) -> the reply for one command line (a str, or a list
  of byte strings written one at a time with a pause between them to
  make separate packets), or None for the usual answer;
- the usual answers: EHLO with `ehlo` (a list of keywords), HELO 250,
  MAIL/RCPT/RSET 250, DATA 354 then the message up to "." and
  `data_reply`, QUIT 221 and close.

What it keeps: sessions, each a dict with "commands" (the lines in
order), "early" (commands that came while an earlier reply was still
owed: pipelined), "data" (the raw octets between 354 and the final dot,
dot-stuffing and CRLFs as sent) and "closed" (the client closed).

Trusts: the client under test to end lines with LF.  Never: listens
beyond its loopback address (127.0.0.1, or addr="::1").
"""
import socket
import threading
import time


class _Lines:
    """Lines from a socket, and whether more input is already there."""

    def __init__(self, conn):
        self.conn, self.buf = conn, b""

    def readline(self):
        while b"\n" not in self.buf:
            got = self.conn.recv(65536)
            if not got:
                line, self.buf = self.buf, b""
                return line
            self.buf += got
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def pending(self):
        if self.buf:
            return True
        self.conn.setblocking(False)
        try:
            return bool(self.conn.recv(1, socket.MSG_PEEK))
        except OSError:
            return False
        finally:
            self.conn.settimeout(30)


class Peer:
    def __init__(self, ehlo=("PIPELINING", "8BITMIME", "SIZE 10000000"),
                 greeting="220 peer.test ESMTP", answer=None,
                 data_reply="250 2.0.0 Ok: queued", addr="127.0.0.1"):
        self.ehlo, self.greeting, self.answer = ehlo, greeting, answer
        self.data_reply = data_reply
        self.sessions = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET6 if ":" in addr
                                  else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self):
        self.stopped = True
        self.sock.close()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    @staticmethod
    def _write(conn, reply):
        if isinstance(reply, str):
            conn.sendall(reply.encode() + b"\r\n")
            return
        for i, part in enumerate(reply):
            if i:
                time.sleep(0.15)  # a separate packet
            conn.sendall(part)

    def _serve(self, conn):
        sess = {"commands": [], "early": [], "data": b"", "closed": False}
        with self.lock:
            self.sessions.append(sess)
        conn.settimeout(30)
        f = _Lines(conn)
        try:
            self._write(conn, self.greeting)
            g = self.greeting if isinstance(self.greeting, str) else \
                self.greeting[-1].decode()
            if not g.startswith("2") and not g.startswith("554"):
                return
            self._dialogue(conn, f, sess)
        except OSError:
            pass
        finally:
            sess["closed"] = True
            conn.close()

    def _dialogue(self, conn, f, sess):
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.decode("utf-8", "replace").rstrip("\r\n")
            sess["commands"].append(cmd)
            verb = cmd.split(" ")[0].upper()
            # the client may have sent the next command before this reply
            time.sleep(0.05)
            if f.pending():
                sess["early"].append(cmd)
            reply = self.answer(cmd, self) if self.answer else None
            if reply is not None:
                self._write(conn, reply)
                if verb == "QUIT" or (isinstance(reply, str) and
                                      reply.startswith("421")):
                    return
                continue
            if verb == "EHLO":
                ext = ["peer.test"] + list(self.ehlo)
                self._write(conn, "\r\n".join(
                    "250" + ("-" if i < len(ext) - 1 else " ") + e
                    for i, e in enumerate(ext)))
            elif verb == "DATA":
                self._write(conn, "354 go ahead")
                data = b""
                while True:
                    dl = f.readline()
                    if not dl or dl == b".\r\n":
                        break
                    data += dl
                sess["data"] = data
                self._write(conn, self.data_reply)
            elif verb == "QUIT":
                self._write(conn, "221 2.0.0 Bye")
                return
            else:
                self._write(conn, "250 2.0.0 Ok")

    def wait_closed(self, n=1, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                if len(self.sessions) >= n and all(
                        s["closed"] for s in self.sessions[:n]):
                    return self.sessions
            time.sleep(0.02)
        raise AssertionError("peer sessions not closed: %r" % self.sessions)

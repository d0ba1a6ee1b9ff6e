"""sink_helpers.py - the one SMTP test sink the remote(8) tests talk to:
an SMTP server on one loopback address (IPv4 or IPv6) that keeps what it
got and can be told how to answer or misbehave.

- Replies: greeting (a non-2xx one ends the session), greet_delay,
  ehlo (the extension lines), data_reply (after the final dot; "{n}" is
  the message's number), and reply hooks per verb, replies={"RCPT": f}:
  f(arg) -> a reply that refuses the command, or None for the usual
  answer (arg: the address for MAIL and RCPT, else the text after the
  verb).  A refused RCPT is not kept.
- STARTTLS: starttls=True offers it (until the session is in TLS) and
  answers it; cert, key (Python's ssl) make the handshake; without a
  cert, or with break_tls, the sink answers the ClientHello with
  nonsense; inject sends a plaintext line behind its 220 (the STARTTLS
  injection, CVE-2011-0411).
- Misbehaving peers: close_after_rset (close right after answering
  RSET), drop_second_mail (close, without a reply, at the second MAIL of
  a connection).

What it keeps: messages (dicts "mail", "rcpt", "data", "tls"), commands
(every command line, all connections), sessions (a dict per connection:
"tls" version or None, "commands", "closed", "tls_error" when the
handshake failed); count(verb) counts a verb over all sessions.

Trusts: the client under test to speak SMTP (a command line is read up
to its newline).  Never: listens beyond the address it is given.
"""
import socket
import socketserver
import ssl
import threading
import time

DEFAULT_EHLO = ("PIPELINING", "SIZE 10000000", "8BITMIME", "DSN", "SMTPUTF8")


def _arg(verb, cmd):
    """The argument a reply hook gets."""
    if verb in ("MAIL", "RCPT") and "<" in cmd and ">" in cmd:
        return cmd[cmd.index("<") + 1:cmd.index(">")]
    return cmd[len(verb):].strip()


class SMTPSink:
    def __init__(self, addr, port, name="sink", greeting=None,
                 greet_delay=0, ehlo=DEFAULT_EHLO,
                 data_reply="250 2.0.0 Ok: queued as SINK1", replies=None,
                 starttls=False, cert=None, key=None, break_tls=False,
                 inject=False, close_after_rset=False,
                 drop_second_mail=False):
        self.messages, self.commands, self.sessions = [], [], []
        self.lock = threading.Lock()
        greeting = greeting or "220 %s ESMTP" % name
        replies = dict(replies or {})
        ctx = None
        if cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, text):
                self.wfile.write(text.encode() + b"\r\n")
                self.wfile.flush()

            def handle(self):
                sess = {"tls": None, "commands": [], "closed": False}
                with sink.lock:
                    sink.sessions.append(sess)
                try:
                    if greet_delay:
                        time.sleep(greet_delay)
                    self.reply(greeting)
                    if greeting.startswith("2"):
                        self.dialogue(sess)
                finally:
                    sess["closed"] = True

            def ehlo(self, sess):
                ext = [name] + list(ehlo)
                if starttls and not sess["tls"]:
                    ext.append("STARTTLS")
                for i, line in enumerate(ext):
                    self.reply("250" + (" " if i == len(ext) - 1 else "-")
                               + line)

            def starttls(self, sess):
                """True when the session goes on (in TLS)."""
                if inject:
                    # the reply and a plaintext line in one segment
                    self.request.sendall(b"220 2.0.0 go ahead\r\n"
                                         b"250 injected\r\n")
                    self.request.recv(4096)
                    return False
                self.reply("220 2.0.0 go ahead")
                if break_tls or ctx is None:
                    # wait for the ClientHello, answer nonsense
                    self.request.recv(4096)
                    self.request.sendall(b"not a TLS record\r\n")
                    return False
                try:
                    tls = ctx.wrap_socket(self.request, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    sess["tls_error"] = str(e)
                    return False
                sess["tls"] = tls.version()
                self.request = tls
                self.rfile = tls.makefile("rb")
                self.wfile = tls.makefile("wb")
                return True

            def data(self, env):
                data = b""
                while True:
                    line = self.rfile.readline()
                    if not line or line == b".\r\n":
                        break
                    data += line
                env["data"] = data
                with sink.lock:
                    sink.messages.append(env)
                    n = len(sink.messages)
                self.reply(data_reply.format(n=n))

            def dialogue(self, sess):
                env, mails = {"rcpt": []}, 0
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    cmd = line.decode("utf-8", "replace").rstrip("\r\n")
                    with sink.lock:
                        sink.commands.append(cmd)
                    sess["commands"].append(cmd)
                    verb = cmd.split(" ")[0].upper()
                    hook = replies.get(verb)
                    refused = hook(_arg(verb, cmd)) if hook else None
                    if verb == "MAIL":
                        mails += 1
                        if drop_second_mail and mails == 2:
                            return
                        env = {"mail": cmd, "rcpt": [], "tls": sess["tls"]}
                    if refused:
                        self.reply(refused)
                    elif verb == "EHLO":
                        self.ehlo(sess)
                    elif verb == "HELO":
                        self.reply("250 " + name)
                    elif verb == "STARTTLS" and starttls:
                        if not self.starttls(sess):
                            return
                        env = {"rcpt": []}
                    elif verb == "MAIL":
                        self.reply("250 2.1.0 Ok")
                    elif verb == "RCPT":
                        env["rcpt"].append(_arg(verb, cmd))
                        self.reply("250 2.1.5 Ok")
                    elif verb == "DATA":
                        if not env["rcpt"]:
                            self.reply("554 5.5.1 no valid recipients")
                            continue
                        self.reply("354 go ahead")
                        self.data(env)
                    elif verb == "RSET":
                        self.reply("250 2.0.0 Ok")
                        if close_after_rset:
                            return
                    elif verb == "QUIT":
                        self.reply("221 2.0.0 Bye")
                        return
                    else:
                        self.reply("502 5.5.2 unknown")

            def finish(self):
                try:
                    super().finish()
                finally:
                    self.request.close()

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True
            address_family = (socket.AF_INET6 if ":" in addr
                              else socket.AF_INET)

        self.server = Server((addr, port), Handler)
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def count(self, verb):
        """How many times verb came, over all sessions."""
        return sum(1 for s in self.sessions for c in s["commands"]
                   if c.split(" ")[0].upper() == verb)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _unknown(arg):
    return "502 5.5.2 unknown"


def tls_sink(addr, port, cert=None, key=None, **kw):
    """The outbound TLS tests' peer (test_remote_tls.py): offers
    STARTTLS (a handshake with cert and key, nonsense without), a short
    EHLO, and does not know HELO or RSET."""
    opts = dict(name="tlssink", ehlo=("PIPELINING", "8BITMIME"),
                starttls=True, cert=cert, key=key,
                data_reply="250 2.0.0 Ok: queued as TLS{n}",
                replies={"HELO": _unknown, "RSET": _unknown})
    opts.update(kw)
    return SMTPSink(addr, port, **opts)


def reuse_sink(addr, port, cert=None, key=None, **kw):
    """The connection reuse tests' peer (test_remote_reuse.py): a short
    EHLO, STARTTLS only with a certificate, no HELO."""
    opts = dict(name="reusesink", ehlo=("PIPELINING", "8BITMIME"),
                starttls=bool(cert), cert=cert, key=key,
                data_reply="250 2.0.0 Ok: queued as R{n}",
                replies={"HELO": _unknown})
    opts.update(kw)
    return SMTPSink(addr, port, **opts)

"""reuse_helpers.py - an SMTP sink for the connection reuse tests of
remote(8) (test_remote_reuse.py).  Like remote_helpers.SMTPSink, but it
keeps the commands of each connection apart (so a test can count
connections, RSETs and QUITs per connection), may offer STARTTLS with a
certificate (Python's ssl), and can misbehave as a peer that drops idle
connections does:

- close_after_rset: answer RSET, then close the connection (the end of
  file is there before the next request comes);
- drop_second_mail: close, without a reply, on the second MAIL of a
  connection (the peer went away while the client thought it alive).
"""
import socket
import socketserver
import ssl
import threading


class ReuseSink:
    def __init__(self, addr, port, cert=None, key=None,
                 close_after_rset=False, drop_second_mail=False):
        self.sessions, self.messages = [], []
        self.lock = threading.Lock()
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
                    self.dialogue(sess)
                finally:
                    sess["closed"] = True

            def dialogue(self, sess):
                self.reply("220 reusesink ESMTP")
                env, mails = {"rcpt": []}, 0
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    cmd = line.decode("utf-8", "replace").rstrip("\r\n")
                    sess["commands"].append(cmd)
                    verb = cmd.split(" ")[0].upper()
                    if verb == "EHLO":
                        ext = ["reusesink", "PIPELINING", "8BITMIME"]
                        if ctx and not sess["tls"]:
                            ext.append("STARTTLS")
                        for i, l in enumerate(ext):
                            sep = " " if i == len(ext) - 1 else "-"
                            self.reply("250" + sep + l)
                    elif verb == "STARTTLS" and ctx:
                        self.reply("220 2.0.0 go ahead")
                        tls = ctx.wrap_socket(self.request,
                                              server_side=True)
                        sess["tls"] = tls.version()
                        self.request = tls
                        self.rfile = tls.makefile("rb")
                        self.wfile = tls.makefile("wb")
                    elif verb == "MAIL":
                        mails += 1
                        if drop_second_mail and mails == 2:
                            return
                        env = {"mail": cmd, "rcpt": [], "tls": sess["tls"]}
                        self.reply("250 2.1.0 Ok")
                    elif verb == "RCPT":
                        env["rcpt"].append(cmd[cmd.index("<") + 1:
                                               cmd.index(">")])
                        self.reply("250 2.1.5 Ok")
                    elif verb == "DATA":
                        self.reply("354 go ahead")
                        data = b""
                        while True:
                            l = self.rfile.readline()
                            if not l or l == b".\r\n":
                                break
                            data += l
                        env["data"] = data
                        with sink.lock:
                            sink.messages.append(env)
                            n = len(sink.messages)
                        self.reply("250 2.0.0 Ok: queued as R%d" % n)
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
            address_family = socket.AF_INET

        self.server = Server((addr, port), Handler)
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def count(self, verb):
        return sum(1 for s in self.sessions for c in s["commands"]
                   if c.split(" ")[0].upper() == verb)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

"""remote_tls_helpers.py - what the outbound TLS tests need beside
remote_helpers.py and tls_helpers.py:

- TLSSink: an SMTP server on one loopback address that offers STARTTLS
  with a given certificate (Python's ssl), or offers it and then breaks
  the handshake, or does not offer it; it records per session whether TLS
  was used and which version, and the messages it got.
- tlsa_rdata: the association data of a certificate for a TLSA record
  (selector 0 or 1, matching type 0, 1 or 2), computed with openssl(1)
  and hashlib, so the test's records do not come from the code under
  test.
"""
import hashlib
import socket
import socketserver
import ssl
import subprocess
import threading


def tlsa_rdata(cert_pem, selector, mtype):
    """Hex association data for cert_pem (a file)."""
    if selector == 0:
        with open(cert_pem) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
    else:
        pub = subprocess.run(["openssl", "x509", "-in", cert_pem, "-noout",
                              "-pubkey"], capture_output=True, check=True,
                             timeout=30).stdout
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform",
                              "DER"], input=pub, capture_output=True,
                             check=True, timeout=30).stdout
    if mtype == 1:
        return hashlib.sha256(der).hexdigest()
    if mtype == 2:
        return hashlib.sha512(der).hexdigest()
    return der.hex()


class TLSSink:
    """SMTP on (addr, port).  cert, key: files (cert may hold the chain);
    starttls: offer STARTTLS; break_tls: answer 220 to STARTTLS, then
    nonsense instead of a handshake; inject: send a plaintext reply line
    right behind the 220 (the STARTTLS injection, CVE-2011-0411).  sessions: one dict per connection,
    {"tls": version or None, "commands": [...]}; messages: dicts with
    "rcpt", "data" and "tls"."""

    def __init__(self, addr, port, cert=None, key=None, starttls=True,
                 break_tls=False, inject=False):
        self.sessions, self.messages = [], []
        ctx = None
        if cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, text):
                self.wfile.write(text.encode() + b"\r\n")
                self.wfile.flush()

            def finish(self):
                try:
                    super().finish()
                finally:
                    if isinstance(self.request, ssl.SSLSocket):
                        self.request.close()

            def handle(self):
                sess = {"tls": None, "commands": []}
                sink.sessions.append(sess)
                self.reply("220 tlssink ESMTP")
                env = {"rcpt": []}
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    cmd = line.decode("utf-8", "replace").rstrip("\r\n")
                    sess["commands"].append(cmd)
                    verb = cmd[:8].upper().split(" ")[0]
                    if verb == "EHLO":
                        ext = ["tlssink", "PIPELINING", "8BITMIME"]
                        if starttls and not sess["tls"]:
                            ext.append("STARTTLS")
                        for i, l in enumerate(ext):
                            sep = " " if i == len(ext) - 1 else "-"
                            self.reply("250" + sep + l)
                    elif verb == "STARTTLS" and inject:
                        # the reply and a plaintext line in one segment
                        self.request.sendall(b"220 2.0.0 go ahead\r\n"
                                             b"250 injected\r\n")
                        self.request.recv(4096)
                        return
                    elif verb == "STARTTLS":
                        self.reply("220 2.0.0 go ahead")
                        if break_tls or ctx is None:
                            # wait for the ClientHello, answer nonsense
                            self.request.recv(4096)
                            self.request.sendall(b"not a TLS record\r\n")
                            return
                        try:
                            tls = ctx.wrap_socket(self.request,
                                                  server_side=True)
                        except (ssl.SSLError, OSError) as e:
                            sess["tls_error"] = str(e)
                            return
                        sess["tls"] = tls.version()
                        self.request = tls
                        self.rfile = tls.makefile("rb")
                        self.wfile = tls.makefile("wb")
                        env = {"rcpt": []}
                    elif verb == "MAIL":
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
                        sink.messages.append(env)
                        self.reply("250 2.0.0 Ok: queued as TLS%d" %
                                   len(sink.messages))
                    elif verb == "QUIT":
                        self.reply("221 2.0.0 Bye")
                        return
                    else:
                        self.reply("502 5.5.2 unknown")

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True
            address_family = socket.AF_INET

        self.server = Server((addr, port), Handler)
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

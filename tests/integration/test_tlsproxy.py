"""test_tlsproxy.py - tlsproxy(8) through common/tlsproxy_client, driven
by tests/tlsproxy_echo.c: server mode against Python ssl clients (TLS 1.2+
only, the protocol and cipher reported, a large plaintext round trip) and
client mode against a Python ssl server (verified or not, policy verify),
and the key only in the proxy."""
import os
import socket
import ssl
import threading
import unittest
import warnings

from mta import MTA, wait_for
import tls_helpers as th


class TLSProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mta = MTA()
        cls.pki = os.path.join(cls.mta.dir, "pki")
        os.mkdir(cls.pki)
        cls.ca = th.make_ca(cls.pki)
        cls.other_ca = th.make_ca(cls.pki, "other")
        cls.cert, cls.key = th.make_cert(cls.pki, "server", "mx.test.example")
        with open(cls.mta.conf, "a") as f:
            f.write("smtpd_tls_cert_file = %s\n" % cls.cert)
            f.write("smtpd_tls_key_file = %s\n" % cls.key)
            f.write("smtp_tls_cafile = %s\n" % cls.ca)
        cls.mta.start()
        cls.sock = os.path.join(cls.mta.dir, "queue", "private", "tlsproxy")

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def start_server(self):
        p = th.echo("server", self.sock)
        self.addCleanup(p.wait, 30)
        self.addCleanup(p.stdout.close)
        line = p.stdout.readline().split()
        self.assertEqual(line[0], "port")
        return p, int(line[1])

    def client_ctx(self, **kw):
        ctx = ssl.create_default_context(cafile=self.ca)
        for k, v in kw.items():
            setattr(ctx, k, v)
        return ctx

    def test_server_tls13_round_trip(self):
        p, port = self.start_server()
        ctx = self.client_ctx()
        with socket.create_connection(("127.0.0.1", port), 20) as raw:
            with ctx.wrap_socket(raw, server_hostname="mx.test.example") as s:
                self.assertEqual(s.version(), "TLSv1.3")
                res = p.stdout.readline().split()
                self.assertEqual(res[0], "ok", res)
                self.assertIn("protocol=TLSv1.3", res)
                self.assertIn("cipher=%s" % s.cipher()[0], res)
                self.assertIn("bits=%d" % s.cipher()[2], res)
                # 1 MiB both ways in 64 KiB pieces (4 times the proxy's
                # buffer; one thread, as an SSL object is not thread-safe)
                piece = bytes(range(256)) * 256
                for i in range(16):
                    s.sendall(piece)
                    got = bytearray()
                    while len(got) < len(piece):
                        b = s.recv(len(piece) - len(got))
                        self.assertTrue(b, "EOF after %d pieces" % i)
                        got.extend(b)
                    self.assertEqual(bytes(got), piece)
                s.unwrap()  # our close_notify; the proxy answers with its own
        self.assertEqual(p.stdout.readline().strip(), "closed")

    def test_server_tls12(self):
        p, port = self.start_server()
        ctx = self.client_ctx(maximum_version=ssl.TLSVersion.TLSv1_2)
        with socket.create_connection(("127.0.0.1", port), 20) as raw:
            with ctx.wrap_socket(raw, server_hostname="mx.test.example") as s:
                self.assertEqual(s.version(), "TLSv1.2")
                res = p.stdout.readline().split()
                self.assertIn("protocol=TLSv1.2", res)
                self.assertTrue(any(r.startswith("cipher=ECDHE-") for r in res),
                                res)

    def test_server_refuses_tls11(self):
        p, port = self.start_server()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        with socket.create_connection(("127.0.0.1", port), 20) as raw:
            with self.assertRaises(ssl.SSLError):
                ctx.wrap_socket(raw, server_hostname="mx.test.example")
        res = p.stdout.readline()
        self.assertTrue(res.startswith("fail TLS handshake failed"), res)
        self.mta.wait_log(r"tlsproxy.*TLS handshake failed:.*"
                          r"unsupported protocol")

    def python_server(self, cert, key):
        """A TLS echo server on a free port: one connection, one line."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        self.addCleanup(ls.close)

        def run():
            try:
                c, _ = ls.accept()
                with ctx.wrap_socket(c, server_side=True) as s:
                    s.sendall(s.recv(100))
            except (OSError, ssl.SSLError):
                pass
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return ls.getsockname()[1]

    def run_client(self, port, name, policy):
        p = th.echo("client", self.sock, str(port), name, policy)
        out = p.stdout.read()
        p.stdout.close()
        p.wait(30)
        return p.returncode, out

    def test_client_verified(self):
        port = self.python_server(self.cert, self.key)
        rc, out = self.run_client(port, "mx.test.example", "verify")
        self.assertEqual(rc, 0, out)
        self.assertIn("verified=yes", out)
        self.assertIn("protocol=TLSv1.3", out)
        self.assertIn("got hello", out)

    def test_client_wrong_ca(self):
        c2, k2 = th.make_cert(self.pki, "stranger", "mx.test.example",
                              ca="other")
        port = self.python_server(c2, k2)
        rc, out = self.run_client(port, "mx.test.example", "may")
        self.assertEqual(rc, 0, out)
        self.assertIn("verified=no", out)
        self.assertIn("unable to get local issuer certificate", out)
        self.assertIn("got hello", out)
        port = self.python_server(c2, k2)
        rc, out = self.run_client(port, "mx.test.example", "verify")
        self.assertNotEqual(rc, 0)
        self.assertIn("fail TLS handshake failed: unable to get local "
                      "issuer certificate", out)

    def test_client_wrong_name(self):
        port = self.python_server(self.cert, self.key)
        rc, out = self.run_client(port, "other.example", "encrypt")
        self.assertEqual(rc, 0, out)
        self.assertIn("verified=no", out)
        self.assertIn("got hello", out)

    def test_key_only_in_proxy(self):
        # the proxy read the key at start; with the file gone, a driver
        # started now still completes a handshake: the key lives in the
        # proxy's memory and the driver never needed it
        wait_for(lambda: self.mta.pids("tlsproxy"), what="tlsproxy")
        os.rename(self.key, self.key + ".gone")
        self.addCleanup(os.rename, self.key + ".gone", self.key)
        p, port = self.start_server()
        ctx = self.client_ctx()
        with socket.create_connection(("127.0.0.1", port), 20) as raw:
            with ctx.wrap_socket(raw, server_hostname="mx.test.example") as s:
                s.sendall(b"ping\n")
                self.assertEqual(s.recv(10), b"ping\n")
        self.assertTrue(p.stdout.readline().startswith("ok protocol="))


    def handshake_cert(self):
        """One session through a fresh driver: the server's cert (DER)."""
        p, port = self.start_server()
        ctx = self.client_ctx()
        with socket.create_connection(("127.0.0.1", port), 20) as raw:
            with ctx.wrap_socket(raw, server_hostname="mx.test.example") as s:
                return s.getpeercert(binary_form=True)

    def test_reload_new_cert_old_session_goes_on(self):
        p, port = self.start_server()
        raw = socket.create_connection(("127.0.0.1", port), 20)
        old = self.client_ctx().wrap_socket(raw,
                                            server_hostname="mx.test.example")
        self.addCleanup(old.close)
        first = old.getpeercert(binary_form=True)
        new_crt, new_key = th.make_cert(self.pki, "renewed", "mx.test.example")
        with open(new_crt, "rb") as f, open(self.cert, "wb") as g:
            g.write(f.read())
        with open(new_key, "rb") as f, open(self.key, "wb") as g:
            g.write(f.read())
        self.mta.ctl("reload")
        with open(new_crt) as f:
            want = ssl.PEM_cert_to_DER_cert(f.read())
        self.assertNotEqual(first, want)
        wait_for(lambda: self.handshake_cert() == want, 20,
                 "the renewed certificate")
        # the session begun before the reload still relays
        old.sendall(b"still here\n")
        self.assertEqual(old.recv(100), b"still here\n")


if __name__ == "__main__":
    unittest.main()

"""tls_helpers.py - a test CA and certificates made with openssl(1), and
the tlsproxy_echo driver, for the TLS tests."""
import os
import subprocess

from mta import BIN


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   capture_output=True, timeout=60)


def make_ca(d, name="ca"):
    """A self-signed CA: d/NAME.key, d/NAME.crt."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=Test CA %s" % name, "-keyout", name + ".key",
            "-out", name + ".crt", cwd=d)
    return os.path.join(d, name + ".crt")


def make_cert(d, name, host, ca="ca"):
    """A server certificate for host signed by ca: d/NAME.crt, d/NAME.key."""
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s\n" % host)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + host,
            "-keyout", name + ".key", "-out", name + ".csr", cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt",
            "-CAkey", ca + ".key", "-CAcreateserial", "-days", "2",
            "-extfile", ext, "-out", name + ".crt", cwd=d)
    return os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")


def echo(*args):
    """Start the driver; stdout is a pipe of result lines."""
    return subprocess.Popen([os.path.join(BIN, "tlsproxy_echo")] +
                            list(args), stdout=subprocess.PIPE, text=True)

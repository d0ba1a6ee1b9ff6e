"""sasl_helpers.py - what the tests of remote(8)'s SMTP AUTH to a
relayhost (test_remote_auth.py) need beside mta.py:

- relay_server: a second instance of our own system as the relayhost,
  its submission port asking for STARTTLS then AUTH (as smtpd(8) does
  there), a certificate for RELAY_NAME signed by a CA of its own, user
  ann in its password map (mtactl passwd add);
- write_password_map: smtp_sasl_password_map's text, compiled with
  mtactl makemap as an operator would;
- b64: base64 of a str, as the AUTH dialogue carries it.

Trusts: openssl(1) and mtactl.  Never: listens beyond 127.0.0.1.
"""
import base64
import os
import subprocess

import mta
from tls_helpers import make_ca, make_cert

RELAY_NAME = "relay.test"  # the relayhost's name, served by the test DNS
RELAY_USER, RELAY_PASS = "ann", "s3cret pass:with colon"


def b64(s):
    return base64.b64encode(s.encode()).decode()


def relay_server():
    """The relayhost (not started): attribute submission is its port."""
    sub = mta.free_port()
    m = mta.MTA(mynetworks="192.0.2.1/32",  # loopback relays only by AUTH
                smtpd_pregreet_wait_ms="0",
                smtpd_auth_failure_delay="0s",
                smtpd_auth_failure_limit="0",
                submission_listen="127.0.0.1:%d" % sub,
                myhostname="relay.test.example")
    m.submission = sub
    m.ca = make_ca(m.dir)
    cert, key = make_cert(m.dir, "relay", RELAY_NAME)
    with open(m.conf, "a") as f:
        f.write("smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n"
                "smtpd_passwd_map = %s\n"
                % (cert, key, os.path.join(m.dir, "passwd")))
    p = subprocess.run([os.path.join(mta.BIN, "mtactl"), "-c", m.conf,
                        "passwd", "add", RELAY_USER],
                       input=RELAY_PASS + "\n", text=True,
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return m


def write_password_map(m, entries, mode=0o600):
    """entries: [(key, "user:password")] into m's smtp_sasl_password_map
    (the text file sasl_passwd in its directory, with mode), compiled."""
    path = os.path.join(m.dir, "sasl_passwd")
    with open(path, "w") as f:
        os.fchmod(f.fileno(), mode)
        f.write("# smtp_sasl_password_map of the test\n")
        for k, v in entries:
            f.write("%s %s\n" % (k, v))
    m.ctl("makemap", path)
    return path

"""remote_tls_helpers.py - what the outbound TLS tests need beside
remote_helpers.py and tls_helpers.py:

- the sink these tests talk to (STARTTLS with a given certificate, a
  broken handshake, injected plaintext) is sink_helpers.tls_sink.
- tlsa_rdata: the association data of a certificate for a TLSA record
  (selector 0 or 1, matching type 0, 1 or 2), computed with openssl(1)
  and hashlib, so the test's records do not come from the code under
  test.
"""
import hashlib
import ssl
import subprocess


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

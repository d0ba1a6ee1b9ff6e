"""access_helpers.py - what test_smtpd_access.py needs beside mta.py and
remote_helpers.py:

- QuietDNSServer: remote_helpers.DNSServer that never answers some names
  (a DNSBL that times out).
- smtp_from: an smtplib session from a chosen loopback source address,
  so one instance sees trusted (mynetworks) and untrusted clients.
- stats: mtactl stats --json as a dict.
"""
import json
import smtplib

from remote_helpers import DNSServer


class QuietDNSServer(DNSServer):
    """quiet: names (lower case, no final dot) that get no answer."""

    def __init__(self, zone, quiet=(), **kw):
        self.quiet = set(quiet)
        super().__init__(zone, **kw)

    def answer(self, req, over_tcp):
        pos, labels = 12, []
        while req[pos]:
            labels.append(req[pos + 1:pos + 1 + req[pos]].decode())
            pos += 1 + req[pos]
        name = ".".join(labels).lower()
        if name in self.quiet:
            self.queries.append((name, "dropped"))
            raise ValueError("no answer for %s" % name)  # serve loop skips
        return super().answer(req, over_tcp)


def smtp_from(m, src):
    """An SMTP session with instance m from loopback address src."""
    return smtplib.SMTP("127.0.0.1", m.port, timeout=30,
                        source_address=(src, 0))


def stats(m):
    return json.loads(m.ctl("stats", "--json").stdout)

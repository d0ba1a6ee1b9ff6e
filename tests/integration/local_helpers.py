"""local_helpers.py - instances of the mail system with lookup maps.

mta_with_maps writes the text maps into the instance's directory, adds
the settings that name them, and compiles them with mtactl makemap and
newaliases (as an operator would) before the system starts.
"""
import os
import re

from mta import MTA


def mta_with_maps(virtual=None, aliases=None, files=None, **extra):
    m = MTA(**extra)
    with open(m.conf) as f:  # "@DIR@" in a value: the instance's directory
        conf = f.read().replace("@DIR@", m.dir)
    with open(m.conf, "w") as f:
        f.write(conf)
    lines = []
    for name, text in (files or {}).items():
        with open(os.path.join(m.dir, name), "w") as f:
            f.write(text)
    if virtual is not None:
        path = os.path.join(m.dir, "virtual")
        with open(path, "w") as f:
            f.write(virtual)
        lines.append("virtual_mailbox_maps = %s" % path)
    if aliases is not None:
        path = os.path.join(m.dir, "aliases")
        with open(path, "w") as f:
            f.write(aliases.replace("@DIR@", m.dir))
        lines.append("alias_maps = %s" % path)
    with open(m.conf, "a") as f:
        for line in lines:
            f.write(line + "\n")
    if virtual is not None:
        m.ctl("makemap", os.path.join(m.dir, "virtual"))
    if aliases is not None:
        m.ctl("newaliases")
    return m


def rcpt_reply(mta, rcpt, sender="bob@example.org"):
    """The reply to RCPT TO:<rcpt> as (code, text)."""
    with mta.smtp() as s:
        s.ehlo("client.example")
        s.mail(sender)
        code, text = s.rcpt(rcpt)
        s.rset()
    return code, text.decode()


def send(mta, rcpts, body=b"Subject: test\r\n\r\nHello.\r\n",
         sender="bob@example.org"):
    with mta.smtp() as s:
        s.ehlo("client.example")
        s.sendmail(sender, rcpts, body)


def log_count(mta, pattern):
    return len(re.findall(pattern, mta.log_text()))

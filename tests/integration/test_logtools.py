"""test_logtools.py - a postmaster's log tools read our log: pflogsumm
(Postfix's log summariser, told our syslog name) counts what we did."""
import re
import shutil
import subprocess
import unittest

from test_bounce import send, start


@unittest.skipUnless(shutil.which("pflogsumm"), "pflogsumm not installed "
                     "(make deps)")
class LogTools(unittest.TestCase):
    def test_pflogsumm_counts(self):
        # loopback untrusted, so that relaying is refused
        m = start(mynetworks="192.0.2.1/32")
        self.addCleanup(m.cleanup)
        for _ in range(3):
            send(m, "alice@localhost", ["bob@localhost", "okay@fail.test"])
        q = send(m, "alice@localhost", ["bad@fail.test"])
        with m.smtp() as s:
            s.ehlo("client.example")
            s.mail("alice@localhost")
            self.assertEqual(s.rcpt("z@elsewhere.example")[0], 554)
        m.wait_log(q + r": removed")
        m.wait_log(r"sender non-delivery notification: (\w+)")
        bounce = re.search(r"sender non-delivery notification: (\w+)",
                           m.log_text()).group(1)
        m.wait_log(bounce + r": removed")
        out = subprocess.run(["pflogsumm", "--syslog-name=mta", m.log],
                             capture_output=True, text=True,
                             check=True).stdout

        def total(what):
            return int(re.search(r"^\s*(\d+)\s+%s\b" % what, out,
                                 re.M).group(1))
        self.assertEqual(total("received"), 4)
        # 3 x 2 recipients, and the bounce into alice's mailbox
        self.assertEqual(total("delivered"), 7)
        self.assertEqual(total("bounced"), 1)
        self.assertEqual(total("rejected"), 1)
        self.assertRegex(out, r"\n\s+3\s+\d+\s+0\s+\S+ s\s+\S+ s\s+fail\.test")


if __name__ == "__main__":
    unittest.main()

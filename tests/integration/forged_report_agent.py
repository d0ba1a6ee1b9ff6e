#!/usr/bin/env python3
"""forged_report_agent.py - a compromised daemon, for test_smtpd_fork.py.

master starts it in place of `remote` (a private daemon_directory).  Like
every child it holds master's status pipe (fd 4), which all children
share; it writes one forged report there: the smtpd listener's pid as
the writer and SERVICE_SPARE naming a process that is not master's child
(both read from the file "forge" beside the config), then marks the file
"forged" and serves nobody.
"""
import os
import struct
import sys
import time

STATUS_FD = 4
SERVICE_SPARE = 5


def main():
    conf = sys.argv[sys.argv.index("-c") + 1]
    here = os.path.dirname(os.path.abspath(conf))
    with open(os.path.join(here, "forge")) as f:
        listener, victim = (int(x) for x in f.read().split())
    os.write(STATUS_FD, struct.pack("iii", listener, SERVICE_SPARE, victim))
    with open(os.path.join(here, "forged"), "w") as f:
        f.write("1\n")
    time.sleep(60)  # master ends us at its stop


if __name__ == "__main__":
    main()

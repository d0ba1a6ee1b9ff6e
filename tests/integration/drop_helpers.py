"""drop_helpers.py - for root-mode tests of mtadrop(8): a daemon
directory of links to the build's programs with a copy of mtadrop, so
that mtactl setup can make the copy set-group-ID without touching the
build tree."""
import os
import shutil
import subprocess
import tempfile

from mta import BIN

DROP_GROUP = "mtatest-drop"


def daemon_dir():
    d = tempfile.mkdtemp(prefix="mta-bin-")
    os.chmod(d, 0o755)
    for name in os.listdir(BIN):
        src = os.path.join(BIN, name)
        if name == "mtadrop":
            shutil.copy2(src, d)
        else:
            os.symlink(src, os.path.join(d, name))
    return d


def as_nobody(argv, data, env=None):
    """Run argv as nobody (no groups) with data on stdin."""
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                           "--clear-groups"] + argv, input=data, env=env,
                          capture_output=True, timeout=60)

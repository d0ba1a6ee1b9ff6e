"""strace_helpers.py - follow a daemon with strace while a test drives it
(test_local_pipeline.py, test_cleanup_durable.py).

traced() starts `strace -p PID` writing to a file, waits until it is
attached, runs the block, stops strace and gives back the lines it wrote.
A test without strace, or where the kernel does not let us trace our own
processes, is skipped, never passed.
"""
import contextlib
import os
import shutil
import signal
import subprocess
import time

from mta import wait_for


@contextlib.contextmanager
def traced(test, pid, out, calls, threads=False, strsize=2000):
    """Within the block strace follows pid (and its threads with
    threads=True), tracing calls; the block gets a list that holds the
    output lines once it is over."""
    if shutil.which("strace") is None:
        test.skipTest("strace is not installed (make deps)")
    cmd = ["strace", "-qq", "-y", "-s", str(strsize), "-o", out, "-e",
           "trace=" + calls, "-p", str(pid)]
    if threads:
        cmd.insert(1, "-f")
    st = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    lines = []
    try:
        # strace says nothing when attached: wait for its output file
        wait_for(lambda: os.path.exists(out) or st.poll() is not None,
                 10, "strace attached")
        time.sleep(0.2)  # attach completes after the file is opened
        if st.poll() is not None:
            test.skipTest("strace cannot attach here: %s" %
                          st.stderr.read().decode().strip())
        yield lines
    finally:
        if st.poll() is None:
            st.send_signal(signal.SIGINT)
        st.wait(10)
        st.stderr.close()
    with open(out, errors="replace") as f:
        lines.extend(f.read().splitlines())

"""test_qmgr_admin_big.py - a large selection does not stop qmgr
(qmgr_admin.c admin_work; mtactl(8) "delete").

60,000 deferred messages are put in the queue (bin/mkqueue, the queue
benchmark's tool, which make test builds) and `mtactl delete --all` is started.  qmgr works
through it a chunk per turn: while it does, a new message is delivered
(its delivery is logged before the last removal), a second selection is
answered "busy" at once, and in the end the delete reports every message
and the queue is empty.  Before, qmgr did the whole selection in one
turn and nothing was delivered until it was done.  Runs unprivileged (as
root too).
"""
import os
import re
import subprocess
import unittest

import mta
from mta import MTA, wait_for

N = 60000
REMOVED = "removed (deleted by the administrator)"


class BigSelection(unittest.TestCase):
    def setUp(self):
        self.m = MTA(relay_domains="bench.test", minimal_backoff_time="1h",
                     maximal_backoff_time="1h", lmdb_map_size="64m")
        self.m.start()
        self.m.stop()
        wait_for(lambda: not self.m.pids(), 30, "the instance to stop")
        subprocess.run([os.path.join(mta.BIN, "mkqueue"),
                        os.path.join(self.m.dir, "queue"), str(N)],
                       check=True, capture_output=True)
        self.m.start()
        self.m.wait_log(r"qmgr\[\d+\]: queue reconciled in [0-9.]+s: %d "
                        r"messages" % N, 60)

    def tearDown(self):
        self.m.cleanup()

    def ctl(self, *args):
        return subprocess.Popen(
            [os.path.join(mta.BIN, "mtactl"), "-c", self.m.conf] +
            list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)

    def test_delivery_goes_on_during_delete_all(self):
        delete = self.ctl("delete", "--all")
        try:
            wait_for(lambda: REMOVED in self.m.log_text(), 60,
                     "the first removal")
            with self.m.smtp() as s:
                s.sendmail("a@example.org", ["user@localhost"],
                           b"Subject: during\r\n\r\nsent during the delete"
                           b"\r\n")
            busy = self.ctl("delete", "--all")
            out, err = busy.communicate(timeout=60)
            self.assertNotEqual(busy.returncode, 0)
            self.assertIn("busy with another selection", out + err)
            self.m.wait_messages("user", 1, timeout=60)
            out, err = delete.communicate(timeout=600)
        finally:
            if delete.poll() is None:
                delete.kill()
        self.assertEqual(delete.returncode, 0, err)
        self.assertIn("%d messages" % N, out + err)
        log = self.m.log_text()
        sent = re.search(r"to=<user@localhost>, relay=local, .*"
                         r"status=sent", log)
        self.assertTrue(sent)
        self.assertLess(sent.start(), log.rindex(REMOVED),
                        "the delivery waited for the whole selection")
        # empty once the delivered message's removal batch is done too
        def queue_empty():
            q = subprocess.run([os.path.join(mta.BIN, "mtactl"), "-c",
                                self.m.conf, "queue"], capture_output=True,
                               text=True)
            return not re.search(r"(?m)^[0-9A-Z]{15}", q.stdout)
        wait_for(queue_empty, 30, "an empty queue")


if __name__ == "__main__":
    unittest.main()

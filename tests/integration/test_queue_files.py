"""test_queue_files.py - what qmgr does with files in incoming/ that it
was not told about: complete ones are delivered, short ones that a live
cleanup still holds locked are left alone, and short ones whose writer
died (no lock) are removed once they are a minute old."""
import fcntl
import os
import time
import unittest

import mta

# a queue file cut after its envelope: no message, no END record
SHORT = (b"MTAQ" + b"V\0\0\0\x011" + b"I\0\0\0\x0f%s" +
         b"T\0\0\0\x0a1700000000" + b"S\0\0\0\x00" +
         b"R\0\0\0\x0falice@localhost")


class IncomingFiles(unittest.TestCase):
    def setUp(self):
        self.m = mta.MTA().start()
        self.incoming = os.path.join(self.m.dir, "queue", "incoming")

    def tearDown(self):
        self.m.cleanup()

    def short_file(self, qid, age):
        path = os.path.join(self.incoming, qid)
        with open(path, "wb") as f:
            f.write(SHORT % qid.encode())
        t = time.time() - age
        os.utime(path, (t, t))
        return path

    def test_abandoned_short_file_removed_locked_one_kept(self):
        dead = self.short_file("1NGPTAAAAAAAAA1", 3600)
        young = self.short_file("1NGPTAAAAAAAAA2", 0)
        busy = self.short_file("1NGPTAAAAAAAAA3", 3600)
        fd = os.open(busy, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)  # as cleanup holds it
        try:
            self.m.wait_log(r"1NGPTAAAAAAAAA1: removing abandoned incomplete")
            # a full scan later (queue_run_delay = 1s) the others stay
            self.m.wait_log(r"removing abandoned", timeout=5)
            seen = self.m.log_text().count("removing abandoned")
            mta.wait_for(lambda: not os.path.exists(dead), 10, "removal")
            self.assertTrue(os.path.exists(young))
            self.assertTrue(os.path.exists(busy))
            self.assertEqual(seen, 1)
            self.assertNotIn("corrupt", self.m.log_text())
        finally:
            os.close(fd)
        # unlocked now, and old: the next scan removes it too
        self.m.wait_log(r"1NGPTAAAAAAAAA3: removing abandoned incomplete")
        self.assertTrue(os.path.exists(young))


if __name__ == "__main__":
    unittest.main()

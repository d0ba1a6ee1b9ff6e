"""test_graceful_stop.py - mtactl stop lets an SMTP session in progress
finish, and kills what is still busy after shutdown_timeout."""
import subprocess
import os
import time
import unittest

from mta import BIN, MTA


class GracefulStop(unittest.TestCase):
    def tearDown(self):
        self.mta.cleanup()

    def stop_async(self):
        return subprocess.Popen([os.path.join(BIN, "mtactl"), "-c",
                                 self.mta.conf, "stop"],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def test_session_finishes(self):
        self.mta = MTA(shutdown_timeout="20s").start()
        s = self.mta.smtp()
        s.ehlo("me")
        s.mail("a@example.org")
        s.rcpt("grace@localhost")
        stop = self.stop_async()
        self.mta.wait_log(r"stopping: sessions in progress may finish")
        code, _ = s.data(b"Subject: g\r\n\r\nfinished\r\n")
        self.assertEqual(code, 250)
        s.quit()
        out, err = stop.communicate(timeout=60)
        self.assertEqual(stop.returncode, 0, err)
        self.assertNotRegex(self.mta.log_text(), r"still busy|did not stop|"
                            r"killed by signal")
        # the accepted message is delivered after the next start
        self.mta.start()
        self.assertIn(b"finished", self.mta.wait_messages("grace", 1)[0])

    def test_deadline(self):
        self.mta = MTA(shutdown_timeout="1s").start()
        s = self.mta.smtp()
        s.ehlo("me")  # then sits idle
        t0 = time.monotonic()
        stop = self.stop_async()
        out, err = stop.communicate(timeout=60)
        self.assertEqual(stop.returncode, 0, err)
        self.assertLess(time.monotonic() - t0, 10)
        self.mta.wait_log(r"still busy after shutdown_timeout 1s: killed")
        s.close()


if __name__ == "__main__":
    unittest.main()

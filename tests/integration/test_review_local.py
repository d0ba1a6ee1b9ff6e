"""test_review_local.py - /file alias targets that are not plain files:
a FIFO must not hold the delivery process (before the fix local blocked
in open(2) forever), and a symbolic link is never followed."""
import os
import unittest

from local_helpers import mta_with_maps, send

ALIASES = """\
tofifo: @DIR@/out/fifo
tolink: @DIR@/out/link
tofile: @DIR@/out/box
"""


class FileTargetsNotFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mta = mta_with_maps(aliases=ALIASES, allow_mail_to_files="yes",
                                mbox_lock_timeout="1s")
        cls.out = os.path.join(cls.mta.dir, "out")
        os.mkdir(cls.out)
        os.mkfifo(os.path.join(cls.out, "fifo"), 0o600)
        with open(os.path.join(cls.out, "victim"), "wb") as f:
            f.write(b"precious\n")
        os.symlink(os.path.join(cls.out, "victim"),
                   os.path.join(cls.out, "link"))
        cls.mta.start()

    @classmethod
    def tearDownClass(cls):
        cls.mta.cleanup()

    def test_fifo_is_refused_not_waited_on(self):
        send(self.mta, ["tofifo@localhost"])
        self.mta.wait_log(r"orig_to=<tofifo@localhost>, relay=local, .*"
                          r"status=deferred \(mbox delivery failed: "
                          r"[^)]*fifo: Invalid argument\)", 20)
        # local is free for the next delivery
        send(self.mta, ["tofile@localhost"])
        self.mta.wait_log(r"orig_to=<tofile@localhost>, relay=local, .*"
                          r"status=sent", 20)

    def test_symlink_not_followed(self):
        send(self.mta, ["tolink@localhost"])
        self.mta.wait_log(r"orig_to=<tolink@localhost>, relay=local, .*"
                          r"status=deferred \(mbox delivery failed: open "
                          r"[^)]*link: Too many levels of symbolic links\)",
                          20)
        with open(os.path.join(self.out, "victim"), "rb") as f:
            self.assertEqual(f.read(), b"precious\n")


if __name__ == "__main__":
    unittest.main()

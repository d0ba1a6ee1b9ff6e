"""test_config_doc.py - the key table and mta.conf(5) agree: every key
`mtactl config` prints has an entry in the man page, and every key the
man page describes is one the parser knows (issue 7)."""
import os
import re
import unittest

import mta


class ConfigDoc(unittest.TestCase):
    def test_keys_documented_both_ways(self):
        m = mta.MTA()
        self.addCleanup(m.cleanup)
        out = m.ctl("config").stdout
        keys = set(re.findall(r"(?m)^(\w+) = ", out))
        self.assertGreater(len(keys), 50)
        with open(os.path.join(mta.TOP, "man", "mta.conf.5")) as f:
            page = f.read()
        documented = set(re.findall(r"(?m)^\.It Cm (\w+) Pq", page))
        self.assertEqual(sorted(keys - documented), [],
                         "keys without an entry in mta.conf(5)")
        self.assertEqual(sorted(documented - keys), [],
                         "mta.conf(5) entries the parser does not know")


if __name__ == "__main__":
    unittest.main()

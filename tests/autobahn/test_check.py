"""Unit tests for check.py. Run from this directory:

    python3 -m unittest -v test_check
"""

import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402


def entry(behavior="OK", close="OK", case="x"):
    return {
        "behavior": behavior,
        "behaviorClose": close,
        "duration": 1,
        "remoteCloseCode": 1000,
        "reportfile": "agent_case_%s.json" % case.replace(".", "_"),
    }


class CheckTestCase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def write_index(self, cases, agent="ws-std"):
        data = {agent: {cid: entry(b, c, cid) for cid, (b, c) in cases.items()}}
        with open(os.path.join(self.dir, "index.json"), "w") as f:
            json.dump(data, f)

    def write_log(self, cases):
        path = os.path.join(self.dir, "wstest.log")
        with open(path, "w") as f:
            f.write("Autobahn Fuzzing WebSocket Client\n")
            f.write("Ok, will run %d test cases against 1 servers\n" % len(cases))
            f.write("Cases = %r\n" % [str(c) for c in cases])
        return path

    def run_main(self, *args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = check.main([self.dir, "ws-std", "--label", "server"] + list(args))
        return rc, out.getvalue(), err.getvalue()


class TestPassRule(CheckTestCase):
    def test_all_ok_passes(self):
        self.write_index({"1.1.1": ("OK", "OK"), "1.1.2": ("OK", "OK")})
        rc, out, _ = self.run_main("--expected", "2")
        self.assertEqual(rc, 0, out)
        self.assertIn(
            "autobahn ws-std server: 2 cases, 2 OK, 0 informational, "
            "0 unimplemented, 0 failed",
            out,
        )

    def test_informational_counts_non_strict_fails(self):
        self.write_index({"1.1.1": ("OK", "OK"), "6.4.1": ("NON-STRICT", "OK"),
                          "7.1.6": ("INFORMATIONAL", "INFORMATIONAL")})
        # NON-STRICT must fail even next to informational cases.
        rc, out, _ = self.run_main("--expected", "3")
        self.assertEqual(rc, 1)
        self.assertIn("1 informational", out)
        self.assertIn("6.4.1: NON-STRICT / OK", out)

    def test_unimplemented_compression_allowed(self):
        self.write_index({"1.1.1": ("OK", "OK"),
                          "12.1.1": ("UNIMPLEMENTED", "UNIMPLEMENTED"),
                          "13.7.18": ("UNIMPLEMENTED", "OK")})
        rc, out, _ = self.run_main("--expected", "3")
        self.assertEqual(rc, 0, out)
        self.assertIn("1 OK, 0 informational, 2 unimplemented, 0 failed", out)

    def test_require_compression_rejects_unimplemented(self):
        self.write_index({"1.1.1": ("OK", "OK"),
                          "12.1.1": ("UNIMPLEMENTED", "UNIMPLEMENTED")})
        rc, out, _ = self.run_main("--expected", "2", "--require-compression")
        self.assertEqual(rc, 1)
        self.assertIn("12.1.1: UNIMPLEMENTED / UNIMPLEMENTED", out)

    def test_unimplemented_outside_compression_fails(self):
        # "1.2" must not be mistaken for a 12.* case.
        self.write_index({"1.2.1": ("UNIMPLEMENTED", "OK"),
                          "2.1": ("OK", "UNIMPLEMENTED")})
        rc, out, _ = self.run_main("--expected", "2")
        self.assertEqual(rc, 1)
        self.assertIn("1.2.1: UNIMPLEMENTED / OK", out)
        self.assertIn("2.1: OK / UNIMPLEMENTED", out)

    def test_failed_and_bad_close_fail(self):
        self.write_index({"1.1.1": ("FAILED", "OK"),
                          "5.1": ("OK", "WRONG CODE"),
                          "7.1.1": ("OK", "UNCLEAN")})
        rc, out, _ = self.run_main("--expected", "3")
        self.assertEqual(rc, 1)
        self.assertIn("0 OK, 0 informational, 0 unimplemented, 3 failed", out)
        self.assertIn("agent_case_1_1_1.json", out)
        self.assertIn("5.1: OK / WRONG CODE", out)

    def test_missing_behavior_fails(self):
        with open(os.path.join(self.dir, "index.json"), "w") as f:
            json.dump({"ws-std": {"1.1.1": {"reportfile": "r.json"}}}, f)
        rc, out, _ = self.run_main("--expected", "1")
        self.assertEqual(rc, 1)
        self.assertIn("1.1.1: None / None", out)


class TestMissingCases(CheckTestCase):
    def test_default_expects_full_suite(self):
        self.write_index({"1.1.1": ("OK", "OK")})
        rc, out, _ = self.run_main()
        self.assertEqual(rc, 1)
        self.assertIn("517 cases", out)
        self.assertIn("516 of 517 expected cases are missing", out)

    def test_count_short_fails(self):
        self.write_index({"1.1.1": ("OK", "OK"), "1.1.2": ("OK", "OK")})
        rc, out, _ = self.run_main("--expected", "3")
        self.assertEqual(rc, 1)
        self.assertIn("3 cases, 2 OK, 0 informational, 0 unimplemented, 1 failed", out)

    def test_announced_list_names_missing_cases(self):
        log = self.write_log(["1.1.1", "1.1.2", "9.1.1", "10.1.1"])
        self.write_index({"1.1.1": ("OK", "OK"), "1.1.2": ("OK", "OK")})
        rc, out, _ = self.run_main("--wstest-log", log)
        self.assertEqual(rc, 1)
        self.assertIn("4 cases, 2 OK", out)
        self.assertIn("missing: 9.1.1 10.1.1", out)

    def test_announced_list_complete_passes(self):
        log = self.write_log(["1.1.1", "12.1.1"])
        self.write_index({"1.1.1": ("OK", "OK"), "12.1.1": ("UNIMPLEMENTED", "OK")})
        # --wstest-log overrides the default count of 517.
        rc, out, _ = self.run_main("--wstest-log", log)
        self.assertEqual(rc, 0, out)

    def test_log_without_cases_line_is_error(self):
        path = os.path.join(self.dir, "wstest.log")
        with open(path, "w") as f:
            f.write("Traceback (most recent call last):\n")
        self.write_index({"1.1.1": ("OK", "OK")})
        rc, _, err = self.run_main("--wstest-log", path)
        self.assertEqual(rc, 2)
        self.assertIn("no 'Cases = [...]' line", err)


class TestInputErrors(CheckTestCase):
    def test_no_index_json(self):
        rc, _, err = self.run_main()
        self.assertEqual(rc, 2)
        self.assertIn("index.json not found", err)

    def test_unknown_agent(self):
        self.write_index({"1.1.1": ("OK", "OK")}, agent="other")
        rc, _, err = self.run_main("--expected", "1")
        self.assertEqual(rc, 2)
        self.assertIn("agents present: other", err)

    def test_malformed_json(self):
        with open(os.path.join(self.dir, "index.json"), "w") as f:
            f.write("{not json")
        rc, _, err = self.run_main()
        self.assertEqual(rc, 2)
        self.assertIn("cannot read", err)


class TestHelpers(unittest.TestCase):
    def test_case_sort_is_numeric(self):
        ids = ["1.1.10", "1.1.2", "10.1.1", "9.1.1", "1.1.1"]
        self.assertEqual(sorted(ids, key=check.case_sort_key),
                         ["1.1.1", "1.1.2", "1.1.10", "9.1.1", "10.1.1"])

    def test_is_compression_case(self):
        self.assertTrue(check.is_compression_case("12.1.1"))
        self.assertTrue(check.is_compression_case("13.7.18"))
        self.assertFalse(check.is_compression_case("1.2.1"))
        self.assertFalse(check.is_compression_case("1.3"))


if __name__ == "__main__":
    unittest.main()

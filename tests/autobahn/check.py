#!/usr/bin/env python3
"""Judge an Autobahn TestSuite report directory.

Reads REPORT_DIR/index.json, which wstest writes as

    {agent: {case_id: {"behavior": ..., "behaviorClose": ...,
                       "reportfile": ..., ...}}}

and decides pass/fail for one agent.

Pass rule: every expected case is present in the report, and both its
"behavior" and "behaviorClose" are OK or INFORMATIONAL, or UNIMPLEMENTED for
the compression cases (ids 12.* and 13.*) only. With --require-compression,
UNIMPLEMENTED fails everywhere. Anything else (NON-STRICT, FAILED,
WRONG CODE, UNCLEAN, ...) fails, and so does a case that was announced but is
missing from the report (a crashed peer leaves a partial report).

The expected cases are either a count (--expected, default 517 = the full
suite) or the exact list wstest announced, taken from its console log
(--wstest-log; wstest prints "Cases = [...]" at start-up).

Python 3, standard library only. Exit status 0 on pass, 1 on fail, 2 on
usage or input errors.
"""

import argparse
import ast
import json
import os
import sys

FULL_SUITE_CASES = 517
PASS_BEHAVIORS = frozenset({"OK", "INFORMATIONAL"})
UNIMPLEMENTED = "UNIMPLEMENTED"
COMPRESSION_PREFIXES = ("12.", "13.")


class InputError(Exception):
    """The report or log could not be read or is malformed."""


def case_sort_key(case_id):
    """Sort "1.2.10" after "1.2.9" (numeric parts compare as numbers)."""
    key = []
    for part in str(case_id).split("."):
        key.append((0, int(part), "") if part.isdigit() else (1, 0, part))
    return key


def is_compression_case(case_id):
    return str(case_id).startswith(COMPRESSION_PREFIXES)


def judge_value(case_id, value, require_compression):
    """True if one behavior value is acceptable for this case."""
    if value in PASS_BEHAVIORS:
        return True
    if value == UNIMPLEMENTED:
        return (not require_compression) and is_compression_case(case_id)
    return False


def load_index(report_dir):
    path = os.path.join(report_dir, "index.json")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise InputError(
            "%s not found: wstest wrote no report (did it run to the end?)" % path
        )
    except (OSError, ValueError) as e:
        raise InputError("cannot read %s: %s" % (path, e))
    if not isinstance(data, dict):
        raise InputError("%s: expected a JSON object at top level" % path)
    return data


def announced_cases(log_path):
    """Case ids from the 'Cases = [...]' line wstest prints at start-up."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except OSError as e:
        raise InputError("cannot read wstest log %s: %s" % (log_path, e))
    for line in lines:
        line = line.strip()
        if line.startswith("Cases = "):
            try:
                cases = ast.literal_eval(line[len("Cases = "):])
            except (ValueError, SyntaxError):
                raise InputError("%s: cannot parse line: %s" % (log_path, line[:200]))
            if not isinstance(cases, (list, tuple)):
                raise InputError("%s: 'Cases =' is not a list" % log_path)
            return [str(c) for c in cases]
    raise InputError(
        "%s: no 'Cases = [...]' line; wstest did not start its test run" % log_path
    )


def evaluate(index, agent, expected_count=FULL_SUITE_CASES, expected_cases=None,
             require_compression=False):
    """Judge one agent's results.

    Returns a dict with counts and a list of failures; "passed" says whether
    the pass rule holds.
    """
    if agent not in index:
        raise InputError(
            "agent %r not in report (agents present: %s)"
            % (agent, ", ".join(sorted(index)) or "none")
        )
    results = index[agent]
    if not isinstance(results, dict):
        raise InputError("agent %r: expected an object of cases" % agent)

    counts = {"ok": 0, "informational": 0, "unimplemented": 0, "failed": 0}
    failures = []  # (case_id, behavior, behaviorClose, reportfile)

    for case_id in sorted(results, key=case_sort_key):
        entry = results[case_id]
        if not isinstance(entry, dict):
            entry = {}
        behavior = entry.get("behavior")
        behavior_close = entry.get("behaviorClose")
        good = judge_value(case_id, behavior, require_compression) and judge_value(
            case_id, behavior_close, require_compression
        )
        if not good:
            counts["failed"] += 1
            failures.append(
                (case_id, behavior, behavior_close, entry.get("reportfile", "?"))
            )
        elif UNIMPLEMENTED in (behavior, behavior_close):
            counts["unimplemented"] += 1
        elif "INFORMATIONAL" in (behavior, behavior_close):
            counts["informational"] += 1
        else:
            counts["ok"] += 1

    missing = []
    if expected_cases is not None:
        missing = sorted(set(expected_cases) - set(results), key=case_sort_key)
        total = len(set(expected_cases) | set(results))
        missing_count = len(missing)
    else:
        total = max(expected_count, len(results))
        missing_count = max(0, expected_count - len(results))

    passed = counts["failed"] == 0 and missing_count == 0
    return {
        "total": total,
        "reported": len(results),
        "counts": counts,
        "failures": failures,
        "missing": missing,
        "missing_count": missing_count,
        "passed": passed,
    }


def format_result(result, agent, label):
    c = result["counts"]
    name = ("%s %s" % (agent, label)).strip()
    failed = c["failed"] + result["missing_count"]
    lines = [
        "autobahn %s: %d cases, %d OK, %d informational, %d unimplemented, %d failed"
        % (name, result["total"], c["ok"], c["informational"], c["unimplemented"],
           failed)
    ]
    if result["missing_count"]:
        lines.append(
            "  %d of %d expected cases are missing from the report "
            "(the peer likely crashed, hung or was killed mid-run)"
            % (result["missing_count"], result["total"])
        )
        if result["missing"]:
            shown = result["missing"][:50]
            more = len(result["missing"]) - len(shown)
            lines.append(
                "  missing: %s%s" % (" ".join(shown), " ... (+%d more)" % more if more else "")
            )
    if result["failures"]:
        lines.append("  failing cases (case: behavior / behaviorClose  reportfile):")
        for case_id, b, bc, rf in result["failures"]:
            lines.append("    %s: %s / %s  %s" % (case_id, b, bc, rf))
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Fail unless an Autobahn report passes the project's rule."
    )
    p.add_argument("report_dir", help="directory holding wstest's index.json")
    p.add_argument("agent", help="agent name as it appears in index.json")
    p.add_argument("--expected", type=int, default=FULL_SUITE_CASES,
                   help="number of cases expected (default %(default)s, the full suite)")
    p.add_argument("--wstest-log", metavar="FILE",
                   help="wstest console log; its 'Cases = [...]' line gives the "
                        "exact expected cases (overrides --expected)")
    p.add_argument("--label", default="",
                   help="word printed after the agent name, e.g. server or client")
    p.add_argument("--require-compression", action="store_true",
                   help="fail UNIMPLEMENTED everywhere, including 12.* and 13.*")
    args = p.parse_args(argv)

    try:
        expected_cases = announced_cases(args.wstest_log) if args.wstest_log else None
        index = load_index(args.report_dir)
        result = evaluate(index, args.agent, expected_count=args.expected,
                          expected_cases=expected_cases,
                          require_compression=args.require_compression)
    except InputError as e:
        print("autobahn %s %s: ERROR: %s" % (args.agent, args.label, e), file=sys.stderr)
        return 2

    print(format_result(result, args.agent, args.label))
    if not result["passed"]:
        print("autobahn %s %s: FAILED (report: %s)"
              % (args.agent, args.label, os.path.join(args.report_dir, "index.html")))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

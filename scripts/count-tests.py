#!/usr/bin/env python3
"""Sum meson test results over one or more meson-logs/testlog.json files.

Prints exactly one line on stdout:

    N passed, N failed, N skipped

passed = OK + EXPECTEDFAIL, failed = FAIL + TIMEOUT + ERROR + UNEXPECTEDPASS
(+ INTERRUPT and any result this script does not know), skipped = SKIP.

A missing file counts as no tests (a build that failed never wrote one); it is
reported on stderr. Exit status: 0 if nothing failed, 1 otherwise, 2 on usage
errors.
"""

import json
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}


def count(path, totals):
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except FileNotFoundError:
        print(f"count-tests: {path}: no test log (no tests ran)", file=sys.stderr)
        return
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            result = json.loads(line).get("result")
        except (ValueError, AttributeError):
            # A log cut short (meson killed mid-write) must not hide results.
            print(f"count-tests: {path}:{lineno}: not a JSON object, counted as failed",
                  file=sys.stderr)
            result = None
        if result in PASSED:
            totals["passed"] += 1
        elif result in SKIPPED:
            totals["skipped"] += 1
        else:
            totals["failed"] += 1


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(f"usage: {argv[0]} TESTLOG.json...", file=sys.stderr)
        return 2
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for path in argv[1:]:
        count(path, totals)
    print("{passed} passed, {failed} failed, {skipped} skipped".format(**totals))
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

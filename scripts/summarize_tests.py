#!/usr/bin/python3
"""Sum test outcomes over a meson testlog.json.

Catch2 binaries report per test case ("test cases: 12 | 11 passed | 1 failed"
or "All tests passed (40 assertions in 12 test cases)"); other tests (scripts)
count as one each. A meson SKIP (exit 77) counts as skipped. A binary that
crashed before its summary counts as one failure. A meson EXPECTEDFAIL (a
`should_fail` check that failed, e.g. a linter run on a broken fixture) is a
pass; UNEXPECTEDPASS is a failure. Prints one line:
"N passed, N failed, N skipped".
"""
import json
import re
import sys

ALL_PASSED = re.compile(r"All tests passed \((\d+) assertions? in (\d+) test cases?\)")
SUMMARY = re.compile(r"test cases:\s+(\d+)\s+\|\s+(\d+) passed\s+\|\s+(\d+) failed")
ONLY_FAILED = re.compile(r"test cases:\s+(\d+)\s+\|\s+(\d+) failed")


def count(entry):
    result = entry.get("result", "")
    out = entry.get("stdout", "") or ""
    if result == "SKIP":
        return 0, 0, 1
    m = ALL_PASSED.search(out)
    if m:
        n = int(m.group(2))
        return (n, 0, 0) if result == "OK" else (n, 1, 0)
    m = SUMMARY.search(out)
    if m:
        return int(m.group(2)), int(m.group(3)), 0
    m = ONLY_FAILED.search(out)
    if m:
        return 0, int(m.group(2)), 0
    return (1, 0, 0) if result in ("OK", "EXPECTEDFAIL") else (0, 1, 0)


def main(path):
    passed = failed = skipped = 0
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                p, fl, s = count(json.loads(line))
                passed += p
                failed += fl
                skipped += s
    except FileNotFoundError:
        failed = 1
    print(f"{passed} passed, {failed} failed, {skipped} skipped")


if __name__ == "__main__":
    main(sys.argv[1])

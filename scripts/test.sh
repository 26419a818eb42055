#!/usr/bin/env bash
# Install what is missing, build with AddressSanitizer and UBSan, and run every
# test suite (unit, eal, integration). The last line is "N passed, N failed,
# N skipped", counted over Catch2 test cases and script checks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${VTAP_TEST_BUILD:-$root/build-test}

"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$dir" -Dbuildtype=debugoptimized \
  -Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=false

# Sanitizers: any report is a failure; DPDK's EAL maps memory in ways LSan
# cannot attribute, so leak checking is left to the unit binaries' own scopes.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
meson test -C "$dir" --num-processes 2 --print-errorlogs "$@" || status=$?
/usr/bin/python3 "$root/scripts/summarize_tests.py" "$dir/meson-logs/testlog.json"
exit $status

#!/usr/bin/env bash
# systemd-analyze verify on a unit file: unknown directives, bad values and
# missing sections are errors. The binaries the unit runs need not exist on
# this machine, so ExecStart/ExecStartPre paths are pointed at /bin/true in
# a temporary copy. Exit 77 (skipped) without systemd-analyze.
# Usage: systemd_check.sh UNIT_FILE
set -euo pipefail
unit=${1:?usage: systemd_check.sh UNIT_FILE}
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze is not installed: skipped"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -E 's#^(ExecStart(Pre|Post)?=)[^ ]+#\1/bin/true#' "$unit" >"$tmp/${unit##*/}"
# verify prints problems as warnings and may still exit 0: any output fails.
out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$tmp/${unit##*/}" 2>&1) && rc=0 || rc=$?
if ((rc != 0)) || [[ -n $out ]]; then
  echo "${unit}: systemd-analyze verify (exit $rc):"
  echo "$out"
  exit 1
fi
echo "systemd_check: ${unit##*/} verified"

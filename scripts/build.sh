#!/usr/bin/env bash
# Configure (once) and build vtapd. Usage: scripts/build.sh [BUILD_DIR] [meson options...]
# BUILD_DIR defaults to build/ (release). Re-running only rebuilds what changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}
shift || true
if [[ ! -f $dir/build.ninja ]]; then
  meson setup "$dir" "$root" "$@"
elif (($# > 0)); then
  meson configure "$dir" "$@"
fi
ninja -C "$dir"

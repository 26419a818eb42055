#!/usr/bin/env bash
# The main job on the embedded default: install what is missing, build, and
# run vtapd over the bundled, project-generated VTAP capture (VXLAN from two
# tapped lab VMs, HTTP/DNS/TLS-like flows in both directions). Prints what it
# received, dropped (by reason) and how the flows spread over workers.
# Extra arguments go to vtapd (e.g. --workers 1, --stats-file out.json).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${VTAP_BUILD:-$root/build}

"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$dir"
# Two workers so the demo shows the symmetric sharding; override with --workers.
exec "$dir/apps/vtapd/vtapd" --workers 2 "$@"

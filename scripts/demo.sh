#!/usr/bin/env bash
# The main job on the embedded default: install what is missing, build, and
# run vtapd over the bundled, project-generated VTAP capture (VXLAN from two
# tapped lab VMs, HTTP/DNS/TLS-like flows in both directions). Prints what it
# received, dropped (by reason) and how the flows spread over workers; alerts
# go to stdout as EVE JSON.
# Extra arguments go to vtapd (e.g. --workers 1, --stats-file out.json).
#
# Also send the alerts to a syslog collector (RFC 5424, JSON in MSG):
#   VTAP_SYSLOG=127.0.0.1:514 scripts/demo.sh                 # TCP (octet counting)
#   VTAP_SYSLOG=127.0.0.1:514 VTAP_SYSLOG_TRANSPORT=udp scripts/demo.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${VTAP_BUILD:-$root/build}

"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$dir"

config=()
if [[ -n "${VTAP_SYSLOG:-}" ]]; then
    host=${VTAP_SYSLOG%:*}
    port=${VTAP_SYSLOG##*:}
    if [[ "$host" == "$VTAP_SYSLOG" || ! "$port" =~ ^[0-9]+$ ]]; then
        echo "demo.sh: VTAP_SYSLOG must be host:port, e.g. 127.0.0.1:514" >&2
        exit 2
    fi
    transport=${VTAP_SYSLOG_TRANSPORT:-tcp}
    conf=$(mktemp /tmp/vtapd-demo.XXXXXX.yaml)
    trap 'rm -f "$conf"' EXIT
    # The embedded default with absolute paths and one syslog output added;
    # alerts still go to stdout too.
    "$dir/apps/vtapd/vtapd" --print-config |
        sed -e "s|pcap_file: vtap-demo.pcap|pcap_file: \"$dir/apps/vtap-pcap/vtap-demo.pcap\"|" \
            -e "s|\"rules/|\"$root/conf/rules/|" \
            -e "s|^outputs: \[\]|outputs:\n  - {type: syslog, name: collector, transport: $transport, host: \"$host\", port: $port}|" \
        > "$conf"
    echo "demo.sh: alerts also go to syslog $transport $host:$port (counters output.collector.*)" >&2
    config=(-c "$conf")
    # Not exec: the trap removes the temporary config afterwards.
    "$dir/apps/vtapd/vtapd" "${config[@]}" --workers 2 "$@"
    exit $?
fi
# Two workers so the demo shows the symmetric sharding; override with --workers.
exec "$dir/apps/vtapd/vtapd" --workers 2 "$@"

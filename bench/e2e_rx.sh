#!/usr/bin/env bash
# End-to-end receive benchmark: vtapd (1 RX lcore, 1 worker) against
# dpdk-testpmd --forward-mode=rxonly, same vdev (net_pcap, infinite_rx=1),
# same VTAP capture, same machine, same run. Repeats and prints medians.
#
# usage: bench/e2e_rx.sh [-b BUILD_DIR] [-t SECONDS] [-r REPEATS] [-p PCAP]
# Default capture: 2,000 synthetic flows written by vtap-pcap (IMIX sizes).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
secs=5
reps=3
pcap=
while getopts "b:t:r:p:" o; do
  case $o in
    b) build=$OPTARG ;;
    t) secs=$OPTARG ;;
    r) reps=$OPTARG ;;
    p) pcap=$OPTARG ;;
    *) echo "usage: $0 [-b BUILD_DIR] [-t SECONDS] [-r REPEATS] [-p PCAP]" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d /tmp/vtap-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [[ -z $pcap ]]; then
  pcap=$work/bench.pcap
  "$build/apps/vtap-pcap/vtap-pcap" synth --out "$pcap" --flows 2000 --size imix --seed 7 >/dev/null
fi
frames=$(/usr/bin/python3 - "$pcap" <<'PY'
import struct, sys
with open(sys.argv[1], 'rb') as f:
    f.read(24); n = 0
    while True:
        h = f.read(16)
        if len(h) < 16: break
        f.seek(struct.unpack('<IIII', h)[2], 1); n += 1
print(n)
PY
)
# infinite_rx holds the whole capture in mbufs, plus descriptors and rings.
mbufs=$(( (frames + 16384) | 1023 ))
mem=$(( mbufs * 2304 / 1048576 + 256 ))

testpmd_rate() {
  local out
  out=$( (echo start; sleep "$secs"; echo stop; echo quit) |
    dpdk-testpmd --no-huge -m "$mem" --no-shconf --no-pci -l 0,1 --file-prefix=bench-tp$$ \
      --log-level=lib.eal:error --vdev "net_pcap0,rx_pcap=$pcap,infinite_rx=1" -- \
      -i --forward-mode=rxonly --total-num-mbufs="$mbufs" --rxq=1 --txq=1 2>&1)
  # "RX-packets: N" of the accumulated forward statistics
  local rx
  rx=$(grep -E "RX-packets:" <<<"$out" | tail -1 | awk '{print $2}')
  awk -v n="$rx" -v t="$secs" 'BEGIN { printf "%.0f\n", n / t }'
}

vtapd_rate() {  # $1 = workers (0 = run to completion on the RX lcore)
  cat >"$work/vtapd.yaml" <<YAML
eal:
  args: [--no-huge, -m, '$mem', --no-shconf, --no-pci, --file-prefix=bench-vt$$, '--log-level=lib.eal:error']
ports:
  - driver: pcap
    pcap_file: $pcap
    infinite_rx: true
decap:
  tap_sources: [0.0.0.0/0]
pipeline:
  rx_lcores: 1
  workers: $1
  ring_size: 8192
mempool:
  mbufs: $mbufs
stats:
  telemetry: false
YAML
  "$build/apps/vtapd/vtapd" -c "$work/vtapd.yaml" --duration "$secs" --stats-file "$work/s.json" >/dev/null
  /usr/bin/python3 - "$work/s.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"{s['rx.packets'] / s['elapsed_s']:.0f} {s['shard.ring_full']} {s['drops.total']}")
PY
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "capture: $pcap ($frames frames), ${secs}s per trial, $reps trials each"
# Trials interleave the three programs so machine noise hits them alike.
tp=(); vr=(); vt=(); rf=()
for ((i = 1; i <= reps; i++)); do
  tp+=("$(testpmd_rate)")
  read -r rate _ drops < <(vtapd_rate 0)
  vr+=("$rate")
  echo "trial $i: testpmd ${tp[-1]} pps; vtapd run-to-completion $rate pps (drops $drops)"
  read -r rate ringfull drops < <(vtapd_rate 1)
  vt+=("$rate"); rf+=("$ringfull")
  echo "trial $i: vtapd 1 RX + 1 worker $rate pps (ring_full $ringfull, drops $drops)"
done
tpm=$(printf '%s\n' "${tp[@]}" | median)
vrm=$(printf '%s\n' "${vr[@]}" | median)
vtm=$(printf '%s\n' "${vt[@]}" | median)
awk -v a="$vtm" -v r="$vrm" -v b="$tpm" 'BEGIN {
  printf "| %-34s | %14s | %8s |\n", "median of trials", "packets/s", "ratio"
  printf "| %-34s | %14.0f | %8s |\n", "testpmd rxonly, 1 fwd lcore (base)", b, "1.00"
  printf "| %-34s | %14.0f | %8.2f |\n", "vtapd run to completion, 1 lcore", r, r / b
  printf "| %-34s | %14.0f | %8.2f |\n", "vtapd 1 RX + 1 worker lcore", a, a / b
}'
echo "shard.ring_full per trial (1 RX + 1 worker): ${rf[*]}"

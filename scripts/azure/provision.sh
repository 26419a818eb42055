#!/usr/bin/env bash
# Turn a fresh Debian 12 Azure VM into a vtapd collector. cloud-init.yaml runs
# it once, as root, from the repository checkout it made; it can be re-run by
# hand (every step is idempotent). Usage: provision.sh ENV_FILE
#
# ENV_FILE (written by cloud-init from the Bicep parameters) sets:
#   VTAPD_ROLE         collector (everything below) | sender (build only, for
#                      scripts/azure/bench)
#   VTAPD_INSTANCE_ID  instance.id in alerts (the VM name)
#   VTAPD_DRIVER       netvsc | mana | af_packet  (drivers/README.md, "Azure")
#   VTAPD_TAP_SOURCES  decap.tap_sources, YAML flow list, e.g. [10.42.0.0/16]
#   VTAPD_HUGEPAGES    number of 2 MB hugepages to reserve (0 with af_packet)
#   VTAPD_WORKERS      worker lcores; 0 = all CPUs but the main and RX lcore
# Steps: packages + build (scripts/setup.sh, scripts/build.sh) -> install ->
# hugepages -> find the tap NIC -> hand it to DPDK -> /etc/vtapd/vtapd.yaml
# -> vtapd --check-config -> systemd unit. Exits non-zero with a message
# naming the step that failed; the log is /var/log/vtapd-provision.log.
set -euo pipefail

env_file=${1:?usage: provision.sh ENV_FILE}
# shellcheck source=/dev/null
. "$env_file"
: "${VTAPD_INSTANCE_ID:?} ${VTAPD_DRIVER:?} ${VTAPD_TAP_SOURCES:?}"
VTAPD_HUGEPAGES=${VTAPD_HUGEPAGES:-1024}
VTAPD_WORKERS=${VTAPD_WORKERS:-0}

repo=$(cd "$(dirname "$0")/../.." && pwd)
etc=/etc/vtapd
step() { echo "provision: $*"; }
die() { echo "provision: error: $*" >&2; exit 1; }

case $VTAPD_DRIVER in
  netvsc | mana | af_packet) ;;
  *) die "VTAPD_DRIVER is '$VTAPD_DRIVER'; use netvsc, mana or af_packet" ;;
esac
[[ $VTAPD_INSTANCE_ID =~ ^[A-Za-z0-9._-]{1,64}$ ]] ||
  die "VTAPD_INSTANCE_ID '$VTAPD_INSTANCE_ID' is not 1..64 of A-Z a-z 0-9 . _ -"

step "packages and build"
export DEBIAN_FRONTEND=noninteractive
"$repo/scripts/setup.sh"
# driverctl binds the VMBus device persistently; rdma-core and
# ibverbs-providers carry the user-space halves of mlx5 and MANA; pciutils
# gives lspci to recognise the VF.
apt-get install -y -q --no-install-recommends driverctl rdma-core ibverbs-providers pciutils
"$repo/scripts/build.sh" "$repo/build" -Dbuildtype=release -Dtests=false -Dbenchmarks=false
meson install -C "$repo/build" --no-rebuild --quiet
vtapd=/usr/local/bin/vtapd
[[ -x $vtapd ]] || die "meson install did not produce $vtapd"
if [[ ${VTAPD_ROLE:-collector} == sender ]]; then
  step "done: sender built in $repo/build (scripts/azure/bench drives it)"
  exit 0
fi

step "hugepages: $VTAPD_HUGEPAGES x 2 MB"
echo "vm.nr_hugepages = $VTAPD_HUGEPAGES" >/etc/sysctl.d/80-vtapd-hugepages.conf
sysctl -q -w vm.nr_hugepages="$VTAPD_HUGEPAGES"
have=$(cat /proc/sys/vm/nr_hugepages)
((have >= VTAPD_HUGEPAGES)) ||
  die "only $have of $VTAPD_HUGEPAGES hugepages could be reserved (memory fragmented: reboot, or lower hugepages)"

# The tap NIC is the synthetic (hv_netvsc) interface that does not carry the
# default route: the template gives every collector its management NIC
# first (primary, eth0) and the tap NIC second. A VF (mlx5_core or mana)
# shares its MAC and is enslaved to it; it is never the one we pick.
step "finding the tap NIC"
# The default route with the lowest metric (every NIC may have one).
mgmt_if=$(ip -o -4 route show default |
  awk '{m = 0; for (i = 1; i < NF; i++) if ($i == "metric") m = $(i + 1); print m, $5}' |
  sort -n | awk 'NR == 1 {print $2}')
[[ -n $mgmt_if ]] || die "no default route: cannot tell the management NIC from the tap NIC"
tap_if=""
for dev in /sys/class/net/*; do
  name=${dev##*/}
  [[ -e $dev/device/driver ]] || continue
  [[ $(basename "$(readlink "$dev/device/driver")") == hv_netvsc ]] || continue
  [[ $name == "$mgmt_if" ]] && continue
  tap_if=$name
  break
done
if [[ -z $tap_if ]]; then
  # Re-runs: once bound to uio_hv_generic the interface is gone; the
  # provision record keeps what we found the first time.
  [[ -f $etc/tap-nic.env ]] || die "no second hv_netvsc interface: is the tap NIC attached?"
  # shellcheck source=/dev/null
  . "$etc/tap-nic.env"
else
  tap_mac=$(cat "/sys/class/net/$tap_if/address")
  tap_uuid=$(basename "$(readlink "/sys/class/net/$tap_if/device")")
  vf_if=$(ip -o link show master "$tap_if" 2>/dev/null | awk -F': ' '{print $2; exit}')
  vf_pci=""
  [[ -n $vf_if ]] && vf_pci=$(basename "$(readlink "/sys/class/net/$vf_if/device")")
  mkdir -p "$etc"
  printf 'tap_if=%s\ntap_mac=%s\ntap_uuid=%s\nvf_if=%s\nvf_pci=%s\n' \
    "$tap_if" "$tap_mac" "$tap_uuid" "$vf_if" "$vf_pci" >"$etc/tap-nic.env"
fi
step "tap NIC $tap_if mac $tap_mac vmbus $tap_uuid vf ${vf_if:-none} ${vf_pci:-}"
vf_kind=none
if [[ -n $vf_pci ]]; then
  if lspci -s "$vf_pci" -n | grep -q ' 1414:00ba'; then vf_kind=mana; else vf_kind=mlx5; fi
fi

# EAL: real hugepages (no --no-huge); main lcore 0, then RX, then workers.
ncpu=$(nproc)
((ncpu >= 3)) || die "$ncpu CPUs: vtapd needs at least 3 (main, RX, one worker)"
workers=$VTAPD_WORKERS
((workers > 0)) || workers=$((ncpu - 2))
((workers <= ncpu - 2)) || workers=$((ncpu - 2))
((workers <= 64)) || workers=64
eal_extra=""
case $VTAPD_DRIVER in
  netvsc)
    step "binding $tap_uuid to uio_hv_generic (driverctl, persistent)"
    modprobe uio_hv_generic
    if [[ $(driverctl -b vmbus list-overrides 2>/dev/null) != *"$tap_uuid"* ]]; then
      driverctl -b vmbus set-override "$tap_uuid" uio_hv_generic
    fi
    # The netvsc PMD drives the VF itself through the VF's own PMD. Allow
    # only this VF on the PCI bus, so DPDK never probes the management NIC's
    # VF. Debian's DPDK has mlx5 but not net_mana: with a MANA VF netvsc
    # stays on the synthetic path (slower) unless DPDK is rebuilt with
    # scripts/build-dpdk-mana.sh.
    case $vf_kind in
      mlx5) eal_extra=", \"-a\", \"$vf_pci\"" ;;
      mana)
        eal_extra=", \"-a\", \"$vf_pci,mac=$tap_mac\""
        echo "provision: warning: MANA VF: Debian's DPDK has no net_mana; netvsc uses the synthetic path" >&2
        ;;
      none) echo "provision: warning: no VF on $tap_if: Accelerated Networking is off" >&2 ;;
    esac
    port="  - driver: netvsc
    name: tap0
    pci: \"$tap_uuid\"
    rx_queues: 1"
    ;;
  mana)
    [[ $vf_kind == mana ]] || die "VTAPD_DRIVER=mana but the tap NIC's VF is '$vf_kind' (lspci -d 1414:00ba)"
    step "MANA: loading mana_ib, taking $tap_if and $vf_if down for DPDK"
    modprobe -a mana_ib ib_uverbs
    ip link set "$tap_if" down
    ip link set "$vf_if" down
    port="  - driver: mana
    name: tap0
    pci: \"$vf_pci\"
    mac: \"$tap_mac\"
    rx_queues: 1"
    ;;
  af_packet)
    port="  - driver: af_packet
    name: tap0
    iface: $tap_if"
    ;;
esac

step "writing $etc/vtapd.yaml (instance $VTAPD_INSTANCE_ID, $workers workers)"
mkdir -p "$etc/rules" /var/log/vtapd /var/lib/vtapd
cp "$repo/conf/rules/"* "$etc/rules/"
huge_args='"--huge-dir", "/dev/hugepages"'
[[ $VTAPD_DRIVER == af_packet && $VTAPD_HUGEPAGES == 0 ]] && huge_args='"--no-huge", "-m", "1024"'
cat >"$etc/vtapd.yaml.new" <<EOF
# Written by scripts/azure/provision.sh; conf/vtapd.yaml documents every key.
instance:
  id: "$VTAPD_INSTANCE_ID"
eal:
  args: [$huge_args, "-l", "0-$((workers + 1))", "--file-prefix", "vtapd"$eal_extra]
ports:
$port
decap:
  udp_port: 4789
  tap_sources: $VTAPD_TAP_SOURCES
pipeline:
  rx_lcores: 1
  workers: $workers
mempool:
  mbufs: 65535
detect:
  rule_files: ["rules/demo.rules"]
  classification_file: "rules/classification.config"
alerts:
  eve: /var/log/vtapd/eve.json
EOF
"$vtapd" -c "$etc/vtapd.yaml.new" --check-config || die "vtapd rejected the generated configuration"
mv "$etc/vtapd.yaml.new" "$etc/vtapd.yaml"

step "systemd unit"
install -m 0644 "$repo/scripts/azure/vtapd.service" /etc/systemd/system/vtapd.service
dropin=/etc/systemd/system/vtapd.service.d
rm -f "$dropin/mana.conf"
if [[ $VTAPD_DRIVER == mana ]]; then
  # Networking brings the interfaces up again at boot; MANA needs them down.
  mkdir -p "$dropin"
  printf '[Service]\nExecStartPre=/usr/sbin/ip link set %s down\nExecStartPre=/usr/sbin/ip link set %s down\n' \
    "$tap_if" "$vf_if" >"$dropin/mana.conf"
fi
systemctl daemon-reload
systemctl enable vtapd.service
systemctl restart vtapd.service
step "done: systemctl status vtapd; alerts in /var/log/vtapd/eve.json"

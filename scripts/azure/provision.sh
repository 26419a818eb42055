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
#   VTAPD_HEALTH_PORT  the load balancer's HTTP probe port (main.bicep
#                      healthProbePort, default 8080): forwarded by the
#                      exception path and served by health.listen
#   VTAPD_EXCEPTION_SSH  yes: also forward tcp:22 to the kernel (only when
#                      the tap NIC is also the one you SSH to; default no)
#   VTAPD_SYSLOG       optional alert output, udp|tcp|tls://HOST[:PORT] or
#                      unix:///dev/log (needs vtapd with `outputs:`)
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
VTAPD_HEALTH_PORT=${VTAPD_HEALTH_PORT:-8080}
VTAPD_EXCEPTION_SSH=${VTAPD_EXCEPTION_SSH:-no}
VTAPD_SYSLOG=${VTAPD_SYSLOG:-}

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
if ! [[ $VTAPD_HEALTH_PORT =~ ^[0-9]{1,5}$ ]] || ((VTAPD_HEALTH_PORT < 1 || VTAPD_HEALTH_PORT > 65535)); then
  die "VTAPD_HEALTH_PORT '$VTAPD_HEALTH_PORT' is not a port 1..65535"
fi
# The alert output in the shape of conf/vtapd.yaml `outputs:`.
syslog_yaml=""
if [[ -n $VTAPD_SYSLOG ]]; then
  if [[ $VTAPD_SYSLOG =~ ^(udp|tcp|tls)://([A-Za-z0-9.-]+)(:([0-9]{1,5}))?$ ]]; then
    syslog_yaml="outputs:
  - type: syslog
    name: siem
    transport: ${BASH_REMATCH[1]}
    host: \"${BASH_REMATCH[2]}\""
    if [[ -n ${BASH_REMATCH[4]} ]]; then
      syslog_yaml+="
    port: ${BASH_REMATCH[4]}"
    fi
  elif [[ $VTAPD_SYSLOG =~ ^unix://(/[A-Za-z0-9._/-]+)$ ]]; then
    syslog_yaml="outputs:
  - type: syslog
    name: siem
    transport: unix
    path: \"${BASH_REMATCH[1]}\""
  else
    die "VTAPD_SYSLOG '$VTAPD_SYSLOG' is not udp|tcp|tls://HOST[:PORT] or unix:///PATH"
  fi
fi

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
role=${VTAPD_ROLE:-collector}
[[ $role == collector || $role == sender ]] || die "VTAPD_ROLE is '$role'; use collector or sender"

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
  # The address Azure's DHCP gave the tap NIC: the exception path puts it
  # on the kernel's tap interface once DPDK owns the NIC.
  tap_ip=$(ip -o -4 addr show dev "$tap_if" | awk '{print $4; exit}')
  [[ -n $tap_ip ]] || die "$tap_if has no IPv4 address (DHCP not done?): the health probe needs it"
  mkdir -p "$etc"
  printf 'tap_if=%s\ntap_mac=%s\ntap_uuid=%s\nvf_if=%s\nvf_pci=%s\ntap_ip=%s\n' \
    "$tap_if" "$tap_mac" "$tap_uuid" "$vf_if" "$vf_pci" "$tap_ip" >"$etc/tap-nic.env"
fi
[[ -n ${tap_ip:-} ]] || die "$etc/tap-nic.env has no tap_ip (written by an older provision.sh): add tap_ip=ADDR/LEN of the tap NIC"
# Azure answers for the subnet's first address as its gateway.
IFS=./ read -r o1 o2 o3 o4 plen <<<"$tap_ip"
ip_num=$(((o1 << 24) | (o2 << 16) | (o3 << 8) | o4))
gw_num=$(((ip_num & (0xffffffff << (32 - plen)) & 0xffffffff) + 1))
tap_gw="$((gw_num >> 24)).$(((gw_num >> 16) & 255)).$(((gw_num >> 8) & 255)).$((gw_num & 255))"
step "tap NIC $tap_if mac $tap_mac ip $tap_ip gateway $tap_gw vmbus $tap_uuid vf ${vf_if:-none} ${vf_pci:-}"
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

if [[ $role == sender ]]; then
  # The bench sender's tap NIC is bound like a collector's; vtap-gen sends
  # out of it. scripts/azure/bench reads this file (bench/zero_loss.py
  # --gen-port, --gen-eal, --tap-src, --outer-src-mac).
  case $VTAPD_DRIVER in
    netvsc) gen_port=$tap_uuid gen_eal="--huge-dir /dev/hugepages -l 0-1 --file-prefix vtapgen" ;;
    mana) gen_port=$vf_pci gen_eal="--huge-dir /dev/hugepages -l 0-1 --file-prefix vtapgen" ;;
    af_packet) gen_port="net_af_packet0,iface=$tap_if" gen_eal="--no-huge -m 1024 --no-pci -l 0-1 --file-prefix vtapgen" ;;
  esac
  [[ -n $vf_pci && $VTAPD_DRIVER != af_packet ]] && gen_eal+=" -a $vf_pci"
  [[ $VTAPD_DRIVER == mana ]] && gen_eal+=",mac=$tap_mac"
  printf 'gen_port=%q\ngen_eal=%q\ntap_ip=%q\ntap_mac=%q\n' "$gen_port" "$gen_eal" "${tap_ip%/*}" "$tap_mac" \
    >"$etc/bench-sender.env"
  step "done: bench sender, $etc/bench-sender.env (scripts/azure/bench drives it)"
  exit 0
fi

# Exception path: ARP, ping and the probe port reach the kernel through a
# net_tap interface that carries the tap NIC's MAC and address; health.listen
# answers the probe. With af_packet the kernel still owns the NIC and
# answers by itself, so no exception path (two interfaces would share one
# address). Either way the kernel routes replies by its tables, whose
# default route is the management NIC: vtapd-routes (ExecStartPost) adds a
# policy route so what leaves from the tap address leaves by the tap.
forward="arp, icmp, \"tcp:$VTAPD_HEALTH_PORT\""
[[ $VTAPD_EXCEPTION_SSH == yes ]] && forward+=", \"tcp:22\""
if [[ $VTAPD_DRIVER == af_packet ]]; then
  exc_dev=$tap_if
  exception_yaml="exception:
  enabled: false"
else
  exc_dev=vtapexc0
  exception_yaml="exception:
  enabled: true
  tap_name: $exc_dev
  address: \"$tap_ip\"
  port: 0
  forward: [$forward]"
fi
printf 'exc_dev=%q\ntap_addr=%q\ntap_gw=%q\n' "$exc_dev" "${tap_ip%/*}" "$tap_gw" >"$etc/routes.env"

step "writing $etc/vtapd.yaml (instance $VTAPD_INSTANCE_ID, $workers workers, probe :$VTAPD_HEALTH_PORT)"
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
$exception_yaml
health:
  listen: "0.0.0.0:$VTAPD_HEALTH_PORT"
${syslog_yaml}
EOF
"$vtapd" -c "$etc/vtapd.yaml.new" --check-config || die "vtapd rejected the generated configuration"
mv "$etc/vtapd.yaml.new" "$etc/vtapd.yaml"

step "systemd unit"
install -m 0644 "$repo/scripts/azure/vtapd.service" /etc/systemd/system/vtapd.service
dropin=/etc/systemd/system/vtapd.service.d
rm -f "$dropin/mana.conf"
install -m 0755 "$repo/scripts/azure/vtapd-routes" /usr/local/libexec/vtapd-routes
mkdir -p "$dropin"
printf '[Service]\nExecStartPost=/usr/local/libexec/vtapd-routes %s\n' "$etc/routes.env" >"$dropin/routes.conf"
if [[ $VTAPD_DRIVER == mana ]]; then
  # Networking brings the interfaces up again at boot; MANA needs them down.
  printf '[Service]\nExecStartPre=/usr/sbin/ip link set %s down\nExecStartPre=/usr/sbin/ip link set %s down\n' \
    "$tap_if" "$vf_if" >"$dropin/mana.conf"
fi
systemctl daemon-reload
systemctl enable vtapd.service
systemctl restart vtapd.service
step "done: systemctl status vtapd; alerts in /var/log/vtapd/eve.json; probe: curl http://${tap_ip%/*}:$VTAPD_HEALTH_PORT/health"

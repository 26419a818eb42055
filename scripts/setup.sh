#!/usr/bin/env bash
# Install what vtapd needs on Debian 12, idempotently: only missing packages
# are installed, and apt-get update runs only when something is missing.
set -euo pipefail

packages=(
  build-essential pkg-config meson ninja-build
  dpdk dpdk-dev libdpdk-dev
  libhyperscan-dev libyaml-cpp-dev catch2 libbenchmark-dev
  libpcap-dev libpcre2-dev libgnutls28-dev
  rsyslog rsyslog-gnutls gnutls-bin
  tshark tcpdump iproute2 iputils-ping shellcheck curl ethtool
  python3-scapy python3-matplotlib python3-yaml
  valgrind
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: run as root (or install them) and retry" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# OPT-IN, never part of setup/build/test: build DPDK from a release tarball
# with the MANA PMD (net_mana), which Debian 12's dpdk package lacks, into
# its own prefix, for collectors on MANA VM sizes (drivers/README.md).
#
#   scripts/build-dpdk-mana.sh [--version 22.11.N] [--sha256 HEX] [--prefix DIR]
#
# --version  DPDK release; default: the version of the installed Debian
#            dpdk package (22.11.x), so vtapd builds against the same API.
# --sha256   expected SHA-256 of dpdk-VERSION.tar.xz; checked when given
#            (take it from the release announcement), else only printed.
# --prefix   install prefix, default /opt/dpdk-mana.
# Downloads https://fast.dpdk.org/rel/dpdk-VERSION.tar.xz (needs access to
# dpdk.org: not available on machines that only reach Debian mirrors), needs
# rdma-core >= 44 headers (libibverbs-dev; Debian 12 ships 44 with
# infiniband/manadv.h). Fails unless librte_net_mana was built. Then:
#   PKG_CONFIG_PATH=PREFIX/lib/x86_64-linux-gnu/pkgconfig meson setup build-mana
#   LD_LIBRARY_PATH=PREFIX/lib/x86_64-linux-gnu build-mana/apps/vtapd/vtapd ...
set -euo pipefail

die() { echo "build-dpdk-mana: $*" >&2; exit 1; }
version="" sha256="" prefix=/opt/dpdk-mana
while (($# > 0)); do
  case $1 in
    --version) version=$2; shift 2 ;;
    --sha256) sha256=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (--help)" ;;
  esac
done
if [[ -z $version ]]; then
  deb=$(dpkg-query -W -f='${Version}' dpdk 2>/dev/null) || die "no dpdk package installed: pass --version 22.11.N"
  version=${deb%%-*}
fi
[[ $version =~ ^[0-9]+\.[0-9]+(\.[0-9]+)?$ ]] || die "--version '$version' is not a DPDK release number"

deps=(build-essential meson ninja-build pkg-config python3-pyelftools libnuma-dev libibverbs-dev rdma-core curl xz-utils)
missing=()
for p in "${deps[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  [[ $(id -u) -eq 0 ]] || die "missing packages: ${missing[*]} (install them as root)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
[[ -f /usr/include/infiniband/manadv.h ]] ||
  die "infiniband/manadv.h is missing: net_mana needs rdma-core >= 44 (libibverbs-dev)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=dpdk-$version.tar.xz
echo "build-dpdk-mana: downloading $tarball"
curl -fsSL --retry 3 -o "$work/$tarball" "https://fast.dpdk.org/rel/$tarball" ||
  die "cannot download https://fast.dpdk.org/rel/$tarball"
got=$(sha256sum "$work/$tarball" | awk '{print $1}')
if [[ -n $sha256 ]]; then
  [[ $got == "$sha256" ]] || die "SHA-256 mismatch: got $got, expected $sha256"
else
  echo "build-dpdk-mana: warning: SHA-256 not checked (got $got; pass --sha256)" >&2
fi
mkdir "$work/src"
tar -xJf "$work/$tarball" -C "$work/src" --strip-components=1

# generic: the build runs on one VM and may be copied to other sizes.
meson setup "$work/build" "$work/src" --prefix="$prefix" -Dplatform=generic -Dtests=false
ninja -C "$work/build"
find "$work/build/drivers" -name 'librte_net_mana.so*' | grep -q . ||
  die "net_mana was not built (see the 'drivers disabled' list in $work/build/meson-logs/meson-log.txt)"
ninja -C "$work/build" install
ldconfig
echo "build-dpdk-mana: DPDK $version with net_mana installed in $prefix"
echo "  PKG_CONFIG_PATH=$prefix/lib/x86_64-linux-gnu/pkgconfig meson setup build-mana"

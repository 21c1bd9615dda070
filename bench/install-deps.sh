#!/usr/bin/env bash
# bench/install-deps.sh: installs what the benchmark (bench/run.sh) needs on
# Debian 12 (bookworm) on top of scripts/install-deps.sh: the peers it
# compares against (OpenVPN 2.6, wireguard-go + wg), iperf3, openssl for the
# OpenVPN certificates, and perf for the profile. Runs apt-get only when
# something is missing; --no-install-recommends (wireguard-tools would
# otherwise pull a kernel image). Needs root (or sudo).
set -euo pipefail

packages=(
  openvpn wireguard-go wireguard-tools  # the peers
  iperf3 iputils-ping iproute2 procps   # traffic, RTT, namespaces, /proc readers
  nftables                              # underlay loss (numgen random) for the goodput-under-loss phase
  openssl                               # a throw-away EC CA for OpenVPN
  python3                               # bench/bench.py (standard library only)
  linux-perf                            # optional profile (bench/run.sh --profile)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "bench/install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "bench/install-deps: run as root (missing: ${missing[*]})" >&2; exit 1; }
  sudo=sudo
fi
echo "bench/install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Installs what vpnhost needs to build and test on Debian 12 (bookworm).
# Runs apt-get only when something is missing. Needs root (or sudo).
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config ccache
  libboost-dev libspdlog-dev libfmt-dev libcli11-dev catch2 libtomlplusplus-dev libsodium-dev
  libsystemd-dev  # sd_notify (readiness under systemd)
  clang libclang-rt-14-dev llvm  # fuzzing (scripts/fuzz.sh): clang, libFuzzer + sanitizer runtimes, llvm-symbolizer
  # lab tests and the demo (network namespaces, traffic, captures)
  iproute2 iputils-ping iperf3 nftables socat openssh-server openssh-client tcpdump
  procps psmisc python3 python3-cryptography coreutils
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (missing: ${missing[*]})" >&2; exit 1; }
  sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"

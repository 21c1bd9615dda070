#!/usr/bin/env bash
# Installs what vpnhost needs to build and test on Debian 12 (bookworm).
# Runs apt-get only when something is missing. Needs root (or sudo).
# Also puts promtool (Prometheus' checker; tests/lab/test_status.sh) in
# $PROMTOOL_DIR without installing the prometheus package (which would
# start a Prometheus server): its .deb is downloaded and promtool alone
# extracted.
set -euo pipefail
PROMTOOL_DIR=${PROMTOOL_DIR:-/var/cache/vpnhost-ci/promtool}

packages=(
  # build
  build-essential cmake ninja-build pkg-config ccache
  libboost-dev libspdlog-dev libfmt-dev libcli11-dev catch2 libtomlplusplus-dev libsodium-dev
  libsystemd-dev  # sd_notify (readiness under systemd)
  clang libclang-rt-14-dev llvm  # fuzzing (scripts/fuzz.sh): clang, libFuzzer + sanitizer runtimes, llvm-symbolizer
  # lab tests and the demo (network namespaces, traffic, captures)
  iproute2 iputils-ping iperf3 nftables socat openssh-server openssh-client tcpdump
  tshark  # tests/lab/test_dissector.sh (contrib/wireshark/vpnhost.lua)
  procps psmisc python3 python3-cryptography coreutils
  # the Debian package test (packaging/test.sh): lintian, systemd-analyze
  lintian systemd
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
need_promtool=
[ -x "$PROMTOOL_DIR/promtool" ] || need_promtool=1
if [ ${#missing[@]} -eq 0 ] && [ -z "$need_promtool" ]; then
  echo "install-deps: all ${#packages[@]} packages present; promtool in $PROMTOOL_DIR"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (missing: ${missing[*]} ${need_promtool:+promtool})" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
updated=
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  # wireshark-common asks whether non-root users may capture: keep the default (no).
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
  $sudo apt-get update -q
  updated=1
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ -n "$need_promtool" ]; then
  echo "install-deps: extracting promtool from Debian's prometheus package into $PROMTOOL_DIR"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  chmod 755 "$tmp"  # apt-get download may run as user _apt
  if ! (cd "$tmp" && apt-get download -q prometheus >/dev/null 2>&1); then
    [ -n "$updated" ] || $sudo apt-get update -q
    (cd "$tmp" && apt-get download -q prometheus)
  fi
  dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
  $sudo install -D -m 0755 "$tmp/x/usr/bin/promtool" "$PROMTOOL_DIR/promtool"
  "$PROMTOOL_DIR/promtool" --version 2>&1 | head -n 1
fi

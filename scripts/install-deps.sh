#!/usr/bin/env bash
# Installs what vpnhost needs on Debian 12 (bookworm). Runs apt-get only
# when something is missing. Needs root (or sudo).
#
#   install-deps.sh          everything the test suite needs (scripts/test.sh)
#   install-deps.sh --demo   only what scripts/demo.sh needs: the build, and
#                            ip/ping/ss/python3 for the namespace demo
#
# The full set also puts promtool (Prometheus' checker;
# tests/lab/test_status.sh) in $PROMTOOL_DIR without installing the
# prometheus package (which would start a Prometheus server): its .deb is
# downloaded and promtool alone extracted.
set -euo pipefail
PROMTOOL_DIR=${PROMTOOL_DIR:-/var/cache/vpnhost-ci/promtool}

set_name=full
case "${1:-}" in
  "") ;;
  --demo) set_name=demo ;;
  -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "install-deps: unknown argument '$1' (use --demo or nothing)" >&2; exit 64 ;;
esac

# The build and the demo (scripts/run-demo.sh: tests/lab/lib.sh needs ip,
# ping, ss, python3, timeout, and pkill/kill from procps).
demo_packages=(
  build-essential cmake ninja-build pkg-config ccache
  libboost-dev libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev libsodium-dev
  libsystemd-dev  # sd_notify (readiness under systemd)
  libcap-dev      # dropping privileges after setup ([host] user)
  catch2          # the default build also builds the unit tests
  iproute2 iputils-ping procps python3 coreutils
)
# Only the test suite: fuzzing, traffic, captures, SSH, packaging.
test_packages=(
  clang libclang-rt-14-dev llvm  # fuzzing (scripts/fuzz.sh): clang, libFuzzer + sanitizer runtimes, llvm-symbolizer
  iperf3 nftables socat openssh-server openssh-client tcpdump psmisc python3-cryptography
  tshark  # tests/lab/test_dissector.sh (contrib/wireshark/vpnhost.lua)
  # the Debian package test (packaging/test.sh): lintian, systemd-analyze
  lintian systemd
)
packages=("${demo_packages[@]}")
[ "$set_name" = demo ] || packages+=("${test_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
need_promtool=
[ "$set_name" = demo ] || [ -x "$PROMTOOL_DIR/promtool" ] || need_promtool=1
if [ ${#missing[@]} -eq 0 ] && [ -z "$need_promtool" ]; then
  if [ "$set_name" = demo ]; then
    echo "install-deps: all ${#packages[@]} packages of the demo set present"
  else
    echo "install-deps: all ${#packages[@]} packages present; promtool in $PROMTOOL_DIR"
  fi
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
  echo "install-deps: installing ($set_name set) ${missing[*]}"
  # wireshark-common asks whether non-root users may capture: keep the default (no).
  [ "$set_name" = demo ] ||
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

#!/usr/bin/env bash
# Installs tshark (Debian package) alone, for trying the dissector.
# scripts/install-deps.sh installs it too (tests/lab/test_dissector.sh).
set -euo pipefail
if command -v tshark >/dev/null 2>&1; then
  echo "install-tshark: $(tshark --version | head -n 1) already installed"
  exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
# wireshark-common asks whether non-root users may capture: keep the default (no).
echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends tshark
tshark --version | head -n 1

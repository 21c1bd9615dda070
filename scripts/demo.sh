#!/usr/bin/env bash
# Installs what the demo needs (install-deps.sh --demo), builds vpnhost, and runs the demo: a server and two
# clients in private network namespaces pinging 10.10.0.1 and each other.
# Needs root (network namespaces, TUN). Cleans up after itself.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh --demo  # the build and the namespace demo only; scripts/test.sh installs the rest
bash scripts/build.sh build
exec bash scripts/run-demo.sh "$root/build/bin/vpnhost"

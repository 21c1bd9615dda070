#!/usr/bin/env bash
# Tests vpnhost.lua with tshark on captures of a TCP and a UDP lab session:
# the lab test tests/lab/test_dissector.sh (ctest "lab: dissector"), run
# directly. Needs root (network namespaces) and tshark.
#   sudo bash contrib/wireshark/test.sh
exec bash "$(cd "$(dirname "$0")" && pwd)/../../tests/lab/test_dissector.sh" "$@"

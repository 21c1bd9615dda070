#!/usr/bin/env bash
# test_mtu_1280.sh over transport_udp: TUN MTUs derived from a 1280-byte
# underlay link, fragmentation and ICMP "frag needed" at the hub, and a
# 20 MiB TCP transfer between the clients.
export LAB_TRANSPORT=udp
source "$(dirname "$0")/test_mtu_1280.sh"
lab_assert_transport_used

#!/usr/bin/env bash
# test_tcp_between_clients.sh over transport_udp: ssh from c1 to c2 through
# the hub, then a 20 MiB TCP transfer whose sha256 must match.
export LAB_TRANSPORT=udp
source "$(dirname "$0")/test_tcp_between_clients.sh"
lab_assert_transport_used

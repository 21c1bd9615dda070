#!/usr/bin/env bash
# test_udp_between_clients.sh over transport_udp: UDP datagrams (one larger
# than the tunnel MTU, so IP fragments) from c1 to c2 arrive intact.
export LAB_TRANSPORT=udp
source "$(dirname "$0")/test_udp_between_clients.sh"
lab_assert_transport_used

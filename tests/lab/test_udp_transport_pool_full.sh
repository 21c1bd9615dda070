#!/usr/bin/env bash
# test_pool_full.sh over transport_udp: 253 sessions (c1 + vh_loadclient
# --udp) fill the pool, the 254th gets REJECT "address pool full", c1 keeps
# pinging throughout, and the pool empties again after the load client's BYEs.
export LAB_TRANSPORT=udp
source "$(dirname "$0")/test_pool_full.sh"
lab_assert_transport_used

#!/usr/bin/env bash
# test_three_clients.sh over transport_udp: server + 3 clients (distinct pool
# addresses, 20 pings each to the hub, every pair of clients pings).
export LAB_TRANSPORT=udp
source "$(dirname "$0")/test_three_clients.sh"
lab_assert_transport_used

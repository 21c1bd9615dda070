#!/usr/bin/env bash
# Issue 15, item 4 with the stock UDP manifests (cipher_xor): see
# test_attack_log_flood.sh.
ATTACK_CIPHER=xor
source "$(dirname "$0")/test_attack_log_flood.sh"

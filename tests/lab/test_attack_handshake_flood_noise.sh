#!/usr/bin/env bash
# Issue 15, item 2 with the secure UDP manifests (cipher_noise): see
# test_attack_handshake_flood.sh.
ATTACK_CIPHER=noise
source "$(dirname "$0")/test_attack_handshake_flood.sh"

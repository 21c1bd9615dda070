#!/usr/bin/env bash
# Issue 15, item 1 with the secure UDP manifests (cipher_noise): see
# test_attack_session_index.sh.
ATTACK_CIPHER=noise
source "$(dirname "$0")/test_attack_session_index.sh"

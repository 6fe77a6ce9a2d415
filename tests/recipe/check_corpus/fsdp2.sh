#!/usr/bin/env bash
# FSDP2 on one node.
# shellcheck source=tests/recipe/check_corpus/_base.sh
source "$(dirname "${BASH_SOURCE[0]}")/_base.sh"
${LAUNCHER} "${base[@]}" actor_rollout_ref.actor.strategy=fsdp2 critic.strategy=fsdp2 "$@"

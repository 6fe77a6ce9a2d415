#!/usr/bin/env bash
# TorchTitan: DP-shard 4 x TP 2 = the 8 GPUs.
# shellcheck source=tests/recipe/check_corpus/_base.sh
source "$(dirname "${BASH_SOURCE[0]}")/_base.sh"
${LAUNCHER} "${base[@]}" model_engine=torchtitan \
    actor_rollout_ref.actor.torchtitan.data_parallel_shard_size=4 \
    actor_rollout_ref.actor.torchtitan.tensor_parallel_size=2 "$@"

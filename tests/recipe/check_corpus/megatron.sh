#!/usr/bin/env bash
# Megatron on two nodes: TP 2 x PP 2 x CP 2 per replica (DP 2), experts over EP 4 (a MoE model's layout).
NNODES=2
# shellcheck source=tests/recipe/check_corpus/_base.sh
source "$(dirname "${BASH_SOURCE[0]}")/_base.sh"
megatron=(
    model_engine=megatron
    actor_rollout_ref.actor.megatron.tensor_model_parallel_size=2
    actor_rollout_ref.actor.megatron.pipeline_model_parallel_size=2
    actor_rollout_ref.actor.megatron.context_parallel_size=2
    actor_rollout_ref.actor.megatron.expert_model_parallel_size=4
    actor_rollout_ref.actor.megatron.expert_tensor_parallel_size=1
    actor_rollout_ref.rollout.tensor_model_parallel_size=4
)
${LAUNCHER} "${base[@]}" "${megatron[@]}" "$@"

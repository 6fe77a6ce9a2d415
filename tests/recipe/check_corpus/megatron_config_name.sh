#!/usr/bin/env bash
# Megatron through veRL's own packaged ppo_megatron_trainer config, TP 4.
# shellcheck source=tests/recipe/check_corpus/_base.sh
source "$(dirname "${BASH_SOURCE[0]}")/_base.sh"
${LAUNCHER} --config-name=ppo_megatron_trainer "${base[@]}" \
    actor_rollout_ref.actor.megatron.tensor_model_parallel_size=4 "$@"

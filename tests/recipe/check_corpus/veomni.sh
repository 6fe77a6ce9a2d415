#!/usr/bin/env bash
# VeOmni: Ulysses 4 inside FSDP, experts over EP 2.
# shellcheck source=tests/recipe/check_corpus/_base.sh
source "$(dirname "${BASH_SOURCE[0]}")/_base.sh"
${LAUNCHER} "${base[@]}" model_engine=veomni \
    actor_rollout_ref.actor.veomni.ulysses_parallel_size=4 \
    actor_rollout_ref.actor.veomni.expert_parallel_size=2 "$@"

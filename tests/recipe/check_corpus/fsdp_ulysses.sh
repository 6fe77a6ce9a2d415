#!/usr/bin/env bash
# FSDP with Ulysses sequence parallelism 8 for 20k-token responses: each GPU holds 1/8 of a sequence, so 2816
# tokens per GPU x 8 = 22528 holds one full sequence (1024 + 20480 = 21504).
MAX_RESPONSE_LEN=20480
TOKENS_PER_GPU=${TOKENS_PER_GPU:-2816}
# shellcheck source=tests/recipe/check_corpus/_base.sh
source "$(dirname "${BASH_SOURCE[0]}")/_base.sh"
SP=${SP:-8}
${LAUNCHER} "${base[@]}" actor_rollout_ref.actor.ulysses_sequence_parallel_size="${SP}" "$@"

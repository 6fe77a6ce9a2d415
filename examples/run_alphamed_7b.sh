#!/usr/bin/env bash
# AlphaMed GRPO for Qwen2.5-7B-Instruct on 1 node x 8 GPUs: run_alphamed_8b.sh with 7B defaults.
# Every knob of run_alphamed_8b.sh still applies.   Check: alphamed check examples/run_alphamed_7b.sh
set -euo pipefail
# Messages name the script the user ran, not the one it hands over to.
export ALPHAMED_RECIPE=${ALPHAMED_RECIPE:-$0}

export MODEL_PATH=${MODEL_PATH:-Qwen/Qwen2.5-7B-Instruct}
export ROLLOUT_TP=${ROLLOUT_TP:-2}

exec bash "$(dirname "${BASH_SOURCE[0]}")/run_alphamed_8b.sh" "$@"

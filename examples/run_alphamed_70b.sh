#!/usr/bin/env bash
# AlphaMed GRPO for Llama-3.1-70B-Instruct: run_alphamed_8b.sh with 70B defaults (4 nodes x 8 GPUs, rollout
# TP 8, actor parameters and optimizer offloaded to CPU). Every knob of run_alphamed_8b.sh still applies.
#
# Needs a Ray cluster of >= 4 nodes x 8 GPUs (80 GB each):
#   on the head node:     ray start --head --port=6379 --dashboard-host=0.0.0.0
#   on every other node:  ray start --address=<head-ip>:6379
#   check, then run on the head node (main_ppo's ray.init() joins the running cluster):
#     alphamed check examples/run_alphamed_70b.sh
#     bash examples/run_alphamed_70b.sh
#   or submit from anywhere that reaches the dashboard:
#     LAUNCHER="ray job submit --address=http://<head-ip>:8265 -- python3 -m verl.trainer.main_ppo" \
#         bash examples/run_alphamed_70b.sh
# Data paths must be readable on the node that runs main_ppo (the head node, or where ray job submit puts it).
set -euo pipefail
# Messages name the script the user ran, not the one it hands over to.
export ALPHAMED_RECIPE=${ALPHAMED_RECIPE:-$0}

export MODEL_PATH=${MODEL_PATH:-meta-llama/Llama-3.1-70B-Instruct}
export NNODES=${NNODES:-4}
export N_GPUS_PER_NODE=${N_GPUS_PER_NODE:-8}
export ROLLOUT_TP=${ROLLOUT_TP:-8}
export GPU_MEMORY_UTILIZATION=${GPU_MEMORY_UTILIZATION:-0.5}
export ACTOR_OFFLOAD=${ACTOR_OFFLOAD:-True}
# tokens per GPU per micro-batch with dynamic batching: two full-length sequences (half the 8B's four), derived
# from the lengths so a longer MAX_RESPONSE_LEN cannot leave a budget below one sequence (veRL asserts that)
export MAX_PROMPT_LEN=${MAX_PROMPT_LEN:-2048}
export MAX_RESPONSE_LEN=${MAX_RESPONSE_LEN:-2048}
export MAX_TOKENS_PER_GPU=${MAX_TOKENS_PER_GPU:-$(((MAX_PROMPT_LEN + MAX_RESPONSE_LEN) * 2))}

exec bash "$(dirname "${BASH_SOURCE[0]}")/run_alphamed_8b.sh" "$@"

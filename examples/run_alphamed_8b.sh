#!/usr/bin/env bash
# AlphaMed: GRPO with a binary rule-based reward (right letter in the final \boxed{} = 1, else 0), no SFT,
# KL to the reference policy as a loss term. Llama-3.1-8B-Instruct on 1 node x 8 GPUs by default.
#
# Data (make it first; the script names the missing command and stops before touching a GPU):
#   train: ~/data/alphamed/{medqa,medmcqa,pubmedqa}/train.parquet, or a mix: TRAIN_FILES=/path/to/mix.parquet
#   val:   the six benchmarks, so veRL logs validation accuracy per data_source during training
# Check on any CPU machine first:   alphamed check examples/run_alphamed_8b.sh
# Run:                              bash examples/run_alphamed_8b.sh [hydra overrides...]
#   It refuses to start (one line, exit 1) where fewer than N_GPUS_PER_NODE accelerators are visible; FORCE_LAUNCH=1
#   skips that. Ctrl-C, a kill or a crash stops every process the launch started, Ray's included.
# Scale by environment variables (recipe/README.md): NNODES, N_GPUS_PER_NODE, ROLLOUT_TP, TRAIN_BATCH_SIZE,
# ACTOR_OFFLOAD, ...; submit to a Ray cluster with LAUNCHER="ray job submit --address=... -- python3 -m verl.trainer.main_ppo"
# (from a machine without GPUs, add FORCE_LAUNCH=1).
# run_alphamed_{3b,7b,70b}.sh are this recipe with other size defaults.
set -euo pipefail

PYTHON=${PYTHON:-python3}
LAUNCHER=${LAUNCHER:-${PYTHON} -m verl.trainer.main_ppo}

# ---- model and resources
MODEL_PATH=${MODEL_PATH:-meta-llama/Llama-3.1-8B-Instruct}
NNODES=${NNODES:-1}
N_GPUS_PER_NODE=${N_GPUS_PER_NODE:-8}
ROLLOUT_TP=${ROLLOUT_TP:-2}
GPU_MEMORY_UTILIZATION=${GPU_MEMORY_UTILIZATION:-0.6}
ACTOR_OFFLOAD=${ACTOR_OFFLOAD:-False}
REF_OFFLOAD=${REF_OFFLOAD:-True}
# training engine: fsdp, or megatron for TP x PP sharding (recipe/README.md, "Switching to Megatron for 70B")
ENGINE=${ENGINE:-fsdp}

# ---- data
DATA_ROOT=${DATA_ROOT:-${HOME}/data/alphamed}
TRAIN_FILES=${TRAIN_FILES:-"['${DATA_ROOT}/medqa/train.parquet','${DATA_ROOT}/medmcqa/train.parquet','${DATA_ROOT}/pubmedqa/train.parquet']"}
VAL_FILES=${VAL_FILES:-"['${DATA_ROOT}/medqa/test.parquet','${DATA_ROOT}/medmcqa/validation.parquet','${DATA_ROOT}/pubmedqa/test.parquet','${DATA_ROOT}/mmlu_pro/test.parquet','${DATA_ROOT}/gpqa/test.parquet','${DATA_ROOT}/medxpertqa/test.parquet']"}
MAX_PROMPT_LEN=${MAX_PROMPT_LEN:-2048}
MAX_RESPONSE_LEN=${MAX_RESPONSE_LEN:-2048}

# ---- GRPO
TRAIN_BATCH_SIZE=${TRAIN_BATCH_SIZE:-512}
PPO_MINI_BATCH_SIZE=${PPO_MINI_BATCH_SIZE:-128}
ROLLOUT_N=${ROLLOUT_N:-8}
ACTOR_LR=${ACTOR_LR:-1e-6}
KL_LOSS_COEF=${KL_LOSS_COEF:-0.001}
ENTROPY_COEFF=${ENTROPY_COEFF:-0}
# tokens per GPU per micro-batch with dynamic batching: four full-length sequences
MAX_TOKENS_PER_GPU=${MAX_TOKENS_PER_GPU:-$(((MAX_PROMPT_LEN + MAX_RESPONSE_LEN) * 4))}

# ---- schedule and logging
TOTAL_EPOCHS=${TOTAL_EPOCHS:-3}
TEST_FREQ=${TEST_FREQ:-10}
SAVE_FREQ=${SAVE_FREQ:-50}
PROJECT_NAME=${PROJECT_NAME:-alphamed}
EXPERIMENT_NAME=${EXPERIMENT_NAME:-alphamed-grpo-$(basename "${MODEL_PATH}")}
LOGGER=${LOGGER:-"['console','wandb']"}
# veRL writes every validation's generations here (one <step>.jsonl); `alphamed eval --from_verl_dump` scores them
VAL_DUMP_DIR=${VAL_DUMP_DIR:-checkpoints/${PROJECT_NAME}/${EXPERIMENT_NAME}/val_generations}

# The data gate (a missing data file stops the run before Ray reserves a GPU) and the data / trainer groups.
RECIPE_PROMPT_STYLE=alphamed
# shellcheck source=examples/_recipe_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_recipe_common.sh"

algorithm=(
    algorithm.adv_estimator=grpo
    algorithm.use_kl_in_reward=False
)


model=(
    actor_rollout_ref.model.path="${MODEL_PATH}"
    actor_rollout_ref.model.use_remove_padding=True
    actor_rollout_ref.model.enable_gradient_checkpointing=True
)

actor=(
    actor_rollout_ref.actor.optim.lr="${ACTOR_LR}"
    actor_rollout_ref.actor.ppo_mini_batch_size="${PPO_MINI_BATCH_SIZE}"
    actor_rollout_ref.actor.use_dynamic_bsz=True
    actor_rollout_ref.actor.ppo_max_token_len_per_gpu="${MAX_TOKENS_PER_GPU}"
    actor_rollout_ref.actor.use_kl_loss=True
    actor_rollout_ref.actor.kl_loss_coef="${KL_LOSS_COEF}"
    actor_rollout_ref.actor.kl_loss_type=low_var_kl
    actor_rollout_ref.actor.entropy_coeff="${ENTROPY_COEFF}"
    actor_rollout_ref.ref.log_prob_max_token_len_per_gpu="${MAX_TOKENS_PER_GPU}"
)

# The offload switches live in the engine's own section; Megatron's parallel sizes go on the command line.
case "${ENGINE}" in
    fsdp) engine=(
        actor_rollout_ref.actor.fsdp_config.param_offload="${ACTOR_OFFLOAD}"
        actor_rollout_ref.actor.fsdp_config.optimizer_offload="${ACTOR_OFFLOAD}"
        actor_rollout_ref.ref.fsdp_config.param_offload="${REF_OFFLOAD}"
    ) ;;
    megatron) engine=(
        model_engine=megatron
        actor_rollout_ref.actor.megatron.param_offload="${ACTOR_OFFLOAD}"
        actor_rollout_ref.actor.megatron.optimizer_offload="${ACTOR_OFFLOAD}"
        actor_rollout_ref.ref.megatron.param_offload="${REF_OFFLOAD}"
    ) ;;
    *) echo "ENGINE must be fsdp or megatron, not '${ENGINE}'" >&2; exit 2 ;;
esac

rollout=(
    actor_rollout_ref.rollout.name=vllm
    actor_rollout_ref.rollout.n="${ROLLOUT_N}"
    actor_rollout_ref.rollout.tensor_model_parallel_size="${ROLLOUT_TP}"
    actor_rollout_ref.rollout.gpu_memory_utilization="${GPU_MEMORY_UTILIZATION}"
    actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu="${MAX_TOKENS_PER_GPU}"
)

reward=(
    reward.custom_reward_function.path=pkg://alphamed.reward_score
    reward.custom_reward_function.name=compute_score
)

# Traced from here on, so the exact command is in the log; run in the background so that an interrupt reaches
# the guard, which then stops everything this launch started (_launch_guard.sh).
set -x
${LAUNCHER} \
    "${algorithm[@]}" \
    "${data[@]}" \
    "${model[@]}" \
    "${actor[@]}" \
    "${engine[@]}" \
    "${rollout[@]}" \
    "${reward[@]}" \
    "${trainer[@]}" \
    "$@" &
alphamed_wait_launch $!

#!/usr/bin/env bash
# Med-RLVR: PPO with a critic (GAE) on the Qwen2.5-3B *base* model, prompt style med_rlvr
# (<think>...</think><answer>...</answer>) and its reward: -1 format violated, 0 wrong, 1 right.
# 1 node x 8 GPUs by default.
#
# Data in the med_rlvr prompt style, kept apart from AlphaMed's under ~/data/alphamed_med_rlvr/<dataset>/:
#   alphamed prepare medqa --split train test --prompt_style med_rlvr \
#       --local_save_dir ~/data/alphamed_med_rlvr/medqa          (and the other five benchmarks' eval splits)
# Check on any CPU machine first:   alphamed check examples/run_med_rlvr_3b.sh
# Run:                              bash examples/run_med_rlvr_3b.sh [hydra overrides...]
set -euo pipefail

PYTHON=${PYTHON:-python3}
LAUNCHER=${LAUNCHER:-${PYTHON} -m verl.trainer.main_ppo}

# ---- model and resources
MODEL_PATH=${MODEL_PATH:-Qwen/Qwen2.5-3B}
CRITIC_MODEL_PATH=${CRITIC_MODEL_PATH:-${MODEL_PATH}}
NNODES=${NNODES:-1}
N_GPUS_PER_NODE=${N_GPUS_PER_NODE:-8}
ROLLOUT_TP=${ROLLOUT_TP:-1}
GPU_MEMORY_UTILIZATION=${GPU_MEMORY_UTILIZATION:-0.5}
ACTOR_OFFLOAD=${ACTOR_OFFLOAD:-False}

# ---- data (Med-RLVR trains on MedQA only)
DATA_ROOT=${DATA_ROOT:-${HOME}/data/alphamed_med_rlvr}
TRAIN_FILES=${TRAIN_FILES:-"['${DATA_ROOT}/medqa/train.parquet']"}
VAL_FILES=${VAL_FILES:-"['${DATA_ROOT}/medqa/test.parquet','${DATA_ROOT}/medmcqa/validation.parquet','${DATA_ROOT}/pubmedqa/test.parquet','${DATA_ROOT}/mmlu_pro/test.parquet','${DATA_ROOT}/gpqa/test.parquet','${DATA_ROOT}/medxpertqa/test.parquet']"}
MAX_PROMPT_LEN=${MAX_PROMPT_LEN:-2048}
MAX_RESPONSE_LEN=${MAX_RESPONSE_LEN:-2048}

# ---- PPO
TRAIN_BATCH_SIZE=${TRAIN_BATCH_SIZE:-256}
PPO_MINI_BATCH_SIZE=${PPO_MINI_BATCH_SIZE:-64}
ACTOR_LR=${ACTOR_LR:-1e-6}
CRITIC_LR=${CRITIC_LR:-1e-5}
KL_LOSS_COEF=${KL_LOSS_COEF:-0.001}
MAX_TOKENS_PER_GPU=${MAX_TOKENS_PER_GPU:-$(((MAX_PROMPT_LEN + MAX_RESPONSE_LEN) * 4))}

# ---- schedule and logging
TOTAL_EPOCHS=${TOTAL_EPOCHS:-5}
TEST_FREQ=${TEST_FREQ:-10}
SAVE_FREQ=${SAVE_FREQ:-50}
PROJECT_NAME=${PROJECT_NAME:-alphamed}
EXPERIMENT_NAME=${EXPERIMENT_NAME:-med-rlvr-ppo-$(basename "${MODEL_PATH}")}
LOGGER=${LOGGER:-"['console','wandb']"}
# veRL writes every validation's generations here (one <step>.jsonl); `alphamed eval --from_verl_dump` scores them
VAL_DUMP_DIR=${VAL_DUMP_DIR:-checkpoints/${PROJECT_NAME}/${EXPERIMENT_NAME}/val_generations}

# The data gate (a missing data file stops the run before Ray reserves a GPU) and the data / trainer groups.
RECIPE_PROMPT_STYLE=med_rlvr
# shellcheck source=examples/_recipe_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_recipe_common.sh"

algorithm=(
    algorithm.adv_estimator=gae
    algorithm.gamma=1.0
    algorithm.lam=1.0
    algorithm.use_kl_in_reward=False
)


actor=(
    actor_rollout_ref.model.path="${MODEL_PATH}"
    actor_rollout_ref.model.use_remove_padding=True
    actor_rollout_ref.model.enable_gradient_checkpointing=True
    actor_rollout_ref.actor.optim.lr="${ACTOR_LR}"
    actor_rollout_ref.actor.ppo_mini_batch_size="${PPO_MINI_BATCH_SIZE}"
    actor_rollout_ref.actor.use_dynamic_bsz=True
    actor_rollout_ref.actor.ppo_max_token_len_per_gpu="${MAX_TOKENS_PER_GPU}"
    actor_rollout_ref.actor.use_kl_loss=True
    actor_rollout_ref.actor.kl_loss_coef="${KL_LOSS_COEF}"
    actor_rollout_ref.actor.kl_loss_type=low_var_kl
    actor_rollout_ref.actor.entropy_coeff=0
    actor_rollout_ref.actor.fsdp_config.param_offload="${ACTOR_OFFLOAD}"
    actor_rollout_ref.actor.fsdp_config.optimizer_offload="${ACTOR_OFFLOAD}"
    actor_rollout_ref.ref.log_prob_max_token_len_per_gpu="${MAX_TOKENS_PER_GPU}"
)

rollout=(
    actor_rollout_ref.rollout.name=vllm
    actor_rollout_ref.rollout.n=1
    actor_rollout_ref.rollout.tensor_model_parallel_size="${ROLLOUT_TP}"
    actor_rollout_ref.rollout.gpu_memory_utilization="${GPU_MEMORY_UTILIZATION}"
    actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu="${MAX_TOKENS_PER_GPU}"
)

critic=(
    critic.model.path="${CRITIC_MODEL_PATH}"
    critic.model.use_remove_padding=True
    critic.model.enable_gradient_checkpointing=True
    critic.optim.lr="${CRITIC_LR}"
    critic.ppo_mini_batch_size="${PPO_MINI_BATCH_SIZE}"
    critic.use_dynamic_bsz=True
    critic.ppo_max_token_len_per_gpu="${MAX_TOKENS_PER_GPU}"
)

reward=(
    reward.custom_reward_function.path=pkg://alphamed.reward_score
    reward.custom_reward_function.name=compute_score_med_rlvr
)

# Traced from here on, so the exact command is in the log; run in the background so that an interrupt reaches
# the guard, which then stops everything this launch started (_launch_guard.sh).
set -x
${LAUNCHER} \
    "${algorithm[@]}" \
    "${data[@]}" \
    "${actor[@]}" \
    "${rollout[@]}" \
    "${critic[@]}" \
    "${reward[@]}" \
    "${trainer[@]}" \
    "$@" &
alphamed_wait_launch $!

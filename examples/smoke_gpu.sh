#!/usr/bin/env bash
# GPU smoke test: two GRPO steps of a small model on ONE GPU, with AlphaMed's reward wrapped so that every call
# appends a line to a marker file (examples/smoke_reward.py); afterwards the marker must exist and be non-empty,
# which proves veRL loaded our reward through reward.custom_reward_function and called it on real rollouts.
# Same idea as veRL's tests/special_e2e/ppo_trainer/run_function_reward.sh.
#
# NOT RUN IN THIS REPOSITORY'S CI: it needs a CUDA GPU, vLLM (pip install -e .[gpu]), the model weights and
# ~/data/alphamed/medqa/{train,test}.parquet (alphamed prepare medqa --split train test).
# On CPU, `alphamed check examples/smoke_gpu.sh` validates its configuration only.
#
# Run:  bash examples/smoke_gpu.sh                      (MODEL_PATH=/local/copy/of/Qwen2.5-0.5B-Instruct to skip the hub)
set -euo pipefail

PYTHON=${PYTHON:-python3}
LAUNCHER=${LAUNCHER:-${PYTHON} -m verl.trainer.main_ppo}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

MODEL_PATH=${MODEL_PATH:-Qwen/Qwen2.5-0.5B-Instruct}
DATA_ROOT=${DATA_ROOT:-${HOME}/data/alphamed}
TRAIN_FILES=${TRAIN_FILES:-"['${DATA_ROOT}/medqa/train.parquet']"}
VAL_FILES=${VAL_FILES:-"['${DATA_ROOT}/medqa/test.parquet']"}
MARKER=${MARKER:-${REPO_ROOT}/outputs/smoke_gpu/reward_calls.txt}

N_GPUS_PER_NODE=1
# shellcheck source=examples/_launch_guard.sh
source "${REPO_ROOT}/examples/_launch_guard.sh"
alphamed_preflight
${PYTHON} -m alphamed.recipe.check --require-data alphamed "${TRAIN_FILES}" "${VAL_FILES}"
mkdir -p "$(dirname "${MARKER}")"
rm -f "${MARKER}"

# 8 prompts x 4 samples = 32 sequences per step; one mini-batch; 2 steps; no validation, no checkpoints.
set -x
${LAUNCHER} \
    algorithm.adv_estimator=grpo \
    data.train_files="${TRAIN_FILES}" \
    data.val_files="${VAL_FILES}" \
    data.train_batch_size=8 \
    data.train_max_samples=64 \
    data.val_max_samples=16 \
    data.max_prompt_length=1024 \
    data.max_response_length=256 \
    data.filter_overlong_prompts=True \
    actor_rollout_ref.model.path="${MODEL_PATH}" \
    actor_rollout_ref.model.use_remove_padding=True \
    actor_rollout_ref.actor.optim.lr=1e-6 \
    actor_rollout_ref.actor.ppo_mini_batch_size=8 \
    actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=8 \
    actor_rollout_ref.actor.use_kl_loss=True \
    actor_rollout_ref.actor.kl_loss_coef=0.001 \
    actor_rollout_ref.actor.kl_loss_type=low_var_kl \
    actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=8 \
    actor_rollout_ref.rollout.name=vllm \
    actor_rollout_ref.rollout.n=4 \
    actor_rollout_ref.rollout.tensor_model_parallel_size=1 \
    actor_rollout_ref.rollout.gpu_memory_utilization=0.4 \
    actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=8 \
    reward.custom_reward_function.path="${REPO_ROOT}/examples/smoke_reward.py" \
    reward.custom_reward_function.name=compute_score_with_marker \
    +reward.custom_reward_function.reward_kwargs.marker_path="${MARKER}" \
    trainer.nnodes=1 \
    trainer.n_gpus_per_node=1 \
    trainer.total_training_steps=2 \
    trainer.val_before_train=False \
    trainer.test_freq=-1 \
    trainer.save_freq=-1 \
    trainer.logger="['console']" \
    trainer.project_name=alphamed-smoke \
    trainer.experiment_name=smoke-gpu \
    "$@" &
alphamed_wait_launch $!

# Under `alphamed check` the launcher only recorded its arguments: there is no run whose marker could be checked.
if [[ "${ALPHAMED_CHECK:-0}" == 1 ]]; then
    exit 0
fi
if [[ ! -s "${MARKER}" ]]; then
    echo "FAIL: veRL never called the reward (no marker at ${MARKER})" >&2
    exit 1
fi
echo "OK: the reward was called $(wc -l <"${MARKER}") times; marker ${MARKER}"

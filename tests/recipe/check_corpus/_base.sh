# Sourced by every corpus recipe: a small GRPO run with our reward, whatever engine trains it. Each recipe adds
# its engine's overrides; "$@" comes last so a test can plant a mistake.
# shellcheck shell=bash disable=SC2034  # the arrays are used by the recipe that sources this file
set -euo pipefail
LAUNCHER=${LAUNCHER:-python3 -m verl.trainer.main_ppo}
NNODES=${NNODES:-1}
MAX_RESPONSE_LEN=${MAX_RESPONSE_LEN:-1024}
TOKENS_PER_GPU=${TOKENS_PER_GPU:-4096}

base=(
    algorithm.adv_estimator=grpo
    data.train_files=/data/medqa/train.parquet
    data.val_files=/data/medqa/test.parquet
    data.train_batch_size=64
    data.max_prompt_length=1024
    data.max_response_length="${MAX_RESPONSE_LEN}"
    actor_rollout_ref.model.path=Qwen/Qwen2.5-0.5B-Instruct
    actor_rollout_ref.model.use_remove_padding=True
    actor_rollout_ref.actor.ppo_mini_batch_size=16
    actor_rollout_ref.actor.use_dynamic_bsz=True
    actor_rollout_ref.actor.ppo_max_token_len_per_gpu="${TOKENS_PER_GPU}"
    actor_rollout_ref.actor.use_kl_loss=True
    actor_rollout_ref.rollout.name=vllm
    actor_rollout_ref.rollout.n=4
    actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu="${TOKENS_PER_GPU}"
    actor_rollout_ref.ref.log_prob_max_token_len_per_gpu="${TOKENS_PER_GPU}"
    reward.custom_reward_function.path=pkg://alphamed.reward_score
    reward.custom_reward_function.name=compute_score
    trainer.nnodes="${NNODES}"
    trainer.n_gpus_per_node=8
    trainer.logger="['console']"
)

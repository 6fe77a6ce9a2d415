# Sourced by run_alphamed_8b.sh and run_med_rlvr_3b.sh after their knobs are set: the accelerator pre-flight and
# launch guard (_launch_guard.sh), the data gate, and the data / trainer override groups both recipes share,
# written once so the recipes cannot drift apart.
# Reads: PYTHON RECIPE_PROMPT_STYLE TRAIN_FILES VAL_FILES TRAIN_BATCH_SIZE MAX_PROMPT_LEN MAX_RESPONSE_LEN
#        NNODES N_GPUS_PER_NODE TOTAL_EPOCHS TEST_FREQ SAVE_FREQ PROJECT_NAME EXPERIMENT_NAME VAL_DUMP_DIR LOGGER
# shellcheck shell=bash disable=SC2034  # the arrays are used by the recipe that sources this file

# shellcheck source=examples/_launch_guard.sh
source "$(dirname "${BASH_SOURCE[0]}")/_launch_guard.sh"
# Stop here, before Ray starts, on a machine without the accelerators the recipe asks for ...
alphamed_preflight
# ... and, not after Ray has reserved the GPUs, when a data file is missing.
${PYTHON} -m alphamed.recipe.check --require-data "${RECIPE_PROMPT_STYLE}" "${TRAIN_FILES}" "${VAL_FILES}"

data=(
    data.train_files="${TRAIN_FILES}"
    data.val_files="${VAL_FILES}"
    data.train_batch_size="${TRAIN_BATCH_SIZE}"
    data.max_prompt_length="${MAX_PROMPT_LEN}"
    data.max_response_length="${MAX_RESPONSE_LEN}"
    data.filter_overlong_prompts=True
    data.truncation=error
)

trainer=(
    trainer.nnodes="${NNODES}"
    trainer.n_gpus_per_node="${N_GPUS_PER_NODE}"
    trainer.total_epochs="${TOTAL_EPOCHS}"
    trainer.test_freq="${TEST_FREQ}"
    trainer.save_freq="${SAVE_FREQ}"
    trainer.val_before_train=True
    trainer.critic_warmup=0
    trainer.project_name="${PROJECT_NAME}"
    trainer.experiment_name="${EXPERIMENT_NAME}"
    trainer.validation_data_dir="${VAL_DUMP_DIR}"
    trainer.logger="${LOGGER}"
)

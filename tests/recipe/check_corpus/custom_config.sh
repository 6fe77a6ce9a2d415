#!/usr/bin/env bash
# A recipe that ships its own YAML (configs/alphamed_grpo.yaml, built on veRL's ppo_trainer). Hydra resolves a
# relative --config-path against main_ppo.py's folder, so the path is made absolute.
# shellcheck source=tests/recipe/check_corpus/_base.sh
source "$(dirname "${BASH_SOURCE[0]}")/_base.sh"
CONFIG_PATH=${CONFIG_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/configs}
${LAUNCHER} --config-path="${CONFIG_PATH}" --config-name=alphamed_grpo "${base[@]}" "$@"

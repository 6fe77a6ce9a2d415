#!/usr/bin/env bash
# A recipe config that does not name veRL's config folder itself: hydra.searchpath on the command line does.
# shellcheck source=tests/recipe/check_corpus/_base.sh
source "$(dirname "${BASH_SOURCE[0]}")/_base.sh"
CONFIG_PATH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/configs
${LAUNCHER} --config-path="${CONFIG_PATH}" --config-name=on_verl_searchpath \
    "hydra.searchpath=[pkg://verl.trainer.config]" "${base[@]}" "$@"

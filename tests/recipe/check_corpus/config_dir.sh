#!/usr/bin/env bash
# The same YAML found through --config-dir (relative to the working directory at launch) and veRL's own
# primary config folder.
# shellcheck source=tests/recipe/check_corpus/_base.sh
source "$(dirname "${BASH_SOURCE[0]}")/_base.sh"
cd "$(dirname "${BASH_SOURCE[0]}")"
${LAUNCHER} --config-dir configs --config-name=alphamed_grpo "${base[@]}" "$@"

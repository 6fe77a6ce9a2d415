#!/usr/bin/env bash
# The whole AlphaMed pipeline on a CPU laptop, from the sample this repo ships (no network, no GPU):
# convert seven datasets -> annotate difficulty -> decontaminated mix -> `alphamed check` of the 8B recipe
# pointed at the produced files -> evaluation report. Under 5 minutes on 2 cores; exits non-zero on any failure.
#
# Default model: a tiny RANDOMLY INITIALISED model built offline (its scores are noise). On a GPU machine:
#   MODEL_PATH=meta-llama/Llama-3.1-8B-Instruct BACKEND=vllm bash examples/quickstart.sh
# Arguments are passed on: bash examples/quickstart.sh --output_dir /tmp/qs --k 8
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}
exec "${PYTHON}" -m alphamed.recipe.quickstart "$@"

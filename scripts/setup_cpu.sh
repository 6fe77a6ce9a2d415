#!/usr/bin/env bash
# Set up a CPU-only development environment in .venv from nothing but this clone.
#
# torch goes in first as the CPU build: installing verl first would pull a multi-GB CUDA torch.
# Versions are pinned in scripts/constraints-cpu.txt so a fresh machine gets what CI tested.
# Pip's cache and Hugging Face's caches stay inside the clone (.cache/), so nothing is cached outside it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$ROOT/.cache/pip}"
PYTHON="${PYTHON:-python3}"

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# TORCH_INDEX_URL (e.g. PyTorch's CPU wheel index) picks where the CPU build comes from; unset, pip's own
# configuration decides (on this project's machines a local CPU wheel).
.venv/bin/python -m pip install -q -c scripts/constraints-cpu.txt ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} torch
.venv/bin/python -m pip install -q -c scripts/constraints-cpu.txt -e ".[test]"
echo "alphamed-verl: CPU environment ready in $ROOT/.venv"

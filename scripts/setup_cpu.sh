#!/usr/bin/env bash
# Set up a CPU-only development environment in .venv from nothing but this clone.
#
# torch goes in first as the CPU build: installing verl first would pull a multi-GB CUDA torch. Where torch comes
# from, in this order: TORCH_INDEX_URL when set ("" = pip's own configuration); else PyTorch's CPU wheel index
# (TORCH_CPU_INDEX) when it answers within PROBE_TIMEOUT_S seconds; else pip's default index (a machine that
# reaches only PyPI or a mirror -- CI, this project's machines -- falls back at once, with one line saying so).
# Versions are pinned in scripts/constraints-cpu.txt so a fresh machine gets what CI tested.
# Pip's cache and Hugging Face's caches stay inside the clone (.cache/), so nothing is cached outside it.
# DRY_RUN=1 prints the commands instead of running them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$ROOT/.cache/pip}"
PYTHON="${PYTHON:-python3}"
TORCH_CPU_INDEX="${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"
PROBE_TIMEOUT_S="${PROBE_TIMEOUT_S:-5}"

run() {
    if [[ "${DRY_RUN:-0}" == 1 ]]; then
        echo "+ $*"
    else
        "$@"
    fi
}

# Whether URL answers within PROBE_TIMEOUT_S seconds (name lookup included), through the proxies pip would use.
reachable() {
    local probe=("$PYTHON" -c 'import sys, urllib.request as u; u.urlopen(u.Request(sys.argv[1], method="HEAD"), timeout=float(sys.argv[2]))' "$1" "$PROBE_TIMEOUT_S")
    command -v timeout >/dev/null 2>&1 && probe=(timeout "$((PROBE_TIMEOUT_S + 1))" "${probe[@]}")
    "${probe[@]}" >/dev/null 2>&1
}

# The pip arguments that pick torch's index.
torch_index_args() {
    if [[ -n "${TORCH_INDEX_URL+set}" ]]; then
        if [[ -n "$TORCH_INDEX_URL" ]]; then
            echo "--index-url $TORCH_INDEX_URL"
        fi
    elif reachable "$TORCH_CPU_INDEX/torch/"; then
        echo "--index-url $TORCH_CPU_INDEX"
    else
        echo "alphamed-verl: PyTorch's CPU index ($TORCH_CPU_INDEX) is not reachable; torch comes from pip's" \
            "default index (set TORCH_INDEX_URL to choose)" >&2
    fi
}

TORCH_INDEX_ARGS=$(torch_index_args)
[[ -x .venv/bin/python ]] || run "$PYTHON" -m venv .venv
run .venv/bin/python -m pip install -q --upgrade pip
# shellcheck disable=SC2086  # "--index-url URL" is two words, or none
run .venv/bin/python -m pip install -q -c scripts/constraints-cpu.txt $TORCH_INDEX_ARGS torch
run .venv/bin/python -m pip install -q -c scripts/constraints-cpu.txt -e ".[test]"
[[ "${DRY_RUN:-0}" == 1 ]] || echo "alphamed-verl: CPU environment ready in $ROOT/.venv"

# Sourced by every training recipe (through _recipe_common.sh, or directly): what stands between a recipe and a
# veRL launch that never ends.
#
# 1. The pre-flight. veRL starts Ray, prints its whole config, then waits -- silently and forever -- for GPUs a
#    machine does not have. So before anything starts, count the accelerators this process can see and stop with
#    one line when there are fewer than N_GPUS_PER_NODE. The count needs no torch (seconds to import): NVIDIA
#    `nvidia-smi -L` (else /dev/nvidia<N>), AMD ROCm's KFD topology (/dev/kfd + nodes with a gpu_id), Ascend
#    /dev/davinci<N>; CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES / ROCR_VISIBLE_DEVICES /
#    ASCEND_RT_VISIBLE_DEVICES narrow it as they narrow Ray's own count. Skipped under `alphamed check`
#    (ALPHAMED_CHECK=1, which only records the launch) and with FORCE_LAUNCH=1 (e.g. `ray job submit` from a
#    machine without GPUs to a cluster that has them).
# 2. The launch guard. Every process this launch starts carries ALPHAMED_LAUNCH_ID in its environment (Ray's
#    daemons and workers inherit it even in their own sessions). When the launcher exits, dies, or the script is
#    interrupted, exactly those processes get SIGTERM, then SIGKILL after STOP_GRACE_S: nothing of this launch
#    outlives it, and nothing else (another run's Ray cluster) is touched.
#
# Use: set the knobs (N_GPUS_PER_NODE), source this file, call alphamed_preflight, then launch in the background
# (so that an interrupt reaches this shell's traps at once, not after veRL exits) and wait for it:
#   ${LAUNCHER} "${args[@]}" "$@" &
#   alphamed_wait_launch $!
# shellcheck shell=bash

ALPHAMED_RECIPE=${ALPHAMED_RECIPE:-$0}

# How many paths match the glob PATTERN (0 when none; a plain count, so errexit and pipefail stay out of it).
alphamed_count_paths() {
    local path count=0
    for path in $1; do
        [[ -e "${path}" ]] && count=$((count + 1))
    done
    echo "${count}"
}

# How many accelerators of each kind this process may use (0 when there are none); prints the larger count.
alphamed_count_accelerators() {
    local nvidia=0 amd=0 ascend=0 gpu_id list_gpus=(nvidia-smi -L)
    # A driver that cannot answer means no usable GPU; `timeout` keeps a wedged driver from hanging us here.
    command -v timeout >/dev/null 2>&1 && list_gpus=(timeout 30 "${list_gpus[@]}")
    if command -v nvidia-smi >/dev/null 2>&1; then
        nvidia=$("${list_gpus[@]}" 2>/dev/null | grep -c '^GPU ' || true)
    else
        nvidia=$(alphamed_count_paths '/dev/nvidia[0-9]*')
    fi
    nvidia=$(alphamed_narrow "${nvidia}" "${CUDA_VISIBLE_DEVICES-unset}")
    if [[ -e /dev/kfd ]]; then
        for gpu_id in /sys/class/kfd/kfd/topology/nodes/*/gpu_id; do
            [[ -r "${gpu_id}" && "$(<"${gpu_id}")" != 0 ]] && amd=$((amd + 1))
        done
    fi
    amd=$(alphamed_narrow "$(alphamed_narrow "${amd}" "${ROCR_VISIBLE_DEVICES-unset}")" "${HIP_VISIBLE_DEVICES-unset}")
    ascend=$(alphamed_narrow "$(alphamed_count_paths '/dev/davinci[0-9]*')" "${ASCEND_RT_VISIBLE_DEVICES-unset}")
    printf '%s\n' "${nvidia}" "${amd}" "${ascend}" | sort -n | tail -1
}

# The count a *_VISIBLE_DEVICES value leaves of FOUND devices: unset -> all; "" or -1 -> none; a list -> its length.
alphamed_narrow() {
    local found=$1 visible=$2 listed
    if [[ "${visible}" == unset ]]; then
        echo "${found}"
    elif [[ -z "${visible}" || "${visible}" == -1* || "${visible}" == NoDevFiles ]]; then
        echo 0
    else
        listed=$(tr ',' '\n' <<<"${visible}" | grep -c . || true)
        echo $((listed < found ? listed : found))
    fi
}

# Stop here, before Ray or veRL start, when this machine cannot host the launch.
alphamed_preflight() {
    if [[ "${ALPHAMED_CHECK:-0}" == 1 ]]; then
        return 0
    fi
    if [[ "${FORCE_LAUNCH:-0}" == 1 ]]; then
        echo "FORCE_LAUNCH=1: launching without the accelerator pre-flight" >&2
        return 0
    fi
    local found wanted=${N_GPUS_PER_NODE:-1}
    found=$(alphamed_count_accelerators)
    if ((found == 0)); then
        echo "ERROR: ${ALPHAMED_RECIPE}: no accelerator is visible on this machine (no GPU from nvidia-smi or" \
            "/dev/nvidia*, no ROCm or Ascend device), so veRL would start Ray and wait for GPUs forever; check the" \
            "recipe on CPU with \`alphamed check ${ALPHAMED_RECIPE}\`, or set FORCE_LAUNCH=1 to launch anyway" >&2
        exit 1
    fi
    if ((found < wanted)); then
        echo "ERROR: ${ALPHAMED_RECIPE}: N_GPUS_PER_NODE=${wanted} but this machine shows ${found} accelerator(s)," \
            "so veRL would wait forever for the rest; set N_GPUS_PER_NODE=${found} (then \`alphamed check" \
            "${ALPHAMED_RECIPE}\`), or FORCE_LAUNCH=1 to launch anyway" >&2
        exit 1
    fi
}

ALPHAMED_LAUNCH_ID="$$.${RANDOM}${RANDOM}.$(date +%s)"
export ALPHAMED_LAUNCH_ID
ALPHAMED_LAUNCH_PID=

# PIDs of every live process that carries this launch's id (never this shell, whose environment predates it).
alphamed_launch_pids() {
    grep -lzx "ALPHAMED_LAUNCH_ID=${ALPHAMED_LAUNCH_ID}" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 || true
    if [[ -n "${ALPHAMED_LAUNCH_PID}" ]] && kill -0 "${ALPHAMED_LAUNCH_PID}" 2>/dev/null; then
        echo "${ALPHAMED_LAUNCH_PID}"  # where there is no /proc, at least the launcher itself
    fi
}

# SIGTERM every process of this launch, then SIGKILL whatever is still there after STOP_GRACE_S seconds.
alphamed_stop_launch() {
    local pids tick
    [[ -z "${!:-}" ]] && return 0 # nothing was launched in the background yet
    # From here on the helpers below (grep, sort, ...) must not carry the id, or they would count as the launch.
    export -n ALPHAMED_LAUNCH_ID
    pids=$(alphamed_launch_pids | sort -u)
    [[ -z "${pids}" ]] && return 0
    echo "stopping this launch's $(wc -w <<<"${pids}") process(es), Ray's included" >&2
    # shellcheck disable=SC2086  # one PID per word
    kill -TERM ${pids} 2>/dev/null || true
    for ((tick = 0; tick < ${STOP_GRACE_S:-10} * 10; tick++)); do
        pids=$(alphamed_launch_pids | sort -u)
        [[ -z "${pids}" ]] && return 0
        sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -KILL ${pids} 2>/dev/null || true
}

# The exit path of every recipe: take the launch down with the script, then end with STATUS.
alphamed_end_launch() {
    local status=$1
    { set +x; } 2>/dev/null
    trap - EXIT INT TERM HUP
    alphamed_stop_launch
    exit "${status}"
}

# Wait for the launcher started in the background as PID, stop whatever of the launch outlived it, and return
# the launcher's exit status (under errexit a failure then ends the script with it).
alphamed_wait_launch() {
    { set +x; } 2>/dev/null
    ALPHAMED_LAUNCH_PID=$1
    local status=0
    wait "${ALPHAMED_LAUNCH_PID}" || status=$?
    alphamed_stop_launch
    ALPHAMED_LAUNCH_PID=
    return "${status}"
}

trap 'alphamed_end_launch $?' EXIT
trap 'alphamed_end_launch 130' INT
trap 'alphamed_end_launch 143' TERM
trap 'alphamed_end_launch 129' HUP

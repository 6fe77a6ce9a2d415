"""The recipes' pre-flight and launch guard (examples/_launch_guard.sh), run for real with bash.

This machine has no accelerator, so the pre-flight must refuse here; the guard is exercised with a real local Ray
cluster, interrupted, and with a launcher that dies leaving a process in its own session.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from alphamed.data_preprocess import EVAL_SPLITS, TRAIN_SPLITS
from tests.conftest import REPO_ROOT

RECIPE = REPO_ROOT / "examples" / "run_alphamed_8b.sh"
ACCELERATOR_DEVICES = ("/dev/nvidia[0-9]*", "/dev/kfd", "/dev/davinci[0-9]*")
HAS_ACCELERATOR = shutil.which("nvidia-smi") is not None or any(glob.glob(p) for p in ACCELERATOR_DEVICES)
needs_proc = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """Every file the 8B recipe's data gate asks for (empty: the gate checks presence, the launcher is ours)."""
    root = tmp_path / "data"
    for folder, split in [*TRAIN_SPLITS.values(), *EVAL_SPLITS.values()]:
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / f"{split}.parquet").write_bytes(b"")
    return root


def recipe_env(data_root: Path, launcher: str = "echo LAUNCHED", **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_LAUNCH", "ALPHAMED_CHECK", "N_GPUS_PER_NODE")}
    return {**env, "DATA_ROOT": str(data_root), "PYTHON": sys.executable, "LAUNCHER": launcher, **extra}


def run_recipe(env: dict[str, str], script: Path = RECIPE) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(HAS_ACCELERATOR, reason="this machine has an accelerator; the refusal is tested on CPU machines")
@pytest.mark.parametrize("script", ["run_alphamed_8b.sh", "run_alphamed_3b.sh", "run_med_rlvr_3b.sh", "smoke_gpu.sh"])
def test_no_accelerator_is_one_line_and_exit_1_before_anything_starts(script: str, data_root: Path) -> None:
    result = run_recipe(recipe_env(data_root), REPO_ROOT / "examples" / script)
    assert result.returncode == 1
    assert "LAUNCHED" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"ERROR: {REPO_ROOT / 'examples' / script}: no accelerator is visible")
    assert f"alphamed check {REPO_ROOT / 'examples' / script}" in lines[0] and "FORCE_LAUNCH=1" in lines[0]


def test_force_launch_skips_the_pre_flight(data_root: Path) -> None:
    result = run_recipe(recipe_env(data_root, FORCE_LAUNCH="1"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("LAUNCHED algorithm.adv_estimator=grpo")


def fake_nvidia_smi(tmp_path: Path, gpus: int) -> str:
    """A PATH whose nvidia-smi lists ``gpus`` GPUs the way the real one does (the count is what is under test)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    lines = "".join(f"echo 'GPU {i}: NVIDIA H100 80GB HBM3 (UUID: GPU-{i:08d})'\n" for i in range(gpus))
    (bin_dir / "nvidia-smi").write_text(f"#!/bin/sh\n{lines}", encoding="utf-8")
    (bin_dir / "nvidia-smi").chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


@pytest.mark.parametrize(
    ("gpus", "settings", "refusal"),
    [
        (8, {}, None),
        (2, {}, "N_GPUS_PER_NODE=8 but this machine shows 2 accelerator(s)"),
        (2, {"N_GPUS_PER_NODE": "2"}, None),
        (8, {"N_GPUS_PER_NODE": "2", "CUDA_VISIBLE_DEVICES": "3"}, "N_GPUS_PER_NODE=2 but this machine shows 1"),
        (8, {"CUDA_VISIBLE_DEVICES": ""}, "no accelerator is visible"),
        (8, {"CUDA_VISIBLE_DEVICES": "-1"}, "no accelerator is visible"),
        (0, {}, "no accelerator is visible"),
    ],
)
def test_pre_flight_counts_the_visible_gpus(
    gpus: int, settings: dict[str, str], refusal: str | None, data_root: Path, tmp_path: Path
) -> None:
    env = recipe_env(data_root, PATH=fake_nvidia_smi(tmp_path, gpus), **settings)
    if "CUDA_VISIBLE_DEVICES" not in settings:
        env.pop("CUDA_VISIBLE_DEVICES", None)
    result = run_recipe(env)
    if refusal is None:
        assert result.returncode == 0 and "LAUNCHED" in result.stdout, result.stderr
    else:
        assert result.returncode == 1 and refusal in result.stderr and "LAUNCHED" not in result.stdout


def processes_with(marker: str) -> list[int]:
    """PIDs whose environment holds ``marker`` (every descendant of a process started with it)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            continue  # gone meanwhile, or another user's
    return found


def wait_until_gone(marker: str, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


RAY_LAUNCHER = """
import time
import ray

ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
ray.get(ray.remote(lambda: 1).remote())  # a worker process exists too
print("RAY UP", flush=True)
time.sleep(600)
"""


@needs_proc
@pytest.mark.slow
def test_interrupting_a_launch_stops_its_ray_cluster(data_root: Path, tmp_path: Path) -> None:
    launcher = tmp_path / "launcher.py"
    launcher.write_text(RAY_LAUNCHER, encoding="utf-8")
    marker = f"ALPHAMED_TEST_LAUNCH={uuid.uuid4().hex}"
    name, value = marker.split("=")
    env = recipe_env(data_root, f"{sys.executable} {launcher}", FORCE_LAUNCH="1", RAY_USAGE_STATS_ENABLED="0")
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        proc = subprocess.Popen(["bash", str(RECIPE)], env={**env, name: value}, stdout=subprocess.PIPE, stderr=stderr)
    try:
        assert proc.stdout is not None
        # blocks until the cluster is up, or the launcher died
        assert b"RAY UP" in proc.stdout.readline(), log.read_text()[-3000:]
        started = processes_with(marker)
        assert len(started) >= 4, "bash, the driver, Ray's GCS and raylet at least"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 143
        assert wait_until_gone(marker, 20) == [], "processes of the interrupted launch are still running"
    finally:
        for pid in processes_with(marker):  # only this test's own processes
            os.kill(pid, signal.SIGKILL)


@needs_proc
def test_a_launcher_that_dies_takes_its_processes_with_it(data_root: Path, tmp_path: Path) -> None:
    """Even a child in its own session (as Ray starts some of its daemons) goes when the launcher fails."""
    launcher = tmp_path / "launcher.sh"
    launcher.write_text("#!/bin/sh\nsetsid sleep 300 &\necho started\nexit 3\n", encoding="utf-8")
    launcher.chmod(0o755)
    marker = f"ALPHAMED_TEST_LAUNCH={uuid.uuid4().hex}"
    name, value = marker.split("=")
    env = {**recipe_env(data_root, str(launcher), FORCE_LAUNCH="1", STOP_GRACE_S="5"), name: value}
    try:
        result = run_recipe(env)
        assert result.returncode == 3, result.stderr
        assert "started" in result.stdout and "stopping this launch's 1 process(es)" in result.stderr
        assert wait_until_gone(marker, 5) == []
    finally:
        for pid in processes_with(marker):
            os.kill(pid, signal.SIGKILL)

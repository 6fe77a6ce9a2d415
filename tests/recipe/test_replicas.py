"""Ray replicas of a backend: same output as one process whatever the replica count, real kills, one-line faults.

The replicas are real Ray actors holding the real hf backend with the tiny random model, on one small local
cluster shared by the module (2 CPUs, no dashboard); the command-line tests start their own, as a user's run does.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import ray

from alphamed.data_preprocess.parquet_io import write_records_parquet
from alphamed.recipe.difficulty import annotate
from alphamed.recipe.engine import read_sidecar
from alphamed.recipe.generate import GenerationError, HfBackend, SamplingConfig, uses_ray
from alphamed.recipe.replicas import (
    ReplicaPool,
    ReplicaSpec,
    check_resources,
    replica_spec,
    replicas_from_args,
)
from tests.conftest import REPO_ROOT
from tests.recipe.test_difficulty import _annotate_command, real_records

SAMPLING = SamplingConfig(n=2, max_tokens=12, temperature=1.0, top_p=1.0, seed=5)
BATCH = 4


# ---------------------------------------------------------------- what a replica reserves (no cluster needed)


def test_vllm_replicas_reserve_their_tensor_parallel_gpus_and_use_the_mp_executor() -> None:
    spec = replica_spec("vllm", "m", {"tensor_parallel_size": 4, "dtype": "auto"}, cluster_gpus=0)
    assert (spec.num_gpus, spec.options["distributed_executor_backend"], spec.options["dtype"]) == (4, "mp", "auto")
    assert "distributed_executor_backend" not in replica_spec("vllm", "m", {"tensor_parallel_size": 1}, 8).options


def test_hf_replicas_take_a_gpu_when_the_cluster_has_one_else_a_cpu_thread() -> None:
    on_gpu = replica_spec("hf", "m", {"device": "auto", "dtype": "auto"}, cluster_gpus=8)
    assert (on_gpu.num_gpus, on_gpu.options["device"], on_gpu.torch_threads) == (1, "cuda", None)
    assert replica_spec("hf", "m", {"device": "cuda:3"}, cluster_gpus=8).options["device"] == "cuda"
    on_cpu = replica_spec("hf", "m", {"device": "auto"}, cluster_gpus=0)
    assert (on_cpu.num_gpus, on_cpu.num_cpus, on_cpu.options["device"], on_cpu.torch_threads) == (0, 1, "cpu", 1)
    with pytest.raises(ValueError, match="already sends --max_concurrency"):
        replica_spec("openai", "m", {}, cluster_gpus=0)


def test_a_cluster_too_small_for_the_replicas_is_refused_up_front() -> None:
    tp2 = ReplicaSpec("vllm", "m", num_gpus=2)
    check_resources(tp2, 4, [{"GPU": 8.0}])
    check_resources(tp2, 2, [{"GPU": 3.0}, {"GPU": 2.0}])
    with pytest.raises(ValueError, match=r"room for 2 vllm replica\(s\) of 2 GPU each, not 3 \(GPUs per node: 3, 2\)"):
        check_resources(tp2, 3, [{"GPU": 3.0}, {"GPU": 2.0}])  # 5 GPUs, but a replica cannot span two nodes
    with pytest.raises(ValueError, match="room for 2 hf replica"):
        check_resources(ReplicaSpec("hf", "m"), 3, [{"CPU": 2.0, "GPU": 0.0}])


def test_ray_is_used_only_when_asked_for(monkeypatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")  # a Ray job's environment alone keeps a run in-process
    assert not uses_ray(argparse.Namespace(replicas=1, ray_address=None))
    assert uses_ray(argparse.Namespace(replicas=2, ray_address=None))
    assert uses_ray(argparse.Namespace(replicas=1, ray_address="auto"))
    with pytest.raises(ValueError, match="--replicas must be >= 1"):
        uses_ray(argparse.Namespace(replicas=0, ray_address=None))


def test_the_default_single_process_run_does_not_import_ray(tiny_model_dir: Path) -> None:
    code = (
        "import sys; from alphamed.recipe.generate import main; "
        f"main(['--backend', 'hf', '--device', 'cpu', '--model', {str(tiny_model_dir)!r}, '--prompt', 'hi', "
        "'--max_tokens', '3']); print('ray imported:', 'ray' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().endswith("ray imported: False")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--replicas", "2", "--backend", "openai"], "--replicas runs vllm or hf replicas, not openai"),
        (["--replicas", "2", "--ray_address", "127.0.0.1:1"], "cannot reach the Ray cluster at '127.0.0.1:1'"),
        (["--replicas", "0"], "--replicas must be >= 1"),
    ],
)
def test_replica_faults_before_any_work_are_one_line(flags: list[str], message: str, tiny_model_dir, tmp_path) -> None:
    write_records_parquet(real_records(medqa=2, pubmedqa=0), tmp_path / "in.parquet")
    command = [*_annotate_command(tmp_path / "in.parquet", tmp_path / "out.parquet", tiny_model_dir), *flags]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1].startswith(f"alphamed annotate: error: {message}"), run.stderr
    assert "Traceback" not in run.stderr


# ---------------------------------------------------------------- replicas on a real local cluster


@pytest.fixture(scope="module")
def cluster():
    """One small local Ray cluster for the module; the pools below see it is up and leave it running."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return real_records(medqa=12, pubmedqa=12)  # 6 batches of 4, both prompt styles


@pytest.fixture(scope="module")
def reference(tiny_model_dir: Path, records: list[dict], tmp_path_factory) -> dict:
    """The single-process run (no Ray) that every replica count must reproduce byte for byte."""
    out = tmp_path_factory.mktemp("in_process") / "out.parquet"
    backend = HfBackend(str(tiny_model_dir), device="cpu")
    annotate(records, backend, SAMPLING, out, batch_size=BATCH)
    return {"parquet": out.read_bytes(), "sidecar": read_sidecar(out.with_suffix(".sidecar.jsonl")), "model": backend}


def _spec(model: Path | str) -> ReplicaSpec:
    return replica_spec("hf", str(model), {"device": "cpu", "dtype": "auto", "tokenizer": None}, cluster_gpus=0)


@pytest.mark.slow
@pytest.mark.parametrize("replicas", [1, 2])
def test_n_replicas_give_the_single_process_output_byte_for_byte(
    cluster, tiny_model_dir, records, reference, replicas, tmp_path
) -> None:
    pool = ReplicaPool(_spec(tiny_model_dir), replicas)
    try:
        out = tmp_path / "out.parquet"
        annotate(records, pool, SAMPLING, out, batch_size=BATCH)
        assert out.read_bytes() == reference["parquet"]
        assert read_sidecar(out.with_suffix(".sidecar.jsonl")) == reference["sidecar"]
        served = [pool.replica_info(i)["batches"] for i in range(replicas)]
        assert sum(served) == 6 and all(served), served  # every replica generated some of the batches
        assert pool.model == reference["model"].model  # the sidecar's settings match the in-process run's
        assert {pool.replica_info(i)["torch_threads"] for i in range(replicas)} == {1}
    finally:
        pool.close()


@pytest.mark.slow
def test_a_killed_replica_is_replaced_and_its_batches_retried(
    cluster, tiny_model_dir, records, reference, tmp_path, caplog
) -> None:
    pool = ReplicaPool(_spec(tiny_model_dir), 2, max_retries=2)
    try:
        victim = pool.replica_info(0)["pid"]
        batches = pool.generate_batches(
            {b: [r["prompt"] for r in records[b * 4 : b * 4 + 4]] for b in range(6)}, SAMPLING
        )
        first = next(batches)
        os.kill(victim, signal.SIGKILL)  # the replica's own process, mid-run: it holds at least one more batch
        with caplog.at_level(logging.WARNING, logger="alphamed.recipe.replicas"):
            done = dict([(first[0], first[1]), *((b, outputs) for b, outputs, _ in batches)])
        assert sorted(done) == list(range(6))
        expected = reference["sidecar"]
        for b, outputs in done.items():
            assert outputs == [expected[r["extra_info"]["id"]].responses for r in records[b * 4 : b * 4 + 4]]
        assert "replica #0 died" in caplog.text and "retry 1 of 2" in caplog.text
        assert pool.replica_info(0)["pid"] != victim
        # Past --max_retries the run stops with one line naming the batch.
        pool.max_retries = 0
        os.kill(pool.replica_info(1)["pid"], signal.SIGKILL)
        with pytest.raises(GenerationError, match=r"batch \d: its replica died 1 times \(--max_retries 0\); last: "):
            for _ in pool.generate_batches({0: [records[0]["prompt"]], 1: [records[1]["prompt"]]}, SAMPLING):
                pass
    finally:
        pool.close()


@pytest.mark.slow
def test_a_run_on_a_joined_cluster_ends_its_replicas_and_leaves_the_cluster(cluster, tiny_model_dir) -> None:
    args = argparse.Namespace(
        model=str(tiny_model_dir), backend="hf", device="cpu", dtype="auto", tokenizer=None,
        replicas=2, ray_address=None, max_retries=1,
    )  # fmt: skip
    with replicas_from_args(args) as pool:
        pids = [pool.replica_info(i)["pid"] for i in range(2)]
        [texts] = pool.generate([[{"role": "user", "content": "Which drug?"}]], SAMPLING)
        counts = pool.count_tokens(texts)
        assert len(texts) == len(counts) == SAMPLING.n and all(isinstance(c, int) for c in counts)
    assert ray.is_initialized()  # the cluster this process had joined is still there
    assert _gone(pids), "the run's replicas outlived it"


@pytest.mark.slow
def test_a_replica_that_cannot_load_its_model_is_one_clear_error(cluster, tmp_path) -> None:
    with pytest.raises(GenerationError, match=r"a hf replica could not start: ValueError: .*not-a-model") as err:
        ReplicaPool(_spec(tmp_path / "not-a-model"), 1)
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------- the command: Ctrl-C, SIGKILL, resume


def _replica_pids(stderr: Path, deadline: float) -> list[int]:
    while time.monotonic() < deadline:
        found = re.findall(r"#\d pid (\d+)", stderr.read_text())
        if found:
            return [int(pid) for pid in found]
        time.sleep(0.1)
    raise AssertionError(f"no replicas reported:\n{stderr.read_text()[-2000:]}")


def _gone(pids: list[int], within: float = 30) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                os.kill(pid, 0)
                alive.append(pid)
            except ProcessLookupError:
                pass
        if not alive:
            return True
        time.sleep(0.2)
    return False


def _interrupt_after_first_batch(command: list[str], sidecar: Path, log: Path, sig: int) -> tuple[int, list[int]]:
    """Start ``command``, send ``sig`` once a batch is on disk; its exit status and its replicas' pids."""
    with open(log, "w") as err:
        victim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 180
    pids = _replica_pids(log, deadline)
    while time.monotonic() < deadline and victim.poll() is None:
        if sidecar.is_file() and sidecar.read_bytes().count(b"\n") >= 4:
            victim.send_signal(sig)
            break
        time.sleep(0.02)
    return victim.wait(timeout=120), pids


@pytest.mark.slow
def test_interrupted_and_killed_runs_leave_no_process_and_resume_to_the_same_output(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    records = real_records(medqa=10, pubmedqa=30)
    write_records_parquet(records, tmp_path / "in.parquet")
    ref = tmp_path / "ref" / "out.parquet"
    reference = subprocess.run(
        _annotate_command(tmp_path / "in.parquet", ref, tiny_model_dir), capture_output=True, text=True, timeout=300
    )
    assert reference.returncode == 0, reference.stderr[-2000:]
    out = tmp_path / "replicas" / "out.parquet"
    command = [*_annotate_command(tmp_path / "in.parquet", out, tiny_model_dir), "--replicas", "2"]
    sidecar = out.parent / "out.sidecar.jsonl"

    status, pids = _interrupt_after_first_batch(command, sidecar, tmp_path / "int.log", signal.SIGINT)  # Ctrl-C
    lines = (tmp_path / "int.log").read_text().splitlines()
    assert status == 130, lines[-20:]
    assert lines[-1] == "alphamed annotate: interrupted; run the same command again to resume"
    assert not any("Traceback" in line for line in lines)
    assert _gone(pids), f"replicas {pids} outlived the interrupted run"

    status, pids = _interrupt_after_first_batch(command, sidecar, tmp_path / "kill.log", signal.SIGKILL)
    assert status == -signal.SIGKILL
    assert _gone(pids), f"replicas {pids} outlived the killed driver"  # Ray's processes share the driver's fate

    lines = sidecar.read_bytes().count(b"\n")
    done = lines - lines % 4  # a kill can land between the writes of one batch's lines
    assert 4 <= done < len(records) and not out.exists()
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming; {done} of {len(records)} items already done" in resumed.stdout
    assert out.read_bytes() == ref.read_bytes()
    assert read_sidecar(sidecar) == read_sidecar(ref.parent / "out.sidecar.jsonl")

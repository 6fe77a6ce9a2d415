"""``alphamed annotate`` and ``alphamed eval`` on an output they cannot use: one line naming the file, no traceback.

Each fault is planted for real: an output folder below a regular file, a folder this user cannot write (mode
0555; for root, whom modes do not stop, the immutable attribute), more bytes needed than the disk has free, an
output another live process has locked, and a sidecar append the kernel refuses part way through the run (a
file-size limit: EFBIG, the same path through the code as ENOSPC on a full disk). The checks come before the
model loads, so those tests name a model that does not exist: had it been loaded first, its error would show.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from alphamed.data_preprocess.parquet_io import lock_path, read_records_parquet, write_records_parquet
from alphamed.recipe.difficulty import main as annotate_main
from alphamed.recipe.engine import SamplingConfig, read_sidecar, sidecar_bytes_needed
from alphamed.recipe.evaluation import main as eval_main
from tests.conftest import REPO_ROOT, lock_held_elsewhere
from tests.recipe.eval_fixtures import write_benchmark_dir
from tests.recipe.test_difficulty import real_records

BATCH = 4


def annotate_argv(input_path: Path, output: Path, model: Path, *extra: str) -> list[str]:
    return [
        "--input", str(input_path), "--output", str(output), "--model", str(model), "--backend", "hf",
        "--device", "cpu", "--k", "2", "--max_tokens", "8", "--batch_size", str(BATCH), "--seed", "5", *extra,
    ]  # fmt: skip


def eval_argv(data_dir: Path, output_dir: Path, model: Path, *extra: str) -> list[str]:
    return [
        "--model", str(model), "--backend", "hf", "--device", "cpu", "--data_dir", str(data_dir),
        "--benchmarks", "medqa,pubmedqa", "--output_dir", str(output_dir), "--max_tokens", "6",
        "--batch_size", "2", *extra,
    ]  # fmt: skip


@pytest.fixture
def annotate_input(tmp_path: Path) -> Path:
    path = tmp_path / "in.parquet"
    write_records_parquet(real_records(medqa=4, pubmedqa=8), path)
    return path


@pytest.fixture
def no_model(tmp_path: Path) -> Path:
    """A model path that does not exist: loading it is an error, so any other error proves it was never loaded."""
    return tmp_path / "model-never-loaded"


def one_error_line(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_annotate_refuses_an_output_folder_it_cannot_write_before_the_model_loads(
    annotate_input: Path, no_model: Path, tmp_path: Path, capsys
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert annotate_main(annotate_argv(annotate_input, blocker / "out.parquet", no_model)) == 2
    assert one_error_line(capsys) == (
        f"alphamed annotate: error: {blocker}: cannot write an output here (it is a file, not a folder)\n"
    )
    sidecar = blocker / "sub" / "s.jsonl"  # the sidecar's folder is checked too: below a file, ENOTDIR
    argv = annotate_argv(annotate_input, tmp_path / "out" / "out.parquet", no_model, "--sidecar", str(sidecar))
    assert annotate_main(argv) == 2
    assert one_error_line(capsys) == (
        f"alphamed annotate: error: {sidecar.parent}: cannot write an output here (Not a directory [ENOTDIR])\n"
    )


def test_eval_refuses_an_output_dir_it_cannot_write_before_the_model_loads(
    no_model: Path, tmp_path: Path, capsys
) -> None:
    data_dir = write_benchmark_dir(tmp_path / "data", only=("medqa", "pubmedqa"))
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert eval_main(eval_argv(data_dir, blocker, no_model)) == 1
    assert one_error_line(capsys) == (
        f"alphamed eval: error: {blocker}: cannot write an output here (it is a file, not a folder)\n"
    )


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[Path]:
    """``folder`` made so that this user cannot create files in it: mode 0555, or for root (whom modes do not
    stop) the immutable attribute; skips where neither works (root on a file system without ``chattr``)."""
    folder.mkdir()
    folder.chmod(0o555)
    immutable = False
    try:
        if os.access(folder, os.W_OK):
            chattr = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
            if chattr.returncode != 0:
                pytest.skip(f"root ignores mode 0555 and chattr +i failed here: {chattr.stderr.strip()!r}")
            immutable = True
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def test_a_read_only_output_folder_is_refused_before_the_model_loads(
    annotate_input: Path, no_model: Path, tmp_path: Path, capsys
) -> None:
    data_dir = write_benchmark_dir(tmp_path / "data", only=("medqa", "pubmedqa"))
    with read_only_folder(tmp_path / "read_only") as folder:
        assert annotate_main(annotate_argv(annotate_input, folder / "out.parquet", no_model)) == 2
        assert one_error_line(capsys).startswith(f"alphamed annotate: error: {folder}: cannot write an output here (")
        assert eval_main(eval_argv(data_dir, folder / "eval", no_model)) == 1
        assert one_error_line(capsys).startswith(f"alphamed eval: error: {folder / 'eval'}: cannot write an output")
        assert list(folder.iterdir()) == []


def test_a_disk_without_room_for_the_run_is_refused_before_the_model_loads(
    annotate_input: Path, no_model: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out"
    huge = ["--max_tokens", str(shutil.disk_usage(tmp_path).free)]  # x 4 bytes x k per item: more than is free
    assert annotate_main([*annotate_argv(annotate_input, out / "x.parquet", no_model), *huge]) == 2
    space = r": only [\d.]+ MB free, [\d.]+ MB needed \[ENOSPC\]\n"
    assert re.fullmatch(f"alphamed annotate: error: {re.escape(str(out))}{space}", one_error_line(capsys))
    assert list(out.iterdir()) == []  # no sidecar, no settings file, no lock
    data_dir = write_benchmark_dir(tmp_path / "data", only=("medqa", "pubmedqa"))
    assert eval_main([*eval_argv(data_dir, tmp_path / "eval", no_model), *huge]) == 1
    assert re.fullmatch(f"alphamed eval: error: {re.escape(str(tmp_path / 'eval'))}{space}", one_error_line(capsys))


def test_the_sidecar_estimate_counts_prompts_responses_and_what_a_resume_already_has(tmp_path: Path) -> None:
    records = real_records(medqa=3, pubmedqa=3)
    sampling = SamplingConfig(n=2, max_tokens=100, temperature=1.0, top_p=1.0, seed=0)
    prompt_bytes = sum(len(m["content"].encode()) for r in records for m in r["prompt"])
    base = sidecar_bytes_needed(records, sampling)
    assert base > prompt_bytes + len(records) * 2 * 100  # every prompt, and at least a byte per token
    more = SamplingConfig(n=4, max_tokens=100, temperature=1.0, top_p=1.0, seed=0)
    longer = SamplingConfig(n=2, max_tokens=200, temperature=1.0, top_p=1.0, seed=0)
    assert sidecar_bytes_needed(records, more) - base == sidecar_bytes_needed(records, longer) - base > 0
    assert sidecar_bytes_needed(records[:3], sampling) + sidecar_bytes_needed(records[3:], sampling) == base
    sidecar = tmp_path / "s.jsonl"
    sidecar.write_bytes(b"x" * 1000)  # a resumed run: part of the sidecar is on disk already
    assert sidecar_bytes_needed(records, sampling, sidecar) == base - 1000
    sidecar.write_bytes(b"x" * (base + 1))
    assert sidecar_bytes_needed(records, sampling, sidecar) == 0


def test_annotate_refuses_an_output_or_sidecar_in_use_and_takes_over_a_dead_runs_lock(
    annotate_input: Path, no_model: Path, tiny_model_dir: Path, tmp_path: Path, capsys
) -> None:
    output = tmp_path / "out" / "x.parquet"
    with lock_held_elsewhere(output) as holder:
        assert annotate_main(annotate_argv(annotate_input, output, no_model)) == 2
    assert one_error_line(capsys).startswith(
        f"alphamed annotate: error: {output}: in use by another run, pid {holder.pid} on this host"
    )
    # Another output's run that named this sidecar (--sidecar, re-binning) writes to it: refused as well.
    sidecar = tmp_path / "shared.sidecar.jsonl"
    with lock_held_elsewhere(sidecar) as holder:
        argv = annotate_argv(annotate_input, tmp_path / "other.parquet", no_model, "--sidecar", str(sidecar))
        assert annotate_main(argv) == 2
    assert one_error_line(capsys).startswith(
        f"alphamed annotate: error: {sidecar}: in use by another run, pid {holder.pid} on this host"
    )
    assert not output.exists() and not sidecar.exists()
    assert lock_path(output).exists()  # the killed holder's lock stays behind, as a crashed run's does
    assert annotate_main(annotate_argv(annotate_input, output, tiny_model_dir)) == 0  # stale: taken over
    assert len(read_records_parquet(output)) == 12
    assert not list(output.parent.glob("*.lock"))


def test_eval_refuses_an_output_dir_in_use(no_model: Path, tmp_path: Path, capsys) -> None:
    data_dir = write_benchmark_dir(tmp_path / "data", only=("medqa", "pubmedqa"))
    out = tmp_path / "eval"
    with lock_held_elsewhere(out) as holder:
        assert eval_main(eval_argv(data_dir, out, no_model)) == 1
    assert one_error_line(capsys).startswith(
        f"alphamed eval: error: {out}: in use by another run, pid {holder.pid} on this host (lock {out}.lock)"
    )
    assert not (out / "generations").exists()


def _file_size_limit(limit: int):
    """In the child: writes past ``limit`` bytes fail with EFBIG instead of killing it (SIG_IGN survives exec)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _run_limited(script: str, argv: list[str], limit: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "recipe" / script), *argv],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=_file_size_limit(limit),
        timeout=120,
        check=False,
    )


def _limit_inside_batch(sidecar: Path, batch: int, finished: int) -> int:
    """A file-size limit that lets ``finished`` batches of an uninterrupted run's ``sidecar`` in, and half the
    next one: the run's own sidecar is refused in the middle of a batch, after some are done."""
    lines = sidecar.read_bytes().splitlines(keepends=True)
    return (
        len(b"".join(lines[: finished * batch])) + len(b"".join(lines[finished * batch : (finished + 1) * batch])) // 2
    )


def _last_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr[-3000:]
    return stderr.rstrip("\n").splitlines()[-1]


def test_annotate_a_sidecar_append_the_disk_refuses_keeps_finished_batches_and_the_rerun_resumes(
    annotate_input: Path, tiny_model_dir: Path, tmp_path: Path, capsys
) -> None:
    reference = tmp_path / "ref" / "x.parquet"
    assert annotate_main(annotate_argv(annotate_input, reference, tiny_model_dir)) == 0
    limit = _limit_inside_batch(reference.parent / "x.sidecar.jsonl", BATCH, finished=2)
    output = tmp_path / "out" / "x.parquet"
    sidecar = output.parent / "x.sidecar.jsonl"
    failed = _run_limited("difficulty.py", annotate_argv(annotate_input, output, tiny_model_dir), limit)
    assert failed.returncode == 2
    assert _last_line(failed.stderr) == f"alphamed annotate: error: {sidecar}: cannot write (File too large [EFBIG])"
    kept = sidecar.read_bytes()
    assert len(kept.splitlines()) == 2 * BATCH and kept.endswith(b"\n")  # whole batches, the refused one cut off
    assert len(read_sidecar(sidecar)) == 2 * BATCH
    assert not output.exists() and not list(output.parent.glob("*.lock"))
    capsys.readouterr()
    assert annotate_main(annotate_argv(annotate_input, output, tiny_model_dir)) == 0
    captured = capsys.readouterr()
    assert f"resuming; {2 * BATCH} of 12 items already done" in captured.out + captured.err
    assert sidecar.read_bytes().startswith(kept) and len(read_sidecar(sidecar)) == 12
    assert len(read_records_parquet(output)) == 12


def test_eval_a_sidecar_append_the_disk_refuses_is_one_line_and_the_rerun_resumes(
    tiny_model_dir: Path, tmp_path: Path, capsys
) -> None:
    data_dir = write_benchmark_dir(tmp_path / "data", only=("medqa", "pubmedqa"))
    assert eval_main(eval_argv(data_dir, tmp_path / "ref", tiny_model_dir)) == 0
    limit = _limit_inside_batch(tmp_path / "ref" / "generations" / "medqa.jsonl", 2, finished=1)
    out = tmp_path / "eval"
    failed = _run_limited("evaluation.py", eval_argv(data_dir, out, tiny_model_dir), limit)
    assert failed.returncode == 1
    sidecar = out / "generations" / "medqa.jsonl"  # one sidecar per benchmark
    assert _last_line(failed.stderr) == f"alphamed eval: error: {sidecar}: cannot write (File too large [EFBIG])"
    kept = sidecar.read_bytes()
    assert len(kept.splitlines()) == 2 and len(read_sidecar(sidecar)) == 2  # the first batch, whole
    assert not (out / "results.json").exists() and not lock_path(out).exists()
    capsys.readouterr()
    assert eval_main(eval_argv(data_dir, out, tiny_model_dir)) == 0
    captured = capsys.readouterr()
    assert "resuming; 2 of 3 items already done" in captured.out + captured.err
    assert sidecar.read_bytes().startswith(kept) and len(read_sidecar(sidecar)) == 3
    assert (out / "results.json").is_file()


def test_a_final_report_the_disk_refuses_is_one_line_and_generation_is_kept(
    annotate_input: Path, tiny_model_dir: Path, tmp_path: Path, capsys
) -> None:
    output = tmp_path / "out" / "x.parquet"
    output.mkdir(parents=True)  # the parquet cannot replace a folder: EISDIR after all generation is done
    assert annotate_main(annotate_argv(annotate_input, output, tiny_model_dir)) == 2
    err = capsys.readouterr().err
    assert err.rstrip("\n").splitlines()[-1] == (
        f"alphamed annotate: error: {output}: cannot write (Is a directory [EISDIR])"
    )
    assert len(read_sidecar(output.parent / "x.sidecar.jsonl")) == 12
    output.rmdir()
    assert annotate_main(annotate_argv(annotate_input, output, tiny_model_dir)) == 0
    captured = capsys.readouterr()
    assert "12 of 12 items already done" in captured.out + captured.err

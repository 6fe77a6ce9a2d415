"""The project's integration test: ``examples/quickstart.sh`` end to end, exactly as README's first command runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alphamed.data_preprocess import EVAL_SPLITS
from alphamed.data_preprocess.parquet_io import read_records_parquet
from tests.conftest import REPO_ROOT


def run_quickstart(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("MODEL_PATH", None)  # the embedded default: the tiny random model
    return subprocess.run(
        ["bash", str(REPO_ROOT / "examples" / "quickstart.sh"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("quickstart")
    return out, run_quickstart("--output_dir", str(out))


def test_runs_every_stage_and_reports_the_artefacts(quickstart) -> None:
    out, result = quickstart
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for stage in ("[1/6]", "[3/6]", "[5/6]", "[6/6]", "quickstart finished"):
        assert stage in result.stdout
    assert "RANDOMLY INITIALISED" in result.stdout and "OK " in result.stdout  # the recipe check passed
    command = f"DATA_ROOT={out / 'data'} TRAIN_FILES={out / 'mix' / 'train.parquet'} bash examples/run_alphamed_8b.sh"
    assert command in result.stdout


def test_mix_is_annotated_and_decontaminated(quickstart) -> None:
    out, _ = quickstart
    mix = read_records_parquet(out / "mix" / "train.parquet")
    assert {row["data_source"] for row in mix} == {"pubmedqa", "headqa"} and len(mix) == 20
    assert all(row["extra_info"]["difficulty"] in range(1, 7) for row in mix)
    manifest = json.loads((out / "mix" / "train.manifest.json").read_text())
    assert "decontamination" in json.dumps(manifest)
    levels = json.loads((out / "data" / "headqa" / "train.annotated.levels.json").read_text())
    assert levels["sampling"]["n"] == 5


def test_evaluation_covers_the_six_benchmarks(quickstart) -> None:
    out, _ = quickstart
    results = json.loads((out / "eval" / "results.json").read_text())
    written = {
        name: len(read_records_parquet(out / "data" / folder / f"{split}.parquet"))
        for name, (folder, split) in EVAL_SPLITS.items()
    }
    assert {name: results["benchmarks"][name]["n"] for name in EVAL_SPLITS} == written
    assert (out / "eval" / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_failing_step_exits_non_zero(tmp_path: Path) -> None:
    result = run_quickstart("--output_dir", str(tmp_path / "out"), "--sample_dir", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "quickstart FAILED" in result.stderr and "nowhere" in result.stderr

"""A converter handed another dataset's file names the right converter; a test file written as train is warned about.

Every converter is run on every other dataset's shipped sample file (the real release layouts, examples/data).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from alphamed.data_preprocess import CONVERTERS, layouts
from alphamed.recipe import cli
from tests.conftest import REPO_ROOT

SAMPLE = REPO_ROOT / "examples" / "data"
#: One release file of each dataset, in its own layout.
FILES = {
    "medqa": SAMPLE / "medqa" / "4_options" / "phrases_no_exclude_test.jsonl",
    "medmcqa": SAMPLE / "medmcqa" / "dev.json",
    "pubmedqa": SAMPLE / "pubmedqa" / "ori_pqal.json",
    "headqa": SAMPLE / "headqa" / "HEAD_EN" / "test_HEAD_EN.json",
    "mmlu_pro": SAMPLE / "mmlu_pro" / "test.jsonl",
    "gpqa": SAMPLE / "gpqa" / "gpqa_main.csv",
    "medxpertqa": SAMPLE / "medxpertqa" / "medxpertqa_text_input.jsonl",
    "huatuo_eval": SAMPLE / "huatuo_eval" / "MedMCQA_validation.json",
}
#: The split each converter reads a benchmark file as.
EVAL_SPLIT = {"medmcqa": "validation", "huatuo_eval": "medmcqa"}
#: HuatuoGPT-o1's rows have MedQA's fields (bar meta_info): MedQA's converter reads them, and says whose they are.
CONVERTS_WITH_A_WARNING = {("medqa", "huatuo_eval")}


def test_every_converter_has_a_layout_and_every_sample_is_recognised() -> None:
    assert set(FILES) == set(CONVERTERS) <= set(layouts.LAYOUTS)
    assert {owner: layouts.foreign_layout(path, owner) for owner, path in FILES.items()} == dict.fromkeys(FILES)
    hub_layout = SAMPLE / "medmcqa" / "hub_layout" / "validation.jsonl"
    assert "MedMCQA" in layouts.foreign_layout(hub_layout, "medqa")


@pytest.mark.parametrize(("converter", "owner"), [(c, o) for c in FILES for o in FILES if c != o])
def test_another_datasets_file_names_its_converter(
    converter: str, owner: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["prepare", converter, "--local_dataset_path", str(FILES[owner])]
    argv += ["--split", EVAL_SPLIT.get(converter, "test"), "--local_save_dir", str(tmp_path)]
    message = f"{FILES[owner]}: this looks like a {layouts.TITLES[owner]} file"
    if (converter, owner) in CONVERTS_WITH_A_WARNING:
        assert cli.main(argv) == 0
        assert f"[{converter}] WARNING: converted, but {message}" in capsys.readouterr().err
        return
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: {message}")
    assert err[-1].endswith(f"use `alphamed prepare {owner}`")
    assert not list(tmp_path.iterdir()), "nothing is written"


def test_a_script_run_converter_names_the_right_one_too() -> None:
    """`python data_preprocess/gpqa.py` (module __main__) knows it is gpqa."""
    result = subprocess.run(
        [sys.executable, "data_preprocess/gpqa.py", "--local_dataset_path", str(FILES["medqa"]), "--split", "test"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and result.stderr.strip().endswith("use `alphamed prepare medqa`"), result.stderr


def test_a_test_file_written_as_train_is_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = str(FILES["medqa"])
    assert (
        cli.main(
            ["prepare", "medqa", "--local_dataset_path", source, "--split", "train", "--local_save_dir", str(tmp_path)]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert f"[medqa] WARNING: {source} is named as a 'test' split but is written as train.parquet" in err
    assert (tmp_path / "train.parquet").is_file()  # a warning, not a refusal: the user may mean it
    assert (
        cli.main(
            ["prepare", "medqa", "--local_dataset_path", source, "--split", "test", "--local_save_dir", str(tmp_path)]
        )
        == 0
    )
    assert "WARNING" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "word"),
    [("dev.json", "dev"), ("test_HEAD_EN.json", "test"), ("validation.jsonl", "validation"), ("train.json", None)],
)
def test_evaluation_split_words_in_file_names(name: str, word: str | None) -> None:
    assert layouts.evaluation_split_named(Path(name)) == word
    assert layouts.evaluation_split_named(Path("interval_data.jsonl")) is None

"""MedQA converter on the real test files and the shipped fixture: counts, letters, 4 vs 5 options, HuatuoGPT-o1.

Data: MedQA (Jin et al. 2021, MIT licence), US test split in the release's 4- and 5-option jsonl files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alphamed.data_preprocess import medqa
from alphamed.data_preprocess.converter import RawFormatError
from alphamed.data_preprocess.parquet_io import read_records_parquet
from alphamed.data_preprocess.schema import McqItem, from_verl_record
from tests.conftest import REPO_ROOT, norm, raw_rows, run_repo_script

FIXTURE = REPO_ROOT / "examples" / "data" / "medqa"


def convert(tmp_path: Path, source: Path, *flags: str) -> tuple[int, list[McqItem]]:
    out = tmp_path / "out"
    report = medqa.convert(
        ["--local_dataset_path", str(source), "--split", "test", "--local_save_dir", str(out), *flags]
    )
    return report[0].read, [from_verl_record(r) for r in read_records_parquet(out / "test.parquet")]


def check_against_raw(items: list[McqItem], rows: list[dict]) -> None:
    """Every row written, in order; the letter points at the release's answer text; letter = position."""
    assert len(items) == len(rows)
    for item, row in zip(items, rows, strict=True):
        assert item.question == row["question"]
        assert item.answer == row["answer_idx"] and item.answer_text == row["answer"]
        assert item.options == [row["options"][k] for k in sorted(row["options"])]


@pytest.mark.parametrize(
    ("file", "flags", "source"),
    [
        ("US_4_options_phrases_no_exclude_test.jsonl", (), "medqa"),
        ("US_test_5options.jsonl", ("--num_options", "5"), "medqa_5opt"),
    ],
)
def test_real_test_split(tmp_path: Path, shared_data: Path, file: str, flags: tuple[str, ...], source: str) -> None:
    path = shared_data / "medqa" / file
    read, items = convert(tmp_path, path, *flags)
    assert read == len(items) == 1273
    check_against_raw(items, raw_rows(path))
    assert {item.source for item in items} == {source} and len({item.id for item in items}) == 1273
    assert {item.meta["step"] for item in items} == {"step1", "step2&3"}


def test_real_4_and_5_option_files_agree_on_answer_text_not_letter(tmp_path: Path, shared_data: Path) -> None:
    _, four = convert(tmp_path / "4", shared_data / "medqa" / "US_4_options_phrases_no_exclude_test.jsonl")
    _, five = convert(tmp_path / "5", shared_data / "medqa" / "US_test_5options.jsonl", "--num_options", "5")
    assert [i.id for i in four] == [i.id for i in five]
    assert [i.answer_text for i in four] == [i.answer_text for i in five]
    assert sum(a.answer != b.answer for a, b in zip(four, five, strict=True)) > 100


def test_real_agrees_with_huatuo_copy(tmp_path: Path, shared_data: Path) -> None:
    _, items = convert(tmp_path, shared_data / "medqa" / "US_4_options_phrases_no_exclude_test.jsonl")
    huatuo = json.loads((shared_data / "huatuo_eval" / "MedQA_USLME_test.json").read_text(encoding="utf-8"))
    by_question = {norm(h["question"]): h for h in huatuo}
    matched = [(item, by_question[norm(item.question)]) for item in items if norm(item.question) in by_question]
    assert len(matched) == 1273
    for item, h in matched:
        assert (item.answer, item.answer_text) == (h["answer_idx"], h["answer"])
        assert item.options == [h["options"][k] for k in sorted(h["options"])]


def test_fixture_both_variants(tmp_path: Path) -> None:
    rows4, rows5 = raw_rows(FIXTURE / "4_options" / "phrases_no_exclude_test.jsonl"), raw_rows(FIXTURE / "test.jsonl")
    _, four = convert(tmp_path / "4", FIXTURE)
    _, five = convert(tmp_path / "5", FIXTURE, "--num_options", "5")
    check_against_raw(four, rows4)
    check_against_raw(five, rows5)
    assert {len(i.options) for i in four} == {4} and {len(i.options) for i in five} == {5}
    typo = next(i for i in four if i.meta["meta_info"] == "stfep2&3")
    assert typo.meta["step"] == "step2&3"


def test_wrong_option_count_and_mismatched_answer_text(tmp_path: Path) -> None:
    with pytest.raises(RawFormatError, match=r"test\.jsonl row 1: field 'options': has 5 options .* --num_options 5"):
        convert(tmp_path, FIXTURE / "test.jsonl")
    row = raw_rows(FIXTURE / "test.jsonl")[0]
    row["answer"] = "not the text of its letter"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(row) + "\n" + (FIXTURE / "test.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    report = medqa.convert(
        [
            "--local_dataset_path",
            str(bad),
            "--split",
            "test",
            "--num_options",
            "5",
            "--local_save_dir",
            str(tmp_path / "b"),
        ]
    )[0]
    assert report.skipped == {"answer text does not match its letter": 1} and report.written == 30


def test_runs_as_a_script(tmp_path: Path) -> None:
    result = run_repo_script(
        "data_preprocess/medqa.py",
        "--local_dataset_path",
        str(FIXTURE),
        "--split",
        "test",
        "--prompt_style",
        "med_rlvr",
        "--local_save_dir",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "[medqa] test: read 30, written 30" in result.stdout
    record = json.loads((tmp_path / "test_example.json").read_text(encoding="utf-8"))
    assert record["extra_info"]["prompt_style"] == "med_rlvr" and record["prompt"][0]["role"] == "system"

"""MedXpertQA Text converter: both layouts, the inline "Answer Choices" block, MM refusal, bad input.

Data: MedXpertQA (TsinghuaC3I, MIT licence) -- real rows in ../shared/data and the shipped fixtures
(``medreason_MedXpertQA_test.jsonl``: HF rows with the block already removed; ``medxpertqa_text_input.jsonl``:
the benchmark repo's layout, block included).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from alphamed.data_preprocess import medxpertqa
from alphamed.data_preprocess.converter import ConversionError, RawFormatError
from alphamed.data_preprocess.parquet_io import read_records_parquet
from alphamed.data_preprocess.schema import from_verl_record
from tests.conftest import REPO_ROOT, raw_rows, run_repo_script

FIXTURES = REPO_ROOT / "examples" / "data" / "medxpertqa"
HF_FIXTURE = FIXTURES / "medreason_MedXpertQA_test.jsonl"
REPO_FIXTURE = FIXTURES / "medxpertqa_text_input.jsonl"


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def convert(out: Path, source: Path, *flags: str):
    reports = medxpertqa.convert(["--local_dataset_path", str(source), "--local_save_dir", str(out), *flags])
    return reports[0], [from_verl_record(r) for r in read_records_parquet(out / "test.parquet")]


def as_hub_row(repo_row: dict) -> dict:
    """The HF hub's own layout of a repo-layout row: options keyed by letter, label a letter, block kept."""
    return {
        **repo_row,
        "options": {o["letter"]: o["content"] for o in repo_row["options"]},
        "label": repo_row["label"][0],
    }


def assert_matches_raw(items, raw: list[dict]) -> None:
    """Options, answer letter and answer text, checked against the raw rows of either layout."""
    by_id = {f"medxpertqa-{r['id']}": r for r in raw}
    for item in items:
        row = by_id[item.id]
        texts = (
            list(row["options"].values())
            if isinstance(row["options"], dict)
            else [o["content"] for o in row["options"]]
        )
        label = row["label"] if isinstance(row["label"], str) else row["label"][0]
        assert item.options == texts and len(texts) == 10
        assert item.answer == label and item.answer_text == texts["ABCDEFGHIJ".index(label)]
        assert "Answer Choices" not in item.question
        assert row["question"].startswith(item.question)


def test_real_hf_rows_text_1001_to_2449(tmp_path, shared_data):
    raw = raw_rows(shared_data / "medxpertqa" / "medreason_MedXpertQA_test.jsonl")
    report, items = convert(tmp_path, shared_data / "medxpertqa")  # the folder layout finds this file
    assert report.written == report.read == 1449
    assert [i.id for i in items] == [f"medxpertqa-Text-{n}" for n in range(1001, 2450)]
    assert_matches_raw(items, raw)


def test_real_repo_layout_agrees_with_hf_rows(tmp_path, shared_data):
    repo_raw = raw_rows(shared_data / "medxpertqa" / "medxpertqa_sampled_text_input.jsonl")
    report, from_repo = convert(tmp_path / "r", shared_data / "medxpertqa" / "medxpertqa_sampled_text_input.jsonl")
    _, from_hf = convert(tmp_path / "h", shared_data / "medxpertqa" / "medreason_MedXpertQA_test.jsonl")
    assert report.written == len(repo_raw) == 244
    assert_matches_raw(from_repo, repo_raw)
    hf_by_id = {i.id: i for i in from_hf}
    shared = [i for i in from_repo if i.id in hf_by_id]
    assert len(shared) == 133
    assert all(i == hf_by_id[i.id] for i in shared)


def test_fixture_layouts_agree_and_block_is_stripped(tmp_path):
    _, from_repo = convert(tmp_path / "r", REPO_FIXTURE)
    _, from_hf = convert(tmp_path / "h", HF_FIXTURE)
    _, from_hub = convert(
        tmp_path / "u", write_rows(tmp_path / "hub.jsonl", [as_hub_row(r) for r in raw_rows(REPO_FIXTURE)])
    )
    assert_matches_raw(from_repo, raw_rows(REPO_FIXTURE))
    assert_matches_raw(from_hf, raw_rows(HF_FIXTURE))
    assert from_hub == from_repo
    hf_by_id = {i.id: i for i in from_hf}
    shared = [i for i in from_repo if i.id in hf_by_id]
    assert len(shared) >= 10 and all(i == hf_by_id[i.id] for i in shared)


def test_prompt_lists_each_option_once(tmp_path):
    convert(tmp_path, REPO_FIXTURE)
    for record in read_records_parquet(tmp_path / "test.parquet"):
        content = record["prompt"][-1]["content"]
        assert "Answer Choices" not in content and "(A) " not in content
        lines = content.splitlines()
        for position, text in enumerate(record["extra_info"]["options"]):
            assert lines.count(f"{'ABCDEFGHIJ'[position]}. {text.strip()}") == 1


def test_mm_rows_are_refused_with_a_clear_message(tmp_path, capsys):
    rows = raw_rows(HF_FIXTURE)[:2]
    mm = {
        "id": "MM-12",
        "question": "What does the image show?",
        "options": {k: f"finding {k}" for k in "ABCDE"},
        "label": "B",
        "images": ["MM-12-a.jpeg"],
    }
    source = write_rows(tmp_path / "mixed.jsonl", [*rows, mm])
    with pytest.raises(RawFormatError, match=r"mixed\.jsonl row 3: field 'images': row MM-12 is from the MedXpertQA"):
        convert(tmp_path / "out", source)
    assert medxpertqa.main(["--local_dataset_path", str(source), "--local_save_dir", str(tmp_path / "out")]) == 1
    assert "MM (image) subset" in capsys.readouterr().err
    assert not (tmp_path / "out" / "test.parquet").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("options", {"B": "x", "A": "y"}, "letters 'BA' are not A, B, C"),
        ("label", ["A", "C"], "expected exactly one answer letter"),
        ("options", ["plain text"], 'list of {"letter", "content"} objects'),
    ],
)
def test_malformed_rows_name_file_row_and_field(tmp_path, field, value, message):
    rows = raw_rows(REPO_FIXTURE)[:3]
    rows[1][field] = value
    with pytest.raises(RawFormatError, match=rf"bad\.jsonl row 2: field '{field}': .*{re.escape(message)}"):
        convert(tmp_path / "out", write_rows(tmp_path / "bad.jsonl", rows))


def test_block_that_disagrees_with_options_is_skipped_or_strict_error(tmp_path):
    rows = raw_rows(REPO_FIXTURE)[:3]
    rows[2]["options"][4]["content"] = "a different option E"
    source = write_rows(tmp_path / "rows.jsonl", rows)
    report, items = convert(tmp_path / "out", source)
    assert report.skipped == {"inline Answer Choices differ from options": 1} and len(items) == 2
    with pytest.raises(ConversionError, match=r"rows\.jsonl row 3: inline Answer Choices differ"):
        convert(tmp_path / "strict", source, "--strict")


def test_runs_as_script(tmp_path):
    result = run_repo_script(
        "data_preprocess/medxpertqa.py",
        "--local_dataset_path",
        str(HF_FIXTURE),
        "--local_save_dir",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert f"[medxpertqa] test: read {len(raw_rows(HF_FIXTURE))}" in result.stdout

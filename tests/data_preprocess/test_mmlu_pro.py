"""MMLU-Pro medical converter: counts, letter <-> text, agreement with HuatuoGPT-o1's copy, category filter, bad input.

Data: MMLU-Pro (TIGER-AI-Lab, MIT licence) -- the real test rows in ../shared/data and the shipped fixture.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alphamed.data_preprocess import mmlu_pro
from alphamed.data_preprocess.converter import ConversionError, RawFormatError
from alphamed.data_preprocess.parquet_io import read_records_parquet
from alphamed.data_preprocess.schema import LETTERS, from_verl_record
from tests.conftest import REPO_ROOT, raw_rows, run_repo_script

FIXTURE = REPO_ROOT / "examples" / "data" / "mmlu_pro" / "test.jsonl"
#: Real rows whose options differ only in letter case (genotypes such as "Bb bb" vs "bb Bb").
CASE_ONLY_OPTION_ROWS = {2806, 2838, 2889, 2957, 3024, 3056, 3287, 3349, 3504}


def convert(tmp_path: Path, source: Path, *flags: str):
    reports = mmlu_pro.convert(["--local_dataset_path", str(source), "--local_save_dir", str(tmp_path), *flags])
    return reports[0], [from_verl_record(r) for r in read_records_parquet(tmp_path / "test.parquet")]


def assert_items_match_raw(items, raw: list[dict]) -> None:
    """Letter <-> text, checked against the raw row's own ``answer_index`` (not through the converter)."""
    by_id = {f"mmlu_pro-{r['question_id']}": r for r in raw}
    for item in items:
        row = by_id[item.id]
        assert item.source == "mmlu_pro_med"
        assert item.options == row["options"]
        assert item.answer == row["answer"]
        assert item.answer_text == row["options"][row["answer_index"]]
        assert item.meta["category"] == row["category"]


def test_real_file_every_row_is_accounted_for(tmp_path, shared_data):
    source = shared_data / "mmlu_pro" / "mmlu_pro_test_health_biology.jsonl"
    raw = raw_rows(source)
    report, items = convert(tmp_path, source, "--dedup")
    assert report.read == len(raw) == 1535
    assert report.written + report.duplicates + sum(report.skipped.values()) == 1535
    assert_items_match_raw(items, raw)
    # Every removed duplicate is an exact copy (question, options, answer) of a written item.
    written = {(i.question, tuple(i.options), i.answer) for i in items}
    skipped_ids = {r["question_id"] for r in raw} - {i.meta["question_id"] for i in items}
    duplicates = [r for r in raw if r["question_id"] in skipped_ids and r["question_id"] not in CASE_ONLY_OPTION_ROWS]
    assert len(duplicates) == report.duplicates == 95
    assert all((r["question"], tuple(r["options"]), r["answer"]) in written for r in duplicates)


def test_real_file_no_valid_row_is_skipped(tmp_path, shared_data):
    report, _ = convert(tmp_path, shared_data / "mmlu_pro" / "mmlu_pro_test_health_biology.jsonl")
    assert not report.skipped


def test_default_gives_the_published_denominator(tmp_path, shared_data):
    source = shared_data / "mmlu_pro" / "mmlu_pro_test_health_biology.jsonl"
    report, items = convert(tmp_path, source)
    assert (report.read, report.written, report.duplicates, report.dedup) == (1535, 1535, 95, False)
    assert len({item.id for item in items}) == 1535
    assert_items_match_raw(items, raw_rows(source))


def test_real_file_agrees_with_huatuo_copy(tmp_path, shared_data):
    _, items = convert(tmp_path, shared_data / "mmlu_pro" / "mmlu_pro_test_health_biology.jsonl")
    huatuo = json.loads((shared_data / "huatuo_eval" / "MMLU-Pro_Medical_test.json").read_text(encoding="utf-8"))
    letter_of = {(h["question"], tuple(h["options"].values())): h["answer_idx"] for h in huatuo}
    for item in items:
        key = (item.question, tuple(item.options))
        assert key in letter_of, item.id
        assert letter_of[key] == item.answer, item.id


def test_fixture_rows_map_to_their_answers(tmp_path):
    raw = raw_rows(FIXTURE)
    report, items = convert(tmp_path, FIXTURE.parent)  # the folder layout finds test.jsonl
    assert_items_match_raw(items, raw)
    assert report.read == len(raw)
    assert {len(i.options) for i in items} >= {3, 4, 5, 6, 7, 8, 9, 10}
    assert report.duplicates == 1  # question ids 6036 and 6037 are the same question


def test_fixture_genotype_options_are_not_ambiguous(tmp_path):
    _, items = convert(tmp_path, FIXTURE)
    assert 2806 in {i.meta["question_id"] for i in items}


def test_category_filter_leaves_out_and_counts(tmp_path):
    raw = raw_rows(FIXTURE)
    report, items = convert(tmp_path, FIXTURE, "--categories", "health")
    assert {i.meta["category"] for i in items} == {"health"}
    assert report.left_out == {"category not selected": sum(r["category"] != "health" for r in raw)}


def test_unknown_category_is_an_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        mmlu_pro.convert(["--local_dataset_path", str(FIXTURE), "--categories", "helth"])
    assert "helth" in capsys.readouterr().err


def test_trailing_na_padding_is_dropped_and_letter_checked(tmp_path):
    row = raw_rows(FIXTURE)[0]
    padded = {**row, "options": [*row["options"], "N/A", "N/A"]}
    mismatched = {**row, "question_id": 1, "question": "another question?", "answer": LETTERS[row["answer_index"] + 1]}
    source = tmp_path / "rows.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in (padded, mismatched)) + "\n")
    report, items = convert(tmp_path / "out", source)
    assert items[0].options == row["options"]
    assert report.skipped == {"answer letter and answer_index disagree": 1}
    with pytest.raises(ConversionError, match=r"rows\.jsonl row 2: answer letter and answer_index disagree"):
        convert(tmp_path / "strict", source, "--strict")


def test_missing_field_names_file_row_and_field(tmp_path):
    rows = raw_rows(FIXTURE)[:3]
    del rows[1]["options"]
    source = tmp_path / "broken.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(RawFormatError, match=r"broken\.jsonl row 2: field 'options': missing"):
        convert(tmp_path / "out", source)


def test_hub_parquet_shard_layout_reads_the_same(tmp_path):
    shard = tmp_path / "snapshot" / "data" / "test-00000-of-00001.parquet"
    shard.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(raw_rows(FIXTURE)), shard)
    _, from_jsonl = convert(tmp_path / "a", FIXTURE)
    _, from_shard = convert(tmp_path / "b", tmp_path / "snapshot")
    assert from_shard == from_jsonl


@pytest.mark.parametrize("how", [["data_preprocess/mmlu_pro.py"], ["-m", "alphamed.data_preprocess.mmlu_pro"]])
def test_runs_as_script_and_module(tmp_path, how):
    result = run_repo_script(*how, "--local_dataset_path", str(FIXTURE), "--local_save_dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "[mmlu_pro] test: read 29" in result.stdout
    assert (tmp_path / "test.parquet").is_file() and (tmp_path / "test_example.json").is_file()

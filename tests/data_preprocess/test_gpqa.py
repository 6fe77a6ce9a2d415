"""GPQA medical converter on rows we wrote ourselves in GPQA's CSV layout (no real GPQA question is used).

Checks the Biology filter, the seeded option shuffle (reproducible, recorded, independent of the other rows),
the hub layout and bad input.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from alphamed.data_preprocess import gpqa
from alphamed.data_preprocess.converter import ConversionError, RawFormatError
from alphamed.data_preprocess.parquet_io import read_records_parquet
from alphamed.data_preprocess.schema import from_verl_record
from tests.conftest import REPO_ROOT, run_repo_script

FIXTURE = REPO_ROOT / "examples" / "data" / "gpqa" / "gpqa_main.csv"


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def convert(out: Path, source: Path, *flags: str):
    reports = gpqa.convert(["--local_dataset_path", str(source), "--local_save_dir", str(out), *flags])
    return reports[0], [from_verl_record(r) for r in read_records_parquet(out / "test.parquet")]


def test_biology_is_kept_and_other_domains_counted(tmp_path):
    raw = csv_rows(FIXTURE)
    report, items = convert(tmp_path, FIXTURE.parent)  # the folder layout finds gpqa_main.csv
    biology = [r for r in raw if r["High-level domain"] == "Biology"]
    assert report.written == len(biology) == 20
    assert report.left_out == {"domain not selected": len(raw) - len(biology)}
    assert {i.meta["high_level_domain"] for i in items} == {"Biology"}
    assert all(i.source == "gpqa_med" and len(i.options) == 4 for i in items)
    _, every = convert(tmp_path / "all", FIXTURE, "--domains", "Biology", "Chemistry", "Physics")
    assert len(every) == len(raw)


def test_shuffle_is_recorded_and_points_at_the_correct_answer(tmp_path):
    raw = {f"gpqa-{r['Record ID']}": r for r in csv_rows(FIXTURE)}
    _, items = convert(tmp_path, FIXTURE)
    for item in items:
        row = raw[item.id]
        assert item.answer_text == row["Correct Answer"]
        assert item.options == [row[column] for column in item.meta["option_order"]]
        assert item.meta["option_order"][item.answer_index] == "Correct Answer"
        assert item.meta["shuffle_seed"] == 0
    assert len({i.answer for i in items}) > 1, "the correct answer must not always sit at the same letter"


def test_same_seed_same_bytes_other_seed_other_order(tmp_path):
    convert(tmp_path / "a", FIXTURE, "--seed", "3")
    convert(tmp_path / "b", FIXTURE, "--seed", "3")
    _, other = convert(tmp_path / "c", FIXTURE, "--seed", "4")
    assert (tmp_path / "a" / "test.parquet").read_bytes() == (tmp_path / "b" / "test.parquet").read_bytes()
    _, first = convert(tmp_path / "a", FIXTURE, "--seed", "3")
    assert [i.options for i in first] != [i.options for i in other]
    assert [sorted(i.options) for i in first] == [sorted(i.options) for i in other]


def test_order_depends_on_the_record_not_on_the_other_rows(tmp_path):
    rows = csv_rows(FIXTURE)
    _, forward = convert(tmp_path / "f", FIXTURE)
    _, backward = convert(tmp_path / "b", write_csv(tmp_path / "reversed.csv", rows[::-1]))
    assert {i.id: i.options for i in forward} == {i.id: i.options for i in backward}


def test_hub_layout_reads_the_same(tmp_path):
    import datasets

    rows = csv_rows(FIXTURE)
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows)}).save_to_disk(str(tmp_path / "hub"))
    _, from_hub = convert(tmp_path / "h", tmp_path / "hub")  # the hub's only split "train" is our "test"
    _, from_csv = convert(tmp_path / "c", FIXTURE)
    assert from_hub == from_csv


def test_missing_column_names_file_and_column(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "Incorrect Answer 3"} for r in csv_rows(FIXTURE)]
    source = write_csv(tmp_path / "gpqa_main.csv", rows)
    with pytest.raises(RawFormatError, match=r"gpqa_main\.csv header: field 'Incorrect Answer 3': missing"):
        convert(tmp_path / "out", source)


def test_ragged_row_names_file_and_row(tmp_path):
    source = tmp_path / "gpqa_main.csv"
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    source.write_text("\n".join([*lines[:3], lines[3] + ",extra cell", *lines[4:]]) + "\n", encoding="utf-8")
    with pytest.raises(RawFormatError, match=r"gpqa_main\.csv row 3: has 1 more cell"):
        convert(tmp_path / "out", source)


def test_invalid_rows_are_counted_or_fail_with_strict(tmp_path):
    rows = csv_rows(FIXTURE)
    rows[1] = {**rows[1], "Incorrect Answer 2": "  "}
    rows[4] = {**rows[4], "Incorrect Answer 1": rows[4]["Correct Answer"] + "."}
    source = write_csv(tmp_path / "gpqa_main.csv", rows)
    report, items = convert(tmp_path / "out", source)
    assert report.skipped == {"invalid options": 1}  # the answer's text repeated: kept in the test split, marked
    assert (report.written, report.answer_text_repeated) == (19, 1)
    with pytest.raises(ConversionError, match=r"gpqa_main\.csv row 2: options: option . is empty"):
        convert(tmp_path / "strict", source, "--strict")


def test_runs_as_script(tmp_path):
    result = run_repo_script(
        "data_preprocess/gpqa.py",
        "--local_dataset_path",
        str(FIXTURE),
        "--local_save_dir",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "left out 4 (domain not selected: 4)" in result.stdout

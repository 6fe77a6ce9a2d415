"""The shared converter machinery: reading, skip accounting, duplicates, --strict, sampling, output, loading paths.

Driven through a real converter (MedQA's row mapping) on rows written here in the MedQA release layout.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alphamed.data_preprocess import medqa
from alphamed.data_preprocess.converter import (
    ConversionError,
    RawFormatError,
    RawRow,
    SplitReport,
    SplitUnavailable,
    convert_rows,
    converter_parser,
    find_release_file,
    load_split_rows,
    read_json_rows,
    require,
    run_conversion,
    sample_items,
)
from alphamed.data_preprocess.parquet_io import read_records_parquet
from alphamed.data_preprocess.schema import from_verl_record


def medqa_row(n: int, letter: str = "B", **changes: object) -> dict:
    options = {"A": f"alpha {n}", "B": f"beta {n}", "C": f"gamma {n}", "D": f"delta {n}"}
    row = {"question": f"Question number {n}?", "options": options, "answer_idx": letter, "meta_info": "step1"}
    row["answer"] = options.get(letter, "nowhere")
    row.update(changes)
    return row


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def run_medqa(tmp_path: Path, rows: list[dict], *flags: str, out: str = "out", split: str = "train") -> SplitReport:
    source = write_jsonl(tmp_path / f"{split}.jsonl", rows)
    argv = ["--local_dataset_path", str(source), "--split", split, "--local_save_dir", str(tmp_path / out)]
    return medqa.convert([*argv, *flags])[0]


REPEATED_ANSWER_TEXT = medqa_row(92, options={"A": "x", "B": "same.", "C": " same", "D": "y"}, answer="same")
BAD_ROWS = {
    "answer not among options": medqa_row(90, letter="E", answer="beta 90"),
    "empty question": medqa_row(91, question="   "),
    "answer text repeats another option": REPEATED_ANSWER_TEXT,
}


def test_bad_rows_are_skipped_and_counted_by_reason(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    report = run_medqa(tmp_path, [medqa_row(1), *BAD_ROWS.values(), medqa_row(2)])
    assert (report.read, report.written) == (5, 2)
    assert report.skipped == {reason: 1 for reason in BAD_ROWS}
    out = capsys.readouterr().out
    assert "read 5, written 2" in out and "skipped 3 (answer not among options: 1, answer text repeats" in out
    items = [from_verl_record(r) for r in read_records_parquet(report.path)]
    assert [i.question for i in items] == ["Question number 1?", "Question number 2?"]


@pytest.mark.parametrize("reason", sorted(BAD_ROWS))
def test_strict_turns_each_skip_into_an_error_naming_the_row(tmp_path: Path, reason: str) -> None:
    with pytest.raises(ConversionError, match=r"train\.jsonl row 2: .*--strict"):
        run_medqa(tmp_path, [medqa_row(1), BAD_ROWS[reason]], "--strict")


def test_training_split_removes_exact_duplicate_questions(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    conflicting = medqa_row(1, letter="C")
    report = run_medqa(tmp_path, [medqa_row(1), medqa_row(2), medqa_row(1), conflicting])
    # question 1 has copies that disagree on the answer: none of them is written (the exact copy is a duplicate)
    assert (report.written, report.duplicates) == (1, 1)
    assert report.skipped == {"duplicate question with a different answer": 2}
    written = [from_verl_record(r) for r in read_records_parquet(report.path)]
    assert [item.question for item in written] == ["Question number 2?"]
    assert "duplicates removed 1" in capsys.readouterr().out
    kept = run_medqa(tmp_path, [medqa_row(1), medqa_row(2), medqa_row(1)], "--keep_duplicates", out="kept")
    assert (kept.written, kept.duplicates, kept.dedup) == (3, 1, False)


def test_evaluation_split_keeps_every_published_item(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rows = [medqa_row(1), medqa_row(2), medqa_row(1), medqa_row(1, letter="C"), REPEATED_ANSWER_TEXT]
    report = run_medqa(tmp_path, rows, split="test")
    assert (report.written, report.duplicates, report.duplicates_with_other_answer) == (5, 2, 1)
    assert (report.answer_text_repeated, report.skipped) == (1, {})
    out = capsys.readouterr().out
    assert "written 5, duplicates kept 2 (1 with a different answer), answer text repeated 1 (kept" in out
    written = [from_verl_record(r) for r in read_records_parquet(report.path)]
    assert [item.meta.get("answer_text_repeated", False) for item in written] == [False] * 4 + [True]
    assert written[-1].answer == "B" and written[-1].options[1:3] == ["same.", " same"]
    ids = [item.id for item in written]  # MedQA ids come from the content: a kept copy gets its own
    assert len(set(ids)) == 5 and ids[2] == f"{ids[0]}-copy2"
    # --dedup opts in: exact copies go, disagreeing copies are skipped, the marked item stays (it is no duplicate)
    deduped = run_medqa(tmp_path, rows, "--dedup", split="test", out="dedup")
    assert (deduped.written, deduped.duplicates, deduped.answer_text_repeated) == (2, 1, 1)
    assert deduped.skipped == {"duplicate question with a different answer": 2}


def test_dedup_and_keep_duplicates_exclude_each_other(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        run_medqa(tmp_path, [medqa_row(1)], "--dedup", "--keep_duplicates")
    assert "not allowed with argument" in capsys.readouterr().err


def test_malformed_json_names_file_and_row(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(medqa_row(1)) + "\n" + '{"question": "cut off\n', encoding="utf-8")
    with pytest.raises(RawFormatError, match=r"broken\.jsonl row 2: invalid JSON"):
        read_json_rows(path)
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(RawFormatError, match=r"broken\.jsonl row 1: expected a JSON object, got int"):
        read_json_rows(path)


def test_missing_or_mistyped_field_names_file_row_and_field(tmp_path: Path) -> None:
    row = medqa_row(3)
    del row["answer_idx"]
    with pytest.raises(RawFormatError, match=r"train\.jsonl row 2: field 'answer_idx': missing"):
        run_medqa(tmp_path, [medqa_row(1), row])
    with pytest.raises(RawFormatError, match=r"row 1: field 'options': expected Mapping, got list"):
        run_medqa(tmp_path, [medqa_row(1, options=["a", "b"])])
    with pytest.raises(RawFormatError, match=r"where: field 'n': expected int, got bool"):
        require(RawRow("where", {"n": True}), "n", int)


def test_same_input_and_seed_give_byte_identical_files(tmp_path: Path) -> None:
    rows = [medqa_row(n) for n in range(40)]
    first = run_medqa(tmp_path, rows, "--max_samples", "10", "--seed", "3", out="a")
    second = run_medqa(tmp_path, rows, "--max_samples", "10", "--seed", "3", out="b")
    other_seed = run_medqa(tmp_path, rows, "--max_samples", "10", "--seed", "4", out="c")
    assert first.path.read_bytes() == second.path.read_bytes()
    example = first.path.with_name("train_example.json")
    assert example.read_bytes() == second.path.with_name("train_example.json").read_bytes()
    assert first.path.read_bytes() != other_seed.path.read_bytes()
    assert (first.written, first.sampled_out) == (10, 30)
    indices = [r["extra_info"]["index"] for r in read_records_parquet(first.path)]
    assert indices == list(range(10))


def test_sample_keeps_original_order_and_is_seeded(tmp_path: Path) -> None:
    report = SplitReport(name="medqa", split="test", path=tmp_path / "x")
    rows = [RawRow(f"row {n}", medqa_row(n)) for n in range(30)]
    items = convert_rows(rows, lambda row, split: medqa.row_to_item(row, split, 4), report, strict=False)
    sample = sample_items(items, 8, seed=1)
    assert sample == sample_items(items, 8, seed=1) and sample != sample_items(items, 8, seed=2)
    positions = [items.index(item) for item in sample]
    assert positions == sorted(positions) and len(set(positions)) == 8
    assert sample_items(items, 100, seed=1) == items


def test_a_single_file_is_one_split(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "test.jsonl", [medqa_row(1)])
    with pytest.raises(ConversionError, match="single file, read as the one split"):
        medqa.convert(["--local_dataset_path", str(source), "--local_save_dir", str(tmp_path / "o")])


def test_script_main_reports_errors_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "nowhere.jsonl"
    assert medqa.main(["--local_dataset_path", str(missing), "--split", "test"]) == 1
    assert capsys.readouterr().err.strip() == f"error: {missing}: no such file or folder (--local_dataset_path)"


def test_release_folder_lookup(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    write_jsonl(tmp_path / "a" / "test.jsonl", [medqa_row(1)])
    assert (
        find_release_file(tmp_path, "test", {"test": ("test.jsonl", "**/test.jsonl")}) == tmp_path / "a" / "test.jsonl"
    )
    write_jsonl(tmp_path / "test.jsonl", [medqa_row(1)])
    assert find_release_file(tmp_path, "test", {"test": ("test.jsonl", "**/test.jsonl")}) == tmp_path / "test.jsonl"
    with pytest.raises(ConversionError, match="several files match"):
        find_release_file(tmp_path, "test", {"test": ("**/test.jsonl",)})
    with pytest.raises(ConversionError, match="no file for split 'dev'"):
        find_release_file(tmp_path, "dev", {"dev": ("dev.jsonl",)})


def test_save_to_disk_folder_gives_the_hub_rows(tmp_path: Path) -> None:
    """A ``save_to_disk`` DatasetDict in the hub's layout (GBaker/MedQA-USMLE-4-options) converts like the file."""
    import datasets

    rows = [medqa_row(n) for n in range(5)]
    datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)}).save_to_disk(str(tmp_path / "saved"))
    loaded = load_split_rows(str(tmp_path / "saved"), "test", hub_id=medqa.HUB_ID_4)
    assert [row.data for row in loaded] == rows
    via_saved = medqa.convert(
        ["--local_dataset_path", str(tmp_path / "saved"), "--split", "test", "--local_save_dir", str(tmp_path / "s")]
    )[0]
    via_file = run_medqa(tmp_path, rows, out="f", split="test")
    assert via_saved.path.read_bytes() == via_file.path.read_bytes()
    with pytest.raises(ConversionError, match="has no split 'train'"):
        load_split_rows(str(tmp_path / "saved"), "train", hub_id=medqa.HUB_ID_4)


def test_hub_split_the_hub_lacks_is_a_clear_error() -> None:
    with pytest.raises(ConversionError, match="GBaker/MedQA-USMLE-4-options on the hub has no 'dev' split"):
        load_split_rows(None, "dev", hub_id=medqa.HUB_ID_4, hub_splits={"dev": None})


def _hub_like_conversion(tmp_path: Path, *split_flag: str) -> list[SplitReport]:
    """run_conversion over a source that, like GBaker/MedQA-USMLE-4-options, has train and test but no dev."""
    source = write_jsonl(tmp_path / "rows.jsonl", [medqa_row(1), medqa_row(2)])
    args = converter_parser("medqa", None, medqa.SPLITS).parse_args(
        ["--local_save_dir", str(tmp_path / "out"), *split_flag]
    )

    def load_split(split: str) -> list[RawRow]:
        if split == "dev":
            raise SplitUnavailable(f"hub copy has no {split!r} split; pass --local_dataset_path")
        return read_json_rows(source)

    return run_conversion(args, name="medqa", load_split=load_split, to_item=lambda r, s: medqa.row_to_item(r, s, 4))


def test_default_splits_the_source_lacks_are_noted_not_fatal(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    reports = _hub_like_conversion(tmp_path)
    assert [r.split for r in reports] == ["train", "test"]
    assert "dev: not converted, hub copy has no 'dev' split" in capsys.readouterr().err
    with pytest.raises(SplitUnavailable, match="no 'dev' split"):
        _hub_like_conversion(tmp_path, "--split", "dev")


def test_hub_failure_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """No network here (HF_HUB_OFFLINE=1): the hub path fails with what to do, not a traceback."""
    assert medqa.main(["--split", "test", "--local_save_dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "could not load GBaker/MedQA-USMLE-4-options [test] from the Hugging Face hub" in err
    assert "--local_dataset_path" in err and "Traceback" not in err

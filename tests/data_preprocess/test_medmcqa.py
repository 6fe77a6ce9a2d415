"""MedMCQA converter: cop layout detection (per file) and its checks, real validation counts, HuatuoGPT-o1 agreement.

Data: MedMCQA (Pal et al. 2022, MIT licence), validation split rebuilt in the release and HF layouts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alphamed.data_preprocess import medmcqa
from alphamed.data_preprocess.converter import ConversionError, RawFormatError, SplitReport
from alphamed.data_preprocess.parquet_io import read_records_parquet
from alphamed.data_preprocess.schema import McqItem, from_verl_record
from alphamed.reward_score import compute_score
from tests.conftest import REPO_ROOT, norm, raw_rows, run_repo_script

FIXTURE = REPO_ROOT / "examples" / "data" / "medmcqa"


def convert(out: Path, source: Path, *flags: str) -> tuple[SplitReport, list[McqItem]]:
    argv = ["--local_dataset_path", str(source), "--split", "validation", "--local_save_dir", str(out), *flags]
    report = medmcqa.convert(argv)[0]
    return report, [from_verl_record(r) for r in read_records_parquet(report.path)]


def check_against_raw(items: list[McqItem], rows: list[dict], cop_base: int) -> None:
    by_id = {f"medmcqa-{row['id']}": row for row in rows}
    for item in items:
        row = by_id[item.id]
        assert item.options == [row[k] for k in ("opa", "opb", "opc", "opd")]
        assert item.answer_text == row["opa opb opc opd".split()[row["cop"] - cop_base]]


def test_real_release_and_hub_layouts_give_identical_files(tmp_path: Path, shared_data: Path) -> None:
    hub_file = shared_data / "medmcqa" / "RECONSTRUCTED_hf_format_validation.jsonl"
    release_file = shared_data / "medmcqa" / "RECONSTRUCTED_raw_format_dev.jsonl"
    hub_report, items = convert(tmp_path / "hub", hub_file)
    release_report, _ = convert(tmp_path / "release", release_file)
    assert hub_report.path.read_bytes() == release_report.path.read_bytes()
    # the published denominator: the 4 items whose answer text is another option's too are kept, marked
    assert (hub_report.read, hub_report.written, hub_report.skipped) == (4183, 4183, {})
    marked = [item for item in items if item.meta.get("answer_text_repeated")]
    assert hub_report.answer_text_repeated == len(marked) == 4
    assert all(item.options.count(item.answer_text) >= 2 for item in marked)
    check_against_raw(items, raw_rows(hub_file), cop_base=0)
    check_against_raw(items, raw_rows(release_file), cop_base=1)
    # the same file as training data: those 4 are skipped (a reward could not read the answer's text)
    train = medmcqa.convert(
        ["--local_dataset_path", str(hub_file), "--split", "train", "--local_save_dir", str(tmp_path / "t")]
    )[0]
    assert (train.written, train.skipped) == (4179, {"answer text repeats another option": 4})


def test_real_agrees_with_huatuo_copy(tmp_path: Path, shared_data: Path) -> None:
    _, items = convert(tmp_path, shared_data / "medmcqa" / "RECONSTRUCTED_raw_format_dev.jsonl")
    huatuo = json.loads((shared_data / "huatuo_eval" / "MedMCQA_validation.json").read_text(encoding="utf-8"))
    by_key = {(norm(h["question"]), tuple(h["options"][k] for k in "ABCD")): h for h in huatuo}
    matched = [(i, by_key.get((norm(i.question), tuple(i.options)))) for i in items]
    matched = [(i, h) for i, h in matched if h is not None]
    assert len(matched) >= 4170
    assert [(i.answer, i.answer_text) for i, _ in matched] == [(h["answer_idx"], h["answer"]) for _, h in matched]


def test_fixture_layouts(tmp_path: Path) -> None:
    release_report, items = convert(tmp_path / "r", FIXTURE)
    hub_report, _ = convert(tmp_path / "h", FIXTURE / "hub_layout" / "validation.jsonl")
    assert release_report.path.read_bytes() == hub_report.path.read_bytes()
    assert (release_report.read, release_report.written, release_report.answer_text_repeated) == (30, 30, 1)
    check_against_raw(items, raw_rows(FIXTURE / "dev.json"), cop_base=1)
    assert items[0].meta == {"subject_name": "Physiology"}


def test_an_answer_text_repeated_by_another_option_is_scored_by_letter_only(tmp_path: Path) -> None:
    report, items = convert(tmp_path, FIXTURE / "dev.json")
    (item,) = [i for i in items if i.meta.get("answer_text_repeated")]
    record = next(r for r in read_records_parquet(report.path) if r["extra_info"]["id"] == item.id)
    twin = next(
        letter
        for letter, text in zip("ABCD", item.options, strict=True)
        if text == item.answer_text and letter != item.answer
    )
    extra = record["extra_info"]  # options as parquet delivers them, as veRL passes them to the reward

    def score(response: str) -> dict[str, float]:
        return compute_score(item.source, response, record["reward_model"]["ground_truth"], extra)

    assert score(f"\\boxed{{{item.answer}}}")["score"] == 1.0
    assert score(f"\\boxed{{{twin}}}")["score"] == 0.0
    # the text names two options, so it names none: never read as the answer
    assert score(f"\\boxed{{{item.answer_text}}}") == {"score": 0.0, "acc": 0.0, "format_ok": 1.0, "pred_valid": 0.0}


def write_rows(path: Path, cops: list[int]) -> Path:
    rows = raw_rows(FIXTURE / "dev.json")[: len(cops)]
    path.write_text("".join(json.dumps({**r, "cop": c}) + "\n" for r, c in zip(rows, cops, strict=True)), "utf-8")
    return path


def test_layout_checks(tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match=r"cop has both 0 \(.* row 1\) and 4 \(.* row 3\)"):
        convert(tmp_path, write_rows(tmp_path / "mixed.jsonl", [0, 1, 4]))
    ambiguous = write_rows(tmp_path / "ambiguous.jsonl", [1, 2, 3, 1])
    with pytest.raises(ConversionError, match="fit both .* --cop_base 0 or --cop_base 1"):
        convert(tmp_path, ambiguous)
    report, items = convert(tmp_path / "o", ambiguous, "--cop_base", "1")
    assert [i.answer for i in items] == ["A", "B", "C", "A"]
    with pytest.raises(ConversionError, match="--cop_base 0 contradicts the file, whose cop values say 1"):
        convert(tmp_path, write_rows(tmp_path / "release.jsonl", [4, 1]), "--cop_base", "0")
    with pytest.raises(RawFormatError, match=r"row 2: field 'cop': -1 means unlabelled"):
        convert(tmp_path, write_rows(tmp_path / "test.jsonl", [1, -1]))


def test_test_split_is_refused(capsys: pytest.CaptureFixture) -> None:
    assert medmcqa.main(["--split", "test"]) == 1
    assert "test split is unlabelled" in capsys.readouterr().err


def test_runs_as_a_script(tmp_path: Path) -> None:
    result = run_repo_script(
        "data_preprocess/medmcqa.py",
        "--local_dataset_path",
        str(FIXTURE / "dev.json"),
        "--split",
        "validation",
        "--local_save_dir",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "[medmcqa] validation: read 30, written 30" in result.stdout
    assert "answer text repeated 1 (kept, scored by letter), left out 0, skipped 0" in result.stdout

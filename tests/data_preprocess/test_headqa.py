"""HEAD-QA converter: answer by aid (checked against the release's .gold files), image questions, real counts.

Data: HEAD-QA English (Vilares & Gomez-Rodriguez 2019, MIT; content per the Ministerio de Sanidad reuse terms).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alphamed.data_preprocess import headqa
from alphamed.data_preprocess.converter import ConversionError, RawFormatError
from alphamed.data_preprocess.parquet_io import read_records_parquet
from alphamed.data_preprocess.schema import LETTERS, McqItem, from_verl_record
from tests.conftest import REPO_ROOT, run_repo_script

FIXTURE = REPO_ROOT / "examples" / "data" / "headqa" / "HEAD_EN"


def convert(out: Path, source: Path, *flags: str) -> list[tuple[object, list[McqItem]]]:
    reports = headqa.convert(["--local_dataset_path", str(source), "--local_save_dir", str(out), *flags])
    return [(r, [from_verl_record(x) for x in read_records_parquet(r.path)]) for r in reports]


def gold_answers(folder: Path) -> dict[str, str]:
    """``headqa-<exam>-<qid>`` -> answer text by the .gold files (qid<TAB>aid), independent of the JSON ``ra``."""
    answers = {}
    for split in ("train", "dev", "test"):
        document = json.loads((folder / f"{split}_HEAD_EN.json").read_text(encoding="utf-8"))
        for exam_name, exam in document["exams"].items():
            gold = dict(line.split("\t") for line in (folder / f"{exam_name}.gold").read_text().split("\n") if line)
            for q in exam["data"]:
                atext = {str(a["aid"]): a["atext"] for a in q["answers"]}
                answers[f"headqa-{exam_name}-{q['qid']}"] = atext[gold[q["qid"]].strip()]
    return answers


def test_real_release_counts_and_gold(tmp_path: Path, shared_data: Path) -> None:
    folder = shared_data / "headqa" / "HEAD_EN"
    results = {r.split: (r, items) for r, items in convert(tmp_path, folder)}
    report, _ = results["test"]
    assert report.read == 2742 and report.left_out == {"image question": 67}
    # every text question is kept, the one exact copy too (counted): the published text-only denominator
    assert (report.written, report.duplicates, report.skipped) == (2742 - 67, 1, {})
    gold = gold_answers(folder)
    for split, (_, items) in results.items():
        assert {len(i.options) for i in items} == ({5} if split == "train" else {4})
        assert all(i.answer_text == gold[i.id] for i in items)
    kept = convert(tmp_path / "k", folder / "test_HEAD_EN.json", "--split", "test", "--keep_image_questions")
    assert kept[0][0].left_out == {} and sum("image" in i.meta for i in kept[0][1]) == 67


def test_fixture(tmp_path: Path) -> None:
    for report, items in convert(tmp_path, FIXTURE):
        assert (report.read, report.written, report.left_out) == (30, 25, {"image question": 5})
        assert all(i.answer_text for i in items) and not any("image" in i.meta for i in items)
    gold = gold_answers(FIXTURE)
    assert len(gold) == 90 and all(
        i.answer_text == gold[i.id] for _, items in convert(tmp_path / "g", FIXTURE) for i in items
    )


def release_with(tmp_path: Path, **question: object) -> Path:
    """A one-exam release file holding the first fixture question changed by ``question``."""
    document = json.loads((FIXTURE / "test_HEAD_EN.json").read_text(encoding="utf-8"))
    name = next(iter(document["exams"]))
    first = {**document["exams"][name]["data"][0], **question}
    document["exams"] = {name: {**document["exams"][name], "data": [first]}}
    path = tmp_path / "test_HEAD_EN.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_answer_is_by_aid_not_position(tmp_path: Path) -> None:
    answers = [{"aid": 3, "atext": "three"}, {"aid": 1, "atext": "one"}, {"aid": 2, "atext": "two"}]
    ((_, [item]),) = convert(tmp_path / "o", release_with(tmp_path, answers=answers, ra="3"), "--split", "test")
    assert item.options == ["one", "two", "three"] and item.answer == LETTERS[2]


def test_bad_input(tmp_path: Path) -> None:
    path = release_with(tmp_path, ra="7")
    with pytest.raises(ConversionError, match="no valid rows"):
        convert(tmp_path / "o", path, "--split", "test")
    with pytest.raises(ConversionError, match=r"question 1: answer not among options: ra 7 .*--strict"):
        convert(tmp_path / "o", path, "--split", "test", "--strict")
    with pytest.raises(RawFormatError, match=r"question 1: field 'ra': expected an integer id, got 'x'"):
        convert(tmp_path / "o", release_with(tmp_path, ra="x"), "--split", "test")
    with pytest.raises(RawFormatError, match=r"question 1: field 'answers': aid 1 appears twice"):
        convert(tmp_path / "o", release_with(tmp_path, answers=[{"aid": 1, "atext": "a"}] * 2), "--split", "test")


def test_runs_as_a_script(tmp_path: Path) -> None:
    result = run_repo_script(
        "data_preprocess/headqa.py",
        "--local_dataset_path",
        str(FIXTURE),
        "--split",
        "dev",
        "--local_save_dir",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "[headqa] dev: read 30, written 25, duplicates kept 0, left out 5 (image question: 5)" in result.stdout

"""PubMedQA converter: the official 500-item test split, train = the other 500, PQA-A as extra train, HuatuoGPT-o1.

Data: PubMedQA PQA-L (Jin et al. 2019, MIT licence): ori_pqal.json + test_ground_truth.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alphamed.data_preprocess import pubmedqa
from alphamed.data_preprocess.converter import ConversionError
from alphamed.data_preprocess.parquet_io import read_records_parquet
from alphamed.data_preprocess.schema import McqItem, from_verl_record
from tests.conftest import REPO_ROOT, norm, run_repo_script

FIXTURE = REPO_ROOT / "examples" / "data" / "pubmedqa"
HUATUO_CUE = "choose the option you find most appropriate.\n"


def convert(out: Path, *argv: str) -> dict[str, list[McqItem]]:
    reports = pubmedqa.convert([*argv, "--local_save_dir", str(out)])
    return {r.split: [from_verl_record(x) for x in read_records_parquet(r.path)] for r in reports}


def check_splits(items: dict[str, list[McqItem]], folder: Path) -> None:
    """test = exactly the ground-truth PMIDs with their labels; train = every other PMID; letters match labels."""
    pqal = json.loads((folder / "ori_pqal.json").read_text(encoding="utf-8"))
    truth = json.loads((folder / "test_ground_truth.json").read_text(encoding="utf-8"))
    assert {i.meta["pmid"]: i.answer_text for i in items["test"]} == truth
    assert {i.meta["pmid"] for i in items["train"]} == set(pqal) - set(truth)
    for item in items["train"] + items["test"]:
        record = pqal[item.meta["pmid"]]
        assert item.options == ["yes", "no", "maybe"] and item.answer_text == record["final_decision"]
        assert item.question.endswith(f"Question: {record['QUESTION']}")
        assert all(context in item.question for context in record["CONTEXTS"])


def test_real_official_split(tmp_path: Path, shared_data: Path) -> None:
    items = convert(tmp_path, "--local_dataset_path", str(shared_data / "pubmedqa"))
    assert len(items["test"]) == len(items["train"]) == 500
    check_splits(items, shared_data / "pubmedqa")


def test_real_agrees_with_huatuo_copy(tmp_path: Path, shared_data: Path) -> None:
    items = convert(tmp_path, "--local_dataset_path", str(shared_data / "pubmedqa"))
    huatuo = json.loads((shared_data / "huatuo_eval" / "PubMedQA_test.json").read_text(encoding="utf-8"))
    by_question = {norm(h["question"].split(HUATUO_CUE)[-1]): h["answer"] for h in huatuo}
    ours = {norm(i.question.rsplit("Question: ", 1)[-1]): i.answer_text for i in items["train"] + items["test"]}
    assert len(ours.keys() & by_question.keys()) >= 995
    assert {q: ours[q] for q in ours.keys() & by_question.keys()} == {
        q: by_question[q] for q in ours.keys() & by_question.keys()
    }


def test_fixture_split_and_single_file(tmp_path: Path) -> None:
    items = convert(tmp_path / "a", "--local_dataset_path", str(FIXTURE))
    assert len(items["test"]) == len(items["train"]) == 15
    check_splits(items, FIXTURE)
    single = convert(tmp_path / "b", "--local_dataset_path", str(FIXTURE / "ori_pqal.json"), "--split", "test")
    assert single["test"] == items["test"]


def test_pqa_a_adds_training_rows(tmp_path: Path) -> None:
    """PQA-A rows (written here in its ori_pqaa.json layout) join train; a PMID of the official test is left out."""
    pqal = json.loads((FIXTURE / "ori_pqal.json").read_text(encoding="utf-8"))
    test_pmid = next(iter(json.loads((FIXTURE / "test_ground_truth.json").read_text(encoding="utf-8"))))
    generated = {
        "QUESTION": "Is a generated question answerable?",
        "CONTEXTS": ["Some abstract text."],
        "LABELS": ["BACKGROUND"],
        "MESHES": [],
        "final_decision": "no",
        "LONG_ANSWER": "No.",
    }
    pqa_a = tmp_path / "ori_pqaa.json"
    pqa_a.write_text(json.dumps({"99999901": generated, test_pmid: {**generated, "QUESTION": "Leak?"}}), "utf-8")
    reports = pubmedqa.convert(
        [
            "--local_dataset_path",
            str(FIXTURE),
            "--split",
            "train",
            "--pqa_a",
            str(pqa_a),
            "--local_save_dir",
            str(tmp_path / "o"),
        ]
    )
    assert (reports[0].read, reports[0].written) == (len(pqal) + 2, 16)
    assert reports[0].left_out == {"official test item": 16}
    added = [from_verl_record(r) for r in read_records_parquet(reports[0].path)][-1]
    assert (added.id, added.answer, added.meta["subset"]) == ("pubmedqa-99999901", "B", "pqa_a")


def test_without_a_local_ground_truth_the_shipped_official_split_is_used(tmp_path: Path) -> None:
    (tmp_path / "ori_pqal.json").write_bytes((FIXTURE / "ori_pqal.json").read_bytes())
    shipped = pubmedqa.convert(["--local_dataset_path", str(tmp_path), "--local_save_dir", str(tmp_path / "a")])
    local = pubmedqa.convert(["--local_dataset_path", str(FIXTURE), "--local_save_dir", str(tmp_path / "b")])
    assert len(json.loads(pubmedqa.SHIPPED_GROUND_TRUTH.read_text(encoding="utf-8"))) == 500
    for ours, theirs in zip(shipped, local, strict=True):
        assert ours.written == theirs.written and ours.path.read_bytes() == theirs.path.read_bytes()


def test_shipped_ground_truth_is_the_release_file(shared_data: Path) -> None:
    release = shared_data / "pubmedqa" / "test_ground_truth.json"
    assert pubmedqa.SHIPPED_GROUND_TRUTH.read_bytes() == release.read_bytes()


def test_bad_label(tmp_path: Path) -> None:
    pqal = json.loads((FIXTURE / "ori_pqal.json").read_text(encoding="utf-8"))
    first = next(iter(pqal))
    pqal[first]["final_decision"] = "perhaps"
    (tmp_path / "ori_pqal.json").write_text(json.dumps(pqal), "utf-8")
    (tmp_path / "test_ground_truth.json").write_text((FIXTURE / "test_ground_truth.json").read_text("utf-8"), "utf-8")
    reports = pubmedqa.convert(["--local_dataset_path", str(tmp_path), "--local_save_dir", str(tmp_path / "o")])
    assert sum(sum(r.skipped.values()) for r in reports) == 1
    assert any(r.skipped == {"answer not among options": 1} for r in reports)
    with pytest.raises(ConversionError, match=f"PMID {first}: answer not among options: final_decision 'perhaps'"):
        pubmedqa.convert(["--local_dataset_path", str(tmp_path), "--strict", "--local_save_dir", str(tmp_path / "s")])


def test_runs_as_a_script(tmp_path: Path) -> None:
    result = run_repo_script(
        "data_preprocess/pubmedqa.py",
        "--local_dataset_path",
        str(FIXTURE),
        "--local_save_dir",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "[pubmedqa] test: read 30, written 15" in result.stdout

"""HuatuoGPT-o1's evaluation file: every published item, our keys and prompts, and the same answers as our converters.

Data: the per-source cut in ``examples/data/huatuo_eval`` (MedQA, MedMCQA, PubMedQA, MMLU-Pro rows of the release;
GPQA rows invented) and, when present, the real per-source files in ``../shared/data/huatuo_eval``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from alphamed.data_preprocess import huatuo_eval, medmcqa, medqa, mmlu_pro, pubmedqa
from alphamed.data_preprocess.converter import ConversionError, RawFormatError, SplitReport
from alphamed.data_preprocess.parquet_io import read_records_parquet
from alphamed.data_preprocess.schema import McqItem, from_verl_record
from tests.conftest import REPO_ROOT, norm, run_repo_script

FIXTURE = REPO_ROOT / "examples" / "data" / "huatuo_eval"
FIXTURE_COUNTS = {"medqa": 5, "medmcqa": 5, "pubmedqa": 3, "mmlu_pro_med": 5, "gpqa_med": 6}


def convert(out: Path, source: Path, *flags: str) -> dict[str, tuple[SplitReport, list[McqItem]]]:
    reports = huatuo_eval.convert(["--local_dataset_path", str(source), "--local_save_dir", str(out), *flags])
    return {r.split: (r, [from_verl_record(x) for x in read_records_parquet(r.path)]) for r in reports}


def source_rows(folder: Path) -> dict[str, list[dict]]:
    """The per-source files read independently of the converter, by our data_source key."""
    return {
        key: json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        for name, key in huatuo_eval.SOURCE_KEYS.items()
        if (folder / f"{name}.json").is_file()
    }


def test_every_published_row_is_kept_with_its_answer(tmp_path: Path) -> None:
    results = convert(tmp_path, FIXTURE)
    assert {key: report.written for key, (report, _) in results.items()} == FIXTURE_COUNTS
    raw = source_rows(FIXTURE)
    for key, (report, items) in results.items():
        assert report.path == tmp_path / f"{key}.parquet" and not report.skipped
        assert [i.id for i in items] == [f"huatuo_o1-{key}-{n}" for n in range(1, len(items) + 1)]
        assert {i.source for i in items} == {key}
        assert {i.meta["protocol"] for i in items} == {"huatuo_o1"}
        assert [(i.question, i.options, i.answer, i.answer_text) for i in items] == [
            (r["question"], list(r["options"].values()), r["answer_idx"], r["answer"]) for r in raw[key]
        ]
    assert {i.split for i in results["medmcqa"][1]} == {"validation"} and {i.split for i in results["medqa"][1]} == {
        "test"
    }
    # kept as published: GPQA's repeated listing, MMLU-Pro's exact copy, MedMCQA's answer text repeated (marked)
    assert (results["gpqa_med"][0].duplicates, results["mmlu_pro_med"][0].duplicates) == (3, 1)
    marked = [i.id for i in results["medmcqa"][1] if i.meta.get("answer_text_repeated")]
    assert marked == ["huatuo_o1-medmcqa-5"] and results["medmcqa"][0].answer_text_repeated == 1


def test_prompt_styles_are_the_training_ones(tmp_path: Path) -> None:
    record = read_records_parquet(convert(tmp_path, FIXTURE, "--prompt_style", "med_rlvr")["pubmedqa"][0].path)[0]
    assert [m["role"] for m in record["prompt"]] == ["system", "user"]
    assert "<answer>" in record["prompt"][1]["content"] and "A. yes\nB. no\nC. maybe" in record["prompt"][1]["content"]
    assert record["extra_info"]["prompt_style"] == "med_rlvr" and record["data_source"] == "pubmedqa"


def test_combined_file_gives_the_same_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    combined = {name: json.loads((FIXTURE / f"{name}.json").read_text()) for name in huatuo_eval.SOURCE_KEYS}
    combined["SomeNewBenchmark_test"] = []
    path = tmp_path / "eval_data.json"
    path.write_text(json.dumps(combined), encoding="utf-8")
    from_combined = convert(tmp_path / "combined", path)
    from_folder = convert(tmp_path / "folder", FIXTURE)
    assert list(from_combined) == list(from_folder) == list(FIXTURE_COUNTS)
    for key, (report, _) in from_combined.items():
        assert report.path.read_bytes() == from_folder[key][0].path.read_bytes()
    assert "source 'SomeNewBenchmark_test' ignored" in capsys.readouterr().err
    # a folder holding the combined file reads it
    assert list(convert(tmp_path / "via_folder", tmp_path)) == list(FIXTURE_COUNTS)


def test_one_per_source_file_is_its_own_benchmark(tmp_path: Path) -> None:
    results = convert(tmp_path, FIXTURE / "PubMedQA_test.json")
    assert list(results) == ["pubmedqa"] and results["pubmedqa"][0].written == 3
    with pytest.raises(ConversionError, match="has no MedQA_USLME_test list"):
        convert(tmp_path / "x", FIXTURE / "PubMedQA_test.json", "--split", "medqa")
    misnamed = tmp_path / "pubmedqa.json"
    misnamed.write_text((FIXTURE / "PubMedQA_test.json").read_text(), encoding="utf-8")
    with pytest.raises(RawFormatError, match=r"pubmedqa\.json: a per-source file is named after its source"):
        convert(tmp_path / "y", misnamed)


def test_dedup_opts_in(tmp_path: Path) -> None:
    results = convert(tmp_path, FIXTURE, "--dedup", "--split", "gpqa_med", "mmlu_pro_med")
    assert {key: report.written for key, (report, _) in results.items()} == {"gpqa_med": 3, "mmlu_pro_med": 4}


def test_invalid_rows_are_counted(tmp_path: Path) -> None:
    rows = json.loads((FIXTURE / "MedQA_USLME_test.json").read_text())
    rows[1] = {**rows[1], "answer": "a text no option has"}
    rows[2] = {**rows[2], "answer_idx": "F"}
    source = tmp_path / "MedQA_USLME_test.json"
    source.write_text(json.dumps(rows), encoding="utf-8")
    report, _ = convert(tmp_path / "out", source)["medqa"]
    assert report.written == 3
    assert report.skipped == {"answer text does not match its letter": 1, "answer not among options": 1}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"MedQA_USLME_test": [{"question": "Q?", "options": {"A": "a", "B": "b"}, "answer": "a"}]},
            "field 'answer_idx': missing",
        ),
        ({"MedQA_USLME_test": {"question": "Q?"}}, "field 'MedQA_USLME_test': expected a list of rows, got dict"),
        ({"MedQA_USLME_test": ["not a row"]}, r"\[MedQA_USLME_test\] row 1: expected a JSON object, got str"),
        ([1, 2], "a per-source file is named after its source"),
    ],
)
def test_bad_input_is_one_line_naming_file_row_and_field(tmp_path: Path, document: object, message: str) -> None:
    source = tmp_path / "eval_data.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    result = run_repo_script(
        "data_preprocess/huatuo_eval.py", "--local_dataset_path", str(source), "--local_save_dir", str(tmp_path / "o")
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and str(source) in last
    assert re.search(message, last)


def test_without_a_file_the_error_says_where_to_get_it() -> None:
    result = run_repo_script("-m", "alphamed.data_preprocess.huatuo_eval")
    assert result.returncode == 1 and "no Hugging Face hub copy; pass --local_dataset_path" in result.stderr


# ---------------------------------------------------------------- the real files


def release_items(out: Path, shared: Path) -> dict[str, list[McqItem]]:
    """Our release converters' items for the four benchmarks the shared HuatuoGPT-o1 copy holds (PubMedQA: all
    1000 PQA-L items, both our splits, since HuatuoGPT-o1 evaluates on all of them)."""

    def items(reports: list[SplitReport]) -> list[McqItem]:
        return [from_verl_record(r) for report in reports for r in read_records_parquet(report.path)]

    def run(module, name: str, source: Path, *splits: str) -> list[McqItem]:
        argv = ["--local_dataset_path", str(source), "--local_save_dir", str(out / name), "--split", *splits]
        return items(module.convert(argv))

    return {
        "medqa": run(medqa, "medqa", shared / "medqa" / "US_4_options_phrases_no_exclude_test.jsonl", "test"),
        "medmcqa": run(medmcqa, "medmcqa", shared / "medmcqa" / "RECONSTRUCTED_raw_format_dev.jsonl", "validation"),
        "pubmedqa": run(pubmedqa, "pubmedqa", shared / "pubmedqa", "train", "test"),
        "mmlu_pro_med": run(mmlu_pro, "mmlu_pro", shared / "mmlu_pro" / "mmlu_pro_test_health_biology.jsonl", "test"),
    }


def question_key(item: McqItem) -> tuple[str, tuple[str, ...]]:
    """Normalised question text and options; PubMedQA by its question sentence, since the two copies lay out the
    abstract differently (ours: labelled sections then "Question: ..."; HuatuoGPT-o1's: plain text, an instruction)."""
    question = (
        item.question.rsplit("\n", 1)[-1].removeprefix("Question: ") if item.source == "pubmedqa" else item.question
    )
    return norm(question), tuple(norm(option) for option in item.options)


def test_real_file_counts_and_answers_agree_with_the_release_converters(tmp_path: Path, shared_data: Path) -> None:
    results = convert(tmp_path / "huatuo", shared_data / "huatuo_eval")
    assert {key: report.written for key, (report, _) in results.items()} == {
        "medqa": 1273,
        "medmcqa": 4183,
        "pubmedqa": 1000,
        "mmlu_pro_med": 1535,
    }
    matched: dict[str, int] = {}
    for key, ours in release_items(tmp_path / "release", shared_data).items():
        answers: dict[tuple[str, tuple[str, ...]], set[tuple[str, str]]] = {}
        for item in ours:
            answers.setdefault(question_key(item), set()).add((item.answer, item.answer_text))
        huatuo = results[key][1]
        found = [(item, answers.get(question_key(item))) for item in huatuo]
        matched[key] = sum(release is not None for _, release in found)
        disagreeing = [
            item.id for item, release in found if release is not None and release != {(item.answer, item.answer_text)}
        ]
        assert not disagreeing, f"{key}: {len(disagreeing)} answers differ, e.g. {disagreeing[:3]}"
    print(f"matched with the release converters: {matched}")
    assert matched == {"medqa": 1273, "medmcqa": 4183, "pubmedqa": 1000, "mmlu_pro_med": 1535}

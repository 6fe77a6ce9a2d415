"""Protocols: which files a published table's items live in, its denominators, and the report's check of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alphamed.data_preprocess import huatuo_eval, medmcqa, medqa, mmlu_pro, pubmedqa
from alphamed.recipe.evaluation import main as eval_main
from alphamed.recipe.protocols import PROTOCOLS, denominator_section, protocol_files, published_denominators
from tests.conftest import REPO_ROOT

HUATUO_FIXTURE = REPO_ROOT / "examples" / "data" / "huatuo_eval"


def test_each_protocol_names_its_files_and_sources(tmp_path: Path) -> None:
    assert list(PROTOCOLS["huatuo_o1"]) == ["medqa", "medmcqa", "pubmedqa", "mmlu_pro_med", "gpqa_med"]
    assert list(PROTOCOLS["alphamed"]) == [*PROTOCOLS["huatuo_o1"], "medxpertqa"]
    assert PROTOCOLS["huatuo_o1"]["gpqa_med"].path(tmp_path) == tmp_path / "huatuo_eval" / "gpqa_med.parquet"
    assert PROTOCOLS["release"]["medmcqa"].path(tmp_path) == tmp_path / "medmcqa" / "validation.parquet"
    health = PROTOCOLS["med_rlvr"]["mmlu_pro_med"]
    assert health.command(tmp_path) == (
        f"alphamed prepare mmlu_pro --split test --categories health --local_save_dir {tmp_path / 'mmlu_pro_health'}"
    )
    assert all(f.source and f.published_n > 0 for files in PROTOCOLS.values() for f in files.values())
    with pytest.raises(ValueError, match="protocol huatuo_o1 has no medxpertqa"):
        protocol_files("huatuo_o1", ["medqa", "medxpertqa"])


def test_denominator_section_warns_on_every_difference() -> None:
    protocol = published_denominators("huatuo_o1", ["medqa", "pubmedqa"])
    section = denominator_section(protocol, {"medqa": 1273, "pubmedqa": 500, "headqa": 7})
    assert "| medqa | 1273 | 1273 |" in section and "| pubmedqa | 500 | 1000 |" in section
    assert "| headqa | 7 | n/a | not part of this protocol |" in section
    warnings = [line for line in section.splitlines() if "Warning" in line]
    assert len(warnings) == 1 and "pubmedqa was scored on 500 items, the published table on 1000" in warnings[0]


def _written(reports) -> dict[str, int]:
    return {report.split: report.written for report in reports}


def test_published_denominators_are_what_the_converters_give_on_the_real_files(
    tmp_path: Path, shared_data: Path
) -> None:
    """The numbers the reports compare with are the ones our default conversions reach (GPQA is not shared; the
    shared MedXpertQA copy is the 1449 items Text-1001..2449 of 2450)."""
    huatuo = _written(
        huatuo_eval.convert(
            ["--local_dataset_path", str(shared_data / "huatuo_eval"), "--local_save_dir", str(tmp_path / "h")]
        )
    )
    assert huatuo == {key: f.published_n for key, f in PROTOCOLS["huatuo_o1"].items() if key != "gpqa_med"}

    def release(module, source: Path, split: str) -> int:
        argv = ["--local_dataset_path", str(source), "--split", split, "--local_save_dir", str(tmp_path / split)]
        return module.convert(argv)[0].written

    assert {
        "medqa": release(medqa, shared_data / "medqa" / "US_4_options_phrases_no_exclude_test.jsonl", "test"),
        "medmcqa": release(medmcqa, shared_data / "medmcqa" / "RECONSTRUCTED_raw_format_dev.jsonl", "validation"),
        "pubmedqa": release(pubmedqa, shared_data / "pubmedqa", "test"),
        "mmlu_pro_med": release(mmlu_pro, shared_data / "mmlu_pro" / "mmlu_pro_test_health_biology.jsonl", "test"),
    } == {key: PROTOCOLS["release"][key].published_n for key in ("medqa", "medmcqa", "pubmedqa", "mmlu_pro_med")}
    health = mmlu_pro.convert(
        [
            *("--local_dataset_path", str(shared_data / "mmlu_pro" / "mmlu_pro_test_health_biology.jsonl")),
            *("--categories", "health", "--local_save_dir", str(tmp_path / "health")),
        ]
    )
    assert health[0].written == PROTOCOLS["med_rlvr"]["mmlu_pro_med"].published_n


def test_eval_with_the_huatuo_protocol_reports_n_beside_the_published_denominator(tmp_path, tiny_model_dir) -> None:
    data_dir = tmp_path / "data"
    huatuo_eval.convert(
        ["--local_dataset_path", str(HUATUO_FIXTURE), "--local_save_dir", str(data_dir / "huatuo_eval")]
    )
    out = tmp_path / "eval"
    argv = [
        "--model", str(tiny_model_dir), "--backend", "hf", "--device", "cpu", "--data_dir", str(data_dir),
        "--output_dir", str(out), "--max_tokens", "4", "--batch_size", "8", "--protocol", "huatuo_o1",
    ]  # fmt: skip
    assert eval_main(argv) == 0
    payload = json.loads((out / "results.json").read_text())
    assert payload["benchmark_order"] == list(PROTOCOLS["huatuo_o1"])
    assert payload["protocol"]["name"] == "huatuo_o1" and payload["settings"]["protocol"] == "huatuo_o1"
    assert payload["protocol"]["published"]["gpqa_med"]["n"] == 390
    markdown = (out / "results.md").read_text()
    assert "## Denominators (protocol `huatuo_o1`)" in markdown and "| gpqa_med | 6 | 390 |" in markdown
    assert markdown.count("- **Warning:**") == 5  # the shipped cut has a few rows per benchmark, not the paper's
    # the release protocol has no files here: the error names the converter that writes them
    assert eval_main([*argv[:-2], "--benchmarks", "medqa"]) == 1

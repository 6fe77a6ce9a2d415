"""``alphamed eval`` end to end: the tiny random model through the hf backend on every benchmark (CPU)."""

from __future__ import annotations

import json

import pytest

from alphamed.data_preprocess import EVAL_SPLITS
from alphamed.recipe.cli import main as cli_main
from alphamed.recipe.evaluation import benchmark_path, parse_benchmarks
from alphamed.recipe.evaluation import main as eval_main
from tests.recipe.eval_fixtures import benchmark_items, png_size, write_benchmark_dir


def _argv(model, data_dir, out, *extra: str) -> list[str]:
    return [
        "--model", str(model), "--backend", "hf", "--device", "cpu", "--data_dir", str(data_dir),
        "--output_dir", str(out), "--max_tokens", "6", "--batch_size", "4", *extra,
    ]  # fmt: skip


def test_tiny_model_on_all_six_benchmarks(tmp_path, tiny_model_dir, capsys) -> None:
    data_dir = write_benchmark_dir(tmp_path / "data")
    out = tmp_path / "eval"
    assert cli_main(["eval", *_argv(tiny_model_dir, data_dir, out)]) == 0
    items = benchmark_items()
    payload = json.loads((out / "results.json").read_text())
    assert payload["benchmark_order"] == list(EVAL_SPLITS)
    for name, metrics in payload["benchmarks"].items():
        assert metrics["n"] == len(items[name])
        assert 0.0 <= metrics["ci_low"] <= metrics["accuracy"] <= metrics["ci_high"] <= 1.0
        assert 0 < metrics["mean_response_tokens"] <= 6
        assert (metrics["macro_f1"] is not None) == (name == "pubmedqa")
    assert payload["settings"]["temperature"] == 0.0 and payload["settings"]["n"] == 1
    rows = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert len(rows) == sum(len(v) for v in items.values())
    for row in rows:
        assert set(row) >= {"benchmark", "id", "prompt", "responses", "pred_lenient", "pred_strict", "gold", "correct"}
        assert row["correct"] == [p == row["gold"] for p in row["pred_lenient"]]
    markdown = (out / "results.md").read_text()
    assert "average (6 benchmarks, unweighted)" in markdown and str(tiny_model_dir) in markdown
    assert "alphamed-verl" in markdown and "verl 0.9.1" in markdown
    assert png_size(out / "results.png")[0] > 300
    assert "| medqa | 3 |" in capsys.readouterr().out

    # Resuming reads every benchmark's sidecar instead of generating again: same items, same report.
    before = (out / "items.jsonl").read_text()
    assert eval_main(_argv(tiny_model_dir, data_dir, out)) == 0
    assert (out / "items.jsonl").read_text() == before


def test_sampling_several_answers_and_max_samples(tmp_path, tiny_model_dir) -> None:
    data_dir = write_benchmark_dir(tmp_path / "data", only=("medqa", "pubmedqa"))
    out = tmp_path / "eval"
    extra = ["--benchmarks", "medqa,pubmedqa", "--n", "3", "--temperature", "1.0", "--max_samples", "2"]
    assert eval_main(_argv(tiny_model_dir, data_dir, out, *extra)) == 0
    payload = json.loads((out / "results.json").read_text())
    assert {name: m["n"] for name, m in payload["benchmarks"].items()} == {"medqa": 2, "pubmedqa": 2}
    assert {m["samples_per_item"] for m in payload["benchmarks"].values()} == {3}
    rows = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert all(len(row["responses"]) == len(row["correct"]) == 3 for row in rows)


def test_missing_benchmark_names_the_file_and_the_converter(tmp_path, tiny_model_dir, capsys) -> None:
    data_dir = write_benchmark_dir(tmp_path / "data", only=("medqa",))
    out = tmp_path / "eval"
    assert eval_main(_argv(tiny_model_dir, data_dir, out, "--benchmarks", "medqa,medmcqa")) == 1
    err = capsys.readouterr().err
    assert str(benchmark_path(data_dir, "medmcqa")) in err
    assert "alphamed prepare medmcqa --split validation" in err
    assert not (out / "results.json").exists()

    assert eval_main(_argv(tiny_model_dir, data_dir, out, "--benchmarks", "medqa,medmcqa", "--skip_missing")) == 0
    payload = json.loads((out / "results.json").read_text())
    assert list(payload["benchmarks"]) == ["medqa"]
    assert payload["notes"] == {"benchmarks skipped (file missing)": "medmcqa"}


def test_benchmark_names_are_checked() -> None:
    assert parse_benchmarks("all") == list(EVAL_SPLITS)
    assert parse_benchmarks("pubmedqa, medqa,medqa") == ["pubmedqa", "medqa"]
    with pytest.raises(Exception, match="unknown benchmark"):
        parse_benchmarks("medqa,mmlu")


def test_an_empty_benchmark_file_is_an_error_naming_it(tmp_path, tiny_model_dir, capsys) -> None:
    import pyarrow.parquet as pq

    data_dir = write_benchmark_dir(tmp_path / "data", only=("medqa", "pubmedqa"))
    empty = benchmark_path(data_dir, "pubmedqa")
    pq.write_table(pq.read_table(empty).slice(0, 0), empty)  # the converters' schema, no rows
    out = tmp_path / "eval"
    assert eval_main(_argv(tiny_model_dir, data_dir, out, "--benchmarks", "medqa,pubmedqa")) == 1
    err = capsys.readouterr().err
    assert f"{empty}: the pubmedqa evaluation file has no rows" in err and len(err.strip().splitlines()) == 1
    assert not (out / "generations").exists()  # refused before any generation

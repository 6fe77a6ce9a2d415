"""Metrics and report files: Wilson intervals and macro-F1 against hand-computed values; planted responses
scored by the real engine + extractor give known accuracies; the report files are written and readable."""

from __future__ import annotations

import json
import math

import matplotlib.image
import pytest

from alphamed.data_preprocess.schema import to_verl_record
from alphamed.recipe.engine import ItemResult, score_record
from alphamed.recipe.eval_report import (
    benchmark_metrics,
    load_metrics,
    macro_f1,
    summarize,
    wilson_interval,
    write_report,
)
from tests.recipe.eval_fixtures import benchmark_items, png_size


def _wilson_by_hand(k: int, n: int) -> tuple[float, float]:
    """The textbook formula, written out apart from the module's: (p + z²/2n ± z√(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    z = 1.96
    p = k / n
    lo = (p + z**2 / (2 * n) - z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))) / (1 + z**2 / n)
    hi = (p + z**2 / (2 * n) + z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))) / (1 + z**2 / n)
    return lo, hi


@pytest.mark.parametrize(
    ("k", "n", "published"),
    # Published Wilson 95% intervals (e.g. Newcombe 1998, table I; Brown, Cai & DasGupta 2001).
    [(5, 10, (0.2366, 0.7634)), (8, 10, (0.4902, 0.9433)), (0, 10, (0.0, 0.2775)), (81, 263, (0.2553, 0.3662))],
)
def test_wilson_interval_matches_published_values(k, n, published) -> None:
    low, high = wilson_interval(k / n, n)
    assert low == pytest.approx(published[0], abs=1e-4)
    assert high == pytest.approx(published[1], abs=1e-4)
    assert (low, high) == pytest.approx(_wilson_by_hand(k, n), abs=1e-4)


def test_wilson_interval_of_nothing_is_undefined() -> None:
    assert wilson_interval(0.0, 0) == (None, None)


def test_macro_f1_by_hand() -> None:
    # A: tp 1, fp 0, fn 1 -> 2/3; B: tp 1, fp 1, fn 0 -> 2/3; C: tp 0, fn 1 (the invalid answer) -> 0.
    assert macro_f1(["A", "A", "B", "C"], ["A", "B", "B", None]) == pytest.approx(4 / 9)
    assert macro_f1(["A", "B"], ["A", "B"]) == 1.0
    assert macro_f1([], []) is None


# Ten MedQA-style items whose answers are all A; each response's fate is known in advance.
PLANTED = [
    "Reasoning... so the answer is \\boxed{A}.",  # strict right, lenient right
    "\\boxed{A}",
    "Step 1. Step 2. \\boxed{A}",
    "The best option is clear. \\boxed{A}",
    "Therefore \\boxed{A}",
    "Hence, \\boxed{A}.",
    "Final: \\boxed{A}",
    "I pick \\boxed{B}",  # strict wrong, lenient wrong
    "The answer is (A).",  # no box: strict invalid, lenient right
    "I am not sure.",  # invalid both ways
]


def _planted_results(n_items: int = 10) -> list[ItemResult]:
    base = benchmark_items()["medqa"][0]
    items = [base.__class__(**{**base.__dict__, "id": f"q{i}", "answer": "A"}) for i in range(n_items)]
    records = [to_verl_record(item, "alphamed", i) for i, item in enumerate(items)]
    return [score_record(record, [text]) for record, text in zip(records, PLANTED, strict=True)]


def test_planted_responses_give_known_accuracies() -> None:
    metrics = benchmark_metrics("medqa", _planted_results())
    assert metrics.n == 10
    assert metrics.accuracy == pytest.approx(0.8)  # 7 boxed + "The answer is (A)."
    assert metrics.accuracy_strict == pytest.approx(0.7)
    assert metrics.invalid_rate == pytest.approx(0.1)
    assert metrics.invalid_rate_strict == pytest.approx(0.2)
    assert (metrics.ci_low, metrics.ci_high) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert metrics.mean_response_tokens is None  # no token counts were given
    assert metrics.macro_f1 is None  # only PubMedQA's official metric includes it


def _item(benchmark: str, gold: str, preds: list[str | None], tokens: int | None = 5) -> ItemResult:
    return ItemResult(
        id=f"{benchmark}-{gold}-{len(preds)}-{preds}",
        data_source=benchmark,
        gold=gold,
        prompt_style="alphamed",
        prompt=[{"role": "user", "content": "q"}],
        responses=[f"\\boxed{{{p}}}" for p in preds],
        pred=preds,
        pred_lenient=preds,
        correct=[p == gold for p in preds],
        response_tokens=[tokens] * len(preds),
    )


def test_samples_average_and_items_set_the_interval() -> None:
    items = [_item("medqa", "A", ["A", "B"]), _item("medqa", "A", ["A", "A"]), _item("medqa", "B", [None, "C"])]
    metrics = benchmark_metrics("medqa", items)
    assert metrics.accuracy == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert metrics.samples_per_item == 2
    assert metrics.invalid_rate == pytest.approx(1 / 6)
    assert (metrics.ci_low, metrics.ci_high) == pytest.approx(wilson_interval(0.5, 3))  # n = items, not samples
    assert metrics.mean_response_tokens == 5


def test_pubmedqa_macro_f1_is_averaged_over_sample_runs() -> None:
    golds_and_runs = [("A", ["A", "A"]), ("B", ["B", "A"]), ("C", ["A", None])]
    items = [_item("pubmedqa", gold, preds) for gold, preds in golds_and_runs]
    metrics = benchmark_metrics("pubmedqa", items)
    run0 = macro_f1(["A", "B", "C"], ["A", "B", "A"])  # A 2/3, B 1, C 0
    run1 = macro_f1(["A", "B", "C"], ["A", "A", None])  # A 2/3, B 0, C 0
    assert run0 == pytest.approx((2 / 3 + 1) / 3) and run1 == pytest.approx((2 / 3) / 3)
    assert metrics.macro_f1 == pytest.approx((run0 + run1) / 2)


def test_unknown_token_counts_are_reported_as_unknown() -> None:
    assert benchmark_metrics("medqa", [_item("medqa", "A", ["A"], tokens=None)]).mean_response_tokens is None


def test_report_files_are_written_and_read_back(tmp_path) -> None:
    items = {
        "medqa": [_item("medqa", "A", ["A"]), _item("medqa", "B", ["A"])],
        "pubmedqa": [_item("pubmedqa", "C", ["C"])],
    }
    paths = write_report(items, tmp_path / "run", {"model": "planted", "source": "test", "settings": {"n": 1}})
    payload = json.loads(paths["json"].read_text())
    assert payload["benchmarks"]["medqa"]["accuracy"] == 0.5
    assert payload["benchmarks"]["pubmedqa"]["macro_f1"] == 1.0
    assert payload["average"]["accuracy"] == pytest.approx(0.75)  # unweighted: (0.5 + 1.0) / 2
    assert set(payload["versions"]) == {"alphamed-verl", "verl"}
    assert payload["versions"]["verl"] == "0.9.1"
    lines = [json.loads(line) for line in paths["items"].read_text().splitlines()]
    assert [(row["benchmark"], row["gold"], row["correct"]) for row in lines] == [
        ("medqa", "A", [True]),
        ("medqa", "B", [False]),
        ("pubmedqa", "C", [True]),
    ]
    markdown = paths["md"].read_text()
    assert "| medqa | 2 | 50.0 |" in markdown and "average (2 benchmarks, unweighted)" in markdown
    width, height = png_size(paths["png"])
    assert width > 300 and height > 200
    assert matplotlib.image.imread(paths["png"]).shape[:2] == (height, width)
    _, rows = load_metrics(tmp_path / "run")
    assert rows == summarize(items)

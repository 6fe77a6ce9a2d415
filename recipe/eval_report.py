"""Evaluation metrics and the report files: ``items.jsonl``, ``results.json``, ``results.md``, ``results.png``.

Scoring rule (the same for a stand-alone eval and a veRL validation dump):

- **accuracy (primary) uses ``lenient`` extraction**: any model can be evaluated, including instruction models
  that never write ``\\boxed{}`` (boxed, "the answer is (X)", "Answer: X", bold, option text, ...).
- **strict accuracy** uses the prompt style's own mode (``strict`` for ``alphamed``, ``tagged`` for ``med_rlvr``),
  i.e. exactly the training reward's rule; the gap between the two shows how much is format, not knowledge.
- An answer from which no single letter can be read is **invalid**: it counts as wrong and is reported as the
  invalid rate; a letter is never guessed (unlike scorers that pick a random or first letter).
- With ``n`` samples per item, accuracy is the mean over all samples; the Wilson 95% interval is computed with
  the number of *items* as its sample size (samples of one item are correlated, so counting them as independent
  trials would give a falsely narrow interval).
- PubMedQA also gets macro-F1 over its labels (its official metric), averaged over the ``n`` sample runs. The
  converter lists yes/no/maybe in the same order for every item, so the answer letter is the label; an invalid
  answer is a miss for the gold label and a false positive for none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from alphamed.data_preprocess.parquet_io import read_json, write_json_atomic, write_jsonl_atomic, write_text_atomic
from alphamed.recipe.engine import ItemResult
from alphamed.recipe.protocols import denominator_section
from alphamed.recipe.rendering import grouped_bars, markdown_table

#: Results per benchmark, in report order.
Results = Mapping[str, Sequence[ItemResult]]

#: benchmarks whose official metric includes macro-F1 over the gold labels.
MACRO_F1_BENCHMARKS = frozenset({"pubmedqa"})
Z_95 = 1.959963984540054


def wilson_interval(accuracy: float, n: int, z: float = Z_95) -> tuple[float, float] | tuple[None, None]:
    """Wilson score interval for a proportion ``accuracy`` observed over ``n`` trials; (None, None) when n = 0."""
    if n <= 0:
        return None, None
    denominator = 1.0 + z * z / n
    center = (accuracy + z * z / (2 * n)) / denominator
    half = z * math.sqrt(accuracy * (1.0 - accuracy) / n + z * z / (4 * n * n)) / denominator
    # Clamped so rounding never puts the observed proportion outside its own interval.
    return max(0.0, min(accuracy, center - half)), min(1.0, max(accuracy, center + half))


def macro_f1(golds: Sequence[str], preds: Sequence[str | None]) -> float | None:
    """Macro-F1 over the labels seen in ``golds`` or ``preds``; ``None`` predictions are misses, never a label."""
    if not golds:
        return None
    labels = sorted(set(golds) | {p for p in preds if p is not None})
    scores = []
    for label in labels:
        tp = sum(1 for g, p in zip(golds, preds, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(golds, preds, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(golds, preds, strict=True) if g == label and p != label)
        scores.append(2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores)


@dataclass(frozen=True)
class BenchmarkMetrics:
    """The report's row for one benchmark (accuracies and rates are fractions in [0, 1])."""

    benchmark: str
    n: int
    samples_per_item: int
    accuracy: float
    ci_low: float | None
    ci_high: float | None
    accuracy_strict: float
    invalid_rate: float
    invalid_rate_strict: float
    mean_response_tokens: float | None
    macro_f1: float | None = None
    macro_f1_strict: float | None = None


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _per_run_macro_f1(items: Sequence[ItemResult], strict: bool) -> float | None:
    """Mean over sample runs j of macro-F1 of every item's j-th answer (= plain macro-F1 when n = 1)."""
    runs = min(len(item.responses) for item in items)
    values = []
    for j in range(runs):
        preds = [(item.pred if strict else item.pred_lenient)[j] for item in items]
        value = macro_f1([item.gold for item in items], preds)
        if value is not None:
            values.append(value)
    return _mean(values) if values else None


def benchmark_metrics(benchmark: str, items: Sequence[ItemResult]) -> BenchmarkMetrics:
    """Accuracy (+ Wilson CI over items), strict accuracy, invalid rates, mean tokens and macro-F1 if official."""
    if not items:
        raise ValueError(f"{benchmark}: no scored items to summarise")
    per_item = [_mean([float(c) for c in item.correct_lenient]) for item in items]
    per_item_strict = [_mean([float(c) for c in item.correct]) for item in items]
    accuracy = _mean(per_item)
    low, high = wilson_interval(accuracy, len(items))
    lenient = [p for item in items for p in item.pred_lenient]
    strict = [p for item in items for p in item.pred]
    tokens = [t for item in items for t in item.response_tokens]
    counted = [t for t in tokens if t is not None]
    official_f1 = benchmark in MACRO_F1_BENCHMARKS
    return BenchmarkMetrics(
        benchmark=benchmark,
        n=len(items),
        samples_per_item=max(len(item.responses) for item in items),
        accuracy=accuracy,
        ci_low=low,
        ci_high=high,
        accuracy_strict=_mean(per_item_strict),
        invalid_rate=_mean([float(p is None) for p in lenient]),
        invalid_rate_strict=_mean([float(p is None) for p in strict]),
        mean_response_tokens=_mean(counted) if counted and len(counted) == len(tokens) else None,
        macro_f1=_per_run_macro_f1(items, strict=False) if official_f1 else None,
        macro_f1_strict=_per_run_macro_f1(items, strict=True) if official_f1 else None,
    )


def summarize(results: Results) -> list[BenchmarkMetrics]:
    """One :class:`BenchmarkMetrics` per benchmark, in the order of ``results``."""
    return [benchmark_metrics(name, items) for name, items in results.items()]


def average_row(metrics: Sequence[BenchmarkMetrics]) -> dict[str, float | int | None]:
    """Unweighted mean over benchmarks (each benchmark counts once, whatever its size), as papers report."""
    tokens = [m.mean_response_tokens for m in metrics]
    return {
        "benchmarks": len(metrics),
        "accuracy": _mean([m.accuracy for m in metrics]),
        "accuracy_strict": _mean([m.accuracy_strict for m in metrics]),
        "invalid_rate": _mean([m.invalid_rate for m in metrics]),
        "invalid_rate_strict": _mean([m.invalid_rate_strict for m in metrics]),
        "mean_response_tokens": _mean(tokens) if tokens and all(t is not None for t in tokens) else None,
    }


def package_versions() -> dict[str, str]:
    """Versions of this package and of veRL, so a results file says what produced it."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for dist in ("alphamed-verl", "verl"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            found[dist] = "not installed"
    return found


def item_row(benchmark: str, item: ItemResult) -> dict[str, Any]:
    """One line of ``items.jsonl``. In the report *strict* is the prompt style's own mode (the training reward's
    rule, ``ItemResult.pred``) and plain ``correct`` is lenient, as for the primary accuracy."""
    return {
        "benchmark": benchmark,
        "id": str(item.id),
        "prompt": item.prompt,
        "gold": item.gold,
        "responses": item.responses,
        "pred_lenient": item.pred_lenient,
        "pred_strict": item.pred,
        "response_tokens": item.response_tokens,
        "prompt_style": item.prompt_style,
        "correct": item.correct_lenient,
        "correct_strict": item.correct,
    }


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def _tokens(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


METRIC_HEADER = (
    "benchmark|n|accuracy % (lenient)|95% CI|strict %|invalid % (lenient)|invalid % (strict)|mean tokens|macro-F1 %"
)


def metrics_table(metrics: Sequence[BenchmarkMetrics]) -> str:
    """Benchmarks × metrics (percentages), with the unweighted average as the last row."""
    rows: list[list[str | None]] = []
    for m in metrics:
        ci = "n/a" if m.ci_low is None else f"{_pct(m.ci_low)}–{_pct(m.ci_high)}"
        f1 = "" if m.macro_f1 is None else _pct(m.macro_f1)
        rows.append(
            [m.benchmark, str(m.n), _pct(m.accuracy), ci, _pct(m.accuracy_strict), _pct(m.invalid_rate)]
            + [_pct(m.invalid_rate_strict), _tokens(m.mean_response_tokens), f1]
        )
    avg = average_row(metrics)
    rows.append(
        [f"**average ({avg['benchmarks']} benchmarks, unweighted)**", None, f"**{_pct(avg['accuracy'])}**", None]
        + [_pct(avg["accuracy_strict"]), _pct(avg["invalid_rate"]), _pct(avg["invalid_rate_strict"])]
        + [_tokens(avg["mean_response_tokens"]), None]
    )
    return markdown_table(METRIC_HEADER.split("|"), rows, numeric=True)


def results_payload(metrics: Sequence[BenchmarkMetrics], run_info: Mapping[str, Any]) -> dict[str, Any]:
    """What ``results.json`` holds: run description, versions, per-benchmark metrics and the average."""
    return {
        **run_info,
        "versions": package_versions(),
        "scoring": {
            "accuracy": "lenient extraction (primary)",
            "accuracy_strict": "the prompt style's extraction mode = the training reward's rule",
            "invalid": "no single letter could be extracted; counted as wrong, never guessed",
            "ci": "Wilson 95% interval over items",
        },
        "benchmarks": {m.benchmark: asdict(m) for m in metrics},
        "benchmark_order": [m.benchmark for m in metrics],  # the JSON keys are written sorted
        "average": average_row(metrics),
    }


def _markdown_report(payload: Mapping[str, Any], metrics: Sequence[BenchmarkMetrics]) -> str:
    settings = payload.get("settings") or {}
    versions = payload["versions"]
    lines = [
        f"# Evaluation: {payload.get('model', '?')}",
        "",
        metrics_table(metrics),
        "",
        "Accuracy uses lenient answer extraction; *strict* uses the prompt style's own rule (the training "
        "reward's). Invalid = no single answer letter could be read (counted wrong, never guessed). "
        "CI = Wilson 95% interval over items.",
        "",
        f"- model: `{payload.get('model', '?')}`",
        f"- source: {payload.get('source', '?')}",
        "- settings: " + (", ".join(f"{k}={v}" for k, v in settings.items()) or "n/a"),
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
    ]
    for key, value in (payload.get("notes") or {}).items():
        lines.append(f"- {key}: {value}")
    if payload.get("protocol"):
        lines += ["", denominator_section(payload["protocol"], {m.benchmark: m.n for m in metrics})]
    return "\n".join(lines) + "\n"


def _ci_span(m: BenchmarkMetrics) -> tuple[float, float]:
    """The Wilson interval as percentage points below and above the accuracy (none known: no whisker)."""
    low = m.accuracy if m.ci_low is None else m.ci_low
    high = m.accuracy if m.ci_high is None else m.ci_high
    return 100 * (m.accuracy - low), 100 * (high - m.accuracy)


def plot_accuracy(runs: Mapping[str, Sequence[BenchmarkMetrics]], path: Path, title: str) -> Path:
    """Grouped bars: accuracy per benchmark for each run, with Wilson 95% error bars."""
    benchmarks = list(dict.fromkeys(m.benchmark for rows in runs.values() for m in rows))
    heights = {label: {m.benchmark: 100 * m.accuracy for m in rows} for label, rows in runs.items()}
    spans = {label: {m.benchmark: _ci_span(m) for m in rows} for label, rows in runs.items()}
    return grouped_bars(
        path,
        benchmarks,
        heights,
        errors=spans,
        title=title,
        ylabel="accuracy % (lenient; Wilson 95% CI)",
        figsize=(max(6.0, 1.3 * len(benchmarks) * max(1, len(runs)) ** 0.5 + 2), 4.5),
        tick_rotation=20,
        ylim=(0, 100),
        grid=True,
        legend=8 if len(runs) > 1 else None,
    )


def write_report(results: Results, out_dir: str | Path, run_info: Mapping[str, Any]) -> dict[str, Path]:
    """Write ``items.jsonl``, ``results.json``, ``results.md`` and ``results.png`` under ``out_dir``."""
    out = Path(out_dir).expanduser()
    metrics = summarize(results)
    payload = results_payload(metrics, run_info)
    label = str(run_info.get("model", "model"))
    rows = (item_row(benchmark, item) for benchmark, items in results.items() for item in items)
    return {
        "items": write_jsonl_atomic(rows, out / "items.jsonl"),
        "json": write_json_atomic(payload, out / "results.json"),
        "md": write_text_atomic(_markdown_report(payload, metrics), out / "results.md"),
        "png": plot_accuracy({label: metrics}, out / "results.png", title=f"accuracy: {Path(label).name}"),
    }


def load_metrics(results_json: str | Path) -> tuple[dict[str, Any], list[BenchmarkMetrics]]:
    """Read back a ``results.json`` (or the run folder holding it) as its payload and metric rows."""
    path = Path(results_json).expanduser()
    if path.is_dir():
        path = path / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no results.json (run `alphamed eval ... --output_dir` first)")
    payload = read_json(path, "an alphamed results.json")
    try:
        rows = [BenchmarkMetrics(**payload["benchmarks"][name]) for name in payload["benchmark_order"]]
    except (KeyError, TypeError) as err:
        raise ValueError(f"{path}: not an alphamed results.json ({err})") from err
    return payload, rows

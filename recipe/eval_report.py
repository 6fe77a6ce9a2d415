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

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from alphamed.data_preprocess.parquet_io import write_json_atomic
from alphamed.recipe.protocols import denominator_section

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
class ScoredItem:
    """One question with its sampled answers, as both the engine and a veRL dump deliver it."""

    benchmark: str
    id: str
    prompt: Any
    gold: str
    responses: list[str]
    pred_lenient: list[str | None]
    pred_strict: list[str | None]
    response_tokens: list[int | None]
    prompt_style: str = ""

    @property
    def correct(self) -> list[bool]:
        return [p == self.gold for p in self.pred_lenient]

    @property
    def correct_strict(self) -> list[bool]:
        return [p == self.gold for p in self.pred_strict]

    def to_json(self) -> dict[str, Any]:
        row = asdict(self)
        row["correct"] = self.correct
        row["correct_strict"] = self.correct_strict
        return row


def scored_from_engine(benchmark: str, result: Any) -> ScoredItem:
    """Adapt the engine's ``ItemResult`` (``pred`` = prompt style's mode) to the report's item."""
    return ScoredItem(
        benchmark=benchmark,
        id=str(result.id),
        prompt=result.prompt,
        gold=result.gold,
        responses=list(result.responses),
        pred_lenient=list(result.pred_lenient),
        pred_strict=list(result.pred),
        response_tokens=list(result.response_tokens),
        prompt_style=result.prompt_style,
    )


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


def _per_run_macro_f1(items: Sequence[ScoredItem], strict: bool) -> float | None:
    """Mean over sample runs j of macro-F1 of every item's j-th answer (= plain macro-F1 when n = 1)."""
    runs = min(len(item.responses) for item in items)
    values = []
    for j in range(runs):
        preds = [(item.pred_strict if strict else item.pred_lenient)[j] for item in items]
        value = macro_f1([item.gold for item in items], preds)
        if value is not None:
            values.append(value)
    return _mean(values) if values else None


def benchmark_metrics(benchmark: str, items: Sequence[ScoredItem]) -> BenchmarkMetrics:
    """Accuracy (+ Wilson CI over items), strict accuracy, invalid rates, mean tokens and macro-F1 if official."""
    if not items:
        raise ValueError(f"{benchmark}: no scored items to summarise")
    per_item = [_mean([float(c) for c in item.correct]) for item in items]
    per_item_strict = [_mean([float(c) for c in item.correct_strict]) for item in items]
    accuracy = _mean(per_item)
    low, high = wilson_interval(accuracy, len(items))
    lenient = [p for item in items for p in item.pred_lenient]
    strict = [p for item in items for p in item.pred_strict]
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


def summarize(items: Sequence[ScoredItem]) -> list[BenchmarkMetrics]:
    """One :class:`BenchmarkMetrics` per benchmark, in the order benchmarks first appear in ``items``."""
    groups: dict[str, list[ScoredItem]] = {}
    for item in items:
        groups.setdefault(item.benchmark, []).append(item)
    return [benchmark_metrics(name, group) for name, group in groups.items()]


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


def write_items_jsonl(items: Sequence[ScoredItem], path: Path) -> Path:
    """One JSON line per question: prompt, responses, lenient and strict letters, gold, per-sample correctness."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(item.to_json(), ensure_ascii=False, default=str) + "\n")
    os.replace(tmp, path)
    return path


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def _tokens(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def markdown_table(metrics: Sequence[BenchmarkMetrics]) -> str:
    """Benchmarks × metrics (percentages), with the unweighted average as the last row."""
    lines = [
        "| benchmark | n | accuracy % (lenient) | 95% CI | strict % | invalid % (lenient) | invalid % (strict) "
        "| mean tokens | macro-F1 % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in metrics:
        ci = "n/a" if m.ci_low is None else f"{_pct(m.ci_low)}–{_pct(m.ci_high)}"
        f1 = "" if m.macro_f1 is None else _pct(m.macro_f1)
        lines.append(
            f"| {m.benchmark} | {m.n} | {_pct(m.accuracy)} | {ci} | {_pct(m.accuracy_strict)} "
            f"| {_pct(m.invalid_rate)} | {_pct(m.invalid_rate_strict)} | {_tokens(m.mean_response_tokens)} | {f1} |"
        )
    avg = average_row(metrics)
    lines.append(
        f"| **average ({avg['benchmarks']} benchmarks, unweighted)** | | **{_pct(avg['accuracy'])}** | "
        f"| {_pct(avg['accuracy_strict'])} | {_pct(avg['invalid_rate'])} | {_pct(avg['invalid_rate_strict'])} "
        f"| {_tokens(avg['mean_response_tokens'])} | |"
    )
    return "\n".join(lines)


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
        markdown_table(metrics),
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


def plot_accuracy(runs: Mapping[str, Sequence[BenchmarkMetrics]], path: Path, title: str) -> Path:
    """Grouped bars: accuracy per benchmark for each run, with Wilson 95% error bars (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benchmarks = list(dict.fromkeys(m.benchmark for rows in runs.values() for m in rows))
    width = 0.8 / max(1, len(runs))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(benchmarks) * max(1, len(runs)) ** 0.5 + 2), 4.5))
    for r, (label, rows) in enumerate(runs.items()):
        by_name = {m.benchmark: m for m in rows}
        xs, heights, below, above = [], [], [], []
        for b, name in enumerate(benchmarks):
            m = by_name.get(name)
            if m is None:
                continue
            xs.append(b - 0.4 + width * (r + 0.5))
            heights.append(100 * m.accuracy)
            below.append(100 * (m.accuracy - (m.ci_low if m.ci_low is not None else m.accuracy)))
            above.append(100 * ((m.ci_high if m.ci_high is not None else m.accuracy) - m.accuracy))
        ax.bar(xs, heights, width=width, yerr=[below, above], capsize=3, label=label)
    ax.set_xticks(range(len(benchmarks)), benchmarks, rotation=20, ha="right")
    ax.set_ylabel("accuracy % (lenient; Wilson 95% CI)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    if len(runs) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(items: Sequence[ScoredItem], out_dir: str | Path, run_info: Mapping[str, Any]) -> dict[str, Path]:
    """Write ``items.jsonl``, ``results.json``, ``results.md`` and ``results.png`` under ``out_dir``."""
    out = Path(out_dir).expanduser()
    metrics = summarize(items)
    payload = results_payload(metrics, run_info)
    label = str(run_info.get("model", "model"))
    return {
        "items": write_items_jsonl(items, out / "items.jsonl"),
        "json": write_json_atomic(payload, out / "results.json"),
        "md": _write_text(out / "results.md", _markdown_report(payload, metrics)),
        "png": plot_accuracy({label: metrics}, out / "results.png", title=f"accuracy: {Path(label).name}"),
    }


def _write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_metrics(results_json: str | Path) -> tuple[dict[str, Any], list[BenchmarkMetrics]]:
    """Read back a ``results.json`` (or the run folder holding it) as its payload and metric rows."""
    path = Path(results_json).expanduser()
    if path.is_dir():
        path = path / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no results.json (run `alphamed eval ... --output_dir` first)")
    payload = json.loads(path.read_text(encoding="utf-8"))
    try:
        rows = [BenchmarkMetrics(**payload["benchmarks"][name]) for name in payload["benchmark_order"]]
    except (KeyError, TypeError) as err:
        raise ValueError(f"{path}: not an alphamed results.json ({err})") from err
    return payload, rows

"""``alphamed eval-compare O1 O2 ...``: several evaluation runs side by side (e.g. base model vs trained).

Reads each run's ``results.json`` (and its ``items.jsonl``, for which questions were scored and in which prompt
style) and writes ``compare.md`` (benchmarks × runs: n and accuracy with its Wilson 95% interval, and the change
against the first run), ``compare.json`` and ``compare.png`` (grouped bars with error bars) into ``--output_dir``.
Runs are labelled by their folder name unless ``--labels`` says otherwise.

A difference is only a result when the runs measured the same thing. Runs that scored different questions, or
sampled differently, or prompted in different styles, or evaluated different revisions of one model, are still
compared, but every such difference is a WARNING line and is marked in ``compare.md``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from alphamed.data_preprocess.cli_args import make_parser
from alphamed.data_preprocess.parquet_io import write_json_atomic, write_text_atomic
from alphamed.recipe.eval_report import BenchmarkMetrics, average_row, load_metrics, plot_accuracy

#: ``results.json`` settings that change what a sampled answer is; a run that lacks one "did not record" it.
SAMPLING_SETTINGS = ("n", "temperature", "top_p", "max_tokens")
#: Where a run may record its model's exact revision (hub commit, checkpoint hash); absent today.
REVISION_KEYS = ("model_revision", "revision")
NOT_RECORDED = "not recorded"
#: compare.md's mark on a Δ whose two runs scored different questions of that benchmark.
ITEMS_DIFFER_MARK = "†"


@dataclass(frozen=True)
class Run:
    """One evaluation run as the comparison needs it."""

    label: str
    path: Path
    payload: dict[str, Any]
    rows: list[BenchmarkMetrics]
    item_ids: dict[str, frozenset[str]] | None  # benchmark -> ids scored; None without items.jsonl
    prompt_styles: frozenset[str] | None

    @property
    def by_benchmark(self) -> dict[str, BenchmarkMetrics]:
        return {m.benchmark: m for m in self.rows}


def read_items(run_dir: Path) -> tuple[dict[str, frozenset[str]], frozenset[str]] | None:
    """Ids scored per benchmark and the prompt styles used, from ``items.jsonl``; None when it is absent."""
    path = run_dir / "items.jsonl"
    if not path.is_file():
        return None
    ids: dict[str, set[str]] = {}
    styles: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                ids.setdefault(str(row.get("benchmark")), set()).add(str(row.get("id")))
                styles.add(str(row.get("prompt_style") or NOT_RECORDED))
    return {name: frozenset(found) for name, found in ids.items()}, frozenset(styles)


def load_run(label: str, run_dir: str | Path) -> Run:
    """``results.json`` and ``items.jsonl`` of one ``alphamed eval`` output folder."""
    path = Path(run_dir).expanduser()
    payload, rows = load_metrics(path)
    folder = path if path.is_dir() else path.parent
    items = read_items(folder)
    ids, styles = items if items is not None else (None, None)
    return Run(label, folder, payload, rows, ids, styles)


# ---------------------------------------------------------------- comparability


def source_kind(payload: Mapping[str, Any]) -> str:
    """``generation`` or ``veRL validation dump`` (a dump's source names its path, which always differs)."""
    source = str(payload.get("source", NOT_RECORDED))
    return "veRL validation dump" if source.startswith("veRL validation dump") else source


def model_revision(payload: Mapping[str, Any]) -> str:
    settings = payload.get("settings") or {}
    for key in REVISION_KEYS:
        for where in (payload, settings):
            if where.get(key) not in (None, ""):
                return str(where[key])
    return NOT_RECORDED


def _differs(runs: Sequence[Run], what: str, value_of) -> list[str]:
    """One warning when ``value_of(run)`` is not the same for every run, naming each run's value."""
    values = {run.label: value_of(run) for run in runs}
    if len(set(values.values())) <= 1:
        return []
    return [f"{what} differs: " + ", ".join(f"{label} {value}" for label, value in values.items())]


def items_differ(runs: Sequence[Run], benchmark: str) -> str | None:
    """Why the runs did not score the same questions of ``benchmark`` (None when they did, or one run lacks it)."""
    present = [run for run in runs if benchmark in run.by_benchmark]
    if len(present) < 2:
        return None
    counts = {run.label: run.by_benchmark[benchmark].n for run in present}
    if len(set(counts.values())) > 1:
        return f"{benchmark} n differs (" + ", ".join(f"{label} {n}" for label, n in counts.items()) + ")"
    id_sets = [run.item_ids.get(benchmark) for run in present if run.item_ids is not None]
    if len(id_sets) == len(present) and len(set(id_sets)) > 1:
        return f"{benchmark}: same n ({present[0].by_benchmark[benchmark].n}) but different questions"
    return None


def comparability(runs: Sequence[Run], benchmarks: Sequence[str]) -> tuple[list[str], set[str]]:
    """Warnings about what makes the runs unlike, and the benchmarks whose item sets differ."""
    if len(runs) < 2:
        return [], set()
    item_notes = {name: note for name in benchmarks if (note := items_differ(runs, name))}
    warnings = [f"items differ: {'; '.join(item_notes.values())}"] if item_notes else []
    for key in SAMPLING_SETTINGS:
        warnings += _differs(
            runs, f"sampling setting {key}", lambda r, k=key: (r.payload.get("settings") or {}).get(k, NOT_RECORDED)
        )
    warnings += _differs(runs, "source", lambda r: source_kind(r.payload))
    warnings += _differs(
        runs, "prompt style", lambda r: ",".join(sorted(r.prompt_styles)) if r.prompt_styles else NOT_RECORDED
    )
    by_model: dict[str, list[Run]] = {}
    for run in runs:
        by_model.setdefault(str(run.payload.get("model", "?")), []).append(run)
    for model, same_model in by_model.items():
        warnings += _differs(same_model, f"revision of model {model}", lambda r: model_revision(r.payload))
    return warnings, set(item_notes)


# ---------------------------------------------------------------- the report


def _cell(m: BenchmarkMetrics | None) -> str:
    if m is None:
        return "—"
    ci = "" if m.ci_low is None else f" ({100 * m.ci_low:.1f}–{100 * m.ci_high:.1f})"
    return f"{100 * m.accuracy:.1f}{ci}"


def _delta(m: BenchmarkMetrics | None, base: BenchmarkMetrics | None, marked: bool) -> str:
    if m is None or base is None:
        return "—"
    return f"{100 * (m.accuracy - base.accuracy):+.1f}{' ' + ITEMS_DIFFER_MARK if marked else ''}"


def compare_table(runs: Sequence[Run], items_differ_in: set[str] = frozenset()) -> str:
    """Markdown: one row per benchmark, n and accuracy per run, a Δ column per later run, then the average.

    The average row is each run's unweighted mean over its own benchmarks; it is only comparable when the runs
    cover the same benchmarks (the benchmark count is shown). A Δ over different questions is marked.
    """
    labels = [run.label for run in runs]
    benchmarks = list(dict.fromkeys(m.benchmark for run in runs for m in run.rows))
    lookup = {run.label: run.by_benchmark for run in runs}
    header = ["benchmark", *(column for label in labels for column in (f"{label} n", f"{label} acc % (95% CI)"))]
    header += [f"Δ {label} vs {labels[0]}" for label in labels[1:]]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for name in benchmarks:
        cells = [name]
        for label in labels:
            m = lookup[label].get(name)
            cells += ["—" if m is None else str(m.n), _cell(m)]
        base = lookup[labels[0]].get(name)
        cells += [_delta(lookup[label].get(name), base, name in items_differ_in) for label in labels[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    averages = {run.label: average_row(run.rows) for run in runs}
    cells = ["**average (unweighted)**"]
    for label, run in zip(labels, runs, strict=True):
        cells += [
            str(sum(m.n for m in run.rows)),
            f"{100 * averages[label]['accuracy']:.1f} ({len(run.rows)} benchmarks)",
        ]
    cells += [f"{100 * (averages[label]['accuracy'] - averages[labels[0]]['accuracy']):+.1f}" for label in labels[1:]]
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _markdown(runs: Sequence[Run], table: str, warnings: Sequence[str], items_differ_in: set[str]) -> str:
    lines = ["# Evaluation comparison", ""]
    if warnings:
        lines += ["**⚠ NOT LIKE FOR LIKE** — these runs differ in what they measured; read the Δ with care:", ""]
        lines += [f"- ⚠ {warning}" for warning in warnings] + [""]
    lines += [table, "", "n = questions scored. Accuracy uses lenient extraction; CI = Wilson 95%."]
    if items_differ_in:
        lines.append(f"{ITEMS_DIFFER_MARK} the runs scored different questions of this benchmark.")
    lines.append("")
    lines += [f"- {run.label}: `{run.payload.get('model', '?')}` ({run.path})" for run in runs]
    return "\n".join(lines) + "\n"


def compare(run_dirs: Sequence[str | Path], output_dir: str | Path, labels: Sequence[str] | None = None) -> dict:
    """Write ``compare.md``, ``compare.json`` and ``compare.png`` for ``run_dirs``; return their paths (and the
    comparability warnings under ``"warnings"``)."""
    if labels is not None and len(labels) != len(run_dirs):
        raise ValueError(f"--labels gives {len(labels)} names for {len(run_dirs)} runs")
    names = list(labels) if labels else [Path(d).expanduser().resolve().name for d in run_dirs]
    if len(set(names)) != len(names):
        raise ValueError(f"run labels must be distinct, got {names}; pass --labels")
    runs = [load_run(name, run_dir) for name, run_dir in zip(names, run_dirs, strict=True)]
    benchmarks = list(dict.fromkeys(m.benchmark for run in runs for m in run.rows))
    warnings, items_differ_in = comparability(runs, benchmarks)
    out = Path(output_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    md_path = out / "compare.md"
    write_text_atomic(_markdown(runs, compare_table(runs, items_differ_in), warnings, items_differ_in), md_path)
    payload = {
        "comparable": not warnings,
        "warnings": warnings,
        "runs": {
            run.label: {"model": str(run.payload.get("model", "?")), "benchmarks": [asdict(m) for m in run.rows]}
            for run in runs
        },
    }
    return {
        "md": md_path,
        "json": write_json_atomic(payload, out / "compare.json"),
        "png": plot_accuracy({run.label: run.rows for run in runs}, out / "compare.png", title="accuracy by benchmark"),
        "warnings": warnings,
    }


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("alphamed eval-compare", __doc__)
    parser.add_argument("runs", nargs="+", help="output folders of `alphamed eval` (each holds results.json)")
    parser.add_argument("--output_dir", required=True, help="where compare.md / compare.json / compare.png go")
    parser.add_argument("--labels", nargs="+", default=None, help="one name per run (default: folder names)")
    args = parser.parse_args(argv)
    try:
        result = compare(args.runs, args.output_dir, args.labels)
    except (FileNotFoundError, ValueError) as err:
        print(f"alphamed eval-compare: {err}", file=sys.stderr)
        return 1
    print(result["md"].read_text(encoding="utf-8"))
    for warning in result["warnings"]:
        print(f"alphamed eval-compare: WARNING: {warning}", file=sys.stderr)
    print("wrote " + ", ".join(str(result[key]) for key in ("md", "json", "png")))
    return 0


if __name__ == "__main__":
    sys.exit(main())

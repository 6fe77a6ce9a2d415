"""``alphamed eval-compare O1 O2 ...``: several evaluation runs side by side (e.g. base model vs trained).

Reads each run's ``results.json`` and writes ``compare.md`` (benchmarks × runs: accuracy with its Wilson 95%
interval, and the change against the first run), ``compare.json`` and ``compare.png`` (grouped bars with error
bars) into ``--output_dir``. Runs are labelled by their folder name unless ``--labels`` says otherwise.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from alphamed.data_preprocess.parquet_io import write_json_atomic, write_text_atomic
from alphamed.recipe.eval_report import BenchmarkMetrics, average_row, load_metrics, plot_accuracy
from alphamed.recipe.rendering import markdown_table


def _cell(m: BenchmarkMetrics | None) -> str:
    if m is None:
        return "—"
    ci = "" if m.ci_low is None else f" ({100 * m.ci_low:.1f}–{100 * m.ci_high:.1f})"
    return f"{100 * m.accuracy:.1f}{ci}"


def _delta(m: BenchmarkMetrics | None, base: BenchmarkMetrics | None) -> str:
    return "—" if m is None or base is None else f"{100 * (m.accuracy - base.accuracy):+.1f}"


def compare_table(runs: dict[str, list[BenchmarkMetrics]]) -> str:
    """Markdown: one row per benchmark, one accuracy column per run, a Δ column per later run, then the average.

    The average row is each run's unweighted mean over its own benchmarks; it is only comparable when the runs
    cover the same benchmarks (the benchmark count is shown).
    """
    labels = list(runs)
    benchmarks = list(dict.fromkeys(m.benchmark for rows in runs.values() for m in rows))
    lookup = {label: {m.benchmark: m for m in rows} for label, rows in runs.items()}
    header = ["benchmark", *(f"{label} acc % (95% CI)" for label in labels)]
    header += [f"Δ {label} vs {labels[0]}" for label in labels[1:]]
    body = []
    for name in benchmarks:
        cells = [name, *(_cell(lookup[label].get(name)) for label in labels)]
        cells += [_delta(lookup[label].get(name), lookup[labels[0]].get(name)) for label in labels[1:]]
        body.append(cells)
    averages = {label: average_row(rows) for label, rows in runs.items()}
    cells = ["**average (unweighted)**"]
    cells += [f"{100 * avg['accuracy']:.1f} ({avg['benchmarks']} benchmarks)" for avg in averages.values()]
    cells += [f"{100 * (averages[label]['accuracy'] - averages[labels[0]]['accuracy']):+.1f}" for label in labels[1:]]
    return markdown_table(header, [*body, cells], numeric=True)


def compare(run_dirs: Sequence[str | Path], output_dir: str | Path, labels: Sequence[str] | None = None) -> dict:
    """Write ``compare.md``, ``compare.json`` and ``compare.png`` for ``run_dirs``; return their paths."""
    if labels is not None and len(labels) != len(run_dirs):
        raise ValueError(f"--labels gives {len(labels)} names for {len(run_dirs)} runs")
    names = list(labels) if labels else [Path(d).expanduser().resolve().name for d in run_dirs]
    if len(set(names)) != len(names):
        raise ValueError(f"run labels must be distinct, got {names}; pass --labels")
    runs: dict[str, list[BenchmarkMetrics]] = {}
    models: dict[str, str] = {}
    for name, run_dir in zip(names, run_dirs, strict=True):
        payload, rows = load_metrics(run_dir)
        runs[name] = rows
        models[name] = str(payload.get("model", "?"))
    out = Path(output_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    table = compare_table(runs)
    lines = ["# Evaluation comparison", "", table, "", "Accuracy uses lenient extraction; CI = Wilson 95%.", ""]
    lines += [f"- {name}: `{models[name]}` ({Path(d).expanduser()})" for name, d in zip(names, run_dirs, strict=True)]
    md_path = write_text_atomic("\n".join(lines) + "\n", out / "compare.md")
    payload = {
        "runs": {name: {"model": models[name], "benchmarks": [asdict(m) for m in rows]} for name, rows in runs.items()}
    }
    return {
        "md": md_path,
        "json": write_json_atomic(payload, out / "compare.json"),
        "png": plot_accuracy(runs, out / "compare.png", title="accuracy by benchmark"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="alphamed eval-compare", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", help="output folders of `alphamed eval` (each holds results.json)")
    parser.add_argument("--output_dir", required=True, help="where compare.md / compare.json / compare.png go")
    parser.add_argument("--labels", nargs="+", default=None, help="one name per run (default: folder names)")
    args = parser.parse_args(argv)
    try:
        paths = compare(args.runs, args.output_dir, args.labels)
    except (FileNotFoundError, ValueError) as err:
        print(f"alphamed eval-compare: {err}", file=sys.stderr)
        return 1
    print(paths["md"].read_text(encoding="utf-8"))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

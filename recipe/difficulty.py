"""``alphamed annotate``: how hard each question is for a reference model, written into the parquet itself.

AlphaMed's finding is that which questions you train on matters more than how many, and GRPO learns nothing
from a question every sample gets right (or wrong): all rewards are equal. So each item gets ``k`` sampled
answers to its own prompt, scored by the extractor its prompt style is trained with (the shared engine in
:mod:`alphamed.recipe.engine`, resumable through a sidecar), and two fields in ``extra_info``:

* ``pass_rate``: correct / k;
* ``difficulty``: a level, 1 = easiest. Default binning: number of wrong answers + 1, i.e. 1 = all k correct
  … k+1 = none correct (AlphaMed's L1–L6 for k = 5). ``--pass_rate_edges 0.2,0.5,0.8`` bins by pass rate
  instead: level 1 = pass rate >= 0.8, 2 = [0.5, 0.8), 3 = [0.2, 0.5), 4 = below 0.2 (level = 1 + the number
  of edges above the pass rate), which keeps levels comparable across different k.

At the end it prints and saves the level distribution per ``data_source`` (``<output>.levels.md`` / ``.json``)
and a histogram (``<output>.levels.png``).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from alphamed.data_preprocess.cli_args import add_max_samples_arg, make_parser
from alphamed.data_preprocess.parquet_io import (
    check_output_writable,
    output_lock,
    write_json_atomic,
    write_records_parquet,
    write_text_atomic,
)
from alphamed.recipe.engine import (
    ItemResult,
    SamplingConfig,
    SidecarMismatchError,
    load_records,
    run_items,
    sidecar_bytes_needed,
)
from alphamed.recipe.generate import (
    GenerationBackend,
    GenerationError,
    add_generation_args,
    batch_size_from_args,
    open_backend,
    sampling_from_args,
    warn_if_slow,
)
from alphamed.recipe.rendering import grouped_bars, markdown_table


def parse_edges(text: str) -> tuple[float, ...]:
    """``"0.2,0.5,0.8"`` -> sorted, distinct pass-rate edges strictly between 0 and 1."""
    try:
        edges = sorted({float(part) for part in text.split(",") if part.strip()})
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"--pass_rate_edges: {text!r} is not a comma-separated list of numbers"
        ) from err
    if not edges or not all(0 < edge < 1 for edge in edges):
        raise argparse.ArgumentTypeError(f"--pass_rate_edges: {text!r}: need one or more numbers strictly in (0, 1)")
    return tuple(edges)


def difficulty_level(correct: Sequence[bool], edges: Sequence[float] | None = None) -> int:
    """The level of one item from its k scored answers: wrong answers + 1, or 1 + pass-rate edges above it."""
    if not correct:
        raise ValueError("an item needs at least one scored answer to get a difficulty")
    if edges is None:
        return len(correct) - sum(correct) + 1
    pass_rate = sum(correct) / len(correct)
    return 1 + sum(edge > pass_rate for edge in edges)


def level_count(k: int, edges: Sequence[float] | None) -> int:
    """How many levels the binning has (k + 1 by wrong answers; one more than the edges otherwise)."""
    return k + 1 if edges is None else len(edges) + 1


def annotate_record(record: Mapping[str, Any], result: ItemResult, edges: Sequence[float] | None) -> dict[str, Any]:
    """A copy of ``record`` with ``extra_info.pass_rate`` and ``extra_info.difficulty`` set from ``result``."""
    extra = dict(record.get("extra_info") or {})
    extra["pass_rate"] = result.accuracy
    extra["difficulty"] = difficulty_level(result.correct, edges)
    return {**record, "extra_info": extra}


def level_summary(
    records: Sequence[Mapping[str, Any]], results: Sequence[ItemResult], levels: int
) -> dict[str, dict[str, Any]]:
    """Per data_source (and ``all``): items per level, mean pass rate, share of unreadable answers."""
    groups: dict[str, list[tuple[Mapping[str, Any], ItemResult]]] = {}
    for record, result in zip(records, results, strict=True):
        groups.setdefault(str(record["data_source"]), []).append((record, result))
    groups = dict(sorted(groups.items()))
    groups["all"] = [pair for pairs in list(groups.values()) for pair in pairs]
    summary: dict[str, dict[str, Any]] = {}
    for source, pairs in groups.items():
        counts = {str(level): 0 for level in range(1, levels + 1)}
        for record, _ in pairs:
            counts[str(record["extra_info"]["difficulty"])] += 1
        answers = [pred for _, result in pairs for pred in result.pred]
        summary[source] = {
            "items": len(pairs),
            "levels": counts,
            "mean_pass_rate": sum(record["extra_info"]["pass_rate"] for record, _ in pairs) / len(pairs),
            "unreadable_share": sum(pred is None for pred in answers) / len(answers) if answers else 0.0,
        }
    return summary


def summary_markdown(summary: Mapping[str, Mapping[str, Any]]) -> str:
    """The level table: one row per data_source, one column per level (1 = easiest)."""
    levels = list(next(iter(summary.values()))["levels"])
    header = ["data_source", *(f"L{level}" for level in levels), "items", "mean pass rate", "unreadable"]
    rows = [
        [source, *(str(row["levels"][level]) for level in levels), str(row["items"])]
        + [f"{row['mean_pass_rate']:.3f}", f"{row['unreadable_share']:.1%}"]
        for source, row in summary.items()
    ]
    return markdown_table(header, rows, numeric=False) + "\n"


def plot_levels(summary: Mapping[str, Mapping[str, Any]], path: Path, title: str) -> Path:
    """Grouped bars: share of each data_source's items per level (sources of any size compare directly)."""
    levels = list(summary["all"]["levels"])
    shares = {
        f"{source} (n={row['items']})": {level: row["levels"][level] / row["items"] for level in levels}
        for source, row in summary.items()
        if source != "all"
    }
    return grouped_bars(
        path,
        levels,
        shares,
        title=title,
        ylabel="share of the source's items",
        xlabel="difficulty level (1 = easiest)",
        tick_labels=[f"L{level}" for level in levels],
        figsize=(max(6.0, 1.2 * len(levels)), 4.0),
    )


def report_paths(output: Path) -> dict[str, Path]:
    """The files written beside ``--output``: the sidecar (default) and the level reports."""
    stem = output.with_suffix("")
    return {
        suffix: stem.with_name(f"{stem.name}.{suffix}")
        for suffix in ("sidecar.jsonl", "levels.md", "levels.json", "levels.png")
    }


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser(
        "alphamed annotate",
        "Annotate question difficulty: k sampled answers per item from a reference model, scored by "
        "the reward's extractor; writes extra_info.pass_rate and extra_info.difficulty (1 = easiest).",
    )
    parser.add_argument("--input", nargs="+", required=True, type=Path, help="veRL parquet file(s) from the converters")
    parser.add_argument("--output", required=True, type=Path, help="annotated parquet to write")
    parser.add_argument(
        "--sidecar", type=Path, default=None, help="resumable JSONL of responses (default: beside --output)"
    )
    parser.add_argument(
        "--pass_rate_edges",
        type=parse_edges,
        default=None,
        help="bin by pass rate instead of wrong answers, e.g. 0.2,0.5,0.8 -> 4 levels (1 = pass rate >= 0.8)",
    )
    add_max_samples_arg(parser)
    add_generation_args(parser, samples_flag="--k", default_samples=5, default_temperature=1.0)
    return parser


def annotate(
    records: Sequence[Mapping[str, Any]],
    backend: GenerationBackend,
    sampling: SamplingConfig,
    output: Path,
    *,
    sidecar: Path | None = None,
    edges: Sequence[float] | None = None,
    batch_size: int = 32,
    inputs: Sequence[Path] = (),
) -> dict[str, Any]:
    """Annotate ``records`` and write the parquet, the level table (md/json) and the PNG; return the report."""
    paths = report_paths(output)
    sidecar = sidecar or paths["sidecar.jsonl"]
    results = run_items(records, backend, sampling, sidecar, batch_size=batch_size, desc="annotating")
    annotated = [annotate_record(record, result, edges) for record, result in zip(records, results, strict=True)]
    write_records_parquet(annotated, output)
    summary = level_summary(annotated, results, level_count(sampling.n, edges))
    binning = (
        {"kind": "wrong_answers", "levels": f"1 = all {sampling.n} correct ... {sampling.n + 1} = none correct"}
        if edges is None
        else {"kind": "pass_rate_edges", "edges": list(edges)}
    )
    report = {
        "inputs": [str(path) for path in inputs],
        "output": str(output),
        "sidecar": str(sidecar),
        "model": backend.model,
        "backend": backend.name,
        "sampling": asdict(sampling),
        "binning": binning,
        "by_data_source": summary,
    }
    table = summary_markdown(summary)
    write_text_atomic(f"# Difficulty levels of {output.name}\n\n{table}", paths["levels.md"])
    write_json_atomic(report, paths["levels.json"])
    plot_levels(
        summary, paths["levels.png"], f"difficulty of {output.name} (k={sampling.n}, {Path(backend.model).name})"
    )
    print(
        f"\n{table}\nwrote {output}, {paths['levels.md'].name}, {paths['levels.json'].name}, "
        f"{paths['levels.png'].name}; responses in {sidecar}"
    )
    return report


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        sampling = sampling_from_args(args)
        records = load_records(
            args.input, args.max_samples, args.seed
        )  # bad input fails, naming file, row and field, before a model loads
        if not records:
            raise ValueError(f"{', '.join(map(str, args.input))}: no rows to annotate")
        sidecar = args.sidecar or report_paths(args.output)["sidecar.jsonl"]
        # Before the model loads: a folder that cannot take the outputs, or an output in use, fails in seconds.
        # Each lock checks its folder is writable; the sidecar's folder is also checked for room.
        check_output_writable(sidecar.expanduser().parent, sidecar_bytes_needed(records, sampling, sidecar))
        with contextlib.ExitStack() as held:
            # the sidecar is locked too: another run can name it in --sidecar
            for output in dict.fromkeys([args.output, sidecar]):
                held.enter_context(output_lock(output))
            backend = held.enter_context(open_backend(args))
            batch_size = batch_size_from_args(args, backend)
            warn_if_slow(backend, [len(records)], sampling, batch_size)
            annotate(
                records,
                backend,
                sampling,
                args.output,
                sidecar=sidecar,
                edges=args.pass_rate_edges,
                batch_size=batch_size,
                inputs=args.input,
            )
    except (ValueError, FileNotFoundError, SidecarMismatchError, GenerationError, ImportError) as err:
        print(f"alphamed annotate: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("alphamed annotate: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

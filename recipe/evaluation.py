"""``alphamed eval``: evaluate a model on the six medical benchmarks, or score a veRL validation dump.

Generation and answer extraction are the shared engine's (``alphamed.recipe.engine.run_items``, resumable
through one sidecar per benchmark under ``<output_dir>/generations/``); this module picks the benchmark files,
runs them and writes the report (``alphamed.recipe.eval_report`` documents the scoring rule). Examples::

    alphamed eval --model Qwen/Qwen2.5-7B-Instruct --backend vllm --output_dir runs/eval/base
    alphamed eval --model M --backend hf --benchmarks medqa,pubmedqa --max_samples 50 --output_dir runs/quick
    alphamed eval --model M --backend vllm --protocol huatuo_o1 --output_dir runs/eval/huatuo_o1
    alphamed eval --from_verl_dump checkpoints/alphamed/val_generations --output_dir runs/eval/step_latest
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from alphamed.data_preprocess import DEFAULT_DATA_ROOT, EVAL_SPLITS
from alphamed.recipe.engine import SidecarMismatchError, load_records, run_items
from alphamed.recipe.eval_report import ScoredItem, scored_from_engine, write_report
from alphamed.recipe.generate import (
    GenerationError,
    SamplingConfig,
    add_generation_args,
    backend_from_args,
    sampling_from_args,
)
from alphamed.recipe.protocols import DEFAULT_PROTOCOL, PROTOCOLS, protocol_files, published_denominators
from alphamed.recipe.verl_dump import (
    DumpFormatError,
    ReplayBackend,
    dump_file,
    match_dump,
    read_dump,
    write_skipped,
)

Labelled = list[tuple[str, Mapping[str, Any]]]


class MissingBenchmarkError(FileNotFoundError):
    """A benchmark's evaluation parquet is absent; the message says which converter command writes it."""


def benchmark_path(data_dir: str | Path, benchmark: str, protocol: str = DEFAULT_PROTOCOL) -> Path:
    """``<data_dir>/<folder>/<split>.parquet`` of a benchmark's file under ``protocol`` (``recipe.protocols``)."""
    return protocol_files(protocol, [benchmark])[benchmark].path(data_dir)


def parse_benchmarks(text: str) -> list[str]:
    """``medqa,pubmedqa`` -> names, checked against ``EVAL_SPLITS`` (``all`` = the six)."""
    names = list(EVAL_SPLITS) if text.strip() == "all" else [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in EVAL_SPLITS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown benchmark(s) {unknown}; choose from {', '.join(EVAL_SPLITS)}")
    return list(dict.fromkeys(names))


def load_benchmarks(
    data_dir: str | Path,
    benchmarks: Sequence[str] | None,
    max_samples: int | None,
    skip_missing: bool,
    protocol: str = DEFAULT_PROTOCOL,
) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Records per benchmark (first ``max_samples`` of each; ``benchmarks`` None: all of the protocol's) and the
    benchmarks skipped for a missing file."""
    loaded: dict[str, list[dict[str, Any]]] = {}
    missing: list[str] = []
    for name, file in protocol_files(protocol, benchmarks).items():
        path = file.path(data_dir)
        if not path.is_file():
            message = (
                f"{path}: the {name} evaluation file of protocol {protocol} is missing. Write it with "
                f"`{file.command(data_dir)}` (`alphamed prepare {file.converter} --help`: --local_dataset_path), "
                "point --data_dir at the converters' output root, or pass --skip_missing."
            )
            if not skip_missing:
                raise MissingBenchmarkError(message)
            print(f"skipping {name}: {message}", file=sys.stderr)
            missing.append(name)
            continue
        loaded[name] = load_records(path, max_samples)
    if not loaded:
        raise MissingBenchmarkError(f"none of the benchmarks {', '.join(benchmarks)} has a file under {data_dir}")
    return loaded, missing


def _settings(args: argparse.Namespace, sampling: SamplingConfig | None) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "data_dir": str(args.data_dir),
        "max_samples": args.max_samples,
        "protocol": args.protocol,
    }
    if sampling is not None:
        settings.update(
            backend=args.backend,
            n=sampling.n,
            max_tokens=sampling.max_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            seed=sampling.seed,
            batch_size=args.batch_size,
        )
    return settings


def evaluate(args: argparse.Namespace) -> dict[str, Path]:
    """Generate and score every requested benchmark, then write the report into ``args.output_dir``."""
    sampling = sampling_from_args(args)
    loaded, missing = load_benchmarks(
        args.data_dir, args.benchmarks, args.max_samples, args.skip_missing, args.protocol
    )
    backend = backend_from_args(args)
    out = Path(args.output_dir).expanduser()
    items: list[ScoredItem] = []
    for name, records in loaded.items():
        results = run_items(
            records, backend, sampling, out / "generations" / f"{name}.jsonl", batch_size=args.batch_size, desc=name
        )
        items.extend(scored_from_engine(name, result) for result in results)
    notes = {"benchmarks skipped (file missing)": ", ".join(missing)} if missing else {}
    run_info = {
        "model": args.model,
        "source": "generation",
        "settings": _settings(args, sampling),
        "notes": notes,
        "protocol": published_denominators(args.protocol, list(loaded)),
    }
    return write_report(items, out, run_info)


def _labelled_records(args: argparse.Namespace) -> tuple[Labelled, list[str]]:
    """The questions dump rows are matched against: ``--val_files`` (labelled by data_source) or benchmarks."""
    if args.val_files:
        return [(str(r["data_source"]), r) for r in load_records(args.val_files)], []
    loaded, missing = load_benchmarks(args.data_dir, args.benchmarks, None, args.skip_missing, args.protocol)
    return [(name, record) for name, records in loaded.items() for record in records], missing


def score_verl_dump(args: argparse.Namespace) -> dict[str, Path]:
    """Score one veRL validation dump against the benchmark questions and write the same report."""
    path = dump_file(args.from_verl_dump, args.step)
    rows = read_dump(path)
    labelled, missing = _labelled_records(args)
    match = match_dump(rows, labelled)
    out = Path(args.output_dir).expanduser()
    if match.skipped:
        write_skipped(match.skipped, out / "dump_unmatched.jsonl")
        print(
            f"{len(match.skipped)} of {len(rows)} dump rows not scored: {match.skip_counts} "
            f"(listed in {out / 'dump_unmatched.jsonl'})",
            file=sys.stderr,
        )
    if not match.records:
        raise DumpFormatError(
            f"{path}: none of its {len(rows)} rows matched a benchmark question ({match.skip_counts}); were the "
            "benchmark files written with the training run's prompt style? Pass its data.val_files as --val_files."
        )
    groups: dict[tuple[str, int], list[int]] = {}
    for position, ((label, _), texts) in enumerate(zip(match.records, match.responses, strict=True)):
        groups.setdefault((label, len(texts)), []).append(position)
    items: list[ScoredItem] = []
    with tempfile.TemporaryDirectory(prefix="alphamed_dump_") as scratch:
        for (label, n), positions in groups.items():
            records = [match.records[p][1] for p in positions]
            backend = ReplayBackend(
                str(path), [r["prompt"] for r in records], [match.responses[p] for p in positions], args.tokenizer
            )
            sampling = SamplingConfig(n=n, max_tokens=1, temperature=0.0, top_p=1.0, seed=0)
            sidecar = Path(scratch) / f"{label}_n{n}.jsonl"
            results = run_items(records, backend, sampling, sidecar, batch_size=args.batch_size, desc=label)
            items.extend(scored_from_engine(label, result) for result in results)
    step = rows[0].extra.get("step") if rows else None
    verl_scores = {}
    for (label, _), scores in zip(match.records, match.scores, strict=True):
        verl_scores.setdefault(label, []).extend(scores)
    notes: dict[str, Any] = {
        "dump rows": f"{len(rows)} read, {sum(len(r) for r in match.responses)} scored, "
        f"not scored: {match.skip_counts or 'none'}",
        "veRL reward mean per benchmark (dump 'score')": ", ".join(
            f"{label} {sum(v) / len(v):.3f}" for label, v in verl_scores.items() if v
        )
        or "n/a",
    }
    if missing:
        notes["benchmarks skipped (file missing)"] = ", ".join(missing)
    run_info = {
        "model": args.model or str(path),
        "source": f"veRL validation dump {path} (step {step})",
        "settings": {"dump": str(path), "step": step, "matched_against": args.val_files or str(args.data_dir)},
        "notes": notes,
        "dump": {"rows": len(rows), "skipped": match.skip_counts, "step": step},
    }
    if not args.val_files:  # matched against a protocol's files: its denominators apply
        run_info["protocol"] = published_denominators(
            args.protocol, list(dict.fromkeys(label for label, _ in labelled))
        )
    return write_report(items, out, run_info)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alphamed eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--benchmarks",
        type=parse_benchmarks,
        default=None,
        help="comma list or 'all' (default: the protocol's benchmarks)",
    )
    parser.add_argument(
        "--protocol",
        choices=list(PROTOCOLS),
        default=DEFAULT_PROTOCOL,
        help="the item set of a published table: release (the datasets' own evaluation splits), huatuo_o1 "
        "(HuatuoGPT-o1's evaluation file, `alphamed prepare huatuo_eval`), alphamed (huatuo_o1 + MedXpertQA), "
        "med_rlvr (MedQA + MMLU-Pro health); the report puts each n beside the published denominator",
    )
    parser.add_argument("--data_dir", default=DEFAULT_DATA_ROOT, help="root the converters wrote their parquet to")
    parser.add_argument("--output_dir", required=True, help="where items.jsonl and results.* are written")
    parser.add_argument("--max_samples", type=int, default=None, help="first N items of each benchmark (quick look)")
    parser.add_argument("--skip_missing", action="store_true", help="skip (and report) benchmarks without a file")
    dump = parser.add_argument_group("scoring a veRL validation dump instead of generating")
    dump.add_argument("--from_verl_dump", default=None, help="trainer.validation_data_dir, or one <step>.jsonl in it")
    dump.add_argument("--step", type=int, default=None, help="which step's dump (default: the latest)")
    dump.add_argument(
        "--val_files", nargs="+", default=None, help="match against these parquet files (the run's data.val_files)"
    )
    add_generation_args(parser, samples_flag="--n", default_samples=1, default_temperature=0.0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.max_samples is not None and args.max_samples < 1:
        raise SystemExit(f"alphamed eval: --max_samples must be >= 1, got {args.max_samples}")
    try:
        paths = score_verl_dump(args) if args.from_verl_dump else evaluate(args)
    except (FileNotFoundError, DumpFormatError, SidecarMismatchError, ValueError, GenerationError, ImportError) as err:
        print(f"alphamed eval: error: {err}", file=sys.stderr)
        return 1
    print((Path(args.output_dir).expanduser() / "results.md").read_text(encoding="utf-8"))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from alphamed.data_preprocess import DEFAULT_DATA_ROOT, EVAL_SPLITS
from alphamed.data_preprocess.cli_args import add_max_samples_arg, make_parser
from alphamed.data_preprocess.parquet_io import check_output_writable, output_lock
from alphamed.recipe.engine import (
    ItemResult,
    SidecarMismatchError,
    load_records,
    run_items,
    score_record,
    sidecar_bytes_needed,
)
from alphamed.recipe.eval_report import write_report
from alphamed.recipe.generate import (
    GenerationBackend,
    GenerationError,
    SamplingConfig,
    add_generation_args,
    batch_size_from_args,
    load_tokenizer,
    open_backend,
    sampling_from_args,
    token_counts,
    warn_if_slow,
)
from alphamed.recipe.protocols import DEFAULT_PROTOCOL, PROTOCOLS, protocol_files, published_denominators
from alphamed.recipe.verl_dump import DumpFormatError, dump_file, match_dump, read_dump, write_skipped

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
    seed: int = 0,
) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Records per benchmark (a seeded sample of ``max_samples`` of each; ``benchmarks`` None: all of the
    protocol's) and the benchmarks skipped for a missing file."""
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
        loaded[name] = load_records(path, max_samples, seed)
        if not loaded[name]:  # an empty benchmark would silently drop out of the average
            raise ValueError(f"{path}: the {name} evaluation file has no rows; write it again with its converter")
    if not loaded:
        names = ", ".join(benchmarks or PROTOCOLS[protocol])
        raise MissingBenchmarkError(f"none of the benchmarks {names} has a file under {data_dir}")
    return loaded, missing


def sidecar_path(output_dir: str | Path, benchmark: str) -> Path:
    """The resumable sidecar of one benchmark: ``<output_dir>/generations/<benchmark>.jsonl``."""
    return Path(output_dir).expanduser() / "generations" / f"{benchmark}.jsonl"


def output_bytes_needed(
    records: Mapping[str, Sequence[Mapping[str, Any]]], sampling: SamplingConfig, output_dir: str | Path
) -> int:
    """About how many bytes a run writes under ``output_dir``: what each benchmark's sidecar still needs, plus
    ``items.jsonl``, which repeats every prompt and response (``engine.sidecar_bytes_needed`` estimates both)."""
    sidecars = sum(
        sidecar_bytes_needed(rows, sampling, sidecar_path(output_dir, name)) for name, rows in records.items()
    )
    return sidecars + sum(sidecar_bytes_needed(rows, sampling) for rows in records.values())


def evaluate(
    records: Mapping[str, Sequence[Mapping[str, Any]]],
    backend: GenerationBackend,
    sampling: SamplingConfig,
    output_dir: str | Path,
    *,
    batch_size: int = 32,
    model: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    notes: Mapping[str, str] | None = None,
    protocol: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Generate and score each benchmark's records (resumable: one sidecar per benchmark under
    ``generations/``), then write the report into ``output_dir``.

    ``model`` names the model in the report (default: the backend's); ``inputs`` says how the records were
    chosen and leads the recorded settings; ``notes`` become report lines; ``protocol`` is the published
    denominators the records follow (``protocols.published_denominators``), printed beside each n.
    """
    out = Path(output_dir).expanduser()
    results = {
        name: run_items(rows, backend, sampling, sidecar_path(out, name), batch_size=batch_size, desc=name)
        for name, rows in records.items()
    }
    settings = {**(inputs or {}), "backend": backend.name, **asdict(sampling), "batch_size": batch_size}
    run_info = {"model": model or backend.model, "source": "generation", "settings": settings, "notes": notes or {}}
    if protocol is not None:
        run_info["protocol"] = protocol
    return write_report(results, out, run_info)


def score_verl_dump(
    dump: Path,
    labelled: Labelled,
    output_dir: str | Path,
    *,
    tokenizer: str | None = None,
    model: str | None = None,
    matched_against: str | list[str] = "",
    notes: Mapping[str, str] | None = None,
    protocol: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Score one veRL validation dump file against ``labelled`` questions (``(benchmark, record)``) with the
    engine's :func:`score_record` and write the same report as a generating run.

    ``tokenizer`` enables response token counts; ``matched_against`` says where the questions came from;
    ``protocol`` as for :func:`evaluate` (when the questions are a protocol's files).
    """
    rows = read_dump(dump)
    match = match_dump(rows, labelled)
    out = Path(output_dir).expanduser()
    if match.skipped:
        write_skipped(match.skipped, out / "dump_unmatched.jsonl")
        print(
            f"{len(match.skipped)} of {len(rows)} dump rows not scored: {match.skip_counts} "
            f"(listed in {out / 'dump_unmatched.jsonl'})",
            file=sys.stderr,
        )
    if not match.records:
        raise DumpFormatError(
            f"{dump}: none of its {len(rows)} rows matched a benchmark question ({match.skip_counts}); were the "
            "benchmark files written with the training run's prompt style? Pass its data.val_files as --val_files."
        )
    counter = load_tokenizer(tokenizer) if tokenizer else None
    results: dict[str, list[ItemResult]] = {}
    verl_scores: dict[str, list[float]] = {}
    for (label, record), texts, scores in zip(match.records, match.responses, match.scores, strict=True):
        results.setdefault(label, []).append(score_record(record, texts, token_counts(counter, texts)))
        verl_scores.setdefault(label, []).extend(scores)
    step = rows[0].extra.get("step") if rows else None
    dump_notes = {
        "dump rows": f"{len(rows)} read, {sum(len(r) for r in match.responses)} scored, "
        f"not scored: {match.skip_counts or 'none'}",
        "veRL reward mean per benchmark (dump 'score')": ", ".join(
            f"{label} {sum(v) / len(v):.3f}" for label, v in verl_scores.items() if v
        )
        or "n/a",
    }
    run_info = {
        "model": model or str(dump),
        "source": f"veRL validation dump {dump} (step {step})",
        "settings": {"dump": str(dump), "step": step, "matched_against": matched_against},
        "notes": {**dump_notes, **(notes or {})},
        "dump": {"rows": len(rows), "skipped": match.skip_counts, "step": step},
    }
    if protocol is not None:
        run_info["protocol"] = protocol
    return write_report(results, out, run_info)


def _labelled_records(args: argparse.Namespace) -> tuple[Labelled, list[str]]:
    """The questions dump rows are matched against: ``--val_files`` (labelled by data_source) or benchmarks."""
    if args.val_files:
        return [(str(r["data_source"]), r) for r in load_records(args.val_files)], []
    loaded, missing = load_benchmarks(args.data_dir, args.benchmarks, None, args.skip_missing, args.protocol)
    return [(name, record) for name, records in loaded.items() for record in records], missing


def _skipped_note(missing: Sequence[str]) -> dict[str, str]:
    return {"benchmarks skipped (file missing)": ", ".join(missing)} if missing else {}


def _run(args: argparse.Namespace) -> dict[str, Path]:
    """The command: flags to the library calls, bad input failing before a model loads; then the output folder
    is checked (writable, room for the run) and locked (``<output_dir>.lock``), still before the model loads."""
    out = Path(args.output_dir).expanduser()
    if args.from_verl_dump:
        dump = dump_file(args.from_verl_dump, args.step)
        labelled, missing = _labelled_records(args)
        check_output_writable(out)
        with output_lock(out):
            return score_verl_dump(
                dump,
                labelled,
                out,
                tokenizer=args.tokenizer,
                model=args.model,
                matched_against=args.val_files or str(args.data_dir),
                notes=_skipped_note(missing),
                # matched against a protocol's files: its denominators apply
                protocol=None
                if args.val_files
                else published_denominators(args.protocol, list(dict.fromkeys(label for label, _ in labelled))),
            )
    sampling = sampling_from_args(args)
    loaded, missing = load_benchmarks(
        args.data_dir, args.benchmarks, args.max_samples, args.skip_missing, args.protocol, args.seed
    )
    check_output_writable(out, output_bytes_needed(loaded, sampling, out))
    with output_lock(out), open_backend(args) as backend:
        batch_size = batch_size_from_args(args, backend)
        warn_if_slow(backend, [len(records) for records in loaded.values()], sampling, batch_size)
        return evaluate(
            loaded,
            backend,
            sampling,
            out,
            batch_size=batch_size,
            model=args.model,
            inputs={"data_dir": str(args.data_dir), "max_samples": args.max_samples, "protocol": args.protocol},
            notes=_skipped_note(missing),
            protocol=published_denominators(args.protocol, list(loaded)),
        )


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("alphamed eval", __doc__)
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
    add_max_samples_arg(parser)
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
    try:
        paths = _run(args)
    except (FileNotFoundError, DumpFormatError, SidecarMismatchError, ValueError, GenerationError, ImportError) as err:
        print(f"alphamed eval: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("alphamed eval: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    print((Path(args.output_dir).expanduser() / "results.md").read_text(encoding="utf-8"))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

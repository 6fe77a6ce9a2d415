"""``alphamed quickstart`` / ``bash examples/quickstart.sh``: the whole AlphaMed pipeline on a CPU laptop.

veRL cannot train on a CPU (0.9 registers only server-based rollouts and its FSDP workers need an accelerator),
so this runs, for real, everything around training on the sample the repo ships (``examples/data``): convert
the seven datasets -> annotate difficulty -> build a decontaminated mix from a preset -> check the 8B training
recipe against veRL's config, pointed at the files just made -> evaluate on the six benchmarks -> report.
Every step is the same ``alphamed`` command a user would type (printed before it runs), run in this process
so torch and veRL are imported once.

Without ``--model`` (or ``MODEL_PATH``) the model is a tiny RANDOMLY INITIALISED one built offline: its answers
are noise and its scores mean nothing; the point is that every stage runs and every artefact is produced. With
``MODEL_PATH=... BACKEND=vllm`` on a GPU machine the same script uses the real model.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from alphamed.data_preprocess import EVAL_SPLITS
from alphamed.data_preprocess.cli_args import make_parser, positive_int
from alphamed.recipe import cli

#: ``examples/`` beside the packages: the clone's folder, or the copy an install ships as package data
#: (``site-packages/alphamed/examples``), so both layouts find the sample and the recipe in the same place.
EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"

#: converter -> (file or folder under the sample dir, splits to convert). The sample has no MedQA/MedMCQA train
#: split (their public test/validation files are what ../shared holds), so the training pool is PubMedQA's
#: non-test half and HEAD-QA train -- exactly the sources of the ``quickstart_sample`` mix preset.
SAMPLE_CONVERSIONS = {
    "medqa": ("medqa/4_options/phrases_no_exclude_test.jsonl", ["test"]),
    "medmcqa": ("medmcqa/dev.json", ["validation"]),
    "pubmedqa": ("pubmedqa", ["train", "test"]),
    "headqa": ("headqa/HEAD_EN", ["train"]),
    "mmlu_pro": ("mmlu_pro/test.jsonl", ["test"]),
    "gpqa": ("gpqa/gpqa_main.csv", ["test"]),
    "medxpertqa": ("medxpertqa/medxpertqa_text_input.jsonl", ["test"]),
}
TRAIN_SOURCES = ("pubmedqa", "headqa")
MIX_PRESET = "quickstart_sample"
RECIPE = EXAMPLES_DIR / "run_alphamed_8b.sh"


class QuickstartError(RuntimeError):
    """A step failed; the message names it."""


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser(
        "alphamed quickstart",
        "Run data -> difficulty -> mix -> recipe check -> evaluation on the shipped sample (CPU).",
    )
    parser.add_argument("--output_dir", type=Path, default=Path("quickstart_out"), help="where every artefact goes")
    parser.add_argument(
        "--sample_dir", type=Path, default=EXAMPLES_DIR / "data", help="the sample of the seven releases to convert"
    )
    parser.add_argument(
        "--model",
        default=os.environ.get("MODEL_PATH"),
        help="a real model (path or hub id); default: $MODEL_PATH, else a tiny random model built offline",
    )
    parser.add_argument(
        "--backend",
        default=os.environ.get("BACKEND", "hf"),
        choices=("hf", "vllm", "openai"),
        help="generation backend ($BACKEND, else hf)",
    )
    parser.add_argument("--k", type=positive_int, default=5, help="answers per question for difficulty (AlphaMed: 5)")
    parser.add_argument("--max_tokens", type=int, default=None, help="default: 24 for the tiny model, 2048 otherwise")
    parser.add_argument(
        "--eval_max_samples",
        type=positive_int,
        default=None,
        help="alphamed eval --max_samples: a seeded sample of N questions per benchmark (default: all)",
    )
    return parser


def run_command(argv: list[str]) -> None:
    """Print ``alphamed ARGV`` and run it in this process; a non-zero exit is a :class:`QuickstartError`."""
    print(f"\n$ alphamed {shlex.join(argv)}", flush=True)
    code = cli.main(argv)
    if code:
        raise QuickstartError(f"`alphamed {shlex.join(argv)}` exited with {code}")


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for one step (the recipe check runs bash, which reads them)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def convert_sample(sample_dir: Path, data_dir: Path) -> None:
    for name, (relative, splits) in SAMPLE_CONVERSIONS.items():
        source = sample_dir / relative
        if not source.exists():
            raise QuickstartError(missing_sample(source, sample_dir))
        run_command(
            ["prepare", name, "--local_dataset_path", str(source), "--split", *splits]
            + ["--local_save_dir", str(data_dir / name)]
        )


def missing_sample(source: Path, sample_dir: Path) -> str:
    """What is missing and how to get it: a clone's ``examples/data``, or an install that ships it."""
    if sample_dir == (EXAMPLES_DIR / "data").resolve():
        return (
            f"{source}: part of the sample this package ships is missing (a broken or partial install?); "
            "reinstall alphamed-verl, or pass --sample_dir pointing at a clone's examples/data"
        )
    return f"{source}: missing from --sample_dir {sample_dir} (it must hold the layout of examples/data)"


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it (a clone), else absolute (an install)."""
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


def build_model(output_dir: Path, sample_dir: Path) -> str:
    """The tiny random model, its tokenizer trained on the sample's own text so prompts tokenise sensibly."""
    from alphamed.recipe.tiny_model import build_tiny_model

    corpus = [path.read_text(encoding="utf-8") for path in sorted(sample_dir.rglob("*.json*"))]
    path = build_tiny_model(output_dir / "tiny-random-model", corpus=corpus)
    print(f"\nbuilt a tiny RANDOMLY INITIALISED model at {path} (its answers are noise)", flush=True)
    return str(path)


def generation_flags(model: str, backend: str, max_tokens: int, tiny: bool) -> list[str]:
    """The shared sampling flags; the tiny random model always runs on the CPU, a real one where hf/vLLM put it."""
    flags = ["--model", model, "--backend", backend, "--max_tokens", str(max_tokens)]
    return [*flags, "--device", "cpu"] if tiny and backend == "hf" else flags


def run(args: argparse.Namespace) -> dict[str, Path]:
    """All steps; returns the artefacts by name."""
    out = args.output_dir.resolve()
    data_dir, mix = out / "data", out / "mix" / "train.parquet"
    tiny = args.model is None
    if tiny:  # everything it needs is on disk: never wait on a hub that may be unreachable
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    max_tokens = args.max_tokens or (24 if tiny else 2048)
    steps = 6
    started = time.perf_counter()

    print(f"[1/{steps}] convert the shipped sample of the seven datasets -> {data_dir}", flush=True)
    convert_sample(args.sample_dir.resolve(), data_dir)

    print(f"\n[2/{steps}] reference model for difficulty and evaluation", flush=True)
    model = build_model(out, args.sample_dir.resolve()) if tiny else args.model
    gen = generation_flags(model, args.backend, max_tokens, tiny)

    print(f"\n[3/{steps}] annotate difficulty: k={args.k} sampled answers per training question", flush=True)
    for source in TRAIN_SOURCES:
        run_command(
            ["annotate", "--input", str(data_dir / source / "train.parquet")]
            + ["--output", str(data_dir / source / "train.annotated.parquet"), "--k", str(args.k), *gen]
            + ["--temperature", "1.0", "--batch_size", "16"]
        )

    print(f"\n[4/{steps}] mix: preset {MIX_PRESET}, decontaminated against the six sample benchmarks", flush=True)
    run_command(["mix", MIX_PRESET, "--data_root", str(data_dir), "--output", str(mix)])

    print(f"\n[5/{steps}] check the 8B GRPO recipe against veRL's config, pointed at these files", flush=True)
    train_env = {"DATA_ROOT": str(data_dir), "TRAIN_FILES": str(mix)}
    if not tiny:
        train_env["MODEL_PATH"] = args.model
    with environment(**train_env):
        run_command(["check", str(RECIPE)])
    env_words = " ".join(f"{k}={shlex.quote(v)}" for k, v in train_env.items())
    train_command = f"{env_words} bash {shlex.quote(display_path(RECIPE))}"

    print(f"\n[6/{steps}] evaluate on the six sample benchmarks", flush=True)
    eval_dir = out / "eval"
    limit = [] if args.eval_max_samples is None else ["--max_samples", str(args.eval_max_samples)]
    run_command(
        ["eval", *gen, "--benchmarks", ",".join(EVAL_SPLITS), "--data_dir", str(data_dir)]
        + ["--output_dir", str(eval_dir), "--batch_size", "16", *limit]
    )

    artefacts = {
        "converted data (veRL parquet)": data_dir,
        "difficulty levels (table + histogram)": data_dir / "pubmedqa" / "train.annotated.levels.png",
        "training mix": mix,
        "mix manifest": mix.with_name("train.manifest.json"),
        "evaluation report": eval_dir / "results.md",
        "evaluation plot": eval_dir / "results.png",
        "per-item evaluation": eval_dir / "items.jsonl",
    }
    if tiny:
        artefacts["tiny random model"] = Path(model)
    missing = [str(path) for path in artefacts.values() if not path.exists()]
    if missing:
        raise QuickstartError(f"expected artefacts were not written: {', '.join(missing)}")
    print(f"\nquickstart finished in {time.perf_counter() - started:.0f} s. Artefacts:")
    for name, path in artefacts.items():
        print(f"  {name:<40} {path}")
    print(
        "\nOn a GPU node (pip install 'alphamed-verl[gpu]', or pip install -e '.[gpu]' in a clone), this trains on "
        f"the mix just built (it refuses to start where no accelerator is visible):\n  {train_command}"
    )
    if tiny:
        print("\nThe model above is RANDOM: its accuracies are noise, not results.")
    return artefacts


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except QuickstartError as err:
        print(f"\nquickstart FAILED: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

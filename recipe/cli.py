"""The ``alphamed`` console script: one entry point, each subcommand a module with its own ``main(argv)``.

Subcommands are imported only when called, so ``alphamed check`` never pays for torch or transformers.
"""

from __future__ import annotations

import importlib
import sys

#: subcommand -> (module, help line). ``prepare`` takes the dataset name as its first argument.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "prepare": ("alphamed.data_preprocess", "convert a dataset to veRL parquet: alphamed prepare medqa ..."),
    "check": ("alphamed.recipe.check", "validate shell recipes against the pinned veRL config, on CPU"),
    "annotate": ("alphamed.recipe.difficulty", "annotate question difficulty with a reference model"),
    "mix": ("alphamed.recipe.mix", "build a difficulty-stratified, decontaminated training mix"),
    "eval": ("alphamed.recipe.evaluation", "evaluate a model on the six benchmarks"),
    "eval-compare": ("alphamed.recipe.eval_compare", "put several evaluation runs side by side"),
    "quickstart": ("alphamed.recipe.quickstart", "run the whole pipeline on the shipped sample, on CPU"),
}


def _usage() -> str:
    lines = ["usage: alphamed <command> [args...]", "", "commands:"]
    lines += [f"  {name:<13} {help_line}" for name, (_, help_line) in SUBCOMMANDS.items()]
    return "\n".join(lines)


def _run_prepare(argv: list[str]) -> int:
    from alphamed.data_preprocess import CONVERTERS

    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: alphamed prepare <{'|'.join(CONVERTERS)}> [converter flags]")
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in CONVERTERS:
        print(f"alphamed prepare: unknown dataset {name!r}; choose one of {', '.join(CONVERTERS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"alphamed.data_preprocess.{CONVERTERS[name]}")
    return module.main(rest)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in SUBCOMMANDS:
        print(f"alphamed: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    if command == "prepare":
        return _run_prepare(rest)
    module = importlib.import_module(SUBCOMMANDS[command][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())

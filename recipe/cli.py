"""The ``alphamed`` console script: one entry point, each subcommand a module with its own ``main(argv)``.

Subcommands are imported only when called, so ``alphamed check`` never pays for torch or transformers.
Whatever the subcommand, the process ends in one line, never a traceback, when its reader goes away
(``alphamed ... | head``) or the user presses Ctrl-C.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from collections.abc import Callable

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

#: Exit statuses of a process ended by SIGINT / SIGPIPE, as shells report them (128 + signal number).
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 130, 141


def version() -> str:
    """``alphamed-verl X (verl Y)``: the installed distribution's version and the veRL it runs against."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    def installed(name: str) -> str:
        try:
            return dist_version(name)
        except PackageNotFoundError:
            return "not installed"

    return f"alphamed-verl {installed('alphamed-verl')} (verl {installed('verl')})"


def _usage() -> str:
    lines = ["usage: alphamed [--version] <command> [args...]", "", "commands:"]
    lines += [f"  {name:<13} {help_line}" for name, (_, help_line) in SUBCOMMANDS.items()]
    lines += ["", "`alphamed <command> --help` lists a command's flags with their defaults."]
    return "\n".join(lines)


def did_you_mean(word: str, choices: list[str]) -> str:
    """`` (did you mean x?)`` for the closest of ``choices`` to a mistyped ``word``, else nothing."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _prepare_usage() -> str:
    from alphamed.data_preprocess import CONVERTERS, DATA_SOURCE_ALIASES

    aliases = ", ".join(
        f"{alias} = {name} {' '.join(flags)}".strip() for alias, (name, flags) in DATA_SOURCE_ALIASES.items()
    )
    return (
        f"usage: alphamed prepare <{'|'.join(CONVERTERS)}> [converter flags]\n"
        f"data_source names work too: {aliases}\n"
        "`alphamed prepare <dataset> --help` lists the converter's flags with their defaults."
    )


def _run_prepare(argv: list[str]) -> int:
    from alphamed.data_preprocess import CONVERTERS, resolve_dataset

    if not argv or argv[0] in ("-h", "--help"):
        print(_prepare_usage())
        return 0 if argv else 2
    try:
        module_name, rest = resolve_dataset(argv[0], argv[1:])
    except ValueError as err:
        print(f"alphamed prepare: {err}", file=sys.stderr)
        return 2
    if module_name is None:
        hint = did_you_mean(argv[0], list(CONVERTERS))
        print(
            f"alphamed prepare: unknown dataset {argv[0]!r}{hint}; choose one of {', '.join(CONVERTERS)}",
            file=sys.stderr,
        )
        return 2
    module = importlib.import_module(f"alphamed.data_preprocess.{module_name}")
    return module.main(rest)


def _dispatch(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    if argv[0] == "--version":
        print(version())
        return 0
    command, rest = argv[0], argv[1:]
    if command not in SUBCOMMANDS:
        hint = did_you_mean(command, list(SUBCOMMANDS))
        print(f"alphamed: unknown command {command!r}{hint}\n\n{_usage()}", file=sys.stderr)
        return 2
    if command == "prepare":
        return _run_prepare(rest)
    module = importlib.import_module(SUBCOMMANDS[command][0])
    return int(module.main(rest) or 0)


def run_quietly(body: Callable[[], int]) -> int:
    """``body()``, except that a closed stdout or Ctrl-C ends in one line (or none) and the shell's exit status."""
    try:
        code = body()
        sys.stdout.flush()  # inside the try: a pipe closed by the reader fails here, not at interpreter exit
        return code
    except BrokenPipeError:
        # Nothing more can be written; point stdout at /dev/null so Python's exit-time flush stays silent too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("alphamed: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    return run_quietly(lambda: _dispatch(args))


if __name__ == "__main__":
    sys.exit(main())

"""What every ``alphamed`` command line shares: one parser factory and one meaning of ``--max_samples``.

It lives in the lowest layer (``data_preprocess``) so converters, ``recipe`` commands and the console script all
build parsers the same way:

- :func:`make_parser`: ``allow_abbrev=False`` (``--max_sample 5`` is an error, never silently
  ``--max_samples``), ``--help`` shows every meaningful default, the description keeps its line breaks, and an
  unknown flag gets a "did you mean" suggestion.
- :func:`add_max_samples_arg` / :func:`sample_in_order`: ``--max_samples N`` is *a seeded random sample of N
  items per input file, kept in file order, drawn with ``--seed``* -- in ``prepare``, ``annotate`` and ``eval``
  alike, so a quick look is spread over the whole file (a release sorted by topic or difficulty does not make
  "first N" a biased subset) and the same N and seed give the same items everywhere.
"""

from __future__ import annotations

import argparse
import difflib
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

#: The help line of ``--max_samples``, the same in every command.
MAX_SAMPLES_HELP = (
    "keep a seeded random sample of N items per input file, in file order, drawn with --seed (default: all)"
)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's layout and appends ``(default: X)`` to each option whose default means something.

    ``None`` and ``False`` defaults (optional values, on/off flags) are left out: "(default: None)" tells a reader
    nothing, and help texts that already state their default are not repeated.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or not (action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE))
        ):
            return text
        # argparse %-formats help strings: a listed default is joined here, so its own "%" must be escaped
        shown = " ".join(map(str, default)).replace("%", "%%") if isinstance(default, list | tuple) else "%(default)s"
        return f"{text} (default: {shown})".strip()


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose "unrecognized arguments" error suggests the closest known flag."""

    def error(self, message: str) -> None:  # type: ignore[override]
        prefix = "unrecognized arguments: "
        if message.startswith(prefix):
            message += suggest_flag(message[len(prefix) :].split(), self._option_string_actions)
        super().error(message)


def suggest_flag(words: Sequence[str], known: Sequence[str]) -> str:
    """`` (did you mean --x?)`` for the first unknown ``--flag`` among ``words`` that has a close known spelling."""
    for word in words:
        if word.startswith("-"):
            close = difflib.get_close_matches(word.split("=", 1)[0], list(known), n=1)
            if close:
                return f" (did you mean {close[0]}?)"
    return ""


def make_parser(prog: str, description: str | None = None, **kwargs) -> argparse.ArgumentParser:
    """The parser every ``alphamed`` command uses: no prefix matching, defaults in ``--help``, suggestions."""
    kwargs.setdefault("formatter_class", HelpFormatter)
    return Parser(prog=prog, description=description, allow_abbrev=False, **kwargs)


def positive_int(text: str) -> int:
    """An ``int`` >= 1 (an argparse ``type``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def add_max_samples_arg(parser: argparse.ArgumentParser) -> argparse.Action:
    """``--max_samples N`` with the one shared meaning; the command supplies ``--seed`` (it seeds this draw)."""
    return parser.add_argument("--max_samples", type=positive_int, default=None, metavar="N", help=MAX_SAMPLES_HELP)


def sample_indices(total: int, max_samples: int | None, seed: int) -> list[int]:
    """Positions of a seeded random sample of ``max_samples`` out of ``total``, ascending (all when fewer)."""
    if max_samples is not None and max_samples < 1:
        raise ValueError(f"max_samples must be >= 1, got {max_samples}")
    if max_samples is None or total <= max_samples:
        return list(range(total))
    return sorted(random.Random(seed).sample(range(total), max_samples))


def sample_in_order(items: Sequence[T], max_samples: int | None, seed: int) -> list[T]:
    """``--max_samples``: a seeded random sample of ``max_samples`` of one file's ``items``, in file order.

    The same ``(len(items), max_samples, seed)`` always picks the same positions, whichever command draws them.
    """
    return [items[i] for i in sample_indices(len(items), max_samples, seed)]

"""What every dataset converter shares, written once: flags, loading, the row loop, skip accounting, output.

A converter module (``medqa.py``, ``medmcqa.py``, ...) only knows its raw format. It supplies two functions
and hands them to :func:`run_conversion`:

- ``load_split(split) -> list[RawRow]``: the raw rows of one split, usually via :func:`load_split_rows`
  (a local release file, a release folder, a ``save_to_disk`` folder, or the HF hub), and
- ``to_item(row, split) -> McqItem``: one raw row mapped to an item; it raises :class:`RawFormatError`
  when the file is malformed (missing field, wrong type: always an error), :class:`SkipRow` or
  :class:`~alphamed.data_preprocess.schema.McqItemError` when the row cannot be a valid question (skipped and
  counted; ``--strict`` makes it an error), and :class:`LeaveOut` when an option excludes the row on purpose
  (e.g. HEAD-QA image questions; counted, never an error).

:func:`run_conversion` then applies the duplicate policy (:func:`split_policy`), ``--max_samples``/``--seed``, writes
``<local_save_dir>/<split>.parquet`` and ``<split>_example.json`` through ``parquet_io`` (atomic,
byte-identical) and prints one summary line per split. Module shape (see ``medqa.py``)::

    def convert(argv=None) -> list[SplitReport]:
        args = converter_parser("medqa", __doc__, splits=("train", "dev", "test")).parse_args(argv)
        return run_conversion(args, name="medqa", load_split=..., to_item=...)

    def main(argv=None) -> int:
        return run_main(convert, argv)
"""

# API stable: H3b may build on this.

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import inspect
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from alphamed.data_preprocess import DEFAULT_DATA_ROOT
from alphamed.data_preprocess.cli_args import add_max_samples_arg, make_parser, sample_in_order
from alphamed.data_preprocess.layouts import evaluation_split_named, foreign_layout
from alphamed.data_preprocess.parquet_io import (
    OutputError,
    check_output_writable,
    output_lock,
    write_json_atomic,
    write_records_parquet,
)
from alphamed.data_preprocess.prompts import PROMPT_STYLES
from alphamed.data_preprocess.schema import (
    ANSWER_TEXT_REPEATED,
    LETTERS,
    ItemProblem,
    McqItem,
    McqItemError,
    mark_answer_text_repeated,
    normalize_option_text,
    to_verl_record,
)

#: Show a progress bar when a split has at least this many rows (small splits finish before a bar helps).
PROGRESS_MIN_ROWS = 20_000

#: Splits a published table scores on: every item is kept by default, since the paper's denominator counts them.
EVALUATION_SPLITS = frozenset({"test", "validation", "dev"})


@dataclass(frozen=True)
class RawRow:
    """One raw record and where it came from (``where`` goes into every error message about it)."""

    where: str
    data: Any


class RawFormatError(ValueError):
    """The input is malformed: names the file, the row and the field. Always an error, never a skip."""

    def __init__(self, where: str, field_name: str | None, message: str):
        super().__init__(f"{where}: field {field_name!r}: {message}" if field_name else f"{where}: {message}")
        self.where = where
        self.field = field_name


class SkipRow(Exception):
    """The row is well-formed but cannot be a valid question; ``reason`` is the counted category."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class LeaveOut(Exception):
    """A converter option excludes the row on purpose (e.g. image questions); counted, never an error."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ConversionError(RuntimeError):
    """The run cannot go on (``--strict`` skip, unavailable split, nothing left to write, ...)."""


@dataclass
class SplitReport:
    """What one split's conversion did: the figures of its summary line."""

    name: str
    split: str
    path: Path
    read: int = 0
    written: int = 0
    duplicates: int = 0
    dedup: bool = True
    duplicates_with_other_answer: int = 0
    answer_text_repeated: int = 0
    sampled_out: int = 0
    skipped: Counter = field(default_factory=Counter)
    left_out: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def summary(self) -> str:
        def by_reason(counts: Counter) -> str:
            return f" ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))})" if counts else ""

        duplicates = f"duplicates {'removed' if self.dedup else 'kept'} {self.duplicates}"
        if self.duplicates_with_other_answer:
            duplicates += f" ({self.duplicates_with_other_answer} with a different answer)"
        repeated = (
            f"answer text repeated {self.answer_text_repeated} (kept, scored by letter), "
            if self.answer_text_repeated
            else ""
        )
        return (
            f"[{self.name}] {self.split}: read {self.read}, written {self.written}, {duplicates}, {repeated}"
            f"left out {sum(self.left_out.values())}{by_reason(self.left_out)}, "
            f"skipped {sum(self.skipped.values())}{by_reason(self.skipped)}, "
            f"not sampled {self.sampled_out}, {self.seconds:.2f} s -> {self.path}"
        )


def converter_parser(
    name: str, description: str | None, splits: Sequence[str], default_splits: Sequence[str] | None = None
) -> argparse.ArgumentParser:
    """The flags every converter takes (veRL ``examples/data_preprocess`` names); add dataset flags to it."""
    parser = make_parser(f"alphamed prepare {name}", description)
    parser.add_argument(
        "--local_dataset_path",
        default=None,
        help="a file of the original release (read as the one --split given), a folder in the release layout, "
        "or a folder written by datasets' save_to_disk; default: load the canonical HF hub dataset",
    )
    parser.add_argument(
        "--local_save_dir", default=None, help=f"output folder (default {DEFAULT_DATA_ROOT}/<dataset key>)"
    )
    defaults = list(default_splits or splits)
    parser.add_argument(
        "--split",
        nargs="+",
        choices=list(splits),
        default=None,
        help=f"split(s) to convert (default: {' '.join(defaults)}; from the hub, those it has)",
    )
    parser.set_defaults(default_splits=defaults)
    parser.add_argument("--prompt_style", choices=PROMPT_STYLES, default="alphamed", help="prompt template")
    add_max_samples_arg(parser)
    parser.add_argument("--seed", type=int, default=0, help="seed of --max_samples (and of any shuffle)")
    parser.add_argument("--strict", action="store_true", help="an invalid row is an error instead of a counted skip")
    duplicates = parser.add_mutually_exclusive_group()
    duplicates.add_argument(
        "--dedup",
        action="store_true",
        help="remove exact duplicate questions from every split, evaluation splits included (default: removed from "
        "training splits only; evaluation splits keep every published item and count the copies)",
    )
    duplicates.add_argument(
        "--keep_duplicates",
        action="store_true",
        help="keep exact duplicate questions (distinct ids) in training splits too (evaluation splits keep them "
        "by default)",
    )
    return parser


# ---------------------------------------------------------------- reading raw files


def _json_error(path: Path, err: json.JSONDecodeError, line: int | None = None) -> RawFormatError:
    where = f"{path} row {line}" if line is not None else f"{path} line {err.lineno}"
    return RawFormatError(where, None, f"invalid JSON ({err.msg} at column {err.colno})")


def read_text(path: Path) -> str:
    """A release file's text, checked: not UTF-8, empty or unreadable is a :class:`RawFormatError` naming it.

    Invalid bytes name their line and byte offset (a file re-saved in Latin-1 or cp1252 is the usual cause), so
    the fix is one ``iconv`` away; an empty file says so instead of failing later in a way that points elsewhere.
    A UTF-8 byte-order mark (Excel's CSV export) is dropped.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise RawFormatError(str(path), None, f"cannot be read ({err.strerror or err})") from err
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        offset = err.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data.count(b"\n", 0, offset) + 1
        raise RawFormatError(
            f"{path} line {line}",
            None,
            f"not UTF-8 text: byte 0x{data[offset]:02x} at byte offset {offset}; convert the file to UTF-8",
        ) from err
    if not text or text.isspace():  # not strip(): that copies a file of hundreds of MB
        raise RawFormatError(str(path), None, "the file is empty")
    return text


def read_json_document(path: Path, text: str | None = None) -> Any:
    """A whole JSON file (nested releases: HEAD-QA, PubMedQA); a syntax error names file, line and column."""
    try:
        return json.loads(read_text(path) if text is None else text)
    except json.JSONDecodeError as err:
        raise _json_error(Path(path), err) from err


def read_json_rows(path: Path) -> list[RawRow]:
    """Rows of a JSON Lines file, or of a JSON file holding a list of objects (MedMCQA's ``.json`` is JSONL).

    Rows are numbered from 1 (= the line of a JSONL file, blank lines not counted). A file without rows is a
    :class:`RawFormatError`: no release file is empty, and later checks would blame something else.
    """
    path = Path(path)
    text = read_text(path)
    if text.lstrip().startswith("["):
        document = read_json_document(path, text)
        if not document:
            raise RawFormatError(str(path), None, "holds an empty list: no rows")
        rows = [RawRow(f"{path} row {i}", obj) for i, obj in enumerate(document, start=1)]
    else:
        rows = []
        for i, line in enumerate((line for line in text.splitlines() if line.strip()), start=1):
            try:
                rows.append(RawRow(f"{path} row {i}", json.loads(line)))
            except json.JSONDecodeError as err:
                raise _json_error(path, err, i) from err
    for row in rows:
        if not isinstance(row.data, dict):
            raise RawFormatError(row.where, None, f"expected a JSON object, got {type(row.data).__name__}")
    return rows


def require(row: RawRow, name: str, kind: type | tuple[type, ...] = str) -> Any:
    """``row.data[name]`` checked to be ``kind``; a missing or mistyped field is a :class:`RawFormatError`."""
    data = row.data
    if not (type(data) is dict or isinstance(data, Mapping)) or name not in data:  # dict first: ABC checks are slow
        raise RawFormatError(row.where, name, "missing")
    value = data[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise RawFormatError(row.where, name, f"expected {expected}, got {type(value).__name__} {value!r:.60}")
    return value


def lettered_options(row: RawRow, name: str = "options") -> list[str]:
    """An ``{"A": text, "B": text, ...}`` field as texts in letter order (letter = position, as items store it)."""
    raw = require(row, name, Mapping)
    letters = sorted(raw)
    if "".join(letters) != LETTERS[: len(letters)]:
        raise RawFormatError(row.where, name, f"keys {letters} are not the letters A.. in sequence")
    return [str(raw[letter]) for letter in letters]


def check_answer_text(options: Sequence[str], letter: str, answer_text: str) -> None:
    """Skip a row whose ``answer`` text is not the text of its answer letter: one of the two labels is wrong."""
    position = LETTERS.find(letter) if len(letter) == 1 else -1
    if 0 <= position < len(options) and normalize_option_text(options[position]) != normalize_option_text(answer_text):
        raise SkipRow(
            "answer text does not match its letter", f"{letter} is {options[position]!r}, answer {answer_text!r}"
        )


# ---------------------------------------------------------------- locating a split


def is_saved_dataset(path: Path) -> bool:
    """True for a folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``."""
    return path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file())


def load_saved_rows(path: Path, split: str) -> list[RawRow]:
    """Rows of one split of a ``save_to_disk`` folder (a plain Dataset folder is taken as that split)."""
    import datasets

    loaded = datasets.load_from_disk(str(path))
    if isinstance(loaded, datasets.DatasetDict):
        if split not in loaded:
            raise ConversionError(f"{path}: saved dataset has no split {split!r} (it has {sorted(loaded)})")
        loaded = loaded[split]
    return [RawRow(f"{path} [{split}] row {i}", row) for i, row in enumerate(loaded, start=1)]


def load_hub_rows(hub_id: str, config: str | None, split: str) -> list[RawRow]:
    """Rows of one split of the canonical HF hub dataset (``datasets.load_dataset``; needs the hub)."""
    import datasets

    try:
        loaded = datasets.load_dataset(hub_id, config, split=split)
    except (ConnectionError, OSError, ValueError) as err:  # offline, gated, unknown split/config, bad cache
        config_note = f", config {config!r}" if config else ""
        raise ConversionError(
            f"could not load {hub_id}{config_note} [{split}] from the Hugging Face hub ({type(err).__name__}: {err}); "
            "for a gated dataset log in first (`huggingface-cli login`); without network access, pass the "
            "release files with --local_dataset_path"
        ) from err
    return [RawRow(f"{hub_id} [{split}] row {i}", row) for i, row in enumerate(loaded, start=1)]


def find_release_file(folder: Path, split: str, release_files: Mapping[str, Sequence[str]]) -> Path:
    """The one file of ``split`` in a release folder, found by the converter's glob patterns (first that hits)."""
    patterns = release_files.get(split)
    if not patterns:
        raise ConversionError(f"{folder}: the release layout has no file for split {split!r}")
    for pattern in patterns:
        hits = sorted(p for p in folder.glob(pattern) if p.is_file())
        if len(hits) > 1:
            raise ConversionError(f"{folder}: several files match {pattern!r} for split {split!r}: {hits}")
        if hits:
            return hits[0]
    raise ConversionError(f"{folder}: no file for split {split!r} (looked for {', '.join(patterns)})")


class SplitUnavailable(ConversionError):
    """The source has no such split (e.g. a hub copy without the release's dev split)."""


def load_split_rows(
    local_path: str | None,
    split: str,
    *,
    hub_id: str,
    hub_config: str | None = None,
    hub_splits: Mapping[str, str | None] | None = None,
    release_files: Mapping[str, Sequence[str]] | None = None,
    read_file: Callable[[Path], list[RawRow]] = read_json_rows,
) -> list[RawRow]:
    """Raw rows of ``split`` from wherever ``--local_dataset_path`` points, else from the hub.

    ``hub_splits`` renames our split to the hub's/saved dataset's (``None``: the hub does not have it);
    ``release_files`` gives glob patterns per split inside a release folder; ``read_file`` reads one file.
    """
    hub_split = (hub_splits or {}).get(split, split)
    if local_path is None:
        if hub_split is None:
            raise SplitUnavailable(f"{hub_id} on the hub has no {split!r} split; pass --local_dataset_path")
        return load_hub_rows(hub_id, hub_config, hub_split)
    path = Path(local_path).expanduser()
    if path.is_file():
        return read_file(path)
    if is_saved_dataset(path):
        return load_saved_rows(path, hub_split or split)
    if path.is_dir():
        return read_file(find_release_file(path, split, release_files or {}))
    raise FileNotFoundError(f"{path}: no such file or folder (--local_dataset_path)")


# ---------------------------------------------------------------- the row loop and the output


def content_id(*parts: str) -> str:
    """A stable id from content, for datasets without their own ids (16 hex digits of SHA-256)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def skip_reason(err: SkipRow | McqItemError) -> str:
    """The counted category of a skip (few, fixed names, so the summary line stays readable)."""
    return err.reason if isinstance(err, SkipRow) else err.category


@dataclass(frozen=True)
class SplitPolicy:
    """What a split keeps. ``evaluation``: a split a published table scores on, whose items are kept as published
    (copies that disagree on the answer; an answer text repeated by another option, marked); ``dedup`` removes
    exact duplicate questions."""

    dedup: bool
    evaluation: bool


def split_policy(
    split: str, args: argparse.Namespace, evaluation_splits: Collection[str] = EVALUATION_SPLITS
) -> SplitPolicy:
    """Evaluation splits keep every published item (``--dedup`` opts in to removal); training splits drop exact
    copies (``--keep_duplicates`` keeps them) and items whose answer text names no single option."""
    evaluation = split in evaluation_splits
    dedup = args.dedup or not (evaluation or args.keep_duplicates)
    return SplitPolicy(dedup=dedup, evaluation=evaluation)


def _build_item(to_item: Callable[[RawRow, str], McqItem], row: RawRow, split: str, policy: SplitPolicy) -> McqItem:
    """``to_item(row, split)``; an answer text repeated by another option is kept, marked, where the policy says."""
    try:
        return to_item(row, split)
    except McqItemError as err:
        if err.kind is not ItemProblem.ANSWER_TEXT_REPEATED or not policy.evaluation or err.item is None:
            raise
        return mark_answer_text_repeated(err.item)


def convert_rows(
    rows: Iterable[RawRow],
    to_item: Callable[[RawRow, str], McqItem],
    report: SplitReport,
    strict: bool,
    total: int | None = None,
    policy: SplitPolicy = SplitPolicy(dedup=True, evaluation=False),
) -> list[McqItem]:
    """Map rows to items, counting skips/leave-outs by reason and removing (or keeping) exact duplicate questions.

    Outside an evaluation split kept as published, copies of one question that disagree on the answer are all
    skipped: which label is right is unknowable here, and keeping whichever came first would train on a coin toss.
    In an evaluation split without ``--dedup`` they are kept, as published, and counted.
    """
    report.dedup = policy.dedup
    items: list[McqItem] = []
    answers_by_question: dict[tuple[str, tuple[str, ...]], str] = {}
    conflicting: set[tuple[str, tuple[str, ...]]] = set()
    seen_ids: set[str] = set()
    progress = tqdm(
        rows,
        total=total,
        desc=f"{report.name} {report.split}",
        unit="row",
        file=sys.stderr,
        disable=(total or 0) < PROGRESS_MIN_ROWS,
    )
    for row in progress:
        report.read += 1
        try:
            item = _build_item(to_item, row, report.split, policy)
            key = _question_key(item)
            other_answer = key in answers_by_question and answers_by_question[key] != item.answer
            if other_answer and (policy.dedup or not policy.evaluation):
                conflicting.add(key)
                raise SkipRow(
                    "duplicate question with a different answer", f"first copy says {answers_by_question[key]}"
                )
            if item.id in seen_ids and key not in answers_by_question:
                raise SkipRow("duplicate id", item.id)
            if item.id in seen_ids and not policy.dedup:  # a kept copy whose id comes from its content
                item = replace(item, id=_copy_id(item.id, seen_ids))
        except LeaveOut as err:
            report.left_out[err.reason] += 1
            continue
        except (SkipRow, McqItemError) as err:
            if strict:
                raise ConversionError(f"{row.where}: {err} (--strict)") from err
            reason = skip_reason(err)
            if not report.skipped[reason]:
                print(f"[{report.name}] skipped {row.where}: {err}", file=sys.stderr)
            report.skipped[reason] += 1
            continue
        if key in answers_by_question:
            report.duplicates += 1
            if policy.dedup:
                continue
            report.duplicates_with_other_answer += int(other_answer)
        report.answer_text_repeated += int(ANSWER_TEXT_REPEATED in item.meta)
        answers_by_question.setdefault(key, item.answer)
        seen_ids.add(item.id)
        items.append(item)
    if conflicting:
        kept = [item for item in items if _question_key(item) not in conflicting]
        report.skipped["duplicate question with a different answer"] += len(items) - len(kept)
        items = kept
    return items


def _copy_id(item_id: str, seen_ids: set[str]) -> str:
    """``<id>-copy<n>`` for the n-th kept copy of a question: ids stay unique and stable for the same input."""
    number = 2
    while f"{item_id}-copy{number}" in seen_ids:
        number += 1
    return f"{item_id}-copy{number}"


def _question_key(item: McqItem) -> tuple[str, tuple[str, ...]]:
    """What makes two rows the same question: its text and its options, in order."""
    return item.question.strip(), tuple(text.strip() for text in item.options)


#: ``--max_samples``: the one sampling rule every command shares (``cli_args``), under the name converters import.
sample_items = sample_in_order


@contextlib.contextmanager
def _no_cyclic_gc():
    """Pause the cyclic garbage collector while a split's rows are built.

    Hundreds of thousands of small dicts and items trigger repeated full collections that find nothing to free
    (none of these objects form cycles): measured on MedMCQA-train size, half the conversion time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # freeze + unfreeze hands the split's objects to the oldest generation without scanning them, so
            # re-enabling does not start with one full collection over everything built meanwhile.
            gc.freeze()
            gc.enable()
            gc.unfreeze()


def warn_evaluation_file_as_training(path: Path, split: str, name: str) -> None:
    """A file whose name says test/dev/validation, written as ``train``: its questions would leak into training."""
    word = evaluation_split_named(path)
    if split == "train" and word is not None:
        print(
            f"[{name}] WARNING: {path} is named as a {word!r} split but is written as train.parquet; training on a "
            f"benchmark's questions contaminates its evaluation (convert it with --split {word} unless you mean this)",
            file=sys.stderr,
        )


def run_conversion(
    args: argparse.Namespace,
    *,
    name: str,
    load_split: Callable[[str], list[RawRow]],
    to_item: Callable[[RawRow, str], McqItem],
    evaluation_splits: Collection[str] = EVALUATION_SPLITS,
    file_holds_all_splits: bool = False,
) -> list[SplitReport]:
    """Convert every split in ``args.split`` and write it; ``name`` is the default output folder's name.

    ``evaluation_splits`` are those a published table scores on (see :func:`split_policy`);
    ``file_holds_all_splits``: one local file may hold several splits (a combined evaluation file).
    """
    local = args.local_dataset_path
    splits = args.split or args.default_splits
    if local and Path(local).expanduser().is_file() and len(splits) != 1 and not file_holds_all_splits:
        raise ConversionError(
            f"{local} is a single file, read as the one split --split names; got {len(splits)} splits"
        )
    save_dir = check_output_writable(Path(args.local_save_dir or f"{DEFAULT_DATA_ROOT}/{name}"))
    local_file = Path(local).expanduser() if local and Path(local).expanduser().is_file() else None
    reports = []
    for split in dict.fromkeys(splits):
        start = time.perf_counter()
        report = SplitReport(name=name, split=split, path=save_dir / f"{split}.parquet")
        if local_file is not None:
            warn_evaluation_file_as_training(local_file, split, name)
        with output_lock(report.path), _no_cyclic_gc():
            try:
                rows = load_split(split)
            except SplitUnavailable as err:
                if args.split:  # asked for by name: an error
                    raise
                print(f"[{name}] {split}: not converted, {err}", file=sys.stderr)
                continue
            policy = split_policy(split, args, evaluation_splits)
            items = convert_rows(rows, to_item, report, args.strict, len(rows), policy)
            kept = sample_items(items, args.max_samples, args.seed)
            report.sampled_out = len(items) - len(kept)
            if not kept:
                raise ConversionError(
                    f"[{name}] {split}: no valid rows to write from {local or 'the HF hub'} ({report.summary()})"
                )
            records = [to_verl_record(item, args.prompt_style, index) for index, item in enumerate(kept)]
            write_records_parquet(records, report.path)
            write_json_atomic(records[0], save_dir / f"{split}_example.json")
        report.written = len(records)
        report.seconds = time.perf_counter() - start
        print(report.summary(), flush=True)
        reports.append(report)
    return reports


def _local_file(argv: Sequence[str]) -> Path | None:
    """The file ``--local_dataset_path`` names in ``argv`` (None for a folder, the hub, or no such flag)."""
    flag = "--local_dataset_path"
    for i, word in enumerate(argv):
        if word == flag and i + 1 < len(argv):
            value = argv[i + 1]
        elif word.startswith(flag + "="):
            value = word[len(flag) + 1 :]
        else:
            continue
        path = Path(value).expanduser()
        return path if path.is_file() else None
    return None


def run_main(convert: Callable[[list[str] | None], list[SplitReport]], argv: list[str] | None) -> int:
    """A converter's ``main``: run ``convert``; a data or input error is one clear line and exit code 1.

    Handed another dataset's file, a converter fails on a field of its first row, or -- where the layouts agree
    field for field -- converts it under the wrong name; either way the file's own converter is named.
    """
    converter = Path(inspect.getfile(convert)).stem  # also right when the module runs as a script (__main__)
    local_file = _local_file(sys.argv[1:] if argv is None else argv)
    try:
        convert(argv)
    except (RawFormatError, ConversionError, FileNotFoundError, OutputError) as err:
        foreign = None if local_file is None else foreign_layout(local_file, converter)
        print(f"error: {foreign or err}", file=sys.stderr)
        return 1
    foreign = None if local_file is None else foreign_layout(local_file, converter)
    if foreign:
        print(f"[{converter}] WARNING: converted, but {foreign}", file=sys.stderr)
    return 0

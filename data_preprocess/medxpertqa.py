"""MedXpertQA, Text subset -> veRL parquet (``medxpertqa``; evaluation only, ``test`` split; 10 options A-J).

Two layouts are read, detected per row:

- HF ``TsinghuaC3I/MedXpertQA`` (config ``Text``): ``options`` {letter: text}, ``label`` "C";
- the benchmark repo's ``eval/data/medxpertqa/input/medxpertqa_text_input.jsonl``: ``options``
  [{"letter", "content"}], ``label`` ["C"].

In both, ``question`` ends with an inline ``Answer Choices: (A) ... (J) ...`` block (some copies, e.g.
MedReason's, have already removed it). Our prompt lists the options itself, so the block is cut off -- after
checking it lists exactly the options, which catches a question whose text and options disagree. The MM
subset needs its images, which a text-only prompt cannot carry: MM rows are refused with an error.

    python data_preprocess/medxpertqa.py --local_dataset_path medxpertqa_text_input.jsonl --split test
    python data_preprocess/medxpertqa.py            # HF hub, config Text, test split
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping

from alphamed.data_preprocess.converter import (
    RawFormatError,
    RawRow,
    SkipRow,
    SplitReport,
    converter_parser,
    load_split_rows,
    require,
    run_conversion,
    run_main,
)
from alphamed.data_preprocess.schema import LETTERS, McqItem

HUB_ID = "TsinghuaC3I/MedXpertQA"
HUB_CONFIG = "Text"
DATA_SOURCE = "medxpertqa"
SPLITS = ("test", "dev")
#: Split files inside a local folder: the benchmark repo's input file first, then MedReason's HF-layout copy.
RELEASE_FILES = {
    "test": ("medxpertqa_text_input.jsonl", "**/medxpertqa_text_input.jsonl", "*MedXpertQA_test.jsonl", "test.jsonl"),
    "dev": ("dev.jsonl",),
}
#: Start of the inline choices block that ends a question: a line beginning "Answer Choices:".
INLINE_CHOICES = re.compile(r"\n[ \t]*Answer Choices:")
META_FIELDS = ("medical_task", "body_system", "question_type")


def _squash(text: str) -> str:
    return " ".join(text.split())


def refuse_multimodal(row: RawRow) -> None:
    """MM rows (id ``MM-...`` or any images) cannot be posed as text: stop with an error that says so."""
    row_id = str(row.data.get("id", ""))
    images = row.data.get("images")
    if row_id.startswith("MM-") or images:
        raise RawFormatError(
            row.where,
            "images",
            f"row {row_id or '?'} is from the MedXpertQA MM (image) subset, which a text prompt cannot pose; "
            "convert the Text subset (ids Text-...) only",
        )


def read_options(row: RawRow) -> list[str]:
    """Options of either layout, checked to be lettered A, B, C, ... in order (letter = position)."""
    raw = require(row, "options", (Mapping, list))
    if isinstance(raw, Mapping):
        pairs = list(raw.items())
    else:
        if not all(isinstance(o, Mapping) and "letter" in o and "content" in o for o in raw):
            raise RawFormatError(row.where, "options", 'expected a list of {"letter", "content"} objects')
        pairs = [(o["letter"], o["content"]) for o in raw]
    letters = "".join(str(letter) for letter, _ in pairs)
    if letters != LETTERS[: len(pairs)]:
        raise RawFormatError(row.where, "options", f"letters {letters!r} are not A, B, C, ... in order")
    return [str(text) for _, text in pairs]


def read_label(row: RawRow) -> str:
    """The answer letter: ``"C"`` (HF) or ``["C"]`` (benchmark repo)."""
    label = require(row, "label", (str, list))
    if isinstance(label, list):
        if len(label) != 1 or not isinstance(label[0], str):
            raise RawFormatError(row.where, "label", f"expected exactly one answer letter, got {label!r}")
        label = label[0]
    return label.strip()


def strip_inline_choices(question: str, options: list[str]) -> str:
    """The question without its trailing ``Answer Choices:`` block, which must list exactly ``options``."""
    starts = list(INLINE_CHOICES.finditer(question))
    if not starts:
        return question.strip()
    block = _squash(question[starts[-1].end() :])
    listed = _squash(" ".join(f"({LETTERS[i]}) {text}" for i, text in enumerate(options)))
    if block != listed:
        raise SkipRow("inline Answer Choices differ from options", block[:120])
    return question[: starts[-1].start()].strip()


def row_to_item(row: RawRow, split: str) -> McqItem:
    """One MedXpertQA Text row (either layout) -> item."""
    refuse_multimodal(row)
    row_id = require(row, "id")
    options = read_options(row)
    return McqItem(
        id=f"medxpertqa-{row_id}",
        source=DATA_SOURCE,
        split=split,
        question=strip_inline_choices(require(row, "question"), options),
        options=options,
        answer=read_label(row),
        meta={"medxpertqa_id": row_id, **{name: str(row.data.get(name) or "") for name in META_FIELDS}},
    )


def convert(argv: list[str] | None = None) -> list[SplitReport]:
    args = converter_parser("medxpertqa", __doc__, splits=SPLITS, default_splits=("test",)).parse_args(argv)

    def load_split(split: str) -> list[RawRow]:
        return load_split_rows(
            args.local_dataset_path, split, hub_id=HUB_ID, hub_config=HUB_CONFIG, release_files=RELEASE_FILES
        )

    return run_conversion(args, name="medxpertqa", load_split=load_split, to_item=row_to_item)


def main(argv: list[str] | None = None) -> int:
    return run_main(convert, argv)


if __name__ == "__main__":
    sys.exit(main())

"""MedQA (USMLE, English) -> veRL parquet: ``medqa`` (4 options, the usual benchmark) or ``medqa_5opt``.

Reads the release JSON Lines (``data_clean/questions/US/{train,dev,test}.jsonl`` with 5 options,
``US/4_options/phrases_no_exclude_{split}.jsonl`` with 4) or the HF ``GBaker/MedQA-USMLE-4-options`` rows,
which have the same fields: ``question``, ``answer`` (text), ``options`` {letter: text}, ``answer_idx``,
``meta_info``. The same question has different letters in the 4- and 5-option files (the 4-option version
drops a distractor and re-letters), so the letter is always checked against the answer text.

    python data_preprocess/medqa.py --local_dataset_path data_clean/questions/US --split test
    python data_preprocess/medqa.py --num_options 5 --local_dataset_path US/test.jsonl --split test
"""

from __future__ import annotations

import sys

from alphamed.data_preprocess.converter import (
    ConversionError,
    RawFormatError,
    RawRow,
    SplitReport,
    check_answer_text,
    content_id,
    converter_parser,
    lettered_options,
    load_split_rows,
    require,
    run_conversion,
    run_main,
)
from alphamed.data_preprocess.schema import McqItem

#: The 4-option hub copy (train + test only; the release's dev split has no hub copy there).
HUB_ID_4 = "GBaker/MedQA-USMLE-4-options"

#: Glob patterns of each variant's split file inside the release folder (``data_clean/questions/US``).
SPLITS = ("train", "dev", "test")
RELEASE_FILES = {
    4: {s: (f"phrases_no_exclude_{s}.jsonl", f"**/4_options/phrases_no_exclude_{s}.jsonl") for s in SPLITS},
    5: {s: (f"{s}.jsonl", f"**/US/{s}.jsonl") for s in SPLITS},
}

#: Real typo in the release's meta_info ("stfep2&3", one test row) -> the step it means.
STEP_FIXES = {"stfep2&3": "step2&3"}


def data_source_for(num_options: int) -> str:
    return "medqa" if num_options == 4 else "medqa_5opt"


def row_to_item(row: RawRow, split: str, num_options: int) -> McqItem:
    """One release/HF row -> item; options are re-listed in letter order A.. so letter = position."""
    question = require(row, "question")
    options = lettered_options(row)
    letter = require(row, "answer_idx")
    answer_text = require(row, "answer")
    if len(options) != num_options:
        raise RawFormatError(
            row.where,
            "options",
            f"has {len(options)} options but this run expects {num_options} "
            f"(data_source {data_source_for(num_options)}); use --num_options {len(options)} for this file",
        )
    check_answer_text(options, letter, answer_text)
    meta_info = str(row.data.get("meta_info") or "")
    meta = {"exam": "USMLE", "meta_info": meta_info, "step": STEP_FIXES.get(meta_info, meta_info)}
    return McqItem(
        id=f"medqa-{split}-{content_id(question, answer_text)}",
        source=data_source_for(num_options),
        split=split,
        question=question,
        options=options,
        answer=letter,
        meta=meta,
    )


def convert(argv: list[str] | None = None) -> list[SplitReport]:
    parser = converter_parser("medqa", __doc__, splits=SPLITS)
    parser.add_argument(
        "--num_options",
        type=int,
        choices=(4, 5),
        default=4,
        help="4: data_source medqa (the benchmark); 5: data_source medqa_5opt, saved to <root>/medqa_5opt",
    )
    args = parser.parse_args(argv)
    if args.local_dataset_path is None and args.num_options == 5:
        raise ConversionError("the 5-option MedQA has no canonical HF hub copy; pass --local_dataset_path")

    def load_split(split: str) -> list[RawRow]:
        return load_split_rows(
            args.local_dataset_path,
            split,
            hub_id=HUB_ID_4,
            hub_splits={"dev": None},
            release_files=RELEASE_FILES[args.num_options],
        )

    return run_conversion(
        args,
        name=data_source_for(args.num_options),
        load_split=load_split,
        to_item=lambda row, split: row_to_item(row, split, args.num_options),
    )


def main(argv: list[str] | None = None) -> int:
    return run_main(convert, argv)


if __name__ == "__main__":
    sys.exit(main())

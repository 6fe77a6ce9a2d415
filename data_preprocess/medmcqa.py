"""MedMCQA -> veRL parquet (data_source ``medmcqa``; the benchmark is the validation split, 4183 questions).

Two layouts of the same fields (``id, question, opa..opd, cop, choice_type, exp, subject_name, topic_name``)
disagree on ``cop``, the answer: the release files (``train.json`` / ``dev.json``, JSON Lines despite the
suffix) count it 1-4, the HF hub dataset ``openlifescienceai/medmcqa`` 0-3. The layout is decided once per
file from all its ``cop`` values (a 0 means 0-based, a 4 means 1-based, both is an error, neither is
ambiguous and needs ``--cop_base``), never guessed row by row. The test split has no answers and is refused.

    python data_preprocess/medmcqa.py --local_dataset_path dev.json --split validation
"""

from __future__ import annotations

import sys

from alphamed.data_preprocess.converter import (
    ConversionError,
    RawFormatError,
    RawRow,
    SplitReport,
    converter_parser,
    load_split_rows,
    require,
    run_conversion,
    run_main,
)
from alphamed.data_preprocess.schema import McqItem

HUB_ID = "openlifescienceai/medmcqa"
OPTION_FIELDS = ("opa", "opb", "opc", "opd")
RELEASE_FILES = {"train": ("train.json", "**/train.json"), "validation": ("dev.json", "**/dev.json")}
TEST_REFUSAL = (
    "MedMCQA's test split is unlabelled (no answers: cop -1 on the hub, absent in the release), so it can be "
    "neither trained nor scored on; the benchmark is --split validation"
)


def detect_cop_base(rows: list[RawRow], override: int | None = None) -> int:
    """0 for the HF layout (cop 0-3), 1 for the release layout (cop 1-4), decided from the whole file."""
    values = {}
    for row in rows:
        cop = require(row, "cop", int)
        if cop < 0:
            raise RawFormatError(row.where, "cop", f"{cop} means unlabelled (the test split?): {TEST_REFUSAL}")
        if cop > 4:
            raise RawFormatError(row.where, "cop", f"{cop} is outside both layouts (0-3 hub, 1-4 release)")
        values.setdefault(cop, row.where)
    where = rows[0].where.rsplit(" row ", 1)[0] if rows else "input"
    if 0 in values and 4 in values:
        raise ConversionError(
            f"{where}: cop has both 0 ({values[0]}) and 4 ({values[4]}): mixes the 0-based hub and 1-based "
            "release layouts"
        )
    found = 0 if 0 in values else 1 if 4 in values else None
    if override is not None:
        if found is not None and found != override:
            raise ConversionError(f"{where}: --cop_base {override} contradicts the file, whose cop values say {found}")
        return override
    if found is None:
        raise ConversionError(
            f"{where}: cop values {sorted(values)} fit both the 0-based hub and the 1-based release layout; "
            "say which with --cop_base 0 or --cop_base 1"
        )
    return found


def row_to_item(row: RawRow, split: str, cop_base: int) -> McqItem:
    """One row -> item; ``cop - cop_base`` is the answer's position among opa..opd."""
    raw_id = require(row, "id")
    question = require(row, "question")
    options = [require(row, name) for name in OPTION_FIELDS]
    position = require(row, "cop", int) - cop_base
    meta = {name: row.data.get(name) for name in ("subject_name", "topic_name", "choice_type")}
    return McqItem(
        id=f"medmcqa-{raw_id}",
        source="medmcqa",
        split=split,
        question=question,
        options=options,
        answer="ABCD"[position],
        meta={key: value for key, value in meta.items() if value is not None},
    )


def convert(argv: list[str] | None = None) -> list[SplitReport]:
    parser = converter_parser(
        "medmcqa", __doc__, splits=("train", "validation", "test"), default_splits=("train", "validation")
    )
    parser.add_argument(
        "--cop_base",
        type=int,
        choices=(0, 1),
        default=None,
        help="only for a file whose cop values fit both layouts (no 0 and no 4): 0 = hub, 1 = release",
    )
    args = parser.parse_args(argv)
    if "test" in (args.split or ()):
        raise ConversionError(TEST_REFUSAL)
    cop_bases: dict[str, int] = {}

    def load_split(split: str) -> list[RawRow]:
        rows = load_split_rows(args.local_dataset_path, split, hub_id=HUB_ID, release_files=RELEASE_FILES)
        if not rows:  # a saved dataset without rows (files without rows fail as they are read)
            raise ConversionError(f"{args.local_dataset_path or HUB_ID} [{split}]: no rows, so nothing to convert")
        cop_bases[split] = detect_cop_base(rows, args.cop_base)
        return rows

    return run_conversion(
        args,
        name="medmcqa",
        load_split=load_split,
        to_item=lambda row, split: row_to_item(row, split, cop_bases[split]),
    )


def main(argv: list[str] | None = None) -> int:
    return run_main(convert, argv)


if __name__ == "__main__":
    sys.exit(main())

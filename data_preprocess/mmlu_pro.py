"""MMLU-Pro, medical categories -> veRL parquet (``mmlu_pro_med``; evaluation only, ``test`` split).

"MMLU-Pro medical" is the test split's ``health`` and ``biology`` categories (818 + 717 = 1535 questions,
the set HuatuoGPT-o1 and AlphaMed report). Rows are the HF ``TIGER-Lab/MMLU-Pro`` layout: ``question_id``,
``question``, ``options`` (a list of 3-10 texts), ``answer`` (letter), ``answer_index`` (int), ``category``,
``src``. The letter and the index must agree; trailing ``"N/A"`` padding (older copies fill the list up to
ten) is dropped, as the official evaluation script does. Other categories are left out and counted.

    python data_preprocess/mmlu_pro.py --local_dataset_path mmlu_pro_test_health_biology.jsonl --split test
    python data_preprocess/mmlu_pro.py --categories health      # from the HF hub, health only
"""

from __future__ import annotations

import sys
from pathlib import Path

from alphamed.data_preprocess.converter import (
    LeaveOut,
    RawFormatError,
    RawRow,
    SkipRow,
    SplitReport,
    converter_parser,
    load_split_rows,
    read_json_rows,
    require,
    run_conversion,
    run_main,
)
from alphamed.data_preprocess.schema import LETTERS, McqItem

HUB_ID = "TIGER-Lab/MMLU-Pro"
DATA_SOURCE = "mmlu_pro_med"
SPLITS = ("test", "validation")
DEFAULT_CATEGORIES = ("health", "biology")
#: The 14 categories of MMLU-Pro (``--categories`` is checked against them, so a typo is an error, not 0 rows).
CATEGORIES = (
    "biology",
    "business",
    "chemistry",
    "computer science",
    "economics",
    "engineering",
    "health",
    "history",
    "law",
    "math",
    "other",
    "philosophy",
    "physics",
    "psychology",
)
#: Split files inside a local copy: our JSON Lines extract, or the hub snapshot's parquet shards.
RELEASE_FILES = {s: (f"*{s}*.jsonl", f"{s}-*.parquet", f"data/{s}-*.parquet") for s in SPLITS}
PADDING = "N/A"


def read_rows(path: Path) -> list[RawRow]:
    """JSON Lines / JSON as usual; a hub parquet shard row by row (numbered from 1 like the JSON rows)."""
    if path.suffix != ".parquet":
        return read_json_rows(path)
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise RawFormatError(str(path), None, f"not a readable parquet file ({err})") from err
    if not table.num_rows:
        raise RawFormatError(str(path), None, "holds no rows")
    return [RawRow(f"{path} row {i}", row) for i, row in enumerate(table.to_pylist(), start=1)]


def row_to_item(row: RawRow, split: str, categories: frozenset[str]) -> McqItem:
    """One MMLU-Pro row -> item; the category filter is applied here so left-out rows are counted."""
    category = require(row, "category")
    if category not in categories:
        raise LeaveOut("category not selected")
    question_id = require(row, "question_id", int)
    options = [str(text) for text in require(row, "options", list)]
    letter = require(row, "answer")
    index = require(row, "answer_index", int)
    while options and options[-1].strip() == PADDING and len(options) - 1 > index:
        options.pop()
    if not 0 <= index < len(options) or letter != LETTERS[index]:
        raise SkipRow("answer letter and answer_index disagree", f"answer {letter!r}, answer_index {index}")
    return McqItem(
        id=f"mmlu_pro-{question_id}",
        source=DATA_SOURCE,
        split=split,
        question=require(row, "question"),
        options=options,
        answer=letter,
        meta={"question_id": question_id, "category": category, "src": str(row.data.get("src") or "")},
    )


def convert(argv: list[str] | None = None) -> list[SplitReport]:
    parser = converter_parser("mmlu_pro", __doc__, splits=SPLITS, default_splits=("test",))
    parser.add_argument(
        "--categories",
        nargs="+",
        choices=CATEGORIES,
        default=list(DEFAULT_CATEGORIES),
        metavar="CATEGORY",
        help=f"MMLU-Pro categories to keep (default: {' '.join(DEFAULT_CATEGORIES)}; any of: {', '.join(CATEGORIES)})",
    )
    args = parser.parse_args(argv)
    categories = frozenset(args.categories)

    def load_split(split: str) -> list[RawRow]:
        return load_split_rows(
            args.local_dataset_path, split, hub_id=HUB_ID, release_files=RELEASE_FILES, read_file=read_rows
        )

    return run_conversion(
        args,
        name="mmlu_pro",
        load_split=load_split,
        to_item=lambda row, split: row_to_item(row, split, categories),
    )


def main(argv: list[str] | None = None) -> int:
    return run_main(convert, argv)


if __name__ == "__main__":
    sys.exit(main())

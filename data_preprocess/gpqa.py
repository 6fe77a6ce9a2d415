"""GPQA, medical part -> veRL parquet (``gpqa_med``; evaluation only, ``test`` split).

GPQA ships CSV files (``gpqa_main.csv``, ``gpqa_diamond.csv``, ... in the password-protected release zip;
the gated HF ``Idavidrein/gpqa`` has the same columns). Each row has ``Question``, ``Correct Answer``,
``Incorrect Answer 1..3``, ``Subdomain``, ``High-level domain`` and ``Record ID`` -- and no option letters.
So the options are put in an order drawn from ``--seed`` and the record id (the same item gets the same order
whatever else is in the file), and that order is recorded in ``extra_info.meta.option_order``. "Medical" is
the Biology high-level domain by default (``--domains``); other domains are left out and counted.

The GPQA authors ask that its questions not be shown in plain text online: keep the outputs private.

    python data_preprocess/gpqa.py --local_dataset_path dataset/gpqa_main.csv --split test
    python data_preprocess/gpqa.py --subset diamond --domains Biology Chemistry   # from the gated hub
"""

from __future__ import annotations

import csv
import io
import random
import sys
from pathlib import Path

from alphamed.data_preprocess.converter import (
    LeaveOut,
    RawFormatError,
    RawRow,
    SplitReport,
    converter_parser,
    load_split_rows,
    read_text,
    require,
    run_conversion,
    run_main,
)
from alphamed.data_preprocess.schema import LETTERS, McqItem

HUB_ID = "Idavidrein/gpqa"
DATA_SOURCE = "gpqa_med"
SUBSETS = ("main", "diamond", "extended", "experts")
DOMAINS = ("Biology", "Chemistry", "Physics")
DEFAULT_DOMAINS = ("Biology",)
#: The answer columns, in the order the permutation in ``meta.option_order`` refers to.
ANSWER_COLUMNS = ("Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")
REQUIRED_COLUMNS = ("Question", *ANSWER_COLUMNS, "Subdomain", "High-level domain", "Record ID")


def read_csv_rows(path: Path) -> list[RawRow]:
    """Rows of a GPQA CSV, numbered from 1 after the header (a quoted cell may span several lines)."""
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    header = reader.fieldnames or []
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise RawFormatError(f"{path} header", missing[0], f"missing column(s) {missing}; found {header}")
    rows = []
    for i, record in enumerate(reader, start=1):
        if None in record:
            raise RawFormatError(f"{path} row {i}", None, f"has {len(record[None])} more cell(s) than the header")
        rows.append(RawRow(f"{path} row {i}", record))
    if not rows:
        raise RawFormatError(str(path), None, "has a header but no rows")
    return rows


def option_order(record_id: str, seed: int) -> list[int]:
    """Seeded permutation of the four answer columns for one record (string seeds hash the same on every run)."""
    order = list(range(len(ANSWER_COLUMNS)))
    random.Random(f"gpqa:{seed}:{record_id}").shuffle(order)
    return order


def row_to_item(row: RawRow, split: str, domains: frozenset[str], seed: int) -> McqItem:
    """One GPQA row -> item with shuffled options; ``meta.option_order`` names the column behind each letter."""
    domain = require(row, "High-level domain").strip()
    if domain not in domains:
        raise LeaveOut("domain not selected")
    record_id = require(row, "Record ID").strip()
    if not record_id:
        raise RawFormatError(row.where, "Record ID", "is empty")
    answers = [require(row, column).strip() for column in ANSWER_COLUMNS]
    order = option_order(record_id, seed)
    return McqItem(
        id=f"gpqa-{record_id}",
        source=DATA_SOURCE,
        split=split,
        question=require(row, "Question").strip(),
        options=[answers[column] for column in order],
        answer=LETTERS[order.index(0)],
        meta={
            "record_id": record_id,
            "high_level_domain": domain,
            "subdomain": require(row, "Subdomain").strip(),
            "option_order": [ANSWER_COLUMNS[column] for column in order],
            "shuffle_seed": seed,
        },
    )


def convert(argv: list[str] | None = None) -> list[SplitReport]:
    parser = converter_parser("gpqa", __doc__, splits=("test",))
    parser.add_argument("--subset", choices=SUBSETS, default="main", help="which GPQA file / hub config (default main)")
    parser.add_argument(
        "--domains",
        nargs="+",
        choices=DOMAINS,
        default=list(DEFAULT_DOMAINS),
        help="high-level domains to keep (default: Biology, the medical part)",
    )
    args = parser.parse_args(argv)
    domains = frozenset(args.domains)

    def load_split(split: str) -> list[RawRow]:
        return load_split_rows(
            args.local_dataset_path,
            split,
            hub_id=HUB_ID,
            hub_config=f"gpqa_{args.subset}",
            hub_splits={"test": "train"},
            release_files={"test": (f"gpqa_{args.subset}.csv", f"dataset/gpqa_{args.subset}.csv")},
            read_file=read_csv_rows,
        )

    return run_conversion(
        args,
        name="gpqa",
        load_split=load_split,
        to_item=lambda row, split: row_to_item(row, split, domains, args.seed),
    )


def main(argv: list[str] | None = None) -> int:
    return run_main(convert, argv)


if __name__ == "__main__":
    sys.exit(main())

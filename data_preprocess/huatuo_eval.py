"""HuatuoGPT-o1's evaluation file -> one veRL parquet per benchmark (``extra_info.meta.protocol = "huatuo_o1"``).

HuatuoGPT-o1 and the papers that compare with it (AlphaMed among them) score on its released
``evaluation/data/eval_data.json``: a JSON object keyed by source name (``MedQA_USLME_test``, ...), each a list of
``{question, options{A..}, answer_idx, answer}`` rows. Its item sets are not the release splits: PubMedQA is all
1000 PQA-L items with the abstract before the question, GPQA medical is 78 questions listed five times (390 rows).
So every row is kept, as published (``--dedup`` opts in); each list is written, under our ``data_source`` key, to
``<local_save_dir>/<key>.parquet`` (``--split`` takes those keys). No hub copy exists: pass the combined file, a
folder holding it or its per-source files, or one per-source file (``<source name>.json``, the key from its name).

    alphamed prepare huatuo_eval --local_dataset_path HuatuoGPT-o1/evaluation/data/eval_data.json
    alphamed prepare huatuo_eval --local_dataset_path huatuo_eval/MedQA_USLME_test.json
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from alphamed.data_preprocess.converter import (
    ConversionError,
    RawFormatError,
    RawRow,
    SplitReport,
    SplitUnavailable,
    check_answer_text,
    converter_parser,
    lettered_options,
    read_json_document,
    require,
    run_conversion,
    run_main,
)
from alphamed.data_preprocess.schema import McqItem

PROTOCOL = "huatuo_o1"
COMBINED_FILE = "eval_data.json"
#: Source name in ``eval_data.json`` (spelling as released, "USLME" included) -> our data_source key.
SOURCE_KEYS = {
    "MedQA_USLME_test": "medqa",
    "MedMCQA_validation": "medmcqa",
    "PubMedQA_test": "pubmedqa",
    "MMLU-Pro_Medical_test": "mmlu_pro_med",
    "GPQA_Medical_test": "gpqa_med",
}
SOURCE_NAMES = {key: name for name, key in SOURCE_KEYS.items()}


def _rows(path: Path, name: str, records: Any) -> list[RawRow]:
    """One source's list as rows numbered from 1; the number travels in the row (``_row``) for the item id."""
    if not isinstance(records, list):
        raise RawFormatError(str(path), name, f"expected a list of rows, got {type(records).__name__}")
    rows = []
    for number, record in enumerate(records, start=1):
        where = f"{path} [{name}] row {number}"
        if not isinstance(record, dict):
            raise RawFormatError(where, None, f"expected a JSON object, got {type(record).__name__}")
        rows.append(RawRow(where, {**record, "_row": number}))
    return rows


def read_file(path: Path) -> dict[str, list[RawRow]]:
    """Rows per data_source key of the combined file (an object keyed by source name) or a per-source file."""
    document = read_json_document(path)
    if isinstance(document, list):
        if path.stem not in SOURCE_KEYS:
            raise RawFormatError(
                str(path), None, f"a per-source file is named after its source ({', '.join(SOURCE_KEYS)}).json"
            )
        return {SOURCE_KEYS[path.stem]: _rows(path, path.stem, document)}
    if not isinstance(document, dict):
        raise RawFormatError(str(path), None, f"expected an object keyed by source name, got {type(document).__name__}")
    for name in document:
        if name not in SOURCE_KEYS:  # a later release may add sources; say so rather than drop them silently
            print(f"[huatuo_eval] {path}: source {name!r} ignored (no benchmark key of ours)", file=sys.stderr)
    return {key: _rows(path, name, document[name]) for name, key in SOURCE_KEYS.items() if name in document}


def read_source(location: str) -> dict[str, list[RawRow]]:
    """Rows per key from ``--local_dataset_path``: a file, or a folder with ``eval_data.json`` or per-source files."""
    path = Path(location).expanduser()
    if path.is_file():
        return read_file(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such file or folder (--local_dataset_path)")
    if (path / COMBINED_FILE).is_file():
        return read_file(path / COMBINED_FILE)
    found: dict[str, list[RawRow]] = {}
    for name in SOURCE_KEYS:
        if (path / f"{name}.json").is_file():
            found.update(read_file(path / f"{name}.json"))
    if not found:
        raise ConversionError(f"{path}: neither {COMBINED_FILE} nor any of {', '.join(SOURCE_KEYS)} (.json)")
    return found


def row_to_item(row: RawRow, key: str) -> McqItem:
    """One row -> item; the id is the benchmark key and the row number, stable across runs and prompt styles."""
    options = lettered_options(row)
    letter = require(row, "answer_idx")
    check_answer_text(options, letter, require(row, "answer"))
    name = SOURCE_NAMES[key]
    number = row.data["_row"]
    return McqItem(
        id=f"{PROTOCOL}-{key}-{number}",
        source=key,
        split=name.rsplit("_", 1)[1],  # "test", or "validation" for MedMCQA
        question=require(row, "question"),
        options=options,
        answer=letter,
        meta={"protocol": PROTOCOL, "source_name": name, "row": number},
    )


def convert(argv: list[str] | None = None) -> list[SplitReport]:
    parser = converter_parser("huatuo_eval", __doc__, splits=tuple(SOURCE_NAMES))
    args = parser.parse_args(argv)
    if args.local_dataset_path is None:
        raise ConversionError(
            "HuatuoGPT-o1's evaluation file has no Hugging Face hub copy; pass --local_dataset_path (eval_data.json "
            "from github.com/FreedomIntelligence/HuatuoGPT-o1, evaluation/data/)"
        )
    found = read_source(args.local_dataset_path)
    args.default_splits = [key for key in SOURCE_NAMES if key in found]

    def load_split(key: str) -> list[RawRow]:
        if key not in found:
            raise SplitUnavailable(f"{args.local_dataset_path} has no {SOURCE_NAMES[key]} list")
        return found[key]

    return run_conversion(
        args,
        name="huatuo_eval",
        load_split=load_split,
        to_item=row_to_item,
        evaluation_splits=SOURCE_NAMES,
        file_holds_all_splits=True,
    )


def main(argv: list[str] | None = None) -> int:
    return run_main(convert, argv)


if __name__ == "__main__":
    sys.exit(main())

"""PubMedQA -> veRL parquet (data_source ``pubmedqa``): yes / no / maybe questions about an abstract.

PQA-L (``ori_pqal.json``, 1000 expert-labelled items keyed by PMID) is split as the authors did: the PMIDs in
``test_ground_truth.json`` are the official 500-item test split, the other 500 are train. The abstract's
labelled sections go into the question, so the item stands alone. PQA-A (``ori_pqaa.json``, 211k generated
items) is accepted as extra training data with ``--pqa_a``. The HF hub copy ``qiaojin/PubMedQA`` has no test
split; the official test PMIDs then come from the copy of ``test_ground_truth.json`` this package ships.

    python data_preprocess/pubmedqa.py --local_dataset_path data   # holds ori_pqal.json + test_ground_truth.json
    python data_preprocess/pubmedqa.py --local_dataset_path pubmedqa/data --pqa_a ori_pqaa.json --split train
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from alphamed.data_preprocess.converter import (
    LeaveOut,
    RawFormatError,
    RawRow,
    SkipRow,
    SplitReport,
    converter_parser,
    is_saved_dataset,
    load_hub_rows,
    load_saved_rows,
    read_json_document,
    require,
    run_conversion,
    run_main,
)
from alphamed.data_preprocess.schema import McqItem

HUB_ID = "qiaojin/PubMedQA"
OPTIONS = ["yes", "no", "maybe"]
PQA_L_FILE = "ori_pqal.json"
GROUND_TRUTH_FILE = "test_ground_truth.json"
#: The release's own ``test_ground_truth.json``, shipped so the hub path needs no extra download (MIT).
SHIPPED_GROUND_TRUTH = Path(__file__).resolve().parent / "resources" / "pubmedqa_test_ground_truth.json"


def read_pmid_records(path: Path, subset: str) -> list[RawRow]:
    """Rows of a release file (a JSON object keyed by PMID); each row gets its ``pmid`` and ``subset``."""
    document = read_json_document(path)
    if not isinstance(document, dict):
        raise RawFormatError(str(path), None, f"expected a JSON object keyed by PMID, got {type(document).__name__}")
    rows = []
    for pmid, record in document.items():
        where = f"{path} PMID {pmid}"
        if not isinstance(record, dict):
            raise RawFormatError(where, None, f"expected a JSON object, got {type(record).__name__}")
        rows.append(RawRow(where, {**record, "pmid": str(pmid), "subset": subset}))
    return rows


def read_test_pmids(path: Path) -> dict[str, str]:
    """The official test split: ``{PMID: label}`` from ``test_ground_truth.json``."""
    document = read_json_document(path)
    if not isinstance(document, dict) or not all(isinstance(v, str) for v in document.values()):
        raise RawFormatError(str(path), None, "expected a JSON object {PMID: 'yes'|'no'|'maybe'}")
    return {str(pmid): label for pmid, label in document.items()}


def hub_row_fields(row: RawRow, subset: str) -> RawRow:
    """A hub/``save_to_disk`` row (``pubid, question, context{contexts, labels, meshes}, final_decision``) in
    the release's field names, so one mapping serves both."""
    context = require(row, "context", Mapping)
    return RawRow(
        row.where,
        {
            "QUESTION": require(row, "question"),
            "CONTEXTS": context.get("contexts"),
            "LABELS": context.get("labels"),
            "final_decision": require(row, "final_decision"),
            "pmid": str(require(row, "pubid", (int, str))),
            "subset": subset,
        },
    )


def question_with_context(row: RawRow) -> str:
    """The abstract's sections (``LABEL: text`` paragraphs), then the question."""
    question = require(row, "QUESTION")
    contexts = require(row, "CONTEXTS", list)
    labels = row.data.get("LABELS") or [""] * len(contexts)
    if not all(isinstance(text, str) for text in contexts):
        raise RawFormatError(row.where, "CONTEXTS", "expected a list of strings")
    if len(labels) != len(contexts):
        raise RawFormatError(row.where, "LABELS", f"{len(labels)} labels for {len(contexts)} contexts")
    if not question.strip():
        return ""  # McqItem rejects it as an empty question (counted skip)
    sections = [f"{label}: {text}" if label else text for label, text in zip(labels, contexts, strict=True)]
    return "Context:\n" + "\n".join(sections) + f"\n\nQuestion: {question.strip()}"


def row_to_item(row: RawRow, split: str, test_pmids: Mapping[str, str]) -> McqItem:
    """One PMID record -> item; a record of the other split is left out (and counted)."""
    pmid = row.data["pmid"]
    if (pmid in test_pmids) != (split == "test"):
        raise LeaveOut("official test item" if split != "test" else "not an official test item")
    decision = require(row, "final_decision")
    if decision not in OPTIONS:
        raise SkipRow("answer not among options", f"final_decision {decision!r}")
    if split == "test" and test_pmids[pmid] != decision:
        raise SkipRow("label differs from test_ground_truth", f"{decision!r} vs {test_pmids[pmid]!r}")
    meta = {"pmid": pmid, "subset": row.data["subset"], "year": row.data.get("YEAR")}
    return McqItem(
        id=f"pubmedqa-{pmid}",
        source="pubmedqa",
        split=split,
        question=question_with_context(row),
        options=list(OPTIONS),
        answer="ABC"[OPTIONS.index(decision)],
        meta={key: value for key, value in meta.items() if value is not None},
    )


def load_rows(path: str | None, subset: str, hub_config: str) -> list[RawRow]:
    """All PMID records of one subset: a release file, a release folder, a ``save_to_disk`` folder or the hub."""
    if path is None or path == "hub":
        return [hub_row_fields(row, subset) for row in load_hub_rows(HUB_ID, hub_config, "train")]
    local = Path(path).expanduser()
    if is_saved_dataset(local):
        return [hub_row_fields(row, subset) for row in load_saved_rows(local, "train")]
    if local.is_dir():
        local = local / PQA_L_FILE
    if not local.is_file():
        raise FileNotFoundError(f"{local}: no such file")
    return read_pmid_records(local, subset)


def find_ground_truth(explicit: str | None, local_path: str | None) -> Path:
    """``--test_ground_truth``, else ``test_ground_truth.json`` beside ``--local_dataset_path``, else the shipped one.

    A local release folder's own file wins over the shipped copy, so a (hypothetical) revised release is honoured.
    """
    if explicit:
        return Path(explicit).expanduser()
    if local_path:
        local = Path(local_path).expanduser()
        candidate = (local if local.is_dir() else local.parent) / GROUND_TRUTH_FILE
        if candidate.is_file():
            return candidate
    return SHIPPED_GROUND_TRUTH


def convert(argv: list[str] | None = None) -> list[SplitReport]:
    parser = converter_parser("pubmedqa", __doc__, ("train", "test"))
    parser.add_argument(
        "--test_ground_truth",
        default=None,
        help=f"{GROUND_TRUTH_FILE} (default: beside the data, else the copy shipped in resources/)",
    )
    parser.add_argument(
        "--pqa_a", default=None, help="ori_pqaa.json (or 'hub') added to the train split as extra training data"
    )
    args = parser.parse_args(argv)
    test_pmids = read_test_pmids(find_ground_truth(args.test_ground_truth, args.local_dataset_path))

    def load_split(split: str) -> list[RawRow]:
        rows = load_rows(args.local_dataset_path, "pqa_l", "pqa_labeled")
        if split == "train" and args.pqa_a:
            rows += load_rows(args.pqa_a, "pqa_a", "pqa_artificial")
        return rows

    return run_conversion(
        args, name="pubmedqa", load_split=load_split, to_item=lambda row, split: row_to_item(row, split, test_pmids)
    )


def main(argv: list[str] | None = None) -> int:
    return run_main(convert, argv)


if __name__ == "__main__":
    sys.exit(main())

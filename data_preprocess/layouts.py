"""Which dataset a raw file belongs to, told from its first record's fields, and which split its name says.

A converter handed another dataset's file fails on its first row with a field error that does not say what went
wrong ("field 'cop': missing", or a CSV header made of a whole JSON line), or -- HuatuoGPT-o1's per-source lists
share MedQA's row fields -- converts it under the wrong name. :func:`foreign_layout` says whether a file is
another dataset's and, if so, names the converter to use.
:func:`evaluation_split_named` reads a file's name ("test", "dev", ...) so a benchmark file written as training
data gets a warning.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: converter -> the raw fields that identify its records (any one tuple, all of its fields present).
LAYOUTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "medqa": (("question", "options", "answer_idx", "meta_info"),),
    "medmcqa": (("opa", "opb", "opc", "opd", "cop"),),
    "pubmedqa": (("QUESTION", "CONTEXTS", "final_decision"), ("pubid", "question", "context", "final_decision")),
    "headqa": (("qid", "qtext", "ra", "answers"),),
    "mmlu_pro": (("question_id", "options", "answer_index", "category"),),
    "gpqa": (("Question", "Correct Answer", "Incorrect Answer 1"),),
    "medxpertqa": (("id", "question", "options", "label", "medical_task"),),
    # MedQA's fields without its meta_info: checked last, so a MedQA row is MedQA's
    "huatuo_eval": (("question", "options", "answer_idx", "answer"),),
}

#: converter -> the dataset's name as people write it.
TITLES = {
    "medqa": "MedQA",
    "medmcqa": "MedMCQA",
    "pubmedqa": "PubMedQA",
    "headqa": "HEAD-QA",
    "mmlu_pro": "MMLU-Pro",
    "gpqa": "GPQA",
    "medxpertqa": "MedXpertQA",
    "huatuo_eval": "HuatuoGPT-o1 evaluation",
}

#: Characters of a first line read when sniffing (a JSON Lines record, or the start of a JSON document).
FIRST_LINE_CHARS = 1 << 20

#: Words in a release file's name that mark a split kept out of training.
EVALUATION_SPLIT_WORDS = ("test", "dev", "validation", "valid", "val", "eval")


def _matching(fields: set[str]) -> str | None:
    for converter, alternatives in LAYOUTS.items():
        if any(set(required) <= fields for required in alternatives):
            return converter
    return None


def record_fields(document: Any) -> set[str]:
    """The field names of the first question record in a parsed JSON document (row, list, or nested release)."""
    if isinstance(document, list):
        return record_fields(document[0]) if document else set()
    if not isinstance(document, Mapping):
        return set()
    if _matching(set(document)):
        return set(document)
    if isinstance(document.get("exams"), Mapping):  # HEAD-QA: exams -> {name: {"data": [question, ...]}}
        exams = list(document["exams"].values())
        return record_fields(exams[0].get("data", [])) if exams and isinstance(exams[0], Mapping) else set()
    first = next(iter(document.values()), None)  # PubMedQA {PMID: record}; HuatuoGPT-o1 {source: [row, ...]}
    return record_fields(first) if isinstance(first, Mapping | list) else set(document)


def file_fields(path: Path) -> set[str]:
    """Field names of a raw file's first record (JSON Lines, JSON, or a CSV header); empty when unreadable.

    A JSON Lines file is sniffed from its first line alone, so a large release costs nothing extra.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            first = ""
            while not first.strip() and (line := handle.readline(FIRST_LINE_CHARS)):
                first = line
        first = first.lstrip("\ufeff \t\r\n")
        if first[:1] not in ("{", "["):
            return set(next(csv.reader([first]), []))
        try:
            return record_fields(json.loads(first))
        except ValueError:
            return record_fields(json.loads(Path(path).read_text(encoding="utf-8", errors="replace")))
    except (OSError, ValueError, csv.Error):
        return set()


def foreign_layout(path: Path, converter: str) -> str | None:
    """``"this looks like a MedQA file ...: use `alphamed prepare medqa`"`` when ``path`` holds another dataset's
    records than ``converter`` reads; None when it is this dataset's layout, or no known one."""
    fields = file_fields(path)
    found = _matching(fields)  # the most specific layout: LAYOUTS lists MedQA before its subset, HuatuoGPT-o1's
    if found is None or found == converter:
        return None
    shown = next(required for required in LAYOUTS[found] if set(required) <= fields)
    return (
        f"{path}: this looks like a {TITLES[found]} file (its records have {', '.join(shown)}), not "
        f"{TITLES.get(converter, converter)}: use `alphamed prepare {found}`"
    )


def evaluation_split_named(path: Path) -> str | None:
    """The evaluation-split word in a file's name (``test`` in ``phrases_no_exclude_test.jsonl``), else None."""
    words = re.split(r"[^a-z]+", Path(path).name.lower())
    return next((word for word in words if word in EVALUATION_SPLIT_WORDS), None)

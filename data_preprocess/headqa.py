"""HEAD-QA (English) -> veRL parquet (data_source ``headqa``): Spanish healthcare specialisation exams.

The release JSON nests questions under exams (``exams{name: {category, year, data: [...]}}``); the HF hub
dataset (``EleutherAI/headqa``, config ``en``: a parquet copy of ``dvilares/head_qa``) flattens them. Either way
the answer ``ra`` is the *aid* of an answer (1-based, a string in the release), not a position, so options are
ordered by aid and the letter is the right aid's position. Questions that need an image (``image`` set; 67 in
the test split) cannot be answered from text: they are left out and counted unless ``--keep_image_questions``.

    python data_preprocess/headqa.py --local_dataset_path HEAD_EN      # train/dev/test_HEAD_EN.json
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
    load_split_rows,
    read_json_document,
    require,
    run_conversion,
    run_main,
)
from alphamed.data_preprocess.schema import LETTERS, McqItem

#: ``dvilares/head_qa`` is a loading-script dataset, which ``datasets`` >= 4 no longer runs; EleutherAI's copy holds
#: the same rows (name, year, category, qid, qtext, ra, image, answers) as plain parquet per config and split.
HUB_ID, HUB_CONFIG = "EleutherAI/headqa", "en"
SPLITS = ("train", "dev", "test")
RELEASE_FILES = {s: (f"{s}_HEAD_EN.json", f"**/{s}_HEAD_EN.json") for s in SPLITS}


def read_release_file(path: Path) -> list[RawRow]:
    """The questions of a release file, flattened like the hub rows (exam ``name``, ``category``, ``year``)."""
    document = read_json_document(path)
    if not isinstance(document, dict) or not isinstance(document.get("exams"), dict):
        raise RawFormatError(str(path), "exams", "missing: not a HEAD-QA release file")
    if document.get("language", "en") != "en":
        raise RawFormatError(str(path), "language", f"{document['language']!r}: headqa converts the English HEAD_EN")
    rows = []
    for exam_name, exam in document["exams"].items():
        questions = require(RawRow(f"{path} exam {exam_name}", exam), "data", list)
        for i, question in enumerate(questions, start=1):
            where = f"{path} exam {exam_name} question {i}"
            if not isinstance(question, dict):
                raise RawFormatError(where, None, f"expected a JSON object, got {type(question).__name__}")
            exam_fields = {"name": exam_name, "category": exam.get("category"), "year": exam.get("year")}
            rows.append(RawRow(where, {**question, **exam_fields}))
    return rows


def as_int(row: RawRow, name: str, value: object) -> int:
    """``qid``/``ra``/``aid`` are strings in the release and ints on the hub."""
    if isinstance(value, int) and not isinstance(value, bool) or isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise RawFormatError(row.where, name, f"expected an integer id, got {value!r}")


def row_to_item(row: RawRow, split: str, keep_image_questions: bool) -> McqItem:
    """One question -> item; options in aid order, answer = position of the aid named by ``ra``."""
    image = row.data.get("image")
    if image and not keep_image_questions:
        raise LeaveOut("image question")
    qid = as_int(row, "qid", require(row, "qid", (str, int)))
    right_aid = as_int(row, "ra", require(row, "ra", (str, int)))
    answers = require(row, "answers", list)
    by_aid: dict[int, str] = {}
    for answer in answers:
        if not isinstance(answer, Mapping) or "aid" not in answer or not isinstance(answer.get("atext"), str):
            raise RawFormatError(row.where, "answers", f"expected {{aid, atext}} objects, got {answer!r:.80}")
        aid = as_int(row, "answers.aid", answer["aid"])
        if aid in by_aid:
            raise RawFormatError(row.where, "answers", f"aid {aid} appears twice")
        by_aid[aid] = answer["atext"]
    aids = sorted(by_aid)
    if right_aid not in by_aid:
        raise SkipRow("answer not among options", f"ra {right_aid} is not one of the aids {aids}")
    exam = str(require(row, "name"))
    meta = {"exam": exam, "category": row.data.get("category"), "year": row.data.get("year"), "qid": qid}
    if image:
        meta["image"] = image if isinstance(image, str) else "<image>"
    return McqItem(
        id=f"headqa-{exam}-{qid}",
        source="headqa",
        split=split,
        question=require(row, "qtext"),
        options=[by_aid[aid] for aid in aids],
        answer=LETTERS[aids.index(right_aid)],
        meta={key: value for key, value in meta.items() if value is not None},
    )


def convert(argv: list[str] | None = None) -> list[SplitReport]:
    parser = converter_parser("headqa", __doc__, SPLITS)
    parser.add_argument(
        "--keep_image_questions", action="store_true", help="keep questions that refer to an image (text only)"
    )
    args = parser.parse_args(argv)

    def load_split(split: str) -> list[RawRow]:
        return load_split_rows(
            args.local_dataset_path,
            split,
            hub_id=HUB_ID,
            hub_config=HUB_CONFIG,
            hub_splits={"dev": "validation"},
            release_files=RELEASE_FILES,
            read_file=read_release_file,
        )

    return run_conversion(
        args,
        name="headqa",
        load_split=load_split,
        to_item=lambda row, split: row_to_item(row, split, args.keep_image_questions),
    )


def main(argv: list[str] | None = None) -> int:
    return run_main(convert, argv)


if __name__ == "__main__":
    sys.exit(main())

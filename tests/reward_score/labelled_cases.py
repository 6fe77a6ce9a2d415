"""Labelled answer-extraction cases (``cases/*.jsonl``) and their precision / recall per source family.

A case: ``source`` (path under the shared outputs folder), ``pointer`` (where in it), ``excerpt`` ("full" or the
response's tail), ``mode``, ``expected`` (the letter a reader sees the response commit to, or None), ``pattern``,
``options``, ``text``. Labels come from reading the responses, never from running the extractor.

Precision = right letters / letters returned (a letter where the label is None counts against it); recall = right
letters / cases labelled with a letter. Print the table for any case files:
``python -m tests.reward_score.labelled_cases tests/reward_score/cases/thoughtsource.jsonl``.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from alphamed.reward_score import extract_answer

CASES_DIR = Path(__file__).parent / "cases"


def load_cases(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def source_family(case: dict) -> str:
    """The source folder: one public release of model outputs."""
    return case["source"].split("/")[0]


@dataclass
class Score:
    """Counts behind precision and recall for one family."""

    cases: int = 0
    returned: int = 0
    right: int = 0
    labelled: int = 0

    @property
    def precision(self) -> float | None:
        return self.right / self.returned if self.returned else None

    @property
    def recall(self) -> float | None:
        return self.right / self.labelled if self.labelled else None


def precision_recall(cases: Iterable[dict], family: Callable[[dict], str] = source_family) -> dict[str, Score]:
    """Run the extractor on every case; its precision and recall per family."""
    scores: dict[str, Score] = defaultdict(Score)
    for case in cases:
        score = scores[family(case)]
        predicted = extract_answer(case["text"], case["options"], case["mode"])
        score.cases += 1
        score.returned += predicted is not None
        score.labelled += case["expected"] is not None
        score.right += predicted is not None and predicted == case["expected"]
    return dict(scores)


def format_table(scores: dict[str, Score]) -> str:
    def cell(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    rows = [f"{'family':40s} {'cases':>6s} {'precision':>10s} {'recall':>8s}"]
    for name, score in sorted(scores.items()):
        rows.append(f"{name:40s} {score.cases:6d} {cell(score.precision):>10s} {cell(score.recall):>8s}")
    return "\n".join(rows)


def main(paths: list[str]) -> int:
    cases = [case for path in paths for case in load_cases(Path(path))]
    print(format_table(precision_recall(cases)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or [str(path) for path in sorted(CASES_DIR.glob("*.jsonl"))]))

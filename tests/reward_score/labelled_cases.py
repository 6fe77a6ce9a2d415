"""Labelled answer-extraction cases (``cases/*.jsonl``) and their precision / recall per source family.

A case: ``source`` (path under the shared outputs folder), ``pointer`` (where in it), ``excerpt`` ("full" or the
response's tail), ``mode``, ``expected`` (the letter a reader sees the response commit to, or None), ``pattern``,
``options``, ``text``. Labels come from reading the responses, never from running the extractor.

Precision = right letters / letters returned (a letter where the label is None counts against it); recall = right
letters / cases labelled with a letter. Print the table for any case files, and the cases it gets wrong:
``python -m tests.reward_score.labelled_cases [--against REV] [--misses] tests/reward_score/cases/heldout2_*.jsonl``
(``--against`` measures the extractor of a git revision instead of this one).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from alphamed.reward_score import extract_answer

CASES_DIR = Path(__file__).parent / "cases"
REPO_ROOT = Path(__file__).resolve().parents[2]
Extract = Callable[[str, list[str] | None, str], str | None]


def extractor_at(revision: str) -> ModuleType:
    """``reward_score/extract.py`` as of a git revision, loaded under another name (it imports today's schema), so
    that two extractors are measured side by side in one run."""
    source = subprocess.run(
        ["git", "show", f"{revision}:reward_score/extract.py"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    if source.returncode != 0:
        raise SystemExit(f"{revision}: {source.stderr.strip()}")
    path = Path(tempfile.mkdtemp()) / "extract_at_revision.py"
    path.write_text(source.stdout, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"extract_at_{revision}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def precision_recall(
    cases: Iterable[dict],
    family: Callable[[dict], str] = source_family,
    extract: Extract = extract_answer,
    misses: list[tuple[dict, str | None]] | None = None,
) -> dict[str, Score]:
    """Run the extractor on every case; its precision and recall per family (and each wrong case, into ``misses``)."""
    scores: dict[str, Score] = defaultdict(Score)
    for case in cases:
        score = scores[family(case)]
        predicted = extract(case["text"], case["options"], case["mode"])
        if misses is not None and predicted != case["expected"]:
            misses.append((case, predicted))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="precision and recall of lenient reading on labelled cases")
    parser.add_argument("paths", nargs="*", type=Path, default=sorted(CASES_DIR.glob("*.jsonl")))
    parser.add_argument("--against", metavar="REV", help="measure the extractor of this git revision")
    parser.add_argument("--misses", action="store_true", help="also print every case read wrong")
    args = parser.parse_args(argv)
    cases = [case for path in args.paths for case in load_cases(path)]
    extract = extractor_at(args.against).extract_answer if args.against else extract_answer
    misses: list[tuple[dict, str | None]] = []
    print(format_table(precision_recall(cases, extract=extract, misses=misses)))
    for case, predicted in misses if args.misses else ():
        print(f"\n{case['source']} {case['pointer']}: labelled {case['expected']}, read {predicted}")
        print("  ..." + case["text"][-300:].replace("\n", "\n  "))
    return 0


if __name__ == "__main__":
    sys.exit(main())

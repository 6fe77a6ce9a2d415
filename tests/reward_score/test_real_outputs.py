"""Labelled cases from real model outputs (labels written by reading the responses, not by running the extractor).

``cases/real_outputs.jsonl`` ships the excerpts, so this runs without ``../shared``; the cross-check below re-reads
the sources through the ``shared_data`` fixture to prove every excerpt is what the pointer says.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from alphamed.reward_score import extract_answer

CASES_FILE = Path(__file__).parent / "cases" / "real_outputs.jsonl"
CASES = [json.loads(line) for line in CASES_FILE.read_text(encoding="utf-8").splitlines()]


def _case_id(case: dict) -> str:
    return f"{Path(case['source']).stem}:{case['pointer'].split(' (')[0]}:{case['mode']}"


def test_cases_cover_every_source_and_enough_patterns() -> None:
    assert len(CASES) >= 150
    sources = Counter(case["source"].split("/")[0] for case in CASES)
    assert set(sources) == {"mmlu_pro_tiger_lab", "medxpertqa_qwen25vl7b_javiers2004", "huatuo_demo_gpt4o"}
    assert Counter(case["expected"] is None for case in CASES)[True] >= 40  # the "no answer" side is tested too
    assert len({case["pattern"] for case in CASES}) >= 25


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_real_output(case: dict) -> None:
    assert extract_answer(case["text"], case["options"], case["mode"]) == case["expected"], case["pattern"]


def test_excerpts_match_their_sources(shared_data: Path) -> None:
    outputs = shared_data / "outputs"
    for case in CASES:
        source = outputs / case["source"]
        assert source.is_file(), f"{case['source']}: missing"
        if case["source"].endswith(".json"):
            index = int(case["pointer"].split()[1])
            original = json.loads(source.read_text(encoding="utf-8"))[index]["Response"]
        else:
            line = int(case["pointer"].split()[1])
            row = json.loads(source.read_text(encoding="utf-8").splitlines()[line - 1])
            original = row.get("generated_text") or row.get("model_outputs") or row.get("salida_cruda")
        if case["excerpt"] == "full":
            assert original == case["text"], f"{case['source']} {case['pointer']}: text differs"
            continue
        assert original.endswith(case["text"]), f"{case['source']} {case['pointer']}: not the response's tail"
        # The decisive part is the tail: reading the whole response gives the same answer.
        assert extract_answer(original, case["options"], case["mode"]) == case["expected"], _case_id(case)

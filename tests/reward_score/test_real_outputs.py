"""Labelled cases from real model outputs (labels written by reading the responses, not by running the extractor).

``cases/real_outputs.jsonl`` (MMLU-Pro runs, Qwen2.5-VL on MedXpertQA, GPT-4o free text) and
``cases/thoughtsource.jsonl`` (gpt-4, gpt-3.5-turbo, flan-T5-xxl and cohere on MedQA / MedMCQA: 16 responses per
model and dataset, drawn with ``random.Random(10)``, not chosen by format) ship their excerpts, so this runs without
``../shared``; the cross-check re-reads the sources through the ``shared_data`` fixture to prove every excerpt is
what its pointer says.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from alphamed.reward_score import extract_answer
from tests.reward_score.labelled_cases import CASES_DIR, load_cases, precision_recall

REAL_OUTPUTS = load_cases(CASES_DIR / "real_outputs.jsonl")
THOUGHTSOURCE = load_cases(CASES_DIR / "thoughtsource.jsonl")
CASES = REAL_OUTPUTS + THOUGHTSOURCE
_THOUGHTSOURCE_POINTER = re.compile(r"(\w+)\.(\w+)\[(\d+)\]\.generated_cot\[(\d+)\]")
#: Labelled letters the extractor leaves unread on purpose (counted as misses in the recall figures).
KNOWN_MISSES = {
    "medmc_qa.validation[25].generated_cot[2] (flan-T5-xxl)": "a letter closing a plain sentence ('... the following "
    "people A.') reads like 'vitamin A.'; reading it would guess on such sentences",
}


def _case_id(case: dict) -> str:
    return f"{Path(case['source']).stem}:{case['pointer'].split(' (')[0]}:{case['mode']}"


def test_cases_cover_every_source_and_enough_patterns() -> None:
    assert len(REAL_OUTPUTS) >= 150
    sources = Counter(case["source"].split("/")[0] for case in REAL_OUTPUTS)
    assert set(sources) == {"mmlu_pro_tiger_lab", "medxpertqa_qwen25vl7b_javiers2004", "huatuo_demo_gpt4o"}
    assert Counter(case["expected"] is None for case in REAL_OUTPUTS)[True] >= 40  # the "no answer" side is tested too
    assert len({case["pattern"] for case in REAL_OUTPUTS}) >= 25


def test_thoughtsource_sample_spans_models_and_datasets() -> None:
    strata = Counter((case["pointer"].split(" (")[1], case["pointer"].split(".")[0]) for case in THOUGHTSOURCE)
    assert len(THOUGHTSOURCE) >= 120
    assert len(strata) == 8 and set(strata.values()) == {16}  # 4 models x 2 datasets, as drawn


def _with_known_misses(cases: list[dict]) -> list:
    return [
        pytest.param(case, marks=pytest.mark.xfail(reason=KNOWN_MISSES[case["pointer"]], strict=True))
        if case["pointer"] in KNOWN_MISSES
        else case
        for case in cases
    ]


@pytest.mark.parametrize("case", _with_known_misses(CASES), ids=_case_id)
def test_real_output(case: dict) -> None:
    assert extract_answer(case["text"], case["options"], case["mode"]) == case["expected"], case["pattern"]


@pytest.mark.parametrize("cases", [REAL_OUTPUTS, THOUGHTSOURCE], ids=["real_outputs", "thoughtsource"])
def test_precision_and_recall_per_family(cases: list[dict]) -> None:
    for family, score in precision_recall(cases).items():
        assert score.precision is None or score.precision >= 0.99, family
        assert score.recall is None or score.recall >= 0.95, family


def test_precision_counts_a_letter_where_none_is_labelled() -> None:
    cases = [
        {"source": "s/x", "text": "The answer is (A).", "options": ["p", "q"], "mode": "lenient", "expected": None},
        {"source": "s/x", "text": "The answer is (B).", "options": ["p", "q"], "mode": "lenient", "expected": "B"},
        {"source": "s/x", "text": "no idea", "options": ["p", "q"], "mode": "lenient", "expected": "A"},
    ]
    score = precision_recall(cases)["s"]
    assert (score.returned, score.right, score.labelled) == (2, 1, 2)
    assert score.precision == 0.5 and score.recall == 0.5


def _original_response(outputs: Path, case: dict) -> tuple[str, list[str] | None]:
    """The response (and, where the source stores them, the options) that ``case["pointer"]`` names."""
    source = outputs / case["source"]
    assert source.is_file(), f"{case['source']}: missing"
    if case["source"].startswith("thoughtsource_openbiolink/"):
        dataset, split, item, generated = _THOUGHTSOURCE_POINTER.match(case["pointer"]).groups()
        row = json.loads(source.read_text(encoding="utf-8"))[dataset][split][int(item)]
        return row["generated_cot"][int(generated)]["cot"], row["choices"]
    if case["source"].endswith(".json"):
        index = int(case["pointer"].split()[1])
        return json.loads(source.read_text(encoding="utf-8"))[index]["Response"], None
    line = int(case["pointer"].split()[1])
    row = json.loads(source.read_text(encoding="utf-8").splitlines()[line - 1])
    return row.get("generated_text") or row.get("model_outputs") or row.get("salida_cruda"), None


def test_excerpts_match_their_sources(shared_data: Path) -> None:
    outputs = shared_data / "outputs"
    for case in CASES:
        original, options = _original_response(outputs, case)
        assert options is None or options == case["options"], f"{case['source']} {case['pointer']}: options differ"
        if case["excerpt"] == "full":
            assert original == case["text"], f"{case['source']} {case['pointer']}: text differs"
            continue
        assert original.endswith(case["text"]), f"{case['source']} {case['pointer']}: not the response's tail"
        # The decisive part is the tail: reading the whole response gives the same answer.
        assert extract_answer(original, case["options"], case["mode"]) == case["expected"], _case_id(case)

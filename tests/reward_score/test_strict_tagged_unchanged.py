"""The training rewards' modes (strict, tagged) give exactly the results they gave before lenient was reworked.

``cases/strict_tagged_snapshot.json`` is a regression snapshot, not a set of labels: the strict and tagged results
of the main-branch extractor (commit 7ceb8a7) on every labelled real-output case and every hand-written adversarial
text in these tests, keyed by a hash of (text, options). It was generated once from that commit's
``reward_score/extract.py``; a change here is a change of the training reward. Texts added to these tests later get
their entries from that same commit's extractor: ``python -m tests.reward_score.test_strict_tagged_unchanged``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator, Sequence

from alphamed.reward_score import extract_answer
from tests.reward_score import test_adversarial, test_lenient_commitments
from tests.reward_score.labelled_cases import CASES_DIR, extractor_at, load_cases

SNAPSHOT = CASES_DIR / "strict_tagged_snapshot.json"
SNAPSHOT_COMMIT = "7ceb8a7"
HEDGE_OPTIONS = ["Aspirin", "Heparin", "Warfarin", "Clopidogrel"]


def snapshot_key(text: str, options: Sequence[str] | None) -> str:
    payload = json.dumps([text, None if options is None else list(options)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def regression_corpus() -> Iterator[tuple[str, Sequence[str] | None]]:
    """(text, options) for every text below, as written and with its last line put in a box and in answer tags,
    so the box and tag readers see real answer contents too."""
    for text, options in _texts():
        yield text, options
        last_line = text.rstrip().rsplit("\n", 1)[-1][-300:]
        yield f"<think>{text[:200]}</think>\\boxed{{{last_line}}}", options
        yield f"<think>{text[:200]}</think><answer>{last_line}</answer>", options


def _texts() -> Iterator[tuple[str, Sequence[str] | None]]:
    """(text, options) for every labelled case and every adversarial text in this test folder."""
    for path in (CASES_DIR / "real_outputs.jsonl", CASES_DIR / "thoughtsource.jsonl"):
        for case in load_cases(path):
            yield case["text"], case["options"]
    for text, _, _, _ in test_adversarial.CASES:
        yield text, test_adversarial.OPTIONS
    for text in test_adversarial.ADVERSARIAL_64K.values():
        yield text, test_adversarial.OPTIONS
    for argvalues in _parametrized_texts(test_adversarial.test_hedges_and_later_commitments_found_in_review):
        yield argvalues, HEDGE_OPTIONS
    for text, _, _ in test_lenient_commitments.COMMITMENTS:
        yield text, test_lenient_commitments.OPTIONS
    for text, _ in test_lenient_commitments.STILL_NONE:
        yield text, test_lenient_commitments.OPTIONS


def _parametrized_texts(test) -> list[str]:
    """The ``text`` argument of each case of a ``pytest.mark.parametrize``-d test."""
    (mark,) = [mark for mark in test.pytestmark if mark.name == "parametrize"]
    return [values[0] for values in mark.args[1]]


def test_strict_and_tagged_match_the_snapshot() -> None:
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    checked = 0
    for text, options in regression_corpus():
        expected = snapshot[snapshot_key(text, options)]
        got = [extract_answer(text, options, "strict"), extract_answer(text, options, "tagged")]
        assert got == expected, text[:200]
        checked += 1
    assert checked >= 1200


def add_missing_entries() -> int:
    """Give texts added to these tests since the snapshot their strict and tagged results from ``SNAPSHOT_COMMIT``."""
    then = extractor_at(SNAPSHOT_COMMIT)
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    missing = {snapshot_key(text, options): (text, options) for text, options in regression_corpus()}
    missing = {key: value for key, value in missing.items() if key not in snapshot}
    for key, (text, options) in missing.items():
        snapshot[key] = [then.extract_answer(text, options, "strict"), then.extract_answer(text, options, "tagged")]
    lines = ",\n".join(f"{json.dumps(key)}: {json.dumps(value)}" for key, value in sorted(snapshot.items()))
    SNAPSHOT.write_text("{\n" + lines + "\n}\n", encoding="utf-8")
    print(f"{SNAPSHOT}: {len(missing)} entries added from {SNAPSHOT_COMMIT}")
    return 0


if __name__ == "__main__":
    sys.exit(add_missing_entries())

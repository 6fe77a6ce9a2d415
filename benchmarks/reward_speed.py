"""Speed of answer extraction on real model outputs, beside veRL's built-in math reward, plus the 64 kB worst case.

Run by hand: ``python benchmarks/reward_speed.py [--repeats 7] [--against REV]``; ``--against`` times the
extractor of a git revision (its ``reward_score/extract.py``) beside this one, in the same run.
Reads ``../shared/data/outputs`` when present, otherwise the excerpts shipped in
``tests/reward_score/cases/real_outputs.jsonl``. Single process, single core (``taskset -c 0``).
Targets: strict >= 200k responses/s, lenient >= 20k/s, worst case <= 2 ms per 64 kB response.
On a shared machine the median moves with the load; ``--repeats`` more and compare with the best figure too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from verl.utils.reward_score.math_reward import compute_score as verl_math_compute_score

from alphamed.reward_score import extract_answer

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_OUTPUTS = REPO_ROOT.parent / "shared" / "data" / "outputs"
SHIPPED_CASES = REPO_ROOT / "tests" / "reward_score" / "cases" / "real_outputs.jsonl"
PLACEHOLDER_OPTIONS = [f"option {letter}" for letter in "ABCDEFGHIJ"]


def load_responses() -> tuple[list[tuple[str, list[str]]], str]:
    """(response, options) pairs from the real outputs, or the shipped excerpts when ../shared is absent."""
    if not SHARED_OUTPUTS.is_dir():
        cases = [json.loads(line) for line in SHIPPED_CASES.read_text(encoding="utf-8").splitlines()]
        return [(case["text"], case["options"]) for case in cases], f"{SHIPPED_CASES} (../shared absent)"
    pairs = []
    for path in sorted(SHARED_OUTPUTS.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            text = row.get("generated_text") or row.get("model_outputs") or row.get("salida_cruda") or ""
            options = row.get("options") if isinstance(row.get("options"), list) else PLACEHOLDER_OPTIONS
            pairs.append((text, options))
    return pairs, str(SHARED_OUTPUTS)


def repeated_seconds(run: Callable[[], object], repeats: int) -> list[float]:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return timings


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    return statistics.median(repeated_seconds(run, repeats))


def adversarial_64k() -> dict[str, str]:
    size = 64 * 1024

    def fill(unit: str) -> str:
        return (unit * (size // len(unit) + 1))[:size]

    return {
        "open boxes": fill("\\boxed{"),
        "nested boxes": fill("\\boxed{")[: size // 2] + "C" + "}" * (size // 2),
        "braces": fill("{"),
        "brace pairs in one box": "\\boxed{" + fill("{}") + "}",
        "think tags": fill("<think>"),
        "cue spam": fill("The answer is "),
        "answer-is + letter spam": fill("The answer is (A). "),
        "paren letters": fill("is (A) "),
        "bold spam": fill("**A**"),
        "option lines": fill("A. option A\n"),
        "chinese cues": fill("答案是"),
        "control chars": fill("\x00\x1b\\boxed{\x00}"),
        "plain prose": fill("lorem ipsum dolor "),
        "unclosed letter list": "\\boxed{(A or B" + fill(" or A or B"),
        "unclosed cue letter list": "The answer is (A or B" + fill(" or A or B"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats; medians are reported")
    parser.add_argument("--against", metavar="REV", help="also time the extractor of this git revision")
    args = parser.parse_args(argv)
    previous = None
    if args.against:
        sys.path.insert(0, str(REPO_ROOT))  # the labelled-case tools live in the repo's tests package
        from tests.reward_score.labelled_cases import extractor_at

        previous = extractor_at(args.against)

    pairs, origin = load_responses()
    texts = [text for text, _ in pairs]
    print(f"{len(pairs)} responses from {origin}; {args.repeats} repeats, one core\n")
    boxed = [(text, options) for text, options in pairs if "\\boxed" in text] or pairs
    runs = {
        "alphamed strict": lambda: [extract_answer(text, options, "strict") for text, options in pairs],
        f"alphamed strict, {len(boxed)} boxed only": lambda: [
            extract_answer(text, options, "strict") for text, options in boxed
        ],
        "alphamed lenient": lambda: [extract_answer(text, options, "lenient") for text, options in pairs],
    }
    if previous is not None:  # beside today's lenient reading, timed in the same run
        runs[f"alphamed lenient @ {args.against}"] = lambda: [
            previous.extract_answer(text, options, "lenient") for text, options in pairs
        ]
    runs["alphamed tagged"] = lambda: [extract_answer(text, options, "tagged") for text, options in pairs]
    runs["verl math_reward.compute_score"] = lambda: [verl_math_compute_score(text, "C") for text in texts]
    print(f"{'extractor':34s} {'median /s':>12s} {'best /s':>12s}")
    for name, run in runs.items():
        count = len(boxed) if "boxed only" in name else len(pairs)
        timings = repeated_seconds(run, args.repeats)
        print(f"{name:34s} {count / statistics.median(timings):12,.0f} {count / min(timings):12,.0f}")

    print(f"\n{'64 kB adversarial text':26s} {'strict ms':>10s} {'lenient ms':>11s} {'tagged ms':>10s}")
    worst = 0.0
    for name, text in adversarial_64k().items():
        cells = []
        for mode in ("strict", "lenient", "tagged"):
            seconds = median_seconds(lambda text=text, mode=mode: extract_answer(text, PLACEHOLDER_OPTIONS, mode), 5)
            worst = max(worst, seconds)
            cells.append(seconds * 1000)
        print(f"{name:26s} {cells[0]:10.3f} {cells[1]:11.3f} {cells[2]:10.3f}")
    print(f"\nworst case: {worst * 1000:.3f} ms per 64 kB response")
    return 0


if __name__ == "__main__":
    sys.exit(main())

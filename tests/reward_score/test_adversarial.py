"""Hand-written adversarial cases: hedges, hidden letters, wrappers, and texts built to make a parser hang."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphamed.data_preprocess.schema import LETTERS
from alphamed.reward_score import extract_answer

OPTIONS = [
    "Benign carrier state",
    "Folate deficiency",
    "Iron deficiency",
    "Parvovirus B19 infection",
    "Vitamin D excess",
]

# (text, mode, expected, what it covers)
CASES = [
    ("so \\boxed{C}", "strict", "C", "plain box"),
    ("\\boxed{A} then on reflection \\boxed{C}", "strict", None, "several boxes, different letters"),
    ("\\boxed{C} ... final: \\boxed{C}", "strict", "C", "repeated box, same letter"),
    ("p = \\boxed{0.09}, so the option is \\boxed{C}", "strict", "C", "numeric box before the answer box"),
    ("\\boxed{A, B}", "strict", None, "two letters in one box"),
    ("\\boxed{A or C}", "strict", None, "hedge in a box"),
    ("\\boxed{BC}", "strict", None, "letters run together"),
    ("\\boxed{(A) and (C)}", "strict", None, "paired parenthesised letters"),
    ("\\boxed{ABCDE}", "strict", None, "every option"),
    ("\\boxed{C. Folate deficiency}", "strict", None, "letter + another option's text"),
    ("\\boxed{C. Iron deficiency}", "strict", "C", "letter + its own text"),
    ("\\boxed{Iron deficiency}", "strict", "C", "exact option text"),
    ("\\boxed{iron  deficiency.}", "strict", "C", "option text, case and spacing"),
    ("\\boxed{F}", "strict", None, "letter outside the options"),
    ("\\boxed{c}", "strict", "C", "lower-case letter"),
    ("\\boxed{Ｃ}", "strict", "C", "full-width letter"),
    ("\\boxed{（Ｃ）}", "strict", "C", "full-width parentheses"),
    ("$\\boxed{\\text{C}}$", "strict", "C", "\\text wrapper inside $"),
    ("\\[ \\boxed{\\textbf{(C)}} \\]", "strict", "C", "display math, \\textbf, parentheses"),
    ("\\boxed{\\mathrm{C}}", "strict", "C", "\\mathrm"),
    ("\\boxed{\\boxed{C}}", "strict", "C", "nested boxes"),
    ("\\boxed {C}", "strict", "C", "space before the brace"),
    ("<think>\\boxed{A}</think>The answer is \\boxed{C}", "strict", "C", "box inside think ignored"),
    ("<think>it is \\boxed{C}</think>I am not sure.", "strict", None, "the only box is inside think"),
    ("<think>it is \\boxed{C}", "strict", None, "unclosed think"),
    ("\\boxed{C}<think>but maybe</think>", "strict", None, "box before the think block"),
    ("reasoning...</think>\\boxed{D}", "strict", "D", "template pre-filled <think>"),
    ("\\boxed{C", "strict", None, "unclosed box"),
    ("}}}{{{\\boxed{C}}}}{{", "strict", "C", "unbalanced braces around a good box"),
    ("The answer is (C).", "strict", None, "strict reads boxes only"),
    ("The answer is C.\x00\x07\x1b", "lenient", "C", "control characters"),
    ("<answer>C</answer>", "tagged", "C", "answer tag"),
    ("<think>\\boxed{A}</think><answer> (c) </answer>", "tagged", "C", "tag content normalised"),
    ("<answer>A</answer><answer>C</answer>", "tagged", None, "two answer tags, different letters"),
    ("<answer>A or C</answer>", "tagged", None, "hedge in the tag"),
    ("<think><answer>C</answer></think>", "tagged", None, "answer only inside think"),
    ("<answer>C", "tagged", None, "unclosed answer tag"),
    ("The answer is (A) or (C).", "lenient", None, "hedge after a cue"),
    ("The answer is either A or C.", "lenient", None, "either/or hedge"),
    ("(A) and (C) are both correct.", "lenient", None, "two letters claimed"),
    ("The answer is (A), (B), (C), (D), and (E).", "lenient", None, "list of every option"),
    ("A. x\nB. y\nC. z\nD. w\nE. v\nAll of them could be right.", "lenient", None, "lines of every option"),
    ("Option B is wrong because of vitamin D.", "lenient", None, "letters merely mentioned"),
    ("Vitamin D excess is unlikely; B cells are normal.", "lenient", None, "letters inside words"),
    ("The answer is C. Folate deficiency", "lenient", None, "letter + another option's text after a cue"),
    ("The answer is (C) Iron deficiency.", "lenient", "C", "letter + its own text"),
    ("The answer is Parvovirus B19 infection.", "lenient", "D", "option text after a cue"),
    ("I think it's (B). Wait — the answer is (C).", "lenient", "C", "final commitment wins"),
    ("**C**", "lenient", "C", "bold letter"),
    ("The most likely cause: **Iron deficiency**", "lenient", "C", "bold option text"),
    ("**A. Benign carrier state**: no.\n**C. Iron deficiency**: yes.", "lenient", None, "bold options disagree"),
    ("Answer: c", "lenient", "C", "Answer: lower-case"),
    ("Final answer: $\\boxed{C}$", "lenient", "C", "box after a cue"),
    ("<think>B looks tempting.</think><answer>C</answer>", "lenient", "C", "Med-RLVR answer tag read by lenient"),
    ("<answer>A</answer> no, <answer>C</answer>", "lenient", None, "answer tags naming two options"),
    ("\\boxed{c}", "strict", "C", "lower-case bare letter box"),
    ("答案是C", "lenient", "C", "Chinese cue 答案是"),
    ("所以选C。", "lenient", "C", "Chinese cue 选"),
    ("答案：Ｃ", "lenient", "C", "Chinese cue with full-width letter"),
    ("选项A是错误的", "lenient", None, "Chinese 'option A is wrong'"),
    ("The answer is (C).\n\nQuestion: next one?\nThe answer is (A).", "lenient", "C", "few-shot continuation cut"),
    ("C", "lenient", "C", "bare letter"),
    ("Iron deficiency", "lenient", "C", "bare option text"),
    ("The answer is (Z).", "lenient", None, "out-of-range letter"),
    ("The answer is a combination of (A, C, and E).", "lenient", None, "combination hedge"),
]


@pytest.mark.parametrize(("text", "mode", "expected", "covers"), CASES, ids=[case[3] for case in CASES])
def test_adversarial(text: str, mode: str, expected: str | None, covers: str) -> None:
    assert extract_answer(text, OPTIONS, mode) == expected


@pytest.mark.parametrize("options", [OPTIONS, tuple(OPTIONS), np.array(OPTIONS, dtype=object), np.array(OPTIONS)])
def test_options_as_list_tuple_or_numpy(options) -> None:
    assert extract_answer("\\boxed{Iron deficiency}", options) == "C"
    assert extract_answer("\\boxed{E}", options) == "E"


def test_without_options_only_a_single_letter_counts() -> None:
    assert extract_answer("\\boxed{K}", None) == "K"
    assert extract_answer("\\boxed{Iron deficiency}", None) is None
    assert extract_answer("\\boxed{A, K}", None) is None


def test_options_that_look_like_letters() -> None:
    """MedMCQA/HuatuoGPT rows have options such as 'c', 'bd', 'ab', 'ac' and HEAD-QA ones 'B.': the prompt asks
    for a letter, so a bare letter is that letter (else the gold \\boxed{X} of such items could never score);
    longer texts and "letter + text" still go through the options."""
    options = ["c", "bd", "ab", "ac"]
    assert extract_answer("\\boxed{C}", options) == "C"
    assert extract_answer("\\boxed{c}", options) == "C"
    assert extract_answer("\\boxed{bd}", options) == "B"
    assert extract_answer("\\boxed{B. bd}", options) == "B"
    assert extract_answer("\\boxed{C. bd}", options) is None  # letter C with option B's text
    assert extract_answer("\\boxed{B}", ["Th.", "NK", "Tc.", "B."]) == "B"
    assert extract_answer("\\boxed{A. A}", list("ABCD")) == "A"


@pytest.mark.parametrize(
    ("text", "mode", "expected"),
    [
        ("\\boxed{A. C. D.}", "strict", None),
        ("\\boxed{A.C.D}", "strict", None),
        ("\\boxed{A. Aspirin, Heparin, Warfarin, Clopidogrel}", "strict", None),
        ("\\boxed{A) Aspirin or C) Warfarin}", "strict", None),
        ("\\boxed{C. Warfarin, because aspirin alone is not enough}", "strict", "C"),
        ("A. Aspirin is not indicated here; the correct answer is C. Warfarin.", "lenient", "C"),
        ("B) Heparin would be wrong, so the answer is D.", "lenient", "D"),
        ("Answer: A. Actually no. Answer: C", "lenient", "C"),
        ("C. Warfarin is the drug of choice here.", "lenient", "C"),
        ("The answer is C, not B.", "lenient", "C"),
        ("因此选C。\n\n为什么不选A：A会增加出血风险。", "lenient", "C"),
        ("应选C，不选A。", "lenient", "C"),
    ],
)
def test_hedges_and_later_commitments_found_in_review(text: str, mode: str, expected: str | None) -> None:
    assert extract_answer(text, ["Aspirin", "Heparin", "Warfarin", "Clopidogrel"], mode) == expected


def test_unknown_mode_and_non_text_are_none() -> None:
    assert extract_answer("\\boxed{C}", OPTIONS, "fuzzy") is None
    assert extract_answer(None, OPTIONS) is None  # type: ignore[arg-type]


ADVERSARIAL_64K = {
    "open boxes": "\\boxed{" * 9400,
    "nested boxes": "\\boxed{" * 4000 + "C" + "}" * 4000,
    "braces": "{" * 65536,
    "brace pairs in a box": "\\boxed{" + "{}" * 32760 + "}",
    "think tags": "<think>" * 9000,
    "cue spam": "The answer is " * 4600,
    "paren letters": "is (A) " * 9300,
    "bold spam": "**A**" * 13000,
    "option lines": "A. Benign carrier state\n" * 2700,
    "chinese cues": "答案是" * 21800,
    "control chars": "\x00\x1b\x7f\\boxed{\x00}" * 5400,
    # an unclosed "(A or B or ..." once backtracked exponentially: 1 s at 119 characters, doubling per letter
    "unclosed letter list": "\\boxed{(A or B" + " or A or B" * 6500,
}


@pytest.mark.timeout(60, method="thread")  # a hang guard, not a speed target: figures in benchmarks/reward_speed.py
@pytest.mark.parametrize("name", list(ADVERSARIAL_64K))
@pytest.mark.parametrize("mode", ["strict", "lenient", "tagged"])
def test_64k_adversarial_never_hangs_or_guesses(name: str, mode: str) -> None:
    result = extract_answer(ADVERSARIAL_64K[name], OPTIONS, mode)
    assert result is None or result in LETTERS[: len(OPTIONS)]


def test_100k_response_with_the_answer_at_the_end() -> None:
    text = "lorem ipsum {[( " * 6250 + "</think> so \\boxed{D}"
    assert extract_answer(text, OPTIONS) == "D"


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(
            list("ABCDEFZabc (){}[]$\\.:*,\n答案是选ＢＣ")
            + [
                "\\boxed{",
                "<think>",
                "</think>",
                "<answer>",
                "</answer>",
                "The answer is ",
                "Answer: ",
                "**",
                "\\text{",
                "Question:",
                "Iron deficiency",
            ]
        ),
        max_size=60,
    ).map("".join),
    n_options=st.integers(min_value=0, max_value=12),
    mode=st.sampled_from(["strict", "lenient", "tagged"]),
)
def test_fuzz_never_raises_and_stays_in_range(text: str, n_options: int, mode: str) -> None:
    options = [f"option text {i}" for i in range(n_options)]
    result = extract_answer(text, options, mode)
    assert result is None or result in LETTERS[:n_options]


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=400), mode=st.sampled_from(["strict", "lenient", "tagged"]))
def test_fuzz_any_unicode(text: str, mode: str) -> None:
    result = extract_answer(text, OPTIONS, mode)
    assert result is None or result in LETTERS[: len(OPTIONS)]

"""Lenient commitments written the way other pipelines and models answer: JSON objects, headings, parentheticals,
CJK markers, answer-first responses, option texts in concluding sentences; and what stays None on purpose."""

from __future__ import annotations

import pytest

from alphamed.reward_score import extract_answer
from alphamed.reward_score.extract import Verdict, read_choice

OPTIONS = ["Amoxicillin", "Amoxicillin-clavulanate", "Clindamycin", "Doxycycline", "Azithromycin"]
YES_NO = ["yes", "no", "maybe"]

# (text, expected, what it covers)
COMMITMENTS = [
    ('{"answer": "B"}', "B", "JSON answer object"),
    (
        '```json\n{\n  "reasoning": "Dog bites need anaerobic cover.",\n  "answer_choice": "C"\n}\n```',
        "C",
        "fenced JSON",
    ),
    ('{"answer_choice": "B. Amoxicillin-clavulanate"}', "B", "JSON letter with its own text"),
    ('```json\n{"answer": "D"}\n```\nDoxycycline covers the organisms here.', "D", "JSON followed by more text"),
    ('**{"answer": "E"}**', "E", "JSON wrapped in bold"),
    ('{"answer": "B"}\n\nTo confirm:\n{"answer": "B"}', "B", "repeated JSON blocks that agree"),
    ("Dog bites need anaerobic cover, so the answer is B, Amoxicillin-clavulanate.", "B", "letter, comma, own text"),
    ("The answer to this question is B) Amoxicillin-clavulanate.", "B", "answer to this question is"),
    ("Weighing the cover, the best choice is **B. Amoxicillin-clavulanate**", "B", "bold letter with own text"),
    ("Anaerobes must be covered, so the drug of choice is Doxycycline (Option D).", "D", "closing (Option X)"),
    ("Therefore the best treatment is amoxicillin-clavulanate (option B).", "B", "closing (option X)"),
    ("So the right drug here is clindamycin (choice C).", "C", "closing (choice X)"),
    ("## Final Answer\nD", "D", "heading, letter on the next line"),
    ("## Final Answer\n\nB", "B", "heading, blank line, letter"),
    ("### Final Answer:\n\n**C**", "C", "heading with colon, bold letter"),
    ("**Final Answer**\nE) Azithromycin", "E", "bold heading, letter with text"),
    ("【答案】: C <eoa>", "C", "Gaokao 【答案】 with end marker"),
    ("解析：……\n【答案】B", "B", "【答案】 without colon"),
    ("答案：C", "C", "答案："),
    ("正解は c", "C", "Japanese 正解は, lower-case letter"),
    ("d (Doxycycline)", "D", "lower-case letter with its own text in parentheses"),
    (
        "B) Amoxicillin-clavulanate\n\nDog bites carry Pasteurella and anaerobes. Clindamycin misses Pasteurella; "
        "doxycycline and azithromycin miss anaerobes; amoxicillin alone is broken down by beta-lactamases.",
        "B",
        "answer first, every other option argued away",
    ),
    (
        "C. Clindamycin\n\nThis covers anaerobes and gram-positive organisms, and the patient is allergic to pen",
        "C",
        "answer first, cut off afterwards",
    ),
    (
        "Pasteurella is the usual organism. Anaerobes also need cover. So the most appropriate treatment is "
        "amoxicillin-clavulanate.",
        "B",
        "option named only by its text in the concluding sentence",
    ),
    ("Option B (amoxicillin-clavulanate) is the most appropriate choice here.", "B", "Option X (...) is the most"),
    (
        "The patient was bitten. Which antibiotic is most appropriate? B.",
        "B",
        "bare letter closing a restated question",
    ),
    ("The answer is (A). Wait, penicillin allergy: the answer is (C).", "C", "a retracted commitment"),
    ("{'answer_letter': 'D', 'reason': \"Crohn's is unrelated\"}", "D", "Python-style dict, letter key"),
    ("**Answer**: B", "B", "bold label before the colon"),
    ("Amoxicillin-clavulanate covers both, so I would go with B.", "B", "a verb of choosing"),
    (
        "Considering the organisms involved, the most useful drug would be:\n\nC) Clindamycin",
        "C",
        "a claim ending in a colon, the option on the next line",
    ),
    (
        "Given the penicillin allergy, she is at the greatest risk with amoxicillin (A).",
        "A",
        "bare (A) closing a claim",
    ),
    ("So the most appropriate drug is doxycycline, which covers Rickettsia.", "D", "option text, then a clause"),
    ("Both features are most consistent with azithromycin (option E).", "E", "(option X) after 'are'"),
    ("Therefore, among A through E, the answer is most likely B.", "B", "a hedge on one letter"),
    ("So the answer is most likely B, amoxicillin-clavulanate.", "B", "a hedge, letter with its own text"),
    ("The answer is probably C) Clindamycin.", "C", "probably, letter with its own text"),
    ("The answer is most likely to be D.", "D", "most likely to be"),
    ("Among A through E, the answer is D, or Doxycycline.", "D", "letter, or its own text"),
    (
        "Pasteurella needs cover, so the correct answer is amoxicillin-clavulanate.\n\n"
        "Therefore, among A through E, the answer is C.",
        "C",
        "a concluding sentence settles an earlier claim in the reasoning",
    ),
    (
        "If the bite were from a cat, the answer would be A. Dog bites carry anaerobes, so the answer is B.",
        "B",
        "a hypothesis does not commit; the outright answer does",
    ),
    ("A resposta correta é a letra D.", "D", "Portuguese, the article 'A' before it"),
    ("A mordida exige cobertura anaeróbia.\n\n**Resposta correta: B**", "B", "Portuguese bold label"),
    ("A resposta correta é:\n\nC) Clindamycin\n\nA clindamicina cobre anaeróbios.", "C", "Portuguese, next line"),
    ("La respuesta es (E).", "E", "Spanish"),
    ("Cobertura anaeróbia é necessária.\n\n✅ B) Amoxicillin-clavulanate.", "B", "a check mark on one option"),
    ('{"reasoning": "Pasteurella needs cover.", "answer": "B (with correction)"}', "B", "a letter with a remark"),
    (
        "None of the options fits exactly; if I must choose, amoxicillin-clavulanate.\n\nAnswer: B",
        "B",
        "a labelled answer after saying no option fits: a forced pick",
    ),
    ('{"reasoning": "The exact drug is not among the options.", "answer_choice": "C"}', "C", "the same in JSON"),
]

STILL_NONE = [
    ("The answer is A or C.", "two options"),
    ("Both (A) and (C) would work.", "two options, no cue"),
    ("I cannot answer this without the figure.", "refusal"),
    ("None of the options is correct.", "none of the options"),
    ("The answer is (F).", "a letter that is not an option"),
    (
        "Step 1: Dog bites carry Pasteurella.\nStep 2: Consider the options.\nA) Amoxicillin - misses anaerobes",
        "cut off",
    ),
    ("The answer is (A).\n\nThe answer is (C).", "conflicting commitments, no retraction"),
    ("Therefore the answer is (A).\n\nSo the answer is (C).", "two concluding commitments that disagree"),
    ("If the culture grows anaerobes, then the answer is likely C.", "a hypothesis only"),
    ("The answer is most likely A or C.", "a hedge on two options"),
    ("The answer is most likely not A.", "a hedge against an option"),
    ("The answer is D, or Amoxicillin.", "a letter, or another option's text"),
    ("The answer is either A) Amoxicillin or B) Amoxicillin-clavulanate, C) Clindamycin.", "either, listing options"),
    ("✅ A) Amoxicillin: too narrow.\n✅ B) Amoxicillin-clavulanate: covers all.", "check marks on two options"),
    ("A paciente foi mordida por um cão.", "a Portuguese article, no answer"),
    ("Among A through E, the answer is A (amoxicillin) and C (clindamycin).", "two letters, each with a remark"),
    ("The answer is B.\n\nOn reflection, none of the options is correct.", "no option fits, said after the answer"),
    ('{"answer": "A, C"}', "JSON naming two options"),
    ('{"answer": "A"}\n{"answer": "C"}', "repeated JSON blocks that disagree"),
    ("A) Amoxicillin: misses anaerobes.\nB) Amoxicillin-clavulanate: covers all.\nC) Clindamycin: no", "enumeration"),
    ("Azithromycin (option E) is a macrolide; doxycycline (option D) is a tetracycline.", "options mentioned"),
    ("The best treatment is not doxycycline (option D).", "a negated parenthetical"),
    ("The patient needs vitamin A.", "a letter inside a phrase"),
    ("## Final Answer\n", "an empty heading"),
    ("【答案】A B", "【答案】 naming two options"),
    ("The most likely cause is amoxicillin-clavulanate or clindamycin.", "a claim naming two options"),
    ("Let's review the options:\nA) Amoxicillin", "a list starting, cut off"),
    ("We should select patients carefully before treating.", "a verb of choosing with no letter"),
    ("The answer is not one of the options given. The closest option is B) Amoxicillin-clavulanate.", "no option fits"),
    ("Let's analyze each option:\n\nA) Amoxicillin: too narrow.\n\nB) Amoxicillin-clavulanate: broad.", "a list intro"),
    ("A) Amoxicillin\nB) Amoxicillin-clavulanate\nC) Clindamycin", "the options copied out"),
    ("Anaerobes must be covered, ruling out amoxicillin (A).", "a bare (A) ruled out"),
]


@pytest.mark.parametrize(("text", "expected", "covers"), COMMITMENTS, ids=[case[2] for case in COMMITMENTS])
def test_commitment_is_read(text: str, expected: str, covers: str) -> None:
    assert extract_answer(text, OPTIONS, "lenient") == expected


@pytest.mark.parametrize(("text", "covers"), STILL_NONE, ids=[case[1] for case in STILL_NONE])
def test_still_none_on_purpose(text: str, covers: str) -> None:
    assert extract_answer(text, OPTIONS, "lenient") is None


def test_json_letter_with_its_yes_no_text() -> None:
    assert extract_answer('{"answer_choice": "B. no"}', YES_NO, "lenient") == "B"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes. The trial found no difference in mortality, but fewer readmissions.", "A"),
        ("Maybe. The abstract reports the design, not the results", "C"),
        ("No, the study was underpowered.", None),  # "No, ..." is a sentence, not the option's text alone
        ("Yes. No. Maybe.", None),  # reciting the options
    ],
)
def test_a_first_sentence_that_is_one_options_text(text: str, expected: str | None) -> None:
    assert extract_answer(text, YES_NO, "lenient") == expected


def test_new_cues_leave_strict_and_tagged_alone() -> None:
    for text, _, _ in COMMITMENTS:
        assert extract_answer(text, OPTIONS, "strict") is None
        assert extract_answer(text, OPTIONS, "tagged") is None


def test_verdicts_never_leave_a_public_function() -> None:
    """A hedge is a typed verdict inside the module, and None outside it."""
    assert read_choice("A or C", tuple(OPTIONS)) is Verdict.AMBIGUOUS
    for text in ("\\boxed{A or C}", "<answer>A or C</answer>", "The answer is A or C."):
        for mode in ("strict", "tagged", "lenient"):
            assert extract_answer(text, OPTIONS, mode) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("所以，正确答案是B和D。 <eoe>\n【答案】: B, D <eoa>", None),  # two letters after 【答案】
        ("答案：B，D", None),
        ("答案：A、C", None),
        ("正解は c, d", None),
        ("答案是C，因为A是错的", "C"),  # a full-width comma then a reason: still C
    ],
)
def test_a_cjk_answer_listing_letters_is_not_its_first_letter(text: str, expected: str | None) -> None:
    assert extract_answer(text, OPTIONS, "lenient") == expected

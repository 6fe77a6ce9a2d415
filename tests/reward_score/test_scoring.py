"""The reward functions veRL calls: values, kwargs from reward_kwargs, and the same numeric keys on every call."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from alphamed.reward_score import compute_score, compute_score_med_rlvr
from alphamed.reward_score.scoring import GroundTruthWarning

OPTIONS = np.array(["Folate deficiency", "Iron deficiency", "Parvovirus B19 infection", "Vitamin B12 deficiency"])
EXTRA = {"options": OPTIONS, "split": "train", "index": 0}
KEYS = {"score", "acc", "format_ok", "pred_valid"}

ALPHAMED = [
    ("<think>maybe A</think>So \\boxed{C}", "C", {"score": 1.0, "acc": 1.0, "format_ok": 1.0, "pred_valid": 1.0}),
    ("\\boxed{Parvovirus B19 infection}", "C", {"score": 1.0, "acc": 1.0, "format_ok": 1.0, "pred_valid": 1.0}),
    ("\\boxed{B}", "C", {"score": 0.0, "acc": 0.0, "format_ok": 1.0, "pred_valid": 1.0}),
    ("\\boxed{B or C}", "C", {"score": 0.0, "acc": 0.0, "format_ok": 1.0, "pred_valid": 0.0}),
    ("The answer is (C).", "C", {"score": 0.0, "acc": 0.0, "format_ok": 0.0, "pred_valid": 0.0}),
    ("<think>\\boxed{C}", "C", {"score": 0.0, "acc": 0.0, "format_ok": 0.0, "pred_valid": 0.0}),
    ("\\boxed{c}", " c ", {"score": 1.0, "acc": 1.0, "format_ok": 1.0, "pred_valid": 1.0}),
]


@pytest.mark.parametrize(("response", "truth", "expected"), ALPHAMED)
def test_alphamed_reward(response: str, truth: str, expected: dict) -> None:
    assert compute_score("medqa", response, truth, EXTRA) == expected


MED_RLVR = [
    ("<think>x</think><answer>C</answer>", 1.0, 1.0),
    ("  <think>x</think>\n<answer> (C) </answer>\n", 1.0, 1.0),
    ("<think>x</think><answer>B</answer>", 0.0, 1.0),
    ("<think>x</think><answer>B or C</answer>", 0.0, 1.0),
    ("<answer>C</answer>", -1.0, 0.0),
    ("<think>x</think>C", -1.0, 0.0),
    ("<think>x</think><answer>C</answer> trailing", -1.0, 0.0),
    ("<think>x</think>text<answer>C</answer>", -1.0, 0.0),
    ("<think>x</think><answer>C</answer><answer>C</answer>", -1.0, 0.0),
    ("<think><think>x</think><answer>C</answer>", -1.0, 0.0),
    ("\\boxed{C}", -1.0, 0.0),
]


@pytest.mark.parametrize(("response", "score", "format_ok"), MED_RLVR)
def test_med_rlvr_reward(response: str, score: float, format_ok: float) -> None:
    result = compute_score_med_rlvr("medqa", response, "C", EXTRA)
    assert (result["score"], result["format_ok"]) == (score, format_ok)


def test_med_rlvr_values_come_from_reward_kwargs() -> None:
    kwargs = {"format_penalty": -0.5, "wrong_score": 0.1, "correct_score": 2.0}
    assert compute_score_med_rlvr("medqa", "no tags", "C", EXTRA, **kwargs)["score"] == -0.5
    assert compute_score_med_rlvr("medqa", "<think>x</think><answer>A</answer>", "C", EXTRA, **kwargs)["score"] == 0.1
    assert compute_score_med_rlvr("medqa", "<think>x</think><answer>C</answer>", "C", EXTRA, **kwargs)["score"] == 2.0


def test_alphamed_values_come_from_reward_kwargs_and_unknown_kwargs_are_ignored() -> None:
    result = compute_score("medqa", "\\boxed{A}", "C", EXTRA, wrong_score=-0.25, reward_router_address=None)
    assert result["score"] == -0.25


@pytest.mark.parametrize("options", [list(OPTIONS), tuple(OPTIONS), OPTIONS, np.array(list(OPTIONS), dtype=object)])
def test_options_arrive_as_list_tuple_or_numpy(options) -> None:
    assert compute_score("medqa", "\\boxed{Iron deficiency}", "B", {"options": options})["score"] == 1.0


def test_without_options_a_single_letter_still_scores() -> None:
    assert compute_score("medqa", "\\boxed{H}", "H", None)["score"] == 1.0
    assert compute_score("medqa", "\\boxed{H}", "H", {"split": "test"})["score"] == 1.0
    assert compute_score("medqa", "\\boxed{Iron deficiency}", "B", None)["score"] == 0.0


RESPONSES = ["", "\\boxed{C}", "<think>", "x" * 100_000, "<think>a</think><answer>Z</answer>", None, "\\boxed{" * 50]


@pytest.mark.filterwarnings("ignore::alphamed.reward_score.scoring.GroundTruthWarning")
@pytest.mark.parametrize("reward", [compute_score, compute_score_med_rlvr])
def test_same_numeric_keys_on_every_call(reward) -> None:
    """veRL takes reward_extra_info's keys from the first sample and averages each with numpy."""
    for response in RESPONSES:
        for truth in ("C", "", "not a letter", None):
            for extra in (EXTRA, None, {"options": []}):
                result = reward("medqa", response, truth, extra)
                assert set(result) == KEYS
                assert all(type(value) is float for value in result.values())


def _scores_and_warnings(reward, truth: object, responses: list[str], source: str) -> tuple[list[float], list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = [reward(source, response, truth, EXTRA)["score"] for response in responses]
    return scores, [str(w.message) for w in caught if issubclass(w.category, GroundTruthWarning)]


BOXED = [f"\\boxed{{{letter}}}" for letter in "ABCD"]


def test_the_exact_text_of_one_option_is_its_letter_without_a_warning() -> None:
    scores, warned = _scores_and_warnings(compute_score, " Parvovirus  B19 infection ", BOXED, "gt_text")
    assert scores == [0.0, 0.0, 1.0, 0.0] and warned == []
    tagged = [f"<think>x</think><answer>{letter}</answer>" for letter in "ABCD"]
    scores, warned = _scores_and_warnings(compute_score_med_rlvr, "Iron deficiency", tagged, "gt_text_rlvr")
    assert scores == [0.0, 1.0, 0.0, 0.0] and warned == []


@pytest.mark.parametrize(
    ("truth", "note"),
    [
        (2, "an index is not mapped"),
        (np.int64(2), "an index is not mapped"),
        ("2", "an index is not mapped"),
        ("E", "(A-D)"),  # a letter past the last option
        ("Parvovirus", "nor the exact text of one option"),  # part of an option's text
        (None, "ground truth None"),
    ],
)
def test_a_ground_truth_that_is_not_a_letter_within_the_options_warns_once_per_data_source(truth, note) -> None:
    source = f"gt_{type(truth).__name__}_{truth}"
    for reward in (compute_score, compute_score_med_rlvr):
        responses = BOXED if reward is compute_score else [f"<think>x</think><answer>{c}</answer>" for c in "ABCD"]
        scores, warned = _scores_and_warnings(reward, truth, responses, source)
        assert set(scores) == {0.0}  # never a guess at what the index or text meant
        if reward is compute_score:
            assert len(warned) == 1 and f"data_source {source!r}" in warned[0] and note in warned[0]
        else:
            assert warned == []  # once per process and data_source, whichever reward function
    assert len(_scores_and_warnings(compute_score, truth, BOXED, source + "_other")[1]) == 1

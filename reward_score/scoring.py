"""The reward functions veRL calls (``reward.custom_reward_function.name``): AlphaMed's binary reward and Med-RLVR's.

veRL's reward loop takes the key list of ``reward_extra_info`` from the FIRST sample and then indexes every other
sample's dict with it, and validation averages each key with numpy: so every call returns the same keys, all
floats, whatever the text (a missing key or a string would crash or corrupt metrics hours into a run).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alphamed.data_preprocess.schema import LETTERS
from alphamed.reward_score.extract import after_think, extract_answer

_THINK_OPEN, _THINK_CLOSE, _ANSWER_OPEN, _ANSWER_CLOSE = "<think>", "</think>", "<answer>", "</answer>"


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: Mapping[str, Any] | None = None,
    correct_score: float = 1.0,
    wrong_score: float = 0.0,
    **kwargs: Any,
) -> dict[str, float]:
    """AlphaMed: ``correct_score`` when the strict answer (last box after ``<think>``) is the right letter, else
    ``wrong_score``. ``format_ok`` = a box stands outside ``<think>``; ``pred_valid`` = it reads as one option."""
    text = solution_str if isinstance(solution_str, str) else ""
    predicted = extract_answer(text, _options(extra_info), mode="strict")
    format_ok = _has_final_box(text)
    return _result(predicted, ground_truth, format_ok, correct_score, wrong_score, format_penalty=None)


def compute_score_med_rlvr(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: Mapping[str, Any] | None = None,
    correct_score: float = 1.0,
    wrong_score: float = 0.0,
    format_penalty: float = -1.0,
    **kwargs: Any,
) -> dict[str, float]:
    """Med-RLVR: ``format_penalty`` unless the response is exactly ``<think>…</think><answer>…</answer>``;
    then ``correct_score`` for the right letter in the answer tag, else ``wrong_score``."""
    text = solution_str if isinstance(solution_str, str) else ""
    format_ok = is_think_answer_format(text)
    predicted = extract_answer(text, _options(extra_info), mode="tagged") if format_ok else None
    return _result(predicted, ground_truth, format_ok, correct_score, wrong_score, format_penalty)


def is_think_answer_format(text: str) -> bool:
    """One ``<think>`` block, then one ``<answer>`` block, and nothing else but whitespace around them."""
    body = text.strip()
    if not (body.startswith(_THINK_OPEN) and body.endswith(_ANSWER_CLOSE)):
        return False
    if any(body.count(tag) != 1 for tag in (_THINK_OPEN, _THINK_CLOSE, _ANSWER_OPEN, _ANSWER_CLOSE)):
        return False
    think_end = body.find(_THINK_CLOSE)
    answer_start = body.find(_ANSWER_OPEN)
    return think_end < answer_start and not body[think_end + len(_THINK_CLOSE) : answer_start].strip()


def _has_final_box(text: str) -> bool:
    visible = after_think(text)
    return visible is not None and "\\boxed" in visible


def _options(extra_info: Mapping[str, Any] | None) -> Any:
    """``extra_info["options"]`` as stored (list, tuple or numpy array); None (letters A–Z) when absent."""
    if not isinstance(extra_info, Mapping):
        return None
    return extra_info.get("options")


def _result(
    predicted: str | None,
    ground_truth: Any,
    format_ok: bool,
    correct_score: float,
    wrong_score: float,
    format_penalty: float | None,
) -> dict[str, float]:
    truth = str(ground_truth).strip().upper()
    correct = predicted is not None and truth in LETTERS and predicted == truth
    if format_penalty is not None and not format_ok:
        score = float(format_penalty)
    else:
        score = float(correct_score if correct else wrong_score)
    return {
        "score": score,
        "acc": float(correct),
        "format_ok": float(format_ok),
        "pred_valid": float(predicted is not None),
    }

"""The reward functions veRL calls (``reward.custom_reward_function.name``): AlphaMed's binary reward and Med-RLVR's.

veRL's reward loop takes the key list of ``reward_extra_info`` from the FIRST sample and then indexes every other
sample's dict with it, and validation averages each key with numpy: so every call returns the same keys, all
floats, whatever the text (a missing key or a string would crash or corrupt metrics hours into a run).

The ground truth is a letter within the item's options (A = ``options[0]``). A ground truth that is the exact text
of one option counts as that option's letter. Anything else (an index, text of no option, a letter past the last
option) can never be matched, so every response scores wrong: that is reported once per process and data_source
as a :class:`GroundTruthWarning` instead of training silently on all-zero rewards. An index is never mapped:
whether it counts from 0 or 1 would be a guess.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping
from typing import Any

from alphamed.data_preprocess.schema import LETTERS, normalize_option_text
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
    options = _options(extra_info)
    predicted = extract_answer(text, options, mode="strict")
    format_ok = _has_final_box(text)
    truth = gold_letter(data_source, ground_truth, options)
    return _result(predicted, truth, format_ok, correct_score, wrong_score, format_penalty=None)


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
    options = _options(extra_info)
    format_ok = is_think_answer_format(text)
    predicted = extract_answer(text, options, mode="tagged") if format_ok else None
    truth = gold_letter(data_source, ground_truth, options)
    return _result(predicted, truth, format_ok, correct_score, wrong_score, format_penalty)


class GroundTruthWarning(UserWarning):
    """A data_source's ground truth is not a letter within the options: its items score wrong whatever the answer."""


#: data_sources already warned about in this process (veRL scores millions of rollouts: one warning each).
_WARNED_SOURCES: set[str] = set()


def gold_letter(data_source: Any, ground_truth: Any, options: Any) -> str | None:
    """The right letter: a letter within the options (any case), or the letter of the one option whose text
    the ground truth is; otherwise None, with a :class:`GroundTruthWarning` once per ``data_source``."""
    if isinstance(ground_truth, str) and len(truth := ground_truth.strip()) == 1:
        # The fast path every well-formed row takes: only the option count is needed, not the texts.
        position = LETTERS.find(truth.upper())
        if position >= 0 and (options is None or position < _option_count(options)):
            return LETTERS[position]
    option_texts = _option_texts(options)
    if isinstance(ground_truth, str) and ground_truth.strip():
        key = normalize_option_text(ground_truth, fold_case=False)
        matches = [
            i for i, text in enumerate(option_texts or ()) if normalize_option_text(text, fold_case=False) == key
        ]
        if len(matches) == 1:
            return LETTERS[matches[0]]
    _warn_once(data_source, ground_truth, LETTERS if option_texts is None else LETTERS[: len(option_texts)])
    return None


def _option_count(options: Any) -> int:
    try:
        return len(options)
    except TypeError:
        return 0


def _option_texts(options: Any) -> tuple[str, ...] | None:
    """Option texts as a tuple (from a list, tuple or numpy array); None means letters A–Z without texts."""
    if options is None:
        return None
    try:
        return tuple(str(text) for text in options)[: len(LETTERS)]
    except TypeError:  # not iterable: no usable options, so no letter is within them
        return ()


def _warn_once(data_source: Any, ground_truth: Any, letters: str) -> None:
    source = str(data_source)
    if source in _WARNED_SOURCES:
        return
    _WARNED_SOURCES.add(source)
    span = f"A-{letters[-1]}" if letters else "none: the item has no options"
    index_note = (
        "; an index is not mapped, since whether it counts from 0 or 1 would be a guess"
        if isinstance(ground_truth, numbers.Integral)
        or isinstance(ground_truth, str)
        and ground_truth.strip().isdigit()
        else ""
    )
    warnings.warn(
        f"alphamed reward: data_source {source!r}: ground truth {ground_truth!r:.80} is neither a letter within the "
        f"item's options ({span}) nor the exact text of one option, so every response to it scores wrong"
        f"{index_note}. Store the answer as its letter (A = options[0]). Warned once per data_source.",
        GroundTruthWarning,
        stacklevel=4,  # the caller of compute_score
    )


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
    truth: str | None,
    format_ok: bool,
    correct_score: float,
    wrong_score: float,
    format_penalty: float | None,
) -> dict[str, float]:
    correct = predicted is not None and predicted == truth
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

"""The ``alphamed`` reward manager: our reward for our data sources, veRL's for every other row.

A custom reward function scores every row, so a run that mixes medical MCQA with veRL's own data (gsm8k, MATH,
...) cannot reward both. This is veRL's naive manager -- its decoding, ``extra_info`` and async handling unchanged
-- except that the function it calls routes each row by ``data_source``:

- ours (``DATA_SOURCES``): the reward of the row's ``extra_info.prompt_style`` (AlphaMed boxed, Med-RLVR tagged),
  with constants from ``reward.reward_kwargs`` (``+reward.reward_kwargs.format_penalty=-0.5``), the config section
  veRL's managers read their own settings from;
- every other row: the function veRL hands the manager, i.e. ``reward.custom_reward_function`` when one is set,
  else veRL's ``default_compute_score``.

Every row returns the same extras keys. veRL's reward loop (``RewardLoopManager.compute_rm_score``, the agent
loop) takes the key list from the FIRST row and indexes every other row with it: a key missing from a later row
is a KeyError, a key only later rows have is silently dropped. The keys are those our reward returns. A foreign
row fills ``score``, and ``acc`` when its scorer reports one or returns a bare number (the naive manager's rule);
the rest are ``None``, the value veRL's validation metrics skip, so gsm8k gets no ``format_ok`` metric instead of
a NaN or a false 0. A foreign scorer's other extras are dropped (they would not survive veRL's key list anyway).

Selecting it without the plugin: ``reward.reward_manager.source=importlib
reward.reward_manager.module.path=pkg://alphamed.reward_score.verl_manager
reward.reward_manager.name=AlphaMedRewardManager``.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Mapping
from typing import Any

from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager

from alphamed.data_preprocess.schema import DATA_SOURCES
from alphamed.reward_score.scoring import compute_score, compute_score_med_rlvr

#: ``extra_info.prompt_style`` -> the reward that reads what that prompt asks for.
REWARD_OF_STYLE: dict[str, Callable[..., dict[str, float]]] = {
    "alphamed": compute_score,
    "med_rlvr": compute_score_med_rlvr,
}
OUR_SOURCES = frozenset(DATA_SOURCES)
#: What veRL's managers pass on every call; every other named parameter of our rewards is a constant.
_PER_ROW = ("data_source", "solution_str", "ground_truth", "extra_info")
#: The extras keys of every row: those our reward returns (the same for both styles).
EXTRA_KEYS = tuple(compute_score("", "", "A"))


def _constants_of(fn: Callable[..., Any]) -> tuple[str, ...]:
    params = inspect.signature(fn).parameters.values()
    return tuple(p.name for p in params if p.name not in _PER_ROW and p.kind is not p.VAR_KEYWORD)


def reward_constants(reward_kwargs: Mapping[str, Any] | None) -> dict[str, dict[str, float]]:
    """``reward.reward_kwargs`` split per prompt style; an unknown or non-numeric key is a ``ValueError`` naming
    it (our rewards' ``**kwargs`` would otherwise swallow a misspelling and train with the default)."""
    given = dict(reward_kwargs or {})
    known = sorted({name for fn in REWARD_OF_STYLE.values() for name in _constants_of(fn)})
    for key, value in given.items():
        if key not in known:
            raise ValueError(f"reward.reward_kwargs.{key}: not a constant of the alphamed reward (known: {known})")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"reward.reward_kwargs.{key}: {value!r} is not a number")
    return {
        style: {key: float(value) for key, value in given.items() if key in _constants_of(fn)}
        for style, fn in REWARD_OF_STYLE.items()
    }


def score_our_row(
    constants: Mapping[str, Mapping[str, float]],
    *,
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    **_reward_model_kwargs: Any,
) -> dict[str, float]:
    """Our reward for the row's prompt style; a row without a known style is a data fault, raised, not guessed."""
    style = extra_info.get("prompt_style") if isinstance(extra_info, Mapping) else None
    if style not in REWARD_OF_STYLE:
        raise ValueError(
            f"extra_info.prompt_style: {style!r} on a {data_source!r} row is not one of {sorted(REWARD_OF_STYLE)}; "
            "the alphamed reward manager picks the reward by it (the converters write it: --prompt_style)"
        )
    return REWARD_OF_STYLE[style](
        data_source=data_source,
        solution_str=solution_str,
        ground_truth=ground_truth,
        extra_info=extra_info,
        **constants[style],
    )


def foreign_extras(result: Any) -> dict[str, float | None]:
    """Another scorer's result (a number or a dict with ``score``) in our keys, ``None`` where it has no value."""
    extras: dict[str, float | None] = dict.fromkeys(EXTRA_KEYS)
    if isinstance(result, Mapping):
        extras["score"] = float(result["score"])
        acc = result.get("acc")
        extras["acc"] = float(acc) if isinstance(acc, numbers.Real) else None
    else:
        extras["score"] = extras["acc"] = float(result)
    return extras


class AlphaMedRewardManager(NaiveRewardManager):
    """veRL's naive manager whose scorer routes rows: ours to our reward, the rest to veRL's choice."""

    def __init__(self, config, tokenizer, compute_score, reward_router_address=None, reward_model_tokenizer=None):
        super().__init__(config, tokenizer, compute_score, reward_router_address, reward_model_tokenizer)
        self.constants = reward_constants(config.reward.get("reward_kwargs"))
        # What the naive manager would have called for every row: the custom function, or veRL's default scorer.
        self.fallback_score = self.compute_score
        # The naive manager awaits the scorer iff it is a coroutine function; the router keeps the fallback's kind.
        self.compute_score = self._route_async if self.is_async_reward_score else self._route

    # veRL's managers call the scorer with keywords only (data_source=, solution_str=, ground_truth=,
    # extra_info=, and the reward-model router's two when one runs).
    def _route(self, **call: Any) -> dict[str, float | None]:
        if call["data_source"] in OUR_SOURCES:
            return score_our_row(self.constants, **call)
        return foreign_extras(self.fallback_score(**call))

    async def _route_async(self, **call: Any) -> dict[str, float | None]:
        if call["data_source"] in OUR_SOURCES:
            return score_our_row(self.constants, **call)
        return foreign_extras(await self.fallback_score(**call))

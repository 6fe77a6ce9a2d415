"""Values checked against their meaning, not only their key.

Hydra stores whatever an override says, and veRL's dataclass conversion does not check types, so
``actor_rollout_ref.actor.optim.lr=abc`` or ``rollout.gpu_memory_utilization=1.5`` pass its validation and fail
only on the GPUs. Two layers: every number or switch in veRL's packaged defaults must stay a number or a switch,
and the keys veRL computes with carry a rule for their range (counts and sizes positive, probabilities in (0, 1]).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

from alphamed.recipe.check_launch import RecipeError, packaged_defaults

#: A rule says what is wrong with a value, or None when it is fine.
Rule = Callable[[Any], "str | None"]

#: Stands for "the config has no such key" (a key only some engines or configs hold).
ABSENT = object()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def number(value: Any) -> str | None:
    """A value veRL does arithmetic with."""
    return None if _is_number(value) else "is not a number"


def non_negative(value: Any) -> str | None:
    """Learning rates, coefficients, temperatures."""
    return number(value) or (None if value >= 0 else "must be >= 0")


def positive(value: Any) -> str | None:
    """Clip ratios and the like: zero would disable what the key is for."""
    return number(value) or (None if value > 0 else "must be > 0")


def probability(value: Any) -> str | None:
    """A share: a memory fraction, a nucleus mass."""
    return number(value) or (None if 0 < value <= 1 else "must be in (0, 1]")


def fraction(value: Any) -> str | None:
    """A share that may be zero: discount factors, warm-up ratios."""
    return number(value) or (None if 0 <= value <= 1 else "must be in [0, 1]")


def integer(value: Any) -> str | None:
    """Frequencies and switches where -1 or 0 mean "off"."""
    return None if isinstance(value, int) and not isinstance(value, bool) else "is not an integer"


def positive_int(value: Any) -> str | None:
    """Counts and sizes: batches, lengths, GPUs, parallel degrees."""
    return integer(value) or (None if value >= 1 else "must be a positive integer")


def optional(rule: Rule) -> Rule:
    """The rule, or null (veRL's "unset")."""
    return lambda value: None if value is None else rule(value)


ARR = "actor_rollout_ref"
#: The keys veRL computes with, and what their values mean.
VALUE_RULES: dict[str, Rule] = {
    "data.train_batch_size": positive_int,
    "data.max_prompt_length": positive_int,
    "data.max_response_length": positive_int,
    "trainer.nnodes": positive_int,
    "trainer.n_gpus_per_node": positive_int,
    "trainer.total_epochs": positive_int,
    "trainer.total_training_steps": optional(positive_int),
    "trainer.test_freq": integer,
    "trainer.save_freq": integer,
    "algorithm.gamma": fraction,
    "algorithm.lam": fraction,
    "algorithm.kl_ctrl.kl_coef": non_negative,
    f"{ARR}.actor.optim.lr": non_negative,
    f"{ARR}.actor.optim.weight_decay": non_negative,
    f"{ARR}.actor.optim.lr_warmup_steps_ratio": fraction,
    f"{ARR}.actor.ppo_mini_batch_size": positive_int,
    f"{ARR}.actor.ppo_micro_batch_size_per_gpu": optional(positive_int),
    f"{ARR}.actor.ppo_epochs": positive_int,
    f"{ARR}.actor.ppo_max_token_len_per_gpu": positive_int,
    f"{ARR}.actor.kl_loss_coef": non_negative,
    f"{ARR}.actor.entropy_coeff": number,
    f"{ARR}.actor.clip_ratio": positive,
    f"{ARR}.actor.clip_ratio_low": non_negative,
    f"{ARR}.actor.clip_ratio_high": non_negative,
    f"{ARR}.actor.grad_clip": positive,
    f"{ARR}.ref.log_prob_max_token_len_per_gpu": positive_int,
    f"{ARR}.ref.log_prob_micro_batch_size_per_gpu": optional(positive_int),
    f"{ARR}.rollout.n": positive_int,
    f"{ARR}.rollout.temperature": non_negative,
    f"{ARR}.rollout.top_p": probability,
    f"{ARR}.rollout.top_k": integer,
    f"{ARR}.rollout.gpu_memory_utilization": probability,
    f"{ARR}.rollout.tensor_model_parallel_size": positive_int,
    f"{ARR}.rollout.data_parallel_size": positive_int,
    f"{ARR}.rollout.pipeline_model_parallel_size": positive_int,
    f"{ARR}.rollout.log_prob_max_token_len_per_gpu": positive_int,
    f"{ARR}.rollout.log_prob_micro_batch_size_per_gpu": optional(positive_int),
    f"{ARR}.rollout.val_kwargs.temperature": non_negative,
    f"{ARR}.rollout.val_kwargs.top_p": probability,
    f"{ARR}.rollout.val_kwargs.n": positive_int,
    "critic.optim.lr": non_negative,
    "critic.ppo_mini_batch_size": positive_int,
    "critic.ppo_max_token_len_per_gpu": positive_int,
}

#: ``utils/torch_functional.py`` handles these four and raises on anything else, at the first long prompt.
TRUNCATION_MODES = ("error", "left", "right", "middle")


def _select(cfg: Any, key: str) -> Any:
    from omegaconf import OmegaConf

    return OmegaConf.select(cfg, key, default=ABSENT, throw_on_missing=False)


def _typed_leaves(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, default) for every number and switch in a config tree; interpolations carry no type."""
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _typed_leaves(value, f"{path}.")
        elif isinstance(value, bool | int | float):
            yield path, value


def _typed_problem(default: Any, value: Any) -> str | None:
    """A value whose type cannot stand where veRL's default stands."""
    if value is None or value is ABSENT:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) or value in (0, 1) else "is not true or false"
    return number(value)


def _uses_critic(cfg: Any) -> bool:
    from verl.trainer.ppo.utils import need_critic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(need_critic(cfg))


def _fail(key: str, value: Any, problem: str, default: Any = ABSENT) -> None:
    was = "" if default is ABSENT else f"; veRL's default is {default!r}"
    raise RecipeError(f"{key}: {value!r} {problem}{was}")


def check_values(cfg: Any) -> list[str]:
    """Fail on the first value veRL would choke on; a critic's values count only when the run has a critic."""
    from omegaconf import OmegaConf

    skip = () if _uses_critic(cfg) else ("critic.",)
    defaults = OmegaConf.to_container(packaged_defaults(str(cfg.get("model_engine", "dp"))), resolve=False)
    for key, default in _typed_leaves(defaults):
        value = _select(cfg, key)
        problem = None if key.startswith(skip) else _typed_problem(default, value)
        if problem:
            _fail(key, value, problem, default)
    for key, rule in VALUE_RULES.items():
        value = _select(cfg, key)
        problem = None if value is ABSENT or key.startswith(skip) else rule(value)
        if problem:
            _fail(key, value, problem)
    return []


def check_names(cfg: Any) -> list[str]:
    """Names veRL looks up only once workers start: the policy loss, the truncation mode, the loggers."""
    from verl.trainer.ppo.core_algos import POLICY_LOSS_REGISTRY
    from verl.utils.tracking import Tracking

    known = {
        f"{ARR}.actor.policy_loss.loss_mode": tuple(POLICY_LOSS_REGISTRY),
        "data.truncation": TRUNCATION_MODES,
    }
    for key, names in known.items():
        value = _select(cfg, key)
        if value is not ABSENT and value not in names:
            _fail(key, value, f"is not one of veRL's: {', '.join(names)}")
    loggers = _select(cfg, "trainer.logger")
    for logger in [loggers] if isinstance(loggers, str) else list(loggers or []):
        if logger not in Tracking.supported_backend and logger != "tracking":  # deprecated, still accepted
            _fail("trainer.logger", logger, f"is not a logger veRL's Tracking supports: {Tracking.supported_backend}")
    return []

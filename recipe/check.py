"""Check shell recipes against the pinned veRL on a CPU machine, before anyone pays for GPU hours.

``alphamed check examples/run_alphamed_8b.sh [more scripts] [--timeout S] [-- extra overrides]`` runs each script
with bash and a ``LAUNCHER`` that only records its argv (``check_launch``), composes the config exactly as
``verl.trainer.main_ppo``'s ``@hydra.main`` would (``--config-path``, ``--config-name``, ``--config-dir`` and
``hydra.searchpath`` included), and runs the validation ``main_ppo`` runs before Ray starts, plus the checks veRL
only makes later on the GPUs: values against their meaning (``check_values``), batch arithmetic, placement and
per-GPU token budgets for whichever engine each role trains with (``check_parallel``: FSDP/FSDP2 with Ulysses SP,
Megatron TP/PP/CP/EP, VeOmni, TorchTitan), KL estimator names, the reward manager, and the reward function's import
and call signature. Every fault is one ``FAIL <script>: ...`` line naming the key, and exit status 1.

The scripts also call ``python -m alphamed.recipe.check --require-data STYLE FILES...`` before launching: a
missing data file stops the run with the converter command that makes it -- except under ``alphamed check``
(``ALPHAMED_CHECK=1``), where it is a warning, so a recipe can be checked on a laptop that has no data.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import inspect
import io
import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alphamed.recipe.check_launch import RecipeError, compose_launch, parse_launch, record_launch
from alphamed.recipe.check_parallel import ARR, Parallelism, role_parallelism
from alphamed.recipe.check_values import check_names, check_values

#: Top-level sections veRL 0.9 keeps only for backward compatibility: ``main_ppo`` accepts them and never reads
#: them (only the fully-async entry point migrates them), so a run would silently use veRL's default scorer.
LEGACY_SECTIONS = {
    "custom_reward_function": "reward.custom_reward_function",
    "reward_model": "reward.reward_model",
    "sandbox_fusion": "reward.sandbox_fusion",
}

#: Which prompt style a reward function scores (the pairing of DESIGN.md), so a missing-data hint names the
#: converter flags that make data this reward can read.
PROMPT_STYLE_OF_REWARD = {"compute_score": "alphamed", "compute_score_med_rlvr": "med_rlvr"}

#: Seconds a script may take to reach ``${LAUNCHER}``: recording the argv needs no more than its data gate.
DEFAULT_TIMEOUT = 30.0

#: The keywords every reward manager veRL 0.9.1 registers (naive, dapo, gdpo, rate_limited, remote; see
#: ``verl/experimental/reward_loop/reward_manager/*.py``) passes to the reward function on every sample; the
#: function is called with keywords only. ``get_custom_reward_fn`` (``verl/trainer/ppo/reward.py``) then merges
#: ``reward_kwargs`` over them, the configured values winning.
REWARD_CALL_KWARGS = ("data_source", "solution_str", "ground_truth", "extra_info")
#: Added to that call only with a reward model (``reward.reward_model.enable``: the loop then has a router address).
REWARD_MODEL_CALL_KWARGS = ("reward_router_address", "reward_model_tokenizer")

#: Estimator names ``verl.trainer.ppo.core_algos.kl_penalty`` implements, for "did you mean" only: the verdict
#: comes from calling that function (a name it does not implement raises NotImplementedError), and
#: tests/recipe/test_check.py asserts every name here is accepted by it.
KL_ESTIMATORS = ("kl", "k1", "abs", "mse", "k2", "low_var_kl", "k3", "k1+", "k3+", "low_var_kl+")


@dataclass
class CheckReport:
    """The config one script launches veRL with, and the non-fatal findings."""

    script: Path
    config: Any
    warnings: list[str] = field(default_factory=list)


def converter_hint(path: Path, prompt_style: str) -> str:
    """The command that makes a missing parquet: the converter named by its folder (``<split>.parquet``), the
    annotator (``<split>.annotated.parquet``, after the converter when its input is missing too), or the mix."""
    from alphamed.data_preprocess import CONVERTERS

    split, _, suffix = path.name.partition(".")
    if suffix == "annotated.parquet":
        plain = path.with_name(f"{split}.parquet")
        annotate = (
            f"alphamed annotate --input {plain} --output {path} --model REFERENCE_MODEL ... "
            "(recipe/README.md, 'Annotate -> mix -> train')"
        )
        return annotate if plain.is_file() else f"{converter_hint(plain, prompt_style)}, then {annotate}"
    folder = path.parent.name
    if folder in CONVERTERS.values():
        style = "" if prompt_style == "alphamed" else f" --prompt_style {prompt_style}"
        return f"alphamed prepare {folder} --split {split} --local_save_dir {path.parent}{style}"
    return "alphamed mix ... (recipe/README.md, 'Annotate -> mix -> train'), or point TRAIN_FILES/VAL_FILES at it"


def as_path_list(value: Any) -> list[Path]:
    """A Hydra file-list value (``'a.parquet'`` or ``['a.parquet', 'b.parquet']``, as text or config) as paths."""
    if isinstance(value, str):
        value = yaml.safe_load(value)
    items = [value] if isinstance(value, str) else list(value or [])
    return [Path(os.path.expanduser(str(item))) for item in items]


def missing_data(files: list[Path], prompt_style: str) -> list[str]:
    """One line per missing file: the file and the command that makes it."""
    return [f"missing data file {f}; make it with: {converter_hint(f, prompt_style)}" for f in files if not f.is_file()]


def require_data(prompt_style: str, values: list[str]) -> int:
    """The scripts' pre-launch gate: exit 1 on a missing file, or only warn under ``alphamed check``."""
    lines = missing_data([p for v in values for p in as_path_list(v)], prompt_style)
    under_check = os.environ.get("ALPHAMED_CHECK") == "1"
    for line in lines:
        print(f"{'WARNING' if under_check else 'ERROR'}: {line}", file=sys.stderr)
    return 1 if lines and not under_check else 0


def reject_legacy_keys(overrides: list[str]) -> None:
    """Refuse what Hydra would accept but veRL 0.9's ``main_ppo`` ignores."""
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~")
        section = key.split(".", 1)[0]
        if section in LEGACY_SECTIONS:
            raise RecipeError(
                f"{key}: legacy top-level key that veRL 0.9's main_ppo silently ignores (the run would train "
                f"against veRL's default scorer); use {LEGACY_SECTIONS[section]}{key[len(section) :]}"
            )


def _suggest(word: str, choices: Any) -> str:
    """`` (did you mean x?)`` for the close spellings of ``word`` among ``choices``, else nothing."""
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _fail(key: str, problem: str) -> None:
    raise RecipeError(f"{key}: {problem}")


def check_algorithm_names(cfg: Any) -> None:
    """The advantage estimator and rollout backend must be ones this veRL registers."""
    from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY
    from verl.workers.rollout.base import _ROLLOUT_REGISTRY  # the table get_rollout_class asserts against

    estimator = str(cfg.algorithm.adv_estimator)
    if estimator not in ADV_ESTIMATOR_REGISTRY:
        _fail("algorithm.adv_estimator", f"{estimator!r} is not one of veRL's: {', '.join(ADV_ESTIMATOR_REGISTRY)}")
    rollout = cfg.actor_rollout_ref.rollout
    if (rollout.name, rollout.mode) not in _ROLLOUT_REGISTRY:
        known = ", ".join(f"{name} ({mode})" for name, mode in _ROLLOUT_REGISTRY)
        _fail("actor_rollout_ref.rollout.name", f"{rollout.name!r} in mode {rollout.mode!r} is not one of: {known}")


def _with_stand_in_critic_model(cfg: Any, model_dir: Path) -> Any:
    """A copy of ``cfg`` whose critic model is a tiny offline one.

    ``validate_config`` builds the critic dataclass, and with it ``HFModelConfig``, which reads ``config.json`` and
    the tokenizer from ``critic.model.path`` (a hub download). Nothing it validates depends on the model, so a
    random tiny model stands in, on CPU and offline; the recipe's own path is shown in the summary.
    """
    from omegaconf import OmegaConf, open_dict

    copy = OmegaConf.create(OmegaConf.to_container(cfg))
    with open_dict(copy):
        for key in ("path", "hf_config_path", "tokenizer_path"):
            copy.critic.model[key] = str(model_dir)
    return copy


def run_verl_validation(cfg: Any) -> None:
    """What ``main_ppo.main`` runs before Ray starts, plus the dataclass checks its workers run first thing.

    All of it is arithmetic on the config, so it runs without CUDA. Not run: ``auto_set_device`` (it only renames
    ``trainer.device`` on Ascend NPUs; skipping it keeps the verdict independent of the checking machine) and the
    policy's ``HFModelConfig`` (it loads the tokenizer and config from ``model.path``, i.e. downloads the model).
    """
    from hydra.errors import HydraException
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import omega_conf_to_dataclass, validate_config

    # veRL prints a success banner and warns that GRPO runs without a critic (the summary says both); saving the
    # stand-in model draws a progress bar.
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
        warnings.catch_warnings(),
        tempfile.TemporaryDirectory(prefix="alphamed_check_model_") as tmp,
    ):
        warnings.simplefilter("ignore")
        use_critic = need_critic(cfg)
        if use_critic:
            from alphamed.recipe.tiny_model import build_tiny_model

            cfg = _with_stand_in_critic_model(cfg, build_tiny_model(Path(tmp)))
        try:
            validate_config(cfg, use_reference_policy=need_reference_policy(cfg), use_critic=use_critic)
        except (AssertionError, ValueError, TypeError, HydraException) as exc:
            raise RecipeError(f"veRL's validate_config rejects the config: {exc}") from exc
        sections = {"algorithm": cfg.algorithm, "actor_rollout_ref.rollout": cfg.actor_rollout_ref.rollout}
        for name, section in sections.items():
            try:
                omega_conf_to_dataclass(section)
            except (AssertionError, ValueError, TypeError, HydraException) as exc:
                raise RecipeError(f"{name}: veRL's config dataclass rejects it: {exc}") from exc


def training_roles(cfg: Any) -> list[Parallelism]:
    """The layout of every role that trains or scores on the GPUs: the actor, and the reference and critic when
    the run has them."""
    from verl.trainer.ppo.utils import need_critic, need_reference_policy

    prefixes = [f"{ARR}.actor"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prefixes += [f"{ARR}.ref"] if need_reference_policy(cfg) else []
        prefixes += ["critic"] if need_critic(cfg) else []
    return [role_parallelism(cfg, prefix) for prefix in prefixes]


def check_parallel_layout(cfg: Any) -> list[str]:
    """Every role's parallel sizes must tile the GPUs (before veRL's validation, whose messages name no key)."""
    training_roles(cfg)
    return []


def check_critic_sequence_parallel(cfg: Any) -> list[str]:
    """``critic.ulysses_sequence_parallel_size`` is deprecated and, unlike the actor's, never reaches the critic's
    engine: the run would train the critic without sequence parallelism, at SP times the memory."""
    layout = next((p for p in training_roles(cfg) if p.role == "critic"), None)
    legacy = cfg.critic.get("ulysses_sequence_parallel_size", 1)
    if layout is None or legacy in (1, layout.seq_split):
        return []
    return [
        f"critic.ulysses_sequence_parallel_size {legacy} is ignored by veRL's critic engine, which runs with "
        f"{layout.seq_split_key} = {layout.seq_split}; set that key instead"
    ]


def check_rollout_placement(cfg: Any) -> list[str]:
    """Rollout replicas (``RolloutReplica``) of TP x DP x PP GPUs fill whole nodes or divide one, and the GPU pool
    splits into whole replicas."""
    trainer, rollout = cfg.trainer, cfg.actor_rollout_ref.rollout
    gpus_per_node, n_gpus = trainer.n_gpus_per_node, trainer.n_gpus_per_node * trainer.nnodes
    replica = rollout.tensor_model_parallel_size * rollout.data_parallel_size * rollout.pipeline_model_parallel_size
    per_node_ok = gpus_per_node % replica == 0 if replica <= gpus_per_node else replica % gpus_per_node == 0
    if not per_node_ok or n_gpus % replica:
        _fail(
            "actor_rollout_ref.rollout.tensor_model_parallel_size",
            f"a rollout replica of {replica} GPUs (TP x DP x PP) does not tile {trainer.nnodes} node(s) x "
            f"{gpus_per_node} GPUs",
        )
    return []


def check_batch_arithmetic(cfg: Any) -> list[str]:
    """Divisibility veRL asserts only inside the GPU workers; returns warnings for merely wasteful shapes.

    ``engine_workers.train_mini_batch`` asserts that a mini-batch (prompts x n sequences) splits evenly over the
    engine's data-parallel ranks, which each strategy counts its own way (``check_parallel``)."""
    from omegaconf import OmegaConf

    n = cfg.actor_rollout_ref.rollout.n
    for layout in training_roles(cfg):
        if layout.role == f"{ARR}.ref":  # the reference only scores; it has no mini-batches
            continue
        mini = OmegaConf.select(cfg, f"{layout.role}.ppo_mini_batch_size")
        if (mini * n) % layout.dp:
            _fail(
                f"{layout.role}.ppo_mini_batch_size",
                f"{mini} prompts x rollout.n {n} = {mini * n} sequences do not split over {layout.dp} data-parallel "
                f"ranks ({layout.describe()})",
            )
    train, mini = cfg.data.train_batch_size, cfg.actor_rollout_ref.actor.ppo_mini_batch_size
    # ActorConfig.validate asserts this only without dynamic batching; with it, veRL pads mostly-empty mini-batches.
    if train < mini:
        _fail(
            "data.train_batch_size", f"{train} prompts is fewer than actor_rollout_ref.actor.ppo_mini_batch_size {mini}"
        )
    if train % mini:
        return [
            f"data.train_batch_size {train} is not a multiple of ppo_mini_batch_size {mini}: veRL pads every step "
            "with dummy sequences to fill the last mini-batch"
        ]
    return []


def check_kl_estimators(cfg: Any) -> None:
    """The KL estimators and controller in use must be ones veRL implements: it raises only at the first update."""
    import torch
    from verl.trainer.ppo.core_algos import get_kl_controller, kl_penalty

    used = {}
    if cfg.actor_rollout_ref.actor.use_kl_loss:  # workers/utils/losses.py, in every actor update
        used["actor_rollout_ref.actor.kl_loss_type"] = cfg.actor_rollout_ref.actor.kl_loss_type
    if cfg.algorithm.use_kl_in_reward:  # ray_trainer.apply_kl_penalty, and the controller at trainer start
        used["algorithm.kl_penalty"] = cfg.algorithm.kl_penalty
        try:
            get_kl_controller(cfg.algorithm.kl_ctrl)
        except (NotImplementedError, AssertionError) as exc:
            detail = str(exc) or f"type {cfg.algorithm.kl_ctrl.type!r} is neither fixed nor adaptive"
            _fail("algorithm.kl_ctrl", f"veRL's get_kl_controller rejects it: {detail}")
    probe = torch.zeros(1)
    for key, estimator in used.items():
        try:
            kl_penalty(probe, probe, str(estimator))
        except NotImplementedError:
            _fail(
                key,
                f"{estimator!r} is not an estimator veRL's core_algos.kl_penalty implements"
                f"{_suggest(str(estimator), KL_ESTIMATORS)}; known: {', '.join(KL_ESTIMATORS)}",
            )


def check_token_budgets(cfg: Any) -> list[str]:
    """With dynamic batching every per-GPU token budget must hold one full-length sequence.

    ``prepare_micro_batches`` multiplies the budget by the GPUs that share a sequence (Ulysses SP, Megatron CP)
    and ``seqlen_balancing.rearrange_micro_batches`` asserts the product is at least the longest sequence -- but
    only once a batch holds one that long: hours into a run.
    """
    from verl.workers.config import CriticConfig

    data, arr = cfg.data, cfg.actor_rollout_ref
    longest = data.max_prompt_length + data.max_response_length
    layouts = {layout.role: layout for layout in training_roles(cfg)}
    actor = layouts[f"{ARR}.actor"]
    # (key, tokens per GPU, dynamic batching on, layout), as engine_workers hands them to engines; the actor's
    # engine computes the old log-probs with the rollout's budget.
    budgets = [
        (
            f"{ARR}.actor.ppo_max_token_len_per_gpu",
            arr.actor.ppo_max_token_len_per_gpu,
            arr.actor.use_dynamic_bsz,
            actor,
        ),
        (
            f"{ARR}.rollout.log_prob_max_token_len_per_gpu",
            arr.rollout.log_prob_max_token_len_per_gpu,
            arr.actor.use_dynamic_bsz,
            actor,
        ),
    ]
    if f"{ARR}.ref" in layouts:
        ref = arr.ref
        budgets.append(
            (
                f"{ARR}.ref.log_prob_max_token_len_per_gpu",
                ref.log_prob_max_token_len_per_gpu,
                ref.log_prob_use_dynamic_bsz,
                layouts[f"{ARR}.ref"],
            )
        )
    if "critic" in layouts:
        for name in ("ppo_max_token_len_per_gpu", "ppo_infer_max_token_len_per_gpu"):  # the latter: no yaml key
            tokens = cfg.critic.get(name, getattr(CriticConfig, name))
            budgets.append((f"critic.{name}", tokens, cfg.critic.use_dynamic_bsz, layouts["critic"]))
    for key, tokens, dynamic, layout in budgets:
        if dynamic and tokens * layout.seq_split < longest:
            split = layout.seq_split
            shared = f" x {split} GPUs per sequence ({layout.seq_split_key})" if split > 1 else ""
            _fail(
                key,
                f"{tokens} tokens per GPU{shared} cannot hold one full-length sequence (max_prompt_length "
                f"{data.max_prompt_length} + max_response_length {data.max_response_length} = {longest}); veRL's "
                "dynamic batching asserts max_token_len >= the longest sequence once one appears",
            )
    return []


def uses_alphamed_manager(cfg: Any) -> bool:
    """Whether the run's reward manager is ours: by name through the plugin (``reward.reward_manager.name=alphamed``)
    or by class through ``reward.reward_manager.source=importlib``."""
    from verl.trainer.ppo.reward import resolve_reward_manager_cls

    from alphamed.reward_score.verl_manager import AlphaMedRewardManager
    from alphamed.reward_score.verl_plugin import MANAGER_NAME

    manager = cfg.reward.reward_manager
    if manager.source == "register":
        return manager.name == MANAGER_NAME
    try:
        return issubclass(resolve_reward_manager_cls(cfg), AlphaMedRewardManager)
    except (ValueError, AssertionError, AttributeError, ImportError, OSError, TypeError):
        return False  # check_reward_manager names the fault


def check_alphamed_manager(cfg: Any) -> None:
    """The ``alphamed`` manager needs the plugin on in every veRL process of the run, valid ``reward.reward_kwargs``,
    and a custom function (if any) that is not ours: the custom function is what scores the rows that are not ours."""
    from importlib.metadata import entry_points

    from verl.utils.import_utils import load_extern_object

    from alphamed.reward_score import verl_manager, verl_plugin

    if not uses_alphamed_manager(cfg):
        return
    key, env = "reward.reward_manager.name", verl_plugin.PLUGINS_ENV
    policy = os.environ.get(env)
    by_name = cfg.reward.reward_manager.source == "register"
    if by_name and not verl_plugin.plugin_enabled(policy):
        _fail(
            key,
            f"{verl_plugin.MANAGER_NAME!r} is registered by the alphamed veRL plugin, which {env}={policy!r} "
            f"turns off in every veRL process; unset {env} or list {verl_plugin.MANAGER_NAME} in it",
        )
    if by_name and verl_plugin.MANAGER_NAME not in entry_points(group="verl.plugins").names:
        _fail(
            key,
            "the alphamed 'verl.plugins' entry point is not installed (metadata from before the plugin?); "
            "reinstall: pip install -e .",
        )
    try:
        verl_manager.reward_constants(cfg.reward.get("reward_kwargs"))
    except ValueError as exc:
        raise RecipeError(str(exc)) from exc
    spec = cfg.reward.get("custom_reward_function") or {}
    if spec.get("path"):
        with contextlib.suppress(ImportError, OSError, AttributeError):  # check_reward_function reports those
            if load_extern_object(spec["path"], spec.get("name")) in verl_manager.REWARD_OF_STYLE.values():
                _fail(
                    "reward.custom_reward_function.path",
                    "with the alphamed manager the custom function scores only the rows that are not ours "
                    "(gsm8k, MATH, ...); set it to null for veRL's default scorer",
                )


def check_reward_manager(cfg: Any) -> None:
    """The reward manager must resolve as veRL's reward loop resolves it, or every reward worker dies at start."""
    from verl.experimental.reward_loop.reward_manager.registry import REWARD_MANAGER  # filled by the package import
    from verl.trainer.ppo.reward import resolve_reward_manager_cls

    manager = cfg.reward.reward_manager
    if manager.source == "register" and manager.name not in REWARD_MANAGER:
        _fail(
            "reward.reward_manager.name",
            f"{manager.name!r} is not a reward manager veRL registers"
            f"{_suggest(str(manager.name), REWARD_MANAGER)}; known: {', '.join(REWARD_MANAGER)}",
        )
    try:
        resolve_reward_manager_cls(cfg)
    except (ValueError, AssertionError, AttributeError, ImportError, OSError) as exc:
        _fail("reward.reward_manager", f"veRL cannot resolve it: {exc}")


def check_reward_function(cfg: Any) -> None:
    """Import the reward as veRL's reward loop will (``load_extern_object``) and bind veRL's call to it.

    Every ``reward_kwargs`` key must be a named parameter: a function with ``**kwargs`` would swallow a
    misspelled one and train with the default silently.
    """
    from verl.utils.import_utils import load_extern_object

    spec = cfg.reward.get("custom_reward_function") or {}
    path, name = spec.get("path"), spec.get("name")
    if not path and uses_alphamed_manager(cfg):
        return  # the manager scores our rows itself; veRL's default scorer takes the rest
    if not path:
        _fail(
            "reward.custom_reward_function.path",
            "not set: veRL would use its default scorer, which raises NotImplementedError for the medical data sources",
        )
    try:
        fn = load_extern_object(module_path=path, object_name=name)
    except AttributeError:
        _fail("reward.custom_reward_function.name", f"{name!r} does not exist in {path}")
    except (ImportError, OSError) as exc:
        _fail("reward.custom_reward_function.path", f"{path} does not import: {exc}")
    if not callable(fn):
        _fail("reward.custom_reward_function.name", f"{name!r} in {path} is not callable")
    signature = inspect.signature(fn)
    named = [p.name for p in signature.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    passed = dict.fromkeys(REWARD_CALL_KWARGS)
    if cfg.reward.reward_model.enable:
        passed.update(dict.fromkeys(REWARD_MODEL_CALL_KWARGS))
    reward_kwargs = dict(spec.get("reward_kwargs") or {})
    for kwarg in reward_kwargs:
        key = f"reward.custom_reward_function.reward_kwargs.{kwarg}"
        if kwarg in passed:
            _fail(key, f"overrides the {kwarg!r} veRL passes to {name}() for every sample")
        if kwarg not in named:
            _fail(
                key,
                f"{name}() has no parameter {kwarg!r}{_suggest(kwarg, named)}; its **kwargs would swallow "
                "it and the run would use the default",
            )
    call = ", ".join(f"{k}=..." for k in [*passed, *reward_kwargs])
    try:
        signature.bind(**passed, **reward_kwargs)
    except TypeError as exc:
        _fail("reward.custom_reward_function.name", f"{path}:{name}() cannot take veRL's call {name}({call}): {exc}")


def check_data_files(cfg: Any) -> list[str]:
    """Missing data is a warning here (the scripts' own gate stops a real run), naming the command that makes it."""
    style = PROMPT_STYLE_OF_REWARD.get(cfg.reward.custom_reward_function.name, "alphamed")
    return missing_data(as_path_list(cfg.data.train_files) + as_path_list(cfg.data.val_files), style)


@dataclass(frozen=True)
class Check:
    """One check of the composed config: raises RecipeError naming the key, returns warnings (or None)."""

    name: str
    run: Callable[[Any], list[str] | None]
    #: An advisory check that cannot be evaluated is a WARNING; any other is a FAIL.
    advisory: bool = False


#: In order: values first, since every later check computes with them. To add a check, append it here.
CHECKS: list[Check] = [
    Check("values", check_values),
    Check("algorithm names", check_algorithm_names),
    Check("parallel layout", check_parallel_layout),
    Check("veRL validation", run_verl_validation),
    Check("names veRL resolves on the GPUs", check_names),
    Check("KL estimators", check_kl_estimators),
    Check("rollout placement", check_rollout_placement),
    Check("token budgets", check_token_budgets),
    Check("batch arithmetic", check_batch_arithmetic),
    Check("alphamed reward manager", check_alphamed_manager),
    Check("reward manager", check_reward_manager),
    Check("reward function", check_reward_function),
    Check("critic sequence parallelism", check_critic_sequence_parallel, advisory=True),
    Check("data files", check_data_files, advisory=True),
]


def run_checks(cfg: Any) -> list[str]:
    """Every check in order; the first failure stops. A check that crashes could not say whether the config is
    right, so it fails (or warns, when advisory) saying so -- never a traceback."""
    found: list[str] = []
    for check in CHECKS:
        try:
            found += check.run(cfg) or []
        except RecipeError:
            raise
        except Exception as exc:  # noqa: BLE001 -- any crash inside a check is reported as that check's verdict
            note = f"{check.name}: could not evaluate ({type(exc).__name__}: {exc})"
            if not check.advisory:
                raise RecipeError(note) from exc
            found.append(note)
    return found


def check_script(script: Path, extra: list[str], timeout: float = DEFAULT_TIMEOUT) -> CheckReport:
    """Record the script's launch, compose what ``main_ppo`` would receive, and run every check on it."""
    launch = parse_launch(record_launch(script, extra, timeout))
    reject_legacy_keys(launch.overrides)
    config = compose_launch(launch)
    return CheckReport(script=script, config=config, warnings=run_checks(config))


def _file_list(paths: list[Path]) -> str:
    """``root/{a, b}``: the shared folder once, so six benchmark files fit on one line."""
    if len(paths) < 2:
        return ", ".join(map(str, paths))
    root = Path(os.path.commonpath(paths))
    return f"{root}/{{{', '.join(str(p.relative_to(root)) for p in paths)}}}"


def reward_summary(cfg: Any) -> str:
    """The custom function with its kwargs, or the alphamed manager with its constants and its scorer for the rest."""
    reward = cfg.reward.custom_reward_function
    kwargs = dict(reward.get("reward_kwargs") or {})
    function = f"{reward.path}:{reward.name}" + (f" {kwargs}" if kwargs else "")
    if not uses_alphamed_manager(cfg):
        return function
    constants = dict(cfg.reward.get("reward_kwargs") or {})
    others = function if reward.path else "veRL's default scorer"
    return f"manager alphamed{f' {constants}' if constants else ''} (ours by prompt style; other rows: {others})"


def summary(report: CheckReport) -> str:
    """The one screen a researcher reads before submitting."""
    cfg = report.config
    arr, data, trainer = cfg.actor_rollout_ref, cfg.data, cfg.trainer
    actor, rollout = arr.actor, arr.rollout
    kl = f"KL loss {actor.kl_loss_type} coef {actor.kl_loss_coef}" if actor.use_kl_loss else "no KL loss"
    if cfg.algorithm.use_kl_in_reward:
        kl += f", KL in reward coef {cfg.algorithm.kl_ctrl.kl_coef}"
    critic = cfg.critic.optim.lr if cfg.algorithm.adv_estimator == "gae" or cfg.critic.enable else None
    train, val = as_path_list(data.train_files), as_path_list(data.val_files)
    parallel = "; ".join(f"{p.role.rsplit('.', 1)[-1]} {p.describe()}" for p in training_roles(cfg))
    lines = [
        f"OK {report.script}",
        f"  model      {arr.model.path}",
        f"  resources  {trainer.nnodes} node(s) x {trainer.n_gpus_per_node} GPUs; rollout {rollout.name} "
        f"TP {rollout.tensor_model_parallel_size}, gpu_memory_utilization {rollout.gpu_memory_utilization}",
        f"  parallel   {parallel}",
        f"  algorithm  {cfg.algorithm.adv_estimator}, rollout.n {rollout.n}, {kl}",
        f"  batch      {data.train_batch_size} prompts/step ({data.train_batch_size * rollout.n} sequences), "
        f"PPO mini-batch {actor.ppo_mini_batch_size} prompts, {actor.ppo_epochs} epoch(s)",
        f"  lengths    prompt {data.max_prompt_length}, response {data.max_response_length}"
        + (f"; dynamic batches of {actor.ppo_max_token_len_per_gpu} tokens/GPU" if actor.use_dynamic_bsz else ""),
        f"  lr         actor {actor.optim.lr}" + (f", critic {critic}" if critic is not None else ""),
        f"  reward     {reward_summary(cfg)}",
        f"  train      {_file_list(train)}",
        f"  val        {_file_list(val)}",
        f"  steps      {trainer.total_epochs} epoch(s), total_training_steps {trainer.total_training_steps}, "
        f"val every {trainer.test_freq}, save every {trainer.save_freq}",
    ]
    lines += [f"  WARNING    {w}" for w in report.warnings]
    return "\n".join(lines)


def _one_line(text: str) -> str:
    """A message on one line, whatever veRL or Hydra put in it."""
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def check_one(script: Path, extra: list[str], timeout: float) -> bool:
    """Print the summary (OK) or one FAIL line for the script; True when it passes."""
    try:
        if not script.is_file():
            raise RecipeError("no such file")
        print(summary(check_script(script, extra, timeout)))
        return True
    except RecipeError as exc:
        print(f"FAIL {script}: {_one_line(exc)}", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 -- the checker's promise: a verdict line, never a traceback
        print(f"FAIL {script}: could not check ({type(exc).__name__}: {_one_line(exc)})", file=sys.stderr)
    return False


def _timeout(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # The checker never needs a model hub; without this a stray model lookup would retry for a minute offline.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if argv[:1] == ["--require-data"]:
        if len(argv) < 3:
            print("usage: python -m alphamed.recipe.check --require-data PROMPT_STYLE FILES...", file=sys.stderr)
            return 2
        return require_data(argv[1], argv[2:])
    extra: list[str] = []
    if "--" in argv:
        argv, extra = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
    parser = argparse.ArgumentParser(
        prog="alphamed check",
        description="Validate shell recipes against the pinned veRL config on CPU. Overrides after -- are "
        'appended to every script\'s command line (as "$@").',
    )
    parser.add_argument("scripts", nargs="+", type=Path, help="shell recipes, e.g. examples/run_alphamed_8b.sh")
    parser.add_argument(
        "--timeout",
        type=_timeout,
        default=DEFAULT_TIMEOUT,
        help=f"seconds a script may take to reach ${{LAUNCHER}} before it is stopped (default {DEFAULT_TIMEOUT:g})",
    )
    args = parser.parse_args(argv)
    try:
        passed = sum(check_one(script, extra, args.timeout) for script in args.scripts)
    except KeyboardInterrupt:  # the running script's process group has already been ended
        print("FAIL: interrupted", file=sys.stderr)
        return 130
    if len(args.scripts) > 1:
        print(f"{passed} of {len(args.scripts)} recipes pass")
    return 0 if passed == len(args.scripts) else 1


if __name__ == "__main__":
    sys.exit(main())

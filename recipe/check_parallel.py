"""How each training role splits its GPUs, read from wherever its engine keeps the sizes.

Every role (actor, reference, critic) has one engine node in veRL's config -- ``fsdp_config`` / ``fsdp`` for
FSDP and FSDP2, ``megatron``, ``veomni``, ``torchtitan`` -- found by its ``_target_`` (a veRL ``*EngineConfig``
dataclass), so a config folder of one's own with the same node names is read the same way. From it: the
data-parallel size that mini-batches are split over (``engine.get_data_parallel_size()`` on the GPUs) and how many
GPUs share one sequence (the ``sp_size`` each engine hands to ``prepare_micro_batches``, which multiplies the
per-GPU token budget by it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alphamed.recipe.check_launch import RecipeError

ARR = "actor_rollout_ref"


@dataclass(frozen=True)
class Parallelism:
    """One role's layout on ``n_gpus`` GPUs."""

    role: str  # the role's config prefix, e.g. actor_rollout_ref.actor
    engine: str  # the engine node's key, e.g. actor_rollout_ref.actor.megatron
    strategy: str
    sizes: dict[str, int]  # the parallel degrees, for the summary
    dp: int  # data-parallel ranks a mini-batch is split over
    seq_split: int  # GPUs that share one sequence: the token budget is per GPU times this
    seq_split_key: str

    def describe(self) -> str:
        sizes = ", ".join(f"{name} {size}" for name, size in self.sizes.items())
        return f"{self.strategy} ({sizes}) -> DP {self.dp}" if sizes else f"{self.strategy} -> DP {self.dp}"


def _size(engine: Any, key: str, name: str, *, allow: tuple[int | None, ...] = ()) -> int | None:
    """A parallel degree, which must be a positive integer (or one of ``allow``, e.g. null or -1 for "infer")."""
    value = getattr(engine, name)
    if value in allow and not isinstance(value, bool):
        return value
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise RecipeError(f"{key}.{name}: {value!r} must be a positive integer")
    return value


def _divides(n_gpus: int, size: int, key: str, what: str) -> None:
    if n_gpus % size:
        raise RecipeError(f"{key}: {what} = {size} GPUs does not divide the {n_gpus} GPUs")


def _fsdp(engine: Any, key: str, n_gpus: int) -> tuple[dict[str, int], int, int, str]:
    """FSDP / FSDP2: Ulysses sequence parallelism inside each data-parallel group."""
    sp = _size(engine, key, "ulysses_sequence_parallel_size")
    _divides(n_gpus, sp, f"{key}.ulysses_sequence_parallel_size", "Ulysses SP")
    return {"SP": sp}, n_gpus // sp, sp, f"{key}.ulysses_sequence_parallel_size"


def _megatron(engine: Any, key: str, n_gpus: int) -> tuple[dict[str, int], int, int, str]:
    """Megatron: TP x PP x CP per model replica; experts are laid out over ETP x EP x PP (megatron-core's mpu)."""
    tp, pp, cp = (_size(engine, key, f"{n}_parallel_size") for n in ("tensor_model", "pipeline_model", "context"))
    ep = _size(engine, key, "expert_model_parallel_size")
    etp = _size(engine, key, "expert_tensor_parallel_size", allow=(None,)) or tp
    _divides(n_gpus, tp * pp * cp, f"{key}.tensor_model_parallel_size", f"TP {tp} x PP {pp} x CP {cp}")
    _divides(n_gpus, etp * ep * pp, f"{key}.expert_model_parallel_size", f"ETP {etp} x EP {ep} x PP {pp}")
    # dynamic context parallelism gives every DP x CP group the whole batch (get_data_parallel_size() == 1)
    dp = 1 if engine.dynamic_context_parallel else n_gpus // (tp * pp * cp)
    return {"TP": tp, "PP": pp, "CP": cp, "EP": ep}, dp, cp, f"{key}.context_parallel_size"


def _veomni(engine: Any, key: str, n_gpus: int) -> tuple[dict[str, int], int, int, str]:
    """VeOmni: Ulysses groups inside FSDP; experts sharded over EP ranks."""
    sp, ep = _size(engine, key, "ulysses_parallel_size"), _size(engine, key, "expert_parallel_size")
    _divides(n_gpus, sp, f"{key}.ulysses_parallel_size", "Ulysses SP")
    _divides(n_gpus, ep, f"{key}.expert_parallel_size", "EP")
    return {"SP": sp, "EP": ep}, n_gpus // sp, sp, f"{key}.ulysses_parallel_size"


def _torchtitan(engine: Any, key: str, n_gpus: int) -> tuple[dict[str, int], int, int, str]:
    """TorchTitan: torchtitan's ParallelDims requires the degrees to multiply to the world size (-1: inferred)."""
    names = ("data_parallel_replicate_size", "data_parallel_shard_size", "tensor_parallel_size")
    replicate, shard, tp = (_size(engine, key, n, allow=(-1,) if n == names[1] else ()) for n in names)
    pp, cp = _size(engine, key, "pipeline_parallel_size"), _size(engine, key, "context_parallel_size")
    model = replicate * tp * pp * cp
    if shard == -1:
        _divides(n_gpus, model, f"{key}.tensor_parallel_size", "DP-replicate x TP x PP x CP")
        shard = n_gpus // model
    if shard * model != n_gpus:
        raise RecipeError(
            f"{key}.data_parallel_shard_size: DP-shard {shard} x DP-replicate {replicate} x TP {tp} x PP {pp} x "
            f"CP {cp} = {shard * model} GPUs, but the job has {n_gpus} (torchtitan's ParallelDims requires equality)"
        )
    # veRL hands TP as the sequence split to prepare_micro_batches for this engine
    return {"DP-shard": shard, "TP": tp, "PP": pp, "CP": cp}, shard * replicate, tp, f"{key}.tensor_parallel_size"


#: engine dataclass name -> reader. A new veRL engine without a reader fails the check as "could not evaluate".
READERS: dict[str, Callable[[Any, str, int], tuple[dict[str, int], int, int, str]]] = {
    "FSDPEngineConfig": _fsdp,
    "McoreEngineConfig": _megatron,
    "VeOmniEngineConfig": _veomni,
    "TorchtitanEngineConfig": _torchtitan,
}

#: Which strategies each engine runs (``EngineRegistry`` backends): a mismatch picks the wrong engine on the GPUs.
STRATEGIES = {
    "FSDPEngineConfig": ("fsdp", "fsdp2"),
    "McoreEngineConfig": ("megatron",),
    "VeOmniEngineConfig": ("veomni",),
    "TorchtitanEngineConfig": ("torchtitan",),
}


def _engine_node(role: Any, prefix: str) -> tuple[str, Any]:
    """The role's engine node: the child whose ``_target_`` is one of veRL's ``*EngineConfig`` dataclasses."""
    for name, child in role.items():
        target = str(child.get("_target_", "")) if hasattr(child, "get") else ""
        if target.endswith("EngineConfig"):
            return name, child
    raise RecipeError(f"{prefix}: no engine section (a child with a veRL *EngineConfig _target_) to train with")


def role_parallelism(cfg: Any, prefix: str) -> Parallelism:
    """The layout of the role at ``prefix`` (``actor_rollout_ref.actor``, ``actor_rollout_ref.ref``, ``critic``)."""
    from omegaconf import OmegaConf
    from verl.utils.config import omega_conf_to_dataclass

    role = OmegaConf.select(cfg, prefix)
    name, node = _engine_node(role, prefix)
    engine = omega_conf_to_dataclass(node)
    kind = type(engine).__name__
    if kind not in READERS:
        raise NotImplementedError(f"{prefix}.{name}: engine {kind} has no reader in alphamed.recipe.check_parallel")
    strategy = str(role.strategy)
    if strategy not in STRATEGIES[kind]:
        runs = "/".join(STRATEGIES[kind])
        raise RecipeError(f"{prefix}.strategy: {strategy!r} cannot run the {name} engine, which runs {runs}")
    # FSDPActorConfig (actor and reference, not the critic) copies its deprecated top-level Ulysses size into the
    # engine when it is above 1; a message then names the key the recipe set.
    key = f"{prefix}.{name}"
    legacy_sp = role.get("ulysses_sequence_parallel_size", 1)
    if kind == "FSDPEngineConfig" and prefix.startswith(ARR) and isinstance(legacy_sp, int) and legacy_sp > 1:
        engine.ulysses_sequence_parallel_size, key = legacy_sp, prefix
    n_gpus = cfg.trainer.n_gpus_per_node * cfg.trainer.nnodes
    sizes, dp, split, split_key = READERS[kind](engine, key, n_gpus)
    return Parallelism(prefix, f"{prefix}.{name}", strategy, sizes, dp, split, split_key)

"""Replicas of a generation backend as Ray actors: one annotation or evaluation run on many GPUs or nodes.

The engine keeps everything that decides the output -- which items form batch ``b``, every seed (derived from
request content), scoring, and the sidecar, which only the driver writes -- and a :class:`ReplicaPool` decides
only *where* each batch is generated. So 1, 2 or 16 replicas give the same output, and a run resumes under any
replica count (the replica count is not part of the sidecar's settings). A batch is the unit of work and of retry:

* at most ``inflight`` (2) batches per replica: one generating and one queued behind it, so a replica does not
  idle while the driver scores and writes, and a replica that dies takes at most two batches with it;
* a replica that dies (process crash, kill, OOM, lost node) is replaced by a new actor and its batches are put
  back at the front of the queue; a batch whose replica died more than ``max_retries`` times fails the run;
* an error *raised* by the backend in a replica (a model that does not load, a bad request) is not retried: a
  replacement would raise it again.

Resources: a vllm replica reserves ``tensor_parallel_size`` GPUs of one node and runs vLLM's ``mp`` executor on
them, as veRL 0.9's vLLM servers do (vLLM's Ray executor inside a Ray actor needs placement-group plumbing that
the ``mp`` executor does not); an hf replica reserves one GPU, or one CPU and one torch thread on a CPU. Ray
places the actors across the nodes of the cluster.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import ray
from ray.exceptions import (
    ActorDiedError,
    NodeDiedError,
    ObjectLostError,
    OutOfMemoryError,
    RayActorError,
    RayTaskError,
    WorkerCrashedError,
)

from alphamed.recipe.engine import generate_and_count
from alphamed.recipe.generate import (
    BatchOutput,
    GenerationError,
    Messages,
    SamplingConfig,
    backend_options,
    build_backend,
)

logger = logging.getLogger(__name__)

#: What a dead replica looks like from the driver; anything else a replica raises is the backend's own error.
REPLICA_LOST = (RayActorError, WorkerCrashedError, NodeDiedError, ObjectLostError, OutOfMemoryError)
INFLIGHT_PER_REPLICA = 2


@dataclass(frozen=True)
class ReplicaSpec:
    """What every replica builds, and what Ray reserves for each one."""

    backend: str
    model: str
    options: dict[str, Any] = field(default_factory=dict)
    num_cpus: float = 1
    num_gpus: float = 0
    torch_threads: int | None = None


def replica_spec(backend: str, model: str, options: Mapping[str, Any], cluster_gpus: float) -> ReplicaSpec:
    """The spec of one ``backend`` replica; ``cluster_gpus`` decides where hf's ``--device auto`` runs."""
    if backend == "vllm":
        tp = int(options.get("tensor_parallel_size", 1))
        executor = {"distributed_executor_backend": "mp"} if tp > 1 else {}
        return ReplicaSpec(backend, model, {**options, **executor}, num_gpus=tp)
    if backend == "hf":
        device = str(options.get("device", "auto"))
        on_gpu = device.startswith("cuda") or (device == "auto" and cluster_gpus > 0)
        # Ray shows a replica only the GPU it reserved, as cuda:0, so any cuda device means "one GPU".
        device = "cuda" if on_gpu else ("cpu" if device == "auto" else device)
        return ReplicaSpec(
            backend, model, {**options, "device": device}, num_gpus=int(on_gpu), torch_threads=None if on_gpu else 1
        )
    raise ValueError(
        f"--replicas runs vllm or hf replicas, not {backend}: the {backend} backend already sends "
        "--max_concurrency requests at once to its server"
    )


def check_resources(spec: ReplicaSpec, replicas: int, nodes: Sequence[Mapping[str, float]]) -> None:
    """Fail now, not after an endless wait, when the cluster cannot hold ``replicas`` replicas at all."""
    resource, need = ("GPU", spec.num_gpus) if spec.num_gpus else ("CPU", spec.num_cpus)
    fits = sum(int(node.get(resource, 0) // need) for node in nodes)  # an actor lives on one node
    if fits < replicas:
        per_node = ", ".join(f"{node.get(resource, 0):g}" for node in nodes) or "none"
        raise ValueError(
            f"the Ray cluster has room for {fits} {spec.backend} replica(s) of {need:g} {resource} each, not "
            f"{replicas} ({resource}s per node: {per_node}); lower --replicas"
            + (" or --tensor_parallel_size" if spec.backend == "vllm" else "")
        )


class Replica:
    """One backend in its own Ray worker process.

    A backend that fails to build does not kill the actor: the error is kept and raised by every call, so the
    driver gets it as the backend's own exception (not retried) instead of an anonymous actor death.
    """

    def __init__(self, spec: ReplicaSpec) -> None:
        self._error: Exception | None = None
        self._batches = 0
        try:
            if spec.torch_threads:
                import torch

                torch.set_num_threads(spec.torch_threads)
            self._backend = build_backend(spec.backend, spec.model, **spec.options)
        except Exception as err:  # any build failure: reported by every call, see the class docstring
            self._error = err

    def _ready(self) -> None:
        if self._error is not None:
            raise self._error

    def info(self) -> dict[str, Any]:
        """Where this replica runs (the driver prints it; tests use the pid to kill the process)."""
        self._ready()
        torch = sys.modules.get("torch")
        return {
            "pid": os.getpid(),
            "node": ray.util.get_node_ip_address(),
            "model": self._backend.model,
            "device": str(getattr(self._backend, "device", f"GPUs {ray.get_gpu_ids()}")),
            "torch_threads": torch.get_num_threads() if torch else None,
            "batches": self._batches,
        }

    def generate(
        self, requests: Sequence[Messages], sampling: SamplingConfig
    ) -> tuple[list[list[str]], list[int | None], float]:
        """One batch: completions, their token counts (counted here, where the tokenizer is) and seconds taken."""
        self._ready()
        start = time.perf_counter()
        outputs, counts = generate_and_count(self._backend, requests, sampling)
        seconds = time.perf_counter() - start
        self._batches += 1
        return outputs, counts, seconds

    def count_tokens(self, texts: Sequence[str]) -> list[int | None]:
        self._ready()
        return self._backend.count_tokens(texts)


def _reason(err: BaseException) -> str:
    """Why a replica call failed, in one line (Ray's own messages span many)."""
    if isinstance(err, RayTaskError):
        err = err.cause if isinstance(err.cause, BaseException) else err
        return " ".join(f"{type(err).__name__}: {err}".split())
    lines = [" ".join(line.split()) for line in str(err).splitlines()]
    noise = ("class_name:", "actor_id:", "name:", "namespace:", ActorDiedError.BASE_ERROR_MSG)
    text = "; ".join(line for line in lines if line and not line.startswith(noise))
    return text if len(text) <= 300 else text[:299] + "…"  # Ray appends paragraphs of generic advice


class ReplicaPool:
    """``replicas`` actors of one backend, behind the engine's :class:`~alphamed.recipe.generate.BatchDispatcher`
    hook; also a plain :class:`~alphamed.recipe.generate.GenerationBackend` (one call = one batch)."""

    def __init__(
        self, spec: ReplicaSpec, replicas: int, *, max_retries: int = 5, inflight: int = INFLIGHT_PER_REPLICA
    ) -> None:
        if replicas < 1 or max_retries < 0 or inflight < 1:
            raise ValueError(
                f"need replicas >= 1, max_retries >= 0, inflight >= 1; got {replicas}, {max_retries}, {inflight}"
            )
        self.spec, self.max_retries, self.inflight = spec, max_retries, inflight
        self.name = spec.backend
        self._actor = ray.remote(Replica).options(
            num_cpus=spec.num_cpus, num_gpus=spec.num_gpus, max_restarts=0, max_task_retries=0
        )
        self._replicas = [self._actor.remote(spec) for _ in range(replicas)]
        self.generation_seconds: dict[int, float] = {}  # per batch, measured inside the replica
        try:
            self.infos = ray.get([replica.info.remote() for replica in self._replicas])
        except (RayTaskError, *REPLICA_LOST) as err:
            self.close()
            raise GenerationError(f"a {spec.backend} replica could not start: {_reason(err)}") from None
        self.model = self.infos[0]["model"]  # the backend's own spelling, as the sidecar records it in-process
        if spec.backend == "hf":  # as on the in-process backend: default batch sizes depend on it
            import torch

            self.device = torch.device(self.infos[0]["device"])

    def describe(self) -> str:
        return ", ".join(
            f"#{i} pid {info['pid']} on {info['node']} ({info['device']})" for i, info in enumerate(self.infos)
        )

    def replica_info(self, replica: int) -> dict[str, Any]:
        """A replica as it is now: pid (new after a replacement), node, device, batches it generated."""
        return ray.get(self._replicas[replica].info.remote())

    def _replace(self, slot: int, dead: Any) -> None:
        ray.kill(dead, no_restart=True)  # an unreachable but living actor would keep its GPUs
        self._replicas[slot] = self._actor.remote(self.spec)

    def generate_batches(
        self, batches: Mapping[int, Sequence[Messages]], sampling: SamplingConfig
    ) -> Iterator[BatchOutput]:
        """Each batch generated by some replica, yielded as it completes (the driver writes it at once)."""
        queue = deque(batches)
        failures: Counter[int] = Counter()
        load = [0] * len(self._replicas)
        running: dict[Any, tuple[int, int, Any]] = {}  # object ref -> (batch, slot, actor it was sent to)
        while queue or running:
            while queue and min(load) < self.inflight:  # the least-loaded replica first: batches finish in order
                slot = load.index(min(load))
                b = queue.popleft()
                actor = self._replicas[slot]
                running[actor.generate.remote(batches[b], sampling)] = (b, slot, actor)
                load[slot] += 1
            [ref], _ = ray.wait(list(running), num_returns=1)
            b, slot, actor = running.pop(ref)
            load[slot] -= 1
            try:
                outputs, counts, seconds = ray.get(ref)
            except REPLICA_LOST as err:
                failures[b] += 1
                if failures[b] > self.max_retries:
                    raise GenerationError(
                        f"batch {b}: its replica died {failures[b]} times (--max_retries {self.max_retries}); "
                        f"last: {_reason(err)}"
                    ) from None
                if self._replicas[slot] is actor:  # the first of its batches to report the death replaces it
                    logger.warning("replica #%d died (%s); starting a replacement", slot, _reason(err))
                    self._replace(slot, actor)
                logger.warning("batch %d: retry %d of %d on another replica", b, failures[b], self.max_retries)
                queue.appendleft(b)
                continue
            except RayTaskError as err:
                raise GenerationError(f"replica #{slot}, batch {b}: {_reason(err)}") from None
            self.generation_seconds[b] = seconds
            yield b, outputs, counts

    def generate(self, requests: Sequence[Messages], sampling: SamplingConfig) -> list[list[str]]:
        [(_, outputs, _)] = self.generate_batches({0: requests}, sampling)
        return outputs

    def count_tokens(self, texts: Sequence[str]) -> list[int | None]:
        return ray.get(self._replicas[0].count_tokens.remote(texts))

    def close(self) -> None:
        """End the actors (on a cluster this run only connected to, nothing else ends them before the driver)."""
        for replica in self._replicas:
            ray.kill(replica, no_restart=True)


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse a ``host:port`` nothing listens on at once: ``ray.init`` would retry it for minutes."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto" and other forms Ray resolves itself, quickly
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as err:
        raise GenerationError(
            f"cannot reach the Ray cluster at {address!r} ({err.strerror or err}); start it with `ray start --head` "
            "there, or check --ray_address / RAY_ADDRESS"
        ) from None


@contextmanager
def ray_session(address: str | None = None) -> Iterator[str]:
    """Ray for one run: the cluster at ``address`` or ``$RAY_ADDRESS`` (left running), else a local cluster that
    ends with the block. A process already connected to Ray (a notebook, a test) keeps its cluster."""
    if ray.is_initialized():
        yield "the Ray cluster this process is connected to"
        return
    target = address or os.environ.get("RAY_ADDRESS") or "local"
    local = target == "local"  # never "auto": that would join whatever cluster someone else started here
    options: dict[str, Any] = {"include_dashboard": False} if local else {}
    if not local:
        _check_reachable(target)
    try:
        ray.init(address=target, log_to_driver=False, logging_level=logging.WARNING, **options)
    except (ConnectionError, ValueError, RuntimeError, TimeoutError) as err:
        raise GenerationError(f"cannot reach the Ray cluster at {target!r}: {_reason(err)}") from None
    try:
        yield "a local Ray cluster started for this run" if local else f"the Ray cluster at {target}"
    finally:
        ray.shutdown()  # stops a cluster this run started; only disconnects from one it joined


@contextmanager
def replicas_from_args(args: argparse.Namespace) -> Iterator[ReplicaPool]:
    """The pool ``--replicas``, ``--ray_address`` and the backend flags describe, for the length of a run."""
    if not args.model:
        raise ValueError("--model is required (a local checkpoint path or hub id)")
    options = backend_options(args)
    replica_spec(args.backend, args.model, options, cluster_gpus=0)  # refuse a wrong backend before Ray starts
    with ray_session(args.ray_address) as where:
        spec = replica_spec(args.backend, args.model, options, ray.cluster_resources().get("GPU", 0))
        check_resources(spec, args.replicas, [node["Resources"] for node in ray.nodes() if node["Alive"]])
        print(f"starting {args.replicas} {spec.backend} replica(s) on {where}", file=sys.stderr)
        pool = ReplicaPool(spec, args.replicas, max_retries=args.max_retries)
        print(f"replicas: {pool.describe()}", file=sys.stderr)
        try:
            yield pool
        finally:
            pool.close()

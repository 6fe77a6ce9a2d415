"""What Ray replicas cost and give: wall time of 1 vs 2 hf replicas, and Ray's overhead per batch.

Runs the real engine (``run_items``) over MedQA-sized synthetic items with the hf backend on the tiny random
model (``alphamed.recipe.tiny_model``), three ways: in this process (no Ray), 1 replica and 2 replicas, each
replica a Ray actor on one CPU with one torch thread (the in-process run is also held to one thread, so the
1-replica figure differs from it only by Ray). Then, with one batch in flight at a time, the Ray overhead per
batch: the batch's round trip seen by the driver (submit, pickling the prompts, generation, returning the
completions) minus the generation time measured inside the replica.

    python benchmarks/replica_overhead.py                      # 128 items, default --batch_size 32, 3 repeats
    python benchmarks/replica_overhead.py --items 64 --repeats 5

On a GPU cluster the same figures come from ``alphamed annotate --replicas N`` itself; the overhead per batch
does not grow with the model, so its share shrinks as generation gets longer.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import ray
import torch
from annotate_overhead import synthetic_records

from alphamed.recipe.engine import run_items
from alphamed.recipe.generate import HfBackend, SamplingConfig
from alphamed.recipe.replicas import ReplicaPool, replica_spec
from alphamed.recipe.tiny_model import build_tiny_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=128, help="4 batches: 2 per replica at N=2")
    parser.add_argument("--batch_size", type=int, default=32, help="the commands' default on a GPU (hf on a CPU: 4)")
    parser.add_argument("--k", type=int, default=2, help="completions per item")
    parser.add_argument("--max_tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    sampling = SamplingConfig(n=args.k, max_tokens=args.max_tokens, temperature=1.0, top_p=1.0, seed=0)
    records = synthetic_records(args.items)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        model = str(build_tiny_model(tmp_dir / "model"))
        spec = replica_spec("hf", model, {"device": "cpu", "dtype": "auto", "tokenizer": None}, cluster_gpus=0)
        runs = itertools.count()

        def wall(backend) -> float:
            start = time.perf_counter()
            run_items(records, backend, sampling, tmp_dir / f"run{next(runs)}.jsonl", batch_size=args.batch_size)
            return time.perf_counter() - start

        torch.set_num_threads(1)
        in_process = [wall(HfBackend(model, device="cpu")) for _ in range(args.repeats)]
        start = time.perf_counter()
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        cluster_s = time.perf_counter() - start
        try:
            walls: dict[int, list[float]] = {1: [], 2: []}
            starts: list[float] = []
            for replicas in (1, 2):
                start = time.perf_counter()
                pool = ReplicaPool(spec, replicas)
                starts.append(time.perf_counter() - start)
                walls[replicas] = [wall(pool) for _ in range(args.repeats)]
                pool.close()
            pool = ReplicaPool(spec, 1, inflight=1)  # one batch at a time: a round trip is one batch alone
            batches = {
                b: [r["prompt"] for r in records[first : first + args.batch_size]]
                for b, first in enumerate(range(0, len(records), args.batch_size))
            }
            round_trips, overheads = [], []
            for _ in range(args.repeats):
                sent = time.perf_counter()
                for b, _, _ in pool.generate_batches(batches, sampling):
                    now = time.perf_counter()
                    round_trips.append(now - sent)
                    overheads.append(now - sent - pool.generation_seconds[b])
                    sent = now
            pool.close()
        finally:
            ray.shutdown()

    median = statistics.median
    print(
        f"\n{args.items} items x k={args.k}, max_tokens {args.max_tokens}, batch {args.batch_size}, "
        f"hf on CPU, tiny model; medians of {args.repeats}\n"
    )
    print("| run | wall s | speed-up vs in-process |\n|---|---:|---:|")
    base = median(in_process)
    for label, times in (("in process (no Ray)", in_process), ("1 replica", walls[1]), ("2 replicas", walls[2])):
        print(f"| {label} | {median(times):.2f} | {base / median(times):.2f}x |")
    generation = median(round_trips) - median(overheads)
    print(
        f"\nRay overhead per batch (dispatch + return): {median(overheads) * 1000:.1f} ms of a "
        f"{median(round_trips):.2f} s round trip = {median(overheads) / generation:.2%} of the batch's generation"
    )
    print(f"start-up, not in the wall times: local cluster {cluster_s:.1f} s, pool of 1 / 2 replicas ", end="")
    print(f"{starts[0]:.1f} / {starts[1]:.1f} s (model load in each replica)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

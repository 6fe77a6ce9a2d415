"""What ``alphamed annotate`` itself costs per 10k items, generation excluded, against a vLLM batch on paper.

Annotation time should be GPU time. This runs the real annotation path -- read parquet, prompts, the shared
engine (batching, scoring every response in both extraction modes, token counting, the fsynced JSONL sidecar),
binning, the annotated parquet, the level report and PNG -- with :class:`InstantReplayBackend`, a real
:class:`~alphamed.recipe.generate.GenerationBackend` that answers instantly with pre-made, realistic
responses (~500 tokens of reasoning, then the final answer in the prompt style's format), so what is timed is
everything except the model.

The vLLM side is an assumption, stated in the output: an 8B model (Llama-3.1-8B-Instruct, AlphaMed's reference
model) in bf16 on one H100, k = 5, ~500 output tokens per response, ~10,000 output tokens/s of offline batched
throughput (a generous figure: the higher it is, the larger our share looks).

    python benchmarks/annotate_overhead.py                 # 10,000 items, k = 5
    python benchmarks/annotate_overhead.py --items 2000    # quicker; figures are scaled to 10k
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from alphamed.data_preprocess.parquet_io import read_records_parquet, write_records_parquet
from alphamed.data_preprocess.schema import McqItem, to_verl_record
from alphamed.recipe.difficulty import annotate
from alphamed.recipe.engine import run_items
from alphamed.recipe.generate import SamplingConfig, token_counts
from alphamed.recipe.tiny_model import build_tiny_tokenizer

VOCAB = (
    "patient presents with fever cough dyspnea chest pain abdominal tenderness renal hepatic cardiac murmur rash "
    "biopsy shows granuloma infiltrate necrosis fibrosis edema lesion mass nodule artery vein nerve muscle bone "
    "marrow serum sodium potassium calcium elevated decreased normal chronic acute history of smoking alcohol "
    "diabetes hypertension infection antibiotic steroid surgery imaging ultrasound the a and is was in"
).split()
REASONING = (
    "The patient's presentation, with its time course and the laboratory findings, narrows the differential. "
    "The key finding is the combination of the physical examination and the serum values, which points away "
    "from an infectious cause and towards an inflammatory or vascular one. Option {wrong} would explain part of "
    "the picture but not the imaging; it also does not fit the patient's age and history. "
)


class InstantReplayBackend:
    """A real GenerationBackend that replays pre-made responses at once: the model's time is taken out.

    Responses are ~500 tokens of clinical-sounding reasoning ending with a letter in the format the prompt
    asks for (``\\boxed{X}``, or ``<think>…</think><answer>X</answer>``), right about 60% of the time, so
    scoring does its real work. ``count_tokens`` encodes with a real byte-level BPE tokenizer, as the vllm/hf
    backends do with the model's own (about 450 tokens for one of these responses).
    """

    name = "instant-replay"
    model = "instant-replay"

    def __init__(self, count_tokens: bool = True, seed: int = 0):
        self._rng = random.Random(seed)
        self._tokenizer = build_tiny_tokenizer([REASONING]) if count_tokens else None

    def _response(self, messages: Sequence[dict[str, str]]) -> str:
        user = messages[-1]["content"]
        letters = [line[0] for line in user.splitlines() if len(line) > 2 and line[1:3] == ". " and line[0].isupper()]
        letter = self._rng.choice(letters or ["A"])
        body = "".join(REASONING.format(wrong=self._rng.choice(letters or ["B"])) for _ in range(6))
        if any(m["role"] == "system" for m in messages):  # med_rlvr: tagged answer
            return f"<think>{body}</think><answer>{letter}</answer>"
        return f"{body}Therefore the answer is \\boxed{{{letter}}}."

    def generate(self, requests, sampling: SamplingConfig) -> list[list[str]]:
        return [[self._response(messages) for _ in range(sampling.n)] for messages in requests]

    def count_tokens(self, texts: Sequence[str]) -> list[int | None]:
        """Like the vllm/hf backends (one batched tokenizer call); None each like openai without a tokenizer."""
        return token_counts(self._tokenizer, texts)


def synthetic_records(count: int, seed: int = 0) -> list[dict]:
    """MedQA-sized rows (a ~130-word vignette, 4 or 5 options), both prompt styles."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        question = f"A {20 + i % 60}-year-old " + " ".join(rng.choice(VOCAB) for _ in range(130)) + "?"
        options = [" ".join(rng.choice(VOCAB) for _ in range(3)).capitalize() + f" {j}" for j in range(4 + i % 2)]
        item = McqItem(f"bench-{i}", "medqa", "train", question, options, "ABCD"[i % 4])
        rows.append(to_verl_record(item, ("alphamed", "med_rlvr")[i % 2], i))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--batch_size", type=int, default=256, help="items per engine batch (sidecar flush)")
    parser.add_argument("--tokens_per_response", type=int, default=500, help="assumed vLLM output length")
    parser.add_argument("--vllm_tokens_per_s", type=float, default=10_000.0, help="assumed H100 8B throughput")
    args = parser.parse_args(argv)

    def timed(work: Callable[[], object]) -> float:
        start = time.perf_counter()
        work()
        return time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        write_records_parquet(synthetic_records(args.items), tmp_dir / "in.parquet")
        records = read_records_parquet(tmp_dir / "in.parquet")
        sampling = SamplingConfig(n=args.k, max_tokens=4096, temperature=1.0, top_p=1.0, seed=0)
        plain, counting = InstantReplayBackend(count_tokens=False), InstantReplayBackend(count_tokens=True)
        batches = [records[b : b + args.batch_size] for b in range(0, len(records), args.batch_size)]
        replay_s = timed(lambda: [plain.generate([r["prompt"] for r in batch], sampling) for batch in batches])
        engine_s = timed(
            lambda: run_items(records, plain, sampling, tmp_dir / "plain.jsonl", batch_size=args.batch_size)
        )
        counted_s = timed(
            lambda: run_items(records, counting, sampling, tmp_dir / "counted.jsonl", batch_size=args.batch_size)
        )

        def command(output: str, sidecar: Path | None = None) -> None:
            annotate(
                read_records_parquet(tmp_dir / "in.parquet"),
                counting,
                sampling,
                tmp_dir / output,
                sidecar=sidecar,
                batch_size=args.batch_size,
            )

        command_s = timed(lambda: command("out.parquet"))
        resume_s = timed(lambda: command("again.parquet", tmp_dir / "out.sidecar.jsonl"))

    per_10k = 10_000 / args.items
    vllm_s = 10_000 * args.k * args.tokens_per_response / args.vllm_tokens_per_s
    ours_s = (command_s - replay_s) * per_10k
    token_s = (counted_s - engine_s) * per_10k
    rows = [
        ("engine: prompts, scoring (strict/tagged + lenient per response), fsynced JSONL sidecar", engine_s - replay_s),
        (
            "engine: token counts (one batched tokenizer call per batch, as the vllm/hf backends do)",
            counted_s - engine_s,
        ),
        ("command: parquet in and out, binning, level table, PNG", command_s - counted_s),
        ("total `alphamed annotate` overhead", command_s - replay_s),
        ("re-run over a complete sidecar (nothing generated)", resume_s),
    ]
    print(f"\nannotate overhead, generation excluded: {args.items} items x k={args.k}, batch {args.batch_size}\n")
    print("| stage | s per 10k items | % of the vLLM time |\n|---|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds * per_10k:.1f} | {seconds * per_10k / vllm_s:.2%} |")
    print(
        f"\nvLLM on paper: 10k items x k={args.k} x {args.tokens_per_response} output tokens = "
        f"{10_000 * args.k * args.tokens_per_response / 1e6:.0f}M tokens at {args.vllm_tokens_per_s:,.0f} tokens/s "
        f"(8B bf16, one H100, offline batched) = {vllm_s:,.0f} s"
    )
    for label, seconds in (("overhead", ours_s), ("overhead without per-response token counts", ours_s - token_s)):
        verdict = "under" if seconds < 0.01 * vllm_s else "OVER"
        print(f"{label}: {seconds:.1f} s per 10k items = {seconds / vllm_s:.2%} of the vLLM time ({verdict} 1%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

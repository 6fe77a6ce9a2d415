"""The one generation + scoring engine behind difficulty annotation and evaluation.

Items go to a backend in fixed batches (batch ``b`` = records ``b*B … (b+1)*B - 1``; each request's seed is
derived from the run's seed and the request's content), each response is scored with the same extractor the
reward uses, and every finished batch is appended to a JSONL sidecar (flushed and fsynced) as it completes.
A restarted run reads the sidecar, skips the batches it already holds, and regenerates the rest with
the same seeds, so a run killed at any moment and restarted gives the same results as one that was never
interrupted. Batches run here one after another, or, with a :class:`~alphamed.recipe.generate.BatchDispatcher`
backend (Ray replicas, :mod:`alphamed.recipe.replicas`), elsewhere and in any order: only this process
writes the sidecar, and results are returned in input order, so neither changes the output. The sidecar's
settings live in a sibling ``<sidecar>.meta.json``; resuming under different settings is refused rather than
mixed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, BinaryIO

from tqdm import tqdm

from alphamed.data_preprocess.cli_args import sample_in_order
from alphamed.data_preprocess.parquet_io import OutputError, read_json, read_records_parquet, write_json_atomic
from alphamed.data_preprocess.prompts import EXTRACTION_MODE
from alphamed.data_preprocess.schema import McqItem, McqItemError, from_verl_record
from alphamed.recipe.generate import (
    BatchDispatcher,
    BatchOutput,
    GenerationBackend,
    GenerationError,
    Messages,
    SamplingConfig,
)
from alphamed.reward_score.extract import extract_answer

__all__ = [
    "ItemResult",
    "SamplingConfig",
    "SidecarMismatchError",
    "generate_and_count",
    "load_records",
    "read_sidecar",
    "run_items",
    "score_record",
    "sidecar_bytes_needed",
    "sidecar_meta_path",
]

#: A lone UTF-16 surrogate (a server's broken escape) cannot be written as UTF-8; it is stored as U+FFFD.
_SURROGATE = re.compile("[\ud800-\udfff]")
SIDECAR_FORMAT = 2  # raised whenever the same settings would generate other text (2: seeds from request content)
#: Sidecar bytes per generated token: English model text averages about 4 characters (1 byte each) per token.
BYTES_PER_TOKEN = 4
#: Sidecar bytes per item beside prompt and responses: keys, id, gold, the per-response pred/correct/token lists.
ITEM_OVERHEAD_BYTES = 300


class SidecarMismatchError(ValueError):
    """The sidecar was written by a run with other settings; resuming would mix two experiments."""


@dataclass
class ItemResult:
    """One item's prompt, its ``n`` responses and how each scored (one JSON line in the sidecar).

    ``pred``/``correct`` read each response with the prompt style's own extraction mode, the training reward's
    rule (``strict`` for ``alphamed``, ``tagged`` for ``med_rlvr``); ``pred_lenient`` reads any answer format.
    """

    id: str
    data_source: str
    gold: str
    prompt_style: str
    prompt: list[dict[str, str]]
    responses: list[str]
    pred: list[str | None]
    pred_lenient: list[str | None]
    correct: list[bool]
    response_tokens: list[int | None]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ItemResult:
        missing = [f.name for f in fields(cls) if f.name not in d]
        if missing:
            raise ValueError(f"not an ItemResult: missing field(s) {', '.join(missing)}")
        return cls(**{f.name: d[f.name] for f in fields(cls)})

    @property
    def correct_lenient(self) -> list[bool]:
        """Per response: is the lenient reading the gold letter (evaluation's primary accuracy)?"""
        return [letter == self.gold for letter in self.pred_lenient]

    @property
    def accuracy(self) -> float:
        """Share of the responses that are correct (pass rate for annotation, mean accuracy for eval)."""
        return sum(self.correct) / len(self.correct) if self.correct else 0.0


@dataclass(frozen=True)
class _Job:
    """A record made ready to generate: its item, its chat prompt and its prompt style (which fixes scoring)."""

    item: McqItem
    prompt: list[dict[str, str]]
    prompt_style: str


def load_records(
    paths: str | Path | Iterable[str | Path], max_samples: int | None = None, seed: int = 0
) -> list[dict[str, Any]]:
    """veRL rows of one or more parquet files, in file order; ``max_samples`` keeps a seeded sample of each file
    (``--max_samples``: the same draw as ``alphamed prepare``'s, see :func:`sample_in_order`).

    Every row is checked as it is read, so a bad row is reported by file, row and field before any model loads.
    """
    if max_samples is not None and max_samples < 1:
        raise ValueError(f"max_samples must be >= 1, got {max_samples}")
    records: list[dict[str, Any]] = []
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        rows = read_records_parquet(path)
        for row, record in enumerate(rows):
            try:
                _job(record, row)
            except ValueError as err:
                raise ValueError(f"{path}: {err}") from err
        records.extend(sample_in_order(rows, max_samples, seed))
    return records


def _job(record: Mapping[str, Any], row: int) -> _Job:
    """One record checked and made ready; errors name the row, the item id and the field."""
    try:
        item = from_verl_record(record)
    except McqItemError as err:
        raise ValueError(f"record {row}: field {err.field}: {err.reason}") from err
    prompt = record.get("prompt")
    prompt = prompt.tolist() if hasattr(prompt, "tolist") else prompt  # numpy arrays from pandas readers
    if not isinstance(prompt, Sequence) or isinstance(prompt, str) or not prompt:
        raise ValueError(f"record {row} (id {item.id}): field prompt: expected a non-empty list of chat messages")
    try:
        messages = [{"role": str(m["role"]), "content": str(m["content"])} for m in prompt]
    except (KeyError, TypeError) as err:
        raise ValueError(f"record {row} (id {item.id}): field prompt: messages need role and content") from err
    style = str((record.get("extra_info") or {}).get("prompt_style", ""))
    if style not in EXTRACTION_MODE:
        raise ValueError(
            f"record {row} (id {item.id}): field extra_info.prompt_style: {style!r} is not one of "
            f"{sorted(EXTRACTION_MODE)}"
        )
    return _Job(item, messages, style)


def _prepare(records: Sequence[Mapping[str, Any]]) -> list[_Job]:
    """Validate every record up front (bad rows fail before any GPU time is spent) and reject duplicate ids."""
    jobs = [_job(record, row) for row, record in enumerate(records)]
    counts = Counter(job.item.id for job in jobs)
    duplicates = {key: n for key, n in counts.items() if n > 1}
    if duplicates:
        shown = ", ".join(f"{key!r} x{n}" for key, n in list(duplicates.items())[:5])
        raise ValueError(f"{len(duplicates)} duplicate item id(s) in the input (ids must be unique): {shown}")
    return jobs


def sidecar_bytes_needed(
    records: Sequence[Mapping[str, Any]], sampling: SamplingConfig, sidecar: str | Path | None = None
) -> int:
    """About how many bytes the sidecar of ``records`` will take, less what ``sidecar`` already holds (a resume).

    Checked against the free space before the model loads, so a disk that cannot hold the run fails in seconds,
    not after hours of generation. Each item's line holds its prompt once, ``n`` responses of at most
    ``max_tokens`` tokens (:data:`BYTES_PER_TOKEN` each: English text; a model that stops early writes less) and
    :data:`ITEM_OVERHEAD_BYTES` of JSON around them: a bound on the tokens, an average on their bytes. An estimate,
    not a reservation: a write that still fails is an :class:`OutputError` naming the sidecar, finished batches
    kept.
    """
    prompts = sum(
        len(message["content"].encode("utf-8", "replace"))
        for row, record in enumerate(records)
        for message in _job(record, row).prompt
    )
    responses = len(records) * sampling.n * sampling.max_tokens * BYTES_PER_TOKEN
    held = 0
    if sidecar is not None and Path(sidecar).expanduser().is_file():
        held = Path(sidecar).expanduser().stat().st_size
    return max(0, prompts + responses + len(records) * ITEM_OVERHEAD_BYTES - held)


def sidecar_meta_path(sidecar: Path) -> Path:
    """Where the settings of ``sidecar`` are recorded."""
    return sidecar.with_name(sidecar.name + ".meta.json")


def _check_or_write_meta(sidecar: Path, meta: dict[str, Any]) -> None:
    meta_path = sidecar_meta_path(sidecar)
    if meta_path.is_file():
        old = read_json(meta_path, "the settings of its sidecar")
        diffs = [
            f"{key}: {old.get(key)!r} (sidecar) vs {new!r} (now)" for key, new in meta.items() if old.get(key) != new
        ]
        if diffs:
            raise SidecarMismatchError(
                f"{sidecar} was made with other settings; refusing to mix runs. Use the same settings to resume, "
                f"or another output / delete the sidecar to start over. Differences: {'; '.join(diffs)}"
            )
        return
    if sidecar.is_file() and sidecar.stat().st_size > 0:
        raise SidecarMismatchError(f"{sidecar} exists but {meta_path} does not: cannot tell how it was made")
    write_json_atomic(meta, meta_path)


def _open_for_append(sidecar: Path) -> BinaryIO:
    """The sidecar opened to append whole batches (the caller closes it). Unbuffered, so a write the disk refuses
    fails in :func:`_append`, and nothing is left in a buffer for ``close`` to retry."""
    try:
        return open(sidecar, "ab", buffering=0)
    except OSError as err:
        raise OutputError.caused_by(sidecar, err) from err


def _append(handle: BinaryIO, sidecar: Path, results: Sequence[ItemResult]) -> None:
    """Append one batch's lines and fsync them; a refused write (full, read-only, too large) becomes an
    :class:`OutputError` naming the sidecar, and the part of the batch that got in is cut off again, so the
    sidecar keeps exactly the finished batches and a rerun resumes after them."""
    data = memoryview("".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in results).encode("utf-8"))
    start = os.fstat(handle.fileno()).st_size
    try:
        while data:
            data = data[handle.write(data) :]
        os.fsync(handle.fileno())
    except OSError as err:
        with contextlib.suppress(OSError):
            handle.truncate(start)
        raise OutputError.caused_by(sidecar, err) from err


def _truncate_torn_tail(sidecar: Path, chunk: int = 1 << 16) -> None:
    """Cut a last line that a kill left half-written, so appended lines start on a fresh line.

    Reads backwards from the end only as far as the last newline: sidecars of big runs are gigabytes. A sidecar
    that cannot be opened for writing is an :class:`OutputError` naming it.
    """
    try:
        with open(sidecar, "rb+") as handle:
            end = handle.seek(0, os.SEEK_END)
            keep = end
            while keep > 0:
                start = max(0, keep - chunk)
                handle.seek(start)
                block = handle.read(keep - start)
                newline = block.rfind(b"\n")
                if newline >= 0:
                    keep = start + newline + 1
                    break
                keep = start
            if keep < end:
                handle.truncate(keep)
                tqdm.write(f"{sidecar}: dropped a torn last line ({end - keep} bytes) left by an interrupted run")
    except OSError as err:
        raise OutputError.caused_by(sidecar, err) from err


def read_sidecar(sidecar: str | Path) -> dict[str, ItemResult]:
    """Results in ``sidecar`` by item id (a later line wins; a torn last line is ignored, any other bad line is
    an error naming its line number)."""
    sidecar = Path(sidecar)
    results: dict[str, ItemResult] = {}
    if not sidecar.is_file():
        return results
    with open(sidecar, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                result = ItemResult.from_json(json.loads(line))
            except (json.JSONDecodeError, UnicodeDecodeError, ValueError, TypeError) as err:
                if not line.endswith(b"\n"):  # the torn tail of a killed run
                    continue
                raise ValueError(f"{sidecar}: line {number}: not an ItemResult ({err})") from err
            results[result.id] = result
    return results


def _score(job: _Job, responses: Sequence[str], response_tokens: Sequence[int | None]) -> ItemResult:
    item = job.item
    mode = EXTRACTION_MODE[job.prompt_style]
    pred = [extract_answer(text, item.options, mode) for text in responses]
    return ItemResult(
        id=item.id,
        data_source=item.source,
        gold=item.answer,
        prompt_style=job.prompt_style,
        prompt=job.prompt,
        responses=list(responses),
        pred=pred,
        pred_lenient=[extract_answer(text, item.options, "lenient") for text in responses],
        correct=[letter == item.answer for letter in pred],
        response_tokens=list(response_tokens),
    )


def score_record(
    record: Mapping[str, Any], responses: Sequence[str], response_tokens: Sequence[int | None] | None = None
) -> ItemResult:
    """Score responses that were generated elsewhere (veRL's validation dumps) exactly as :func:`run_items`
    scores its own: the prompt style's extraction mode for ``pred``/``correct``, lenient beside it."""
    tokens = [None] * len(responses) if response_tokens is None else list(response_tokens)
    if len(tokens) != len(responses):
        raise ValueError(f"{len(responses)} responses but {len(tokens)} token counts")
    return _score(_job(record, 0), responses, tokens)


def _check_reuse(job: _Job, done: ItemResult, sidecar: Path) -> None:
    """A sidecar result is reused only for the very same question (ids can be reused by edited inputs)."""
    if done.prompt != job.prompt or done.gold != job.item.answer:
        raise SidecarMismatchError(
            f"{sidecar}: item {job.item.id!r} was generated for a different prompt or answer than the input now "
            "has; the input changed since the sidecar was written. Start a fresh sidecar."
        )


def generate_and_count(
    backend: GenerationBackend, requests: Sequence[Messages], sampling: SamplingConfig
) -> tuple[list[list[str]], list[int | None]]:
    """One batch's completions, lone surrogates replaced by U+FFFD, and their token counts: the one definition
    of a generated batch, whether it is generated in this process or in a replica (:mod:`alphamed.recipe.replicas`)."""
    outputs = [[_SURROGATE.sub("\ufffd", text) for text in texts] for texts in backend.generate(requests, sampling)]
    return outputs, backend.count_tokens([text for texts in outputs for text in texts])


def _generate_here(
    backend: GenerationBackend, batches: Mapping[int, Sequence[_Job]], sampling: SamplingConfig
) -> Iterator[BatchOutput]:
    """The batches one after another in this process (a :class:`BatchDispatcher` spreads them instead)."""
    for b, jobs in batches.items():
        try:
            outputs, counts = generate_and_count(backend, [job.prompt for job in jobs], sampling)
        except GenerationError as err:
            if err.request is None or not 0 <= err.request < len(jobs):
                raise
            raise err.naming(f"item {jobs[err.request].item.id!r}") from err
        yield b, outputs, counts


def _check_shape(outputs: Sequence[Sequence[str]], requests: int, backend: GenerationBackend, n: int, b: int) -> None:
    if len(outputs) != requests or any(len(texts) != n for texts in outputs):
        shape = [len(texts) for texts in outputs]
        raise GenerationError(
            f"backend {backend.name} returned {shape} completions for batch {b} ({requests} requests x n={n} expected)"
        )


def run_items(
    records: Sequence[Mapping[str, Any]],
    backend: GenerationBackend,
    sampling: SamplingConfig,
    sidecar: Path,
    *,
    batch_size: int = 32,
    desc: str = "generating",
) -> list[ItemResult]:
    """Generate ``sampling.n`` responses per record, score them, and return one result per record in input order.

    Resumable through ``sidecar`` (see the module docstring). The batch layout and seeds depend only on the
    input order, ``batch_size`` and ``sampling.seed``, so these are part of the recorded settings.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    jobs = _prepare(records)
    sidecar = Path(sidecar).expanduser()
    meta = {
        "format": SIDECAR_FORMAT,
        "backend": backend.name,
        "model": backend.model,
        "sampling": asdict(sampling),
        "batch_size": batch_size,
    }
    _check_or_write_meta(sidecar, meta)  # also makes the sidecar's folder
    if sidecar.is_file():
        _truncate_torn_tail(sidecar)
    done = read_sidecar(sidecar)
    batches = [jobs[start : start + batch_size] for start in range(0, len(jobs), batch_size)]
    todo = [b for b, batch in enumerate(batches) if not all(job.item.id in done for job in batch)]
    skipped = len(jobs) - sum(len(batches[b]) for b in todo)
    for b in sorted(set(range(len(batches))) - set(todo)):
        for job in batches[b]:
            _check_reuse(job, done[job.item.id], sidecar)
    invalid = 0  # responses holding U+FFFD: text the backend could not give as valid Unicode
    with (
        _open_for_append(sidecar) as out,
        tqdm(total=len(jobs), initial=skipped, desc=desc, unit="item", dynamic_ncols=True) as bar,
    ):
        if skipped:
            bar.write(f"{sidecar}: resuming; {skipped} of {len(jobs)} items already done")
        generated = (
            backend.generate_batches({b: [job.prompt for job in batches[b]] for b in todo}, sampling)
            if isinstance(backend, BatchDispatcher)
            else _generate_here(backend, {b: batches[b] for b in todo}, sampling)
        )
        for b, outputs, token_counts in generated:  # in completion order: the sidecar is keyed by item id
            _check_shape(outputs, len(batches[b]), backend, sampling.n, b)
            invalid += sum("\ufffd" in text for texts in outputs for text in texts)
            counts = iter(token_counts)
            results = [
                _score(job, texts, [next(counts) for _ in texts])
                for job, texts in zip(batches[b], outputs, strict=True)
            ]
            _append(out, sidecar, results)
            done.update((r.id, r) for r in results)
            bar.update(len(results))
    if invalid:
        tqdm.write(
            f"{sidecar}: {invalid} response(s) held text that is not valid Unicode (lone surrogates, or bytes that "
            "are not UTF-8); stored with U+FFFD in their place",
            file=sys.stderr,
        )
    return [done[job.item.id] for job in jobs]


def main(argv: list[str] | None = None) -> int:
    """Summarise a sidecar (also while its run is still going): items done and accuracy per data_source."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("sidecar", type=Path)
    args = parser.parse_args(argv)
    meta_path = sidecar_meta_path(args.sidecar)
    if meta_path.is_file():
        print(meta_path.read_text(encoding="utf-8").strip())
    by_source: dict[str, list[ItemResult]] = {}
    for result in read_sidecar(args.sidecar).values():
        by_source.setdefault(result.data_source, []).append(result)
    print(f"{'data_source':<16} {'items':>7} {'accuracy':>9} {'unreadable':>11}")
    for source, results in sorted(by_source.items()):
        preds = [p for r in results for p in r.pred]
        accuracy = sum(r.accuracy for r in results) / len(results)
        unreadable = sum(p is None for p in preds) / len(preds) if preds else 0.0
        print(f"{source:<16} {len(results):>7} {accuracy:>9.3f} {unreadable:>11.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

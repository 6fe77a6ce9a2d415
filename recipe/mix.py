"""``alphamed mix``: a seeded, difficulty-stratified, decontaminated training set from a YAML spec.

What a run trains on is an experiment's main variable, so a mix is written down (a spec in ``recipe/mixes/``,
schema in :mod:`alphamed.recipe.mix_spec`), reproducible (same inputs + seed -> byte-identical parquet) and
accounted for (a JSON manifest: counts per source x level, the spec, input SHA-256s, what decontamination and
de-duplication removed). Order of work:

1. read every source's parquet(s); check each row (data_source matches the spec, difficulty present when
   levels are used);
2. drop training items that duplicate or overlap an evaluation item (:mod:`alphamed.recipe.decontamination`);
3. drop exact duplicates (same question and options), keeping the first in spec order;
4. per source: drop excluded levels, split the count over levels (quotas, or weights by largest remainder),
   draw each level with its own seeded RNG (changing one source's count never reshuffles another); a level
   short of its quota is an error, or with ``allow_redistribution`` its deficit goes to the source's other
   levels in proportion to their weights;
5. shuffle the union with the seed and write it.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from alphamed.data_preprocess import DEFAULT_DATA_ROOT
from alphamed.data_preprocess.cli_args import make_parser
from alphamed.data_preprocess.parquet_io import (
    OutputError,
    check_output_writable,
    output_lock,
    read_records_parquet,
    write_json_atomic,
    write_records_parquet,
)
from alphamed.data_preprocess.schema import McqItem, McqItemError, from_verl_record
from alphamed.recipe.decontamination import EvalIndex, item_words
from alphamed.recipe.mix_spec import MixSpec, MixSpecError, SourceSpec, load_spec


class MixError(ValueError):
    """The data cannot satisfy the spec (shortfall, bad row, missing file); the message says where."""


@dataclass(frozen=True)
class Candidate:
    """One training row with where it came from (for error messages and the canonical order)."""

    source: str
    file: Path
    row: int
    record: dict[str, Any]
    item: McqItem
    level: int | None  # extra_info.difficulty; None when the row is not annotated


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read(path: Path, spec: MixSpec, field_name: str) -> list[dict[str, Any]]:
    """The rows of one input; a missing, unreadable or empty file is an error naming it and the spec field.

    Empty is an error, not zero items: an empty evaluation file would silently decontaminate against nothing.
    """
    try:
        rows = read_records_parquet(path)
    except (FileNotFoundError, ValueError) as err:
        raise MixSpecError(spec.path, field_name, str(err)) from err
    if not rows:
        raise MixSpecError(spec.path, field_name, f"{path}: holds no rows")
    return rows


def _item(path: Path, row: int, record: Mapping[str, Any]) -> McqItem:
    try:
        return from_verl_record(record)
    except McqItemError as err:
        raise MixError(f"{path}: row {row}: field {err.field}: {err.reason}") from err


def load_candidates(spec: MixSpec, source: SourceSpec) -> list[Candidate]:
    """Every row of ``source``'s files, checked against the spec."""
    candidates: list[Candidate] = []
    for path in source.inputs:
        for row, record in enumerate(_read(path, spec, f"sources.{source.name}.inputs")):
            item = _item(path, row, record)
            if item.source != source.name:
                raise MixError(
                    f"{path}: row {row} (id {item.id}): field data_source is {item.source!r}, but {spec.path.name} "
                    f"lists this file under sources.{source.name}"
                )
            level = (record.get("extra_info") or {}).get("difficulty")
            if level is not None and (isinstance(level, bool) or not isinstance(level, int) or level < 1):
                raise MixError(
                    f"{path}: row {row} (id {item.id}): field extra_info.difficulty: {level!r} is not a level"
                )
            if level is None and source.levels is not None:
                raise MixError(
                    f"{path}: row {row} (id {item.id}): field extra_info.difficulty is missing, but {spec.path.name} "
                    f"uses difficulty levels for sources.{source.name}; run `alphamed annotate` on it first"
                )
            candidates.append(Candidate(source.name, path, row, record, item, level))
    return candidates


def check_excluded_levels(spec: MixSpec, candidates: list[Candidate]) -> None:
    """An excluded level that no input holds is a typo (``exclude: [42]``), not a no-op: refuse it.

    Levels run from 1 to k+1 for the k the inputs were annotated with, which the spec does not know; the levels
    the mix's inputs hold together are the evidence (a level absent from one source alone is normal).
    """
    present = {c.level for c in candidates if c.level is not None}
    for source in spec.sources:
        rule = source.levels
        unknown = sorted(set(rule.exclude) - present) if rule is not None else []
        if unknown:
            held = ", ".join(map(str, sorted(present))) or "none"
            raise MixSpecError(
                spec.path,
                f"{rule.where}.exclude",
                f"level(s) {unknown} occur in none of the inputs (levels held: {held}); levels run from 1 "
                "(all k answers right) to k+1 (none right)",
            )


def build_eval_index(spec: MixSpec, allow_missing_eval: bool) -> tuple[EvalIndex | None, dict[str, Any]]:
    """Index the spec's evaluation files; report what was indexed (and skipped, when allowed)."""
    if spec.decontaminate is None:
        return None, {"enabled": False}
    config = spec.decontaminate
    index = EvalIndex(config.ngram, config.threshold)
    report: dict[str, Any] = {"enabled": True, "ngram": config.ngram, "threshold": config.threshold}
    report.update({"eval_files": {}, "eval_items": {}, "missing_eval_files": []})
    for name, paths in config.eval_files.items():
        for path in paths:
            if not path.is_file() and allow_missing_eval:
                report["missing_eval_files"].append(str(path))
                print(
                    f"alphamed mix: WARNING: evaluation file {path} ({name}) is missing; NOT decontaminated against it"
                )
                continue
            if not path.is_file():
                raise MixSpecError(
                    spec.path,
                    f"decontaminate.eval.{name}",
                    f"{path} does not exist; prepare it (alphamed prepare ...), list only the evaluation files you "
                    "have, or pass --allow_missing_eval to skip it (the manifest records the skip)",
                )
            records = _read(path, spec, f"decontaminate.eval.{name}")
            items = [_item(path, row, record) for row, record in enumerate(records)]
            index.add(name, ((item.question, item.options) for item in items))
            report["eval_files"][str(path)] = sha256_file(path)
            report["eval_items"][name] = report["eval_items"].get(name, 0) + len(items)
    return index, report


def clean(
    candidates: list[Candidate], index: EvalIndex | None, report: dict[str, Any]
) -> tuple[list[Candidate], dict[str, Any]]:
    """Drop contaminated items, then exact duplicates (first in spec order wins); count both per dataset pair."""
    removed: dict[str, dict[str, Counter[str]]] = {}
    duplicates: dict[str, Counter[str]] = {}
    seen: dict[str, str] = {}
    kept: list[Candidate] = []
    for candidate in tqdm(candidates, desc="decontaminating", unit="item", disable=index is None):
        words = item_words(candidate.item.question, candidate.item.options)
        match = index.match(words) if index is not None else None
        if match is not None:
            removed.setdefault(candidate.source, {}).setdefault(match.eval_name, Counter())[match.kind] += 1
            continue
        key = " ".join(words)  # exact duplicates: same question and options, normalised
        if key in seen:
            duplicates.setdefault(candidate.source, Counter())[seen[key]] += 1
            continue
        seen[key] = candidate.source
        kept.append(candidate)
    report["removed"] = {
        t: {e: dict(sorted(c.items())) for e, c in sorted(v.items())} for t, v in sorted(removed.items())
    }
    report["removed_total"] = sum(sum(c.values()) for v in removed.values() for c in v.values())
    dedup = {
        "removed": {source: dict(sorted(c.items())) for source, c in sorted(duplicates.items())},
        "removed_total": sum(sum(c.values()) for c in duplicates.values()),
        "note": "removed[A][B] = items of source A dropped as exact duplicates of an item kept from source B",
    }
    return kept, dedup


def apportion(total: int, weights: Mapping[int, float], caps: Mapping[int, int] | None = None) -> dict[int, int]:
    """Split ``total`` over the keys in proportion to ``weights`` (largest remainder, ties to the lower key).

    With ``caps``, a key never gets more than its cap and what it cannot take goes to the others; raises
    ``ValueError`` when the caps together hold less than ``total``.
    """
    alloc = {key: 0 for key in weights}
    remaining = total
    while remaining > 0:
        open_keys = [k for k, w in weights.items() if w > 0 and (caps is None or alloc[k] < caps.get(k, 0))]
        if not open_keys:
            raise ValueError(f"{remaining} more item(s) needed than the levels hold")
        weight_sum = sum(weights[k] for k in open_keys)
        exact = {k: remaining * weights[k] / weight_sum for k in open_keys}
        share = {k: int(exact[k]) for k in open_keys}
        by_remainder = sorted(open_keys, key=lambda k: (-(exact[k] - share[k]), k))
        for k in by_remainder[: remaining - sum(share.values())]:
            share[k] += 1
        for k in open_keys:
            give = share[k] if caps is None else min(share[k], caps.get(k, 0) - alloc[k])
            alloc[k] += give
            remaining -= give
    return alloc


def _target(source: SourceSpec, pool_size: int) -> int:
    if source.count is not None:
        return source.count
    if source.fraction is not None:
        return int(source.fraction * pool_size + 0.5)
    return pool_size


def _sample(pool: list[Candidate], k: int, seed: int, source: str, stratum: str) -> list[Candidate]:
    """``k`` items of ``pool`` (kept in input order) drawn with a RNG of their own (string seeds are stable)."""
    return random.Random(f"{seed}:{source}:{stratum}").sample(pool, k)


def draw_source(
    spec: MixSpec, source: SourceSpec, candidates: list[Candidate]
) -> tuple[list[Candidate], dict[str, Any]]:
    """Pick ``source``'s items; return them with the plan (available / requested / drawn per level)."""
    where = f"{spec.path.name}: sources.{source.name}"
    rule = source.levels
    pool = [c for c in candidates if rule is None or c.level not in rule.exclude]
    if rule is not None and isinstance(rule.weights, dict):
        pool = [c for c in pool if rule.weights.get(c.level, 0) > 0]
    available = Counter(c.level for c in pool)
    plan: dict[str, Any] = {"available": _by_level(available)}
    if rule is None or (rule.weights is None and rule.quotas is None):
        n = _target(source, len(pool))
        if n > len(pool):
            raise MixError(
                f"{where}: wants {n} items but holds {len(pool)} eligible ones (after exclusions, "
                "decontamination and de-duplication); lower the count or use a fraction"
            )
        chosen = _sample(pool, n, spec.seed, source.name, "all")
        plan.update(requested=n, drawn=_by_level(Counter(c.level for c in chosen)))
        return chosen, plan
    if rule.quotas is not None:
        weights = {level: float(q) for level, q in rule.quotas.items()}
        requested = dict(rule.quotas)
    else:
        weights = {level: 1.0 for level in available} if rule.weights == "uniform" else dict(rule.weights)
        requested = apportion(_target(source, len(pool)), weights)
    short = {
        level: (want, available.get(level, 0)) for level, want in requested.items() if want > available.get(level, 0)
    }
    drawn_counts = requested
    if short:
        detail = "; ".join(f"level {lv} wants {want} but holds {have}" for lv, (want, have) in sorted(short.items()))
        if not spec.allow_redistribution:
            raise MixError(
                f"{where}: shortfall: {detail} (after exclusions, decontamination and de-duplication). "
                "Lower the quotas, or set allow_redistribution: true to top up from the other levels"
            )
        drawn_counts = {level: min(want, available.get(level, 0)) for level, want in requested.items()}
        spare = {level: available.get(level, 0) - drawn_counts[level] for level in weights}
        try:
            extra = apportion(sum(requested.values()) - sum(drawn_counts.values()), weights, spare)
        except ValueError as err:
            raise MixError(f"{where}: shortfall even after redistribution ({detail}): {err}") from err
        drawn_counts = {level: drawn_counts[level] + extra[level] for level in drawn_counts}
        plan["redistributed"] = detail
    chosen = []
    for level, k in sorted(drawn_counts.items()):
        chosen += _sample([c for c in pool if c.level == level], k, spec.seed, source.name, str(level))
    plan.update(requested=_by_level(Counter(requested)), drawn=_by_level(Counter(drawn_counts)))
    return chosen, plan


def _by_level(counts: Mapping[int | None, int]) -> dict[str, int]:
    """JSON-friendly level counts, sorted; unannotated rows under ``"unannotated"``."""
    ordered = sorted(counts.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
    return {("unannotated" if level is None else str(level)): n for level, n in ordered if n}


def build_mix(spec: MixSpec, allow_missing_eval: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The mix's rows (shuffled with the spec's seed) and its manifest (without the output's own hash)."""
    candidates = [c for source in spec.sources for c in load_candidates(spec, source)]
    check_excluded_levels(spec, candidates)
    index, decontamination = build_eval_index(spec, allow_missing_eval)
    kept, duplicates = clean(candidates, index, decontamination)
    chosen: list[Candidate] = []
    plans: dict[str, Any] = {}
    for source in spec.sources:
        picked, plans[source.name] = draw_source(spec, source, [c for c in kept if c.source == source.name])
        chosen += picked
    order = {(str(c.file), c.row): i for i, c in enumerate(candidates)}
    chosen.sort(key=lambda c: order[(str(c.file), c.row)])
    random.Random(f"{spec.seed}:order").shuffle(chosen)
    counts = {name: plan["drawn"] for name, plan in plans.items()}
    manifest = {
        "spec_file": str(spec.path),
        "spec": spec.raw,
        "seed": spec.seed,
        "inputs": {str(path): sha256_file(path) for source in spec.sources for path in source.inputs},
        "rows_read": dict(Counter(c.source for c in candidates)),
        "counts": counts,
        "total": len(chosen),
        "per_source": plans,
        "decontamination": decontamination,
        "duplicates": duplicates,
    }
    return [c.record for c in chosen], manifest


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser(
        "alphamed mix", "Build a seeded, difficulty-stratified, decontaminated training parquet from a YAML spec."
    )
    parser.add_argument("spec", help="a spec file, or a preset name from recipe/mixes/ (e.g. uniform_levels)")
    parser.add_argument("--output", required=True, type=Path, help="mix parquet to write")
    parser.add_argument("--manifest", type=Path, default=None, help="JSON manifest (default: <output>.manifest.json)")
    parser.add_argument("--data_root", default=DEFAULT_DATA_ROOT, help="where the spec's relative paths start")
    parser.add_argument("--allow_missing_eval", action="store_true", help="skip absent eval files (recorded)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        spec = load_spec(args.spec, args.data_root)
        check_output_writable(args.output.expanduser().parent)  # before the inputs are read and indexed
        with output_lock(args.output):
            output, manifest_path, manifest = write_mix(spec, args)
    except (MixSpecError, MixError, FileNotFoundError, OutputError) as err:
        print(f"alphamed mix: error: {err}", file=sys.stderr)
        return 2
    for name, counts in manifest["counts"].items():
        print(f"{name:<14} {sum(counts.values()):>7}  by level: {counts}")
    removed = manifest["decontamination"].get("removed_total", 0)
    print(
        f"total {manifest['total']}; decontamination removed {removed}, duplicates removed "
        f"{manifest['duplicates']['removed_total']}\nwrote {output} and {manifest_path}"
    )
    return 0


def write_mix(spec: MixSpec, args: argparse.Namespace) -> tuple[Path, Path, dict[str, Any]]:
    """Build the mix and write it and its manifest; returns (output, manifest path, manifest)."""
    rows, manifest = build_mix(spec, args.allow_missing_eval)
    if not rows:
        raise MixError(f"{spec.path.name}: the mix is empty")
    output = write_records_parquet(rows, args.output)
    manifest["options"] = {"data_root": str(args.data_root), "allow_missing_eval": args.allow_missing_eval}
    manifest["output"] = {"path": str(output), "sha256": sha256_file(output), "rows": len(rows)}
    manifest_path = args.manifest or output.with_suffix(".manifest.json")
    write_json_atomic(manifest, manifest_path)
    return output, manifest_path, manifest


if __name__ == "__main__":
    sys.exit(main())

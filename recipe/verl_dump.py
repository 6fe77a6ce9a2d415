"""Reading veRL's validation generation dumps and matching each dumped row back to its benchmark question.

veRL 0.9.1 (``_validate`` -> ``_write_generations`` of the default v1 ``PPOTrainer``, and of the legacy
``RayPPOTrainer``) writes, when ``trainer.validation_data_dir`` is set, one file
``<validation_data_dir>/<global_step>.jsonl`` per validation, one JSON line per sample:
``input`` (the prompt token ids decoded with ``skip_special_tokens=True``, i.e. the chat-templated prompt with
the template's special tokens removed), ``output`` (the decoded response), ``gts`` (``reward_model.ground_truth``),
``score`` (the summed reward), ``step``, then every extra key our ``compute_score`` returned (v1 adds ``uid``).
There is no item id, no ``data_source`` and no options, and the validation loader shuffles by default
(``data.validation_shuffle``), so rows are matched to questions **by prompt text**:

- the key of a question is the content of its prompt's last user message with all whitespace removed (a
  tokenizer round trip may change spaces, never the characters), and a row matches a question when that key
  ends the row's whitespace-free ``input`` before at most the chat template's assistant header;
- when several questions have the very same text, the one whose gold letter equals the row's ``gts`` is taken
  (and the dump's ``data_source``, if the reward logged one); still more than one -> ``ambiguous``;
- a row whose text matches but whose ``gts`` is not the question's gold -> ``gold_mismatch``;
- no question text found -> ``unmatched`` (usually: the benchmark files were written with another prompt style
  than the training run's ``data.val_files``; pass those files with ``--val_files``).

Rows that are not scored are never dropped silently: they are counted by reason in the report and written, with
their line number, to ``dump_unmatched.jsonl``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alphamed.data_preprocess.parquet_io import write_jsonl_atomic

#: Keys veRL 0.9.1 writes in every dump line (``_write_generations``); ``score`` and ``step`` are read if present.
REQUIRED_FIELDS = ("input", "output", "gts")
#: How many trailing characters of a question's key are used to find candidate questions quickly.
ANCHOR_CHARS = 96


class DumpFormatError(ValueError):
    """A dump that cannot be scored: not veRL's format (the message names file, line, field) or nothing matches."""


@dataclass(frozen=True)
class DumpRow:
    """One dumped sample; ``line`` is its 1-based line number in ``file`` (for error and skip reports)."""

    file: str
    line: int
    input: str
    output: str
    gts: str | None
    score: float | None
    extra: dict[str, Any] = field(default_factory=dict)


def _step_of(path: Path) -> int | None:
    return int(path.stem) if path.stem.isdigit() else None


def dump_file(path: str | Path, step: int | None = None) -> Path:
    """The dump file to read: ``path`` itself, or in a ``validation_data_dir`` the given or the latest step."""
    path = Path(path).expanduser()
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such veRL dump file or folder (trainer.validation_data_dir)")
    steps = {_step_of(p): p for p in path.glob("*.jsonl") if _step_of(p) is not None}
    if not steps:
        raise FileNotFoundError(f"{path}: no <step>.jsonl validation dumps in this folder")
    if step is None:
        return steps[max(steps)]
    if step not in steps:
        raise FileNotFoundError(f"{path}: no dump for step {step}; steps present: {sorted(steps)}")
    return steps[step]


def read_dump(path: Path) -> list[DumpRow]:
    """Every line of one dump file; a malformed line is an error naming the file, line and field."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as err:
                raise DumpFormatError(f"{path}: line {number}: not JSON ({err})") from err
            if not isinstance(data, dict):
                raise DumpFormatError(f"{path}: line {number}: expected a JSON object, got {type(data).__name__}")
            for key in REQUIRED_FIELDS:
                if key not in data:
                    raise DumpFormatError(f"{path}: line {number}: field {key!r} is missing (not a veRL dump?)")
            for key in ("input", "output"):
                if not isinstance(data[key], str):
                    raise DumpFormatError(f"{path}: line {number}: field {key!r} must be text, not {data[key]!r:.80}")
            score = data.get("score")
            rows.append(
                DumpRow(
                    file=str(path),
                    line=number,
                    input=data["input"],
                    output=data["output"],
                    gts=None if data["gts"] is None else str(data["gts"]),
                    score=float(score) if isinstance(score, (int, float)) else None,
                    extra={k: v for k, v in data.items() if k not in ("input", "output", "gts", "score")},
                )
            )
    return rows


def _squash(text: str) -> str:
    return "".join(text.split())


def prompt_key(record: Mapping[str, Any]) -> str:
    """A question's match key: its last user message, whitespace removed."""
    users = [m for m in record.get("prompt") or [] if m.get("role") == "user"]
    if not users:
        raise ValueError(f"record {record.get('extra_info', {}).get('id', '?')}: field prompt has no user message")
    return _squash(str(users[-1]["content"]))


@dataclass
class DumpMatch:
    """Dump rows grouped by question: ``responses[i]`` are the outputs of ``records[i]`` (label, record)."""

    records: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    responses: list[list[str]] = field(default_factory=list)
    scores: list[list[float]] = field(default_factory=list)
    skipped: list[tuple[str, DumpRow]] = field(default_factory=list)

    @property
    def skip_counts(self) -> dict[str, int]:
        return dict(Counter(reason for reason, _ in self.skipped))


class _PromptIndex:
    """Finds the questions whose key ends a dump row's input (nearest the end wins: the last user message)."""

    def __init__(self, labelled: Sequence[tuple[str, Mapping[str, Any]]]):
        self.keys = [prompt_key(record) for _, record in labelled]
        self.anchor = min([ANCHOR_CHARS, *(len(k) for k in self.keys)]) if self.keys else ANCHOR_CHARS
        self.by_anchor: dict[str, list[int]] = {}
        for position, key in enumerate(self.keys):
            self.by_anchor.setdefault(key[-self.anchor :], []).append(position)

    def find(self, text: str) -> list[int]:
        squashed = _squash(text)
        for end in range(len(squashed), self.anchor - 1, -1):
            candidates = self.by_anchor.get(squashed[end - self.anchor : end])
            if not candidates:
                continue
            hits = [p for p in candidates if squashed[max(0, end - len(self.keys[p])) : end] == self.keys[p]]
            if hits:
                longest = max(len(self.keys[p]) for p in hits)
                return [p for p in hits if len(self.keys[p]) == longest]
        return []


def match_dump(rows: Sequence[DumpRow], labelled: Sequence[tuple[str, Mapping[str, Any]]]) -> DumpMatch:
    """Group ``rows`` by the question (``(label, veRL record)``) each was generated for; see the module doc."""
    index = _PromptIndex(labelled)
    by_record: dict[int, tuple[list[str], list[float]]] = {}
    match = DumpMatch()
    for row in rows:
        hits = index.find(row.input)
        if not hits:
            match.skipped.append(("unmatched", row))
            continue
        golds = [p for p in hits if labelled[p][1]["reward_model"]["ground_truth"] == row.gts]
        if not golds:
            match.skipped.append(("gold_mismatch", row))
            continue
        source = row.extra.get("data_source")
        if len(golds) > 1 and source is not None:
            golds = [p for p in golds if labelled[p][1].get("data_source") == source] or golds
        if len(golds) > 1:
            match.skipped.append(("ambiguous", row))
            continue
        texts, scores = by_record.setdefault(golds[0], ([], []))
        texts.append(row.output)
        if row.score is not None:
            scores.append(row.score)
    for position in sorted(by_record):
        match.records.append(labelled[position])
        match.responses.append(by_record[position][0])
        match.scores.append(by_record[position][1])
    return match


def write_skipped(skipped: Sequence[tuple[str, DumpRow]], path: Path) -> Path:
    """The rows that were not scored, one JSON line each, with the reason and their place in the dump."""
    rows = [{"reason": reason, "file": r.file, "line": r.line, "gts": r.gts, "input": r.input} for reason, r in skipped]
    return write_jsonl_atomic(rows, path)

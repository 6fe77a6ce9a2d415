"""The multiple-choice item every part of alphamed-verl speaks, and the one mapping to and from veRL's record.

Converters produce :class:`McqItem`; :func:`to_verl_record` is the only place a parquet row is made and
:func:`from_verl_record` the only place one is read back (difficulty annotation, mixes, evaluation), so the
letter ↔ option convention (letter = position, A = ``options[0]``) lives in exactly one file.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from alphamed.data_preprocess.prompts import PROMPT_STYLES, build_prompt

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ABILITY = "medical_mcqa"

#: ``meta`` is stored as sorted-key JSON: datasets carry different provenance fields, and one string column keeps
#: parquet files of different sources concatenable (a mix) without struct-schema conflicts.
_META_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)

#: The stable ``data_source`` keys (veRL reports validation metrics per key).
DATA_SOURCES = (
    "medqa",
    "medqa_5opt",
    "medmcqa",
    "pubmedqa",
    "headqa",
    "mmlu_pro_med",
    "gpqa_med",
    "medxpertqa",
)


#: ``meta`` key marking an item whose answer text is also another option's text: valid only with this mark (kept
#: in evaluation splits so the published denominator holds), and scored by letter only, since the text names no
#: single option.
ANSWER_TEXT_REPEATED = "answer_text_repeated"


class ItemProblem(Enum):
    """Why an item is invalid: the counted category of a converter's skip (a typed kind, never a message search)."""

    EMPTY_QUESTION = "empty question"
    ANSWER_NOT_AMONG_OPTIONS = "answer not among options"
    ANSWER_TEXT_REPEATED = "answer text repeats another option"
    INVALID_FIELD = "invalid field"


class McqItemError(ValueError):
    """An item that cannot be a valid multiple-choice question; ``field`` names the offending field.

    ``item`` is set for :attr:`ItemProblem.ANSWER_TEXT_REPEATED` only (every other field is valid then), so a
    caller whose policy keeps such items can mark it (:func:`mark_answer_text_repeated`) instead of rebuilding it.
    """

    def __init__(
        self,
        field_name: str,
        message: str,
        kind: ItemProblem = ItemProblem.INVALID_FIELD,
        item: McqItem | None = None,
    ):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.reason = message
        self.kind = kind
        self.item = item

    @property
    def category(self) -> str:
        """A short, fixed name for counting (``invalid <field>`` for the generic kind)."""
        return f"invalid {self.field}" if self.kind is ItemProblem.INVALID_FIELD else self.kind.value


def normalize_option_text(text: str, *, fold_case: bool = True) -> str:
    """Compare-key for option texts: NFKC, inner whitespace collapsed, trailing period dropped, case-folded.

    ``fold_case=False`` keeps case: genotype options such as ``Bb bb`` and ``bb Bb`` differ only in case and
    are different answers, so item validation must not fold; reading a model's answer text should.
    """
    normalized = unicodedata.normalize("NFKC", text)
    if fold_case:
        normalized = normalized.casefold()
    return " ".join(normalized.split()).rstrip(".").strip()


@dataclass(frozen=True)
class McqItem:
    """One multiple-choice question. ``answer`` is a letter; its position in ``options`` is the answer."""

    id: str
    source: str
    split: str
    question: str
    options: list[str]
    answer: str
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_item(self)

    @property
    def answer_index(self) -> int:
        return LETTERS.index(self.answer)

    @property
    def answer_text(self) -> str:
        return self.options[self.answer_index]

    @property
    def letters(self) -> str:
        return LETTERS[: len(self.options)]


def validate_item(item: McqItem) -> None:
    """Raise :class:`McqItemError` naming the field when ``item`` is not a usable question."""
    if not isinstance(item.id, str) or not item.id.strip():
        raise McqItemError("id", "must be a non-empty string")
    if not isinstance(item.source, str) or not item.source.strip():
        raise McqItemError("source", "must be a non-empty string")
    if not isinstance(item.question, str) or not item.question.strip():
        raise McqItemError("question", "is empty", ItemProblem.EMPTY_QUESTION)
    options = item.options
    if not isinstance(options, list) or len(options) < 2:
        raise McqItemError("options", f"needs at least 2 options, got {options!r}")
    if len(options) > len(LETTERS):
        raise McqItemError("options", f"has {len(options)} options; at most {len(LETTERS)} can be lettered")
    for position, text in enumerate(options):
        if not isinstance(text, str) or not text.strip():
            raise McqItemError("options", f"option {LETTERS[position]} is empty")
    if not isinstance(item.answer, str) or len(item.answer) != 1 or item.answer not in LETTERS[: len(options)]:
        raise McqItemError(
            "answer",
            f"{item.answer!r} is not one of the letters {LETTERS[: len(options)]}",
            ItemProblem.ANSWER_NOT_AMONG_OPTIONS,
        )
    answer_key = normalize_option_text(options[LETTERS.index(item.answer)], fold_case=False)
    clashes = [
        LETTERS[i]
        for i, text in enumerate(options)
        if LETTERS[i] != item.answer and normalize_option_text(text, fold_case=False) == answer_key
    ]
    marked = item.meta.get(ANSWER_TEXT_REPEATED) is True
    if clashes and not marked:
        raise McqItemError(
            "options",
            f"answer {item.answer} has the same text as option(s) {', '.join(clashes)}: the answer is ambiguous",
            ItemProblem.ANSWER_TEXT_REPEATED,
            item,
        )
    if marked and not clashes:
        raise McqItemError("meta", f"{ANSWER_TEXT_REPEATED} is set but the answer's text is no other option's")


def mark_answer_text_repeated(item: McqItem) -> McqItem:
    """``item`` marked as scored by letter only (its answer text repeats another option's): valid from then on."""
    return replace(item, meta={**item.meta, ANSWER_TEXT_REPEATED: True})


def to_verl_record(item: McqItem, prompt_style: str, index: int) -> dict[str, Any]:
    """The veRL parquet row for ``item`` (schema in DESIGN.md); ``index`` is its position in the split file."""
    if prompt_style not in PROMPT_STYLES:
        raise ValueError(f"unknown prompt_style {prompt_style!r}; choose one of {sorted(PROMPT_STYLES)}")
    return {
        "data_source": item.source,
        "prompt": build_prompt(item.question, item.options, prompt_style),
        "ability": ABILITY,
        "reward_model": {"style": "rule", "ground_truth": item.answer},
        "extra_info": {
            "split": item.split,
            "index": index,
            "id": item.id,
            "question": item.question,
            "options": list(item.options),
            "answer_text": item.answer_text,
            "prompt_style": prompt_style,
            "meta": _META_ENCODER.encode(item.meta),
        },
    }


def _field(container: Mapping[str, Any], key: str, name: str) -> str:
    """``container[key]`` as a string; a missing, null or non-string value is an error naming the field.

    ``str()`` would turn a null into the text ``"None"``: an item with id "None", or an option scored as "None".
    """
    value = container.get(key)
    if not isinstance(value, str):
        found = "missing" if key not in container else "null" if value is None else type(value).__name__
        raise McqItemError(name, f"expected a string, found {found}{'' if value is None else f' {value!r:.60}'}")
    return value


def _mapping(record: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = record.get(key)
    if not isinstance(value, Mapping):
        raise McqItemError(key, f"expected a mapping, found {'null' if value is None else type(value).__name__}")
    return value


def _options_field(extra: Mapping[str, Any]) -> list[str]:
    """Options arrive from parquet as list, tuple or numpy array; give back a plain ``list[str]``."""
    value = extra.get("options")
    if isinstance(value, str) or not isinstance(value, Sequence) and not hasattr(value, "tolist"):
        found = "null" if value is None else type(value).__name__
        raise McqItemError("extra_info.options", f"expected a list of option texts, found {found}")
    texts = value.tolist() if hasattr(value, "tolist") else list(value)
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            found = "null" if text is None else f"{type(text).__name__} {text!r:.40}"
            raise McqItemError(f"extra_info.options[{position}]", f"option {LETTERS[position]} is {found}")
    return texts


def _meta_field(extra: Mapping[str, Any]) -> dict[str, Any]:
    raw = extra.get("meta")
    if raw is None or raw == "":
        return {}
    try:
        meta = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as err:
        raise McqItemError("extra_info.meta", f"not valid JSON ({err})") from err
    if not isinstance(meta, Mapping):
        raise McqItemError("extra_info.meta", f"expected a JSON object, found {type(meta).__name__}")
    return dict(meta)


def from_verl_record(record: Mapping[str, Any]) -> McqItem:
    """Rebuild the :class:`McqItem` from a veRL row (as read back from parquet by pandas or ``datasets``).

    A missing, null or mistyped field raises :class:`McqItemError` whose ``field`` is the record path
    (``extra_info.id``, ``extra_info.options[2]``, ...); callers add the file and row.
    """
    extra = _mapping(record, "extra_info")
    reward_model = _mapping(record, "reward_model")
    return McqItem(
        id=_field(extra, "id", "extra_info.id"),
        source=_field(record, "data_source", "data_source"),
        split=_field(extra, "split", "extra_info.split"),
        question=_field(extra, "question", "extra_info.question"),
        options=_options_field(extra),
        answer=_field(reward_model, "ground_truth", "reward_model.ground_truth"),
        meta=_meta_field(extra),
    )

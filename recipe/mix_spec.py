"""The YAML spec of a training mix, parsed and checked before any data is read.

A mix is an experiment's definition, so a typo must fail loudly and point at the spot: every error names the
spec file and the dotted field (``uniform_levels.yaml: sources.medqa.count: must be ...``). Presets ship in
``recipe/mixes/``; a user passes a preset name or a path. Schema (all keys but ``sources`` optional)::

    description: free text
    seed: 0                          # drives every random draw; same inputs + seed -> same bytes
    allow_redistribution: false      # a level short of its quota is topped up from the source's other levels
    sources:                         # data_source -> parquet(s); relative paths are under --data_root
      medqa: medqa/train.annotated.parquet             # shorthand: inputs only, every eligible item
      medmcqa:
        inputs: [medmcqa/train.annotated.parquet]
        count: 1200                  # or fraction: 0.25 (of the source's eligible items); neither = all
        levels: {...}                # overrides the top-level levels block for this source
    levels:                          # absent = difficulty is not used (no annotation needed)
      exclude: [1, 6]                # levels never drawn
      weights: uniform               # or {2: 1, 3: 2}: the count split in proportion; or
      quotas: {2: 300, 3: 300}       # exact items per level per source (count = their sum)
    decontaminate:                   # absent = no decontamination
      eval: default                  # the six benchmarks (EVAL_SPLITS under --data_root), or {source: paths}
      ngram: 13                      # word n-gram length (pairs of items under 4 x ngram words: also 6-grams)
      threshold: 0.5                 # n-gram overlap coefficient at or above which a training item is removed
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alphamed.data_preprocess import EVAL_SPLITS
from alphamed.data_preprocess.schema import DATA_SOURCES

PRESET_DIR = Path(__file__).resolve().parent / "mixes"

_TOP_KEYS = {"description", "seed", "allow_redistribution", "sources", "levels", "decontaminate"}
_SOURCE_KEYS = {"inputs", "count", "fraction", "levels"}
_LEVEL_KEYS = {"exclude", "weights", "quotas"}
_DECONTAMINATE_KEYS = {"eval", "ngram", "threshold"}


class _DuplicateKeyError(yaml.YAMLError):
    """One mapping of the spec gives a key twice (lines are 1-based)."""

    def __init__(self, key: Any, first_line: int, line: int):
        super().__init__(f"key {key!r} is given twice (lines {first_line} and {line})")
        self.key, self.first_line, self.line = key, first_line, line


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a key given twice in one mapping: plain PyYAML keeps the last one silently,
    so a spec that sets ``count`` twice would train on a number its author may not have meant."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    first_lines: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # ``<<: *base`` then overriding a key is intended
            continue
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            if key in first_lines:
                raise _DuplicateKeyError(key, first_lines[key], line)
            first_lines[key] = line
        except TypeError:  # an unhashable key: construct_mapping reports it
            continue
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


class MixSpecError(ValueError):
    """A spec that cannot be used; the message names the spec file and the field."""

    def __init__(self, spec_file: Path | str, field_name: str, message: str):
        where = f"{Path(spec_file).name}: {field_name}: " if field_name else f"{spec_file}: "
        super().__init__(f"{where}{message}")


@dataclass(frozen=True)
class LevelRule:
    """How a source's items are spread over difficulty levels (``weights`` and ``quotas`` are exclusive)."""

    exclude: tuple[int, ...] = ()
    where: str = "levels"  # the spec field it came from, for errors found once the data is read
    weights: dict[int, float] | str | None = None  # "uniform" = 1 for each level the source holds
    quotas: dict[int, int] | None = None


@dataclass(frozen=True)
class SourceSpec:
    """One training source: its files, how many items to draw, and its level rule (None = levels unused)."""

    name: str
    inputs: tuple[Path, ...]
    count: int | None = None
    fraction: float | None = None
    levels: LevelRule | None = None


@dataclass(frozen=True)
class DecontaminationSpec:
    """Evaluation files to keep out of training, and how close counts as the same question."""

    eval_files: dict[str, tuple[Path, ...]]
    ngram: int = 13
    threshold: float = 0.5


@dataclass(frozen=True)
class MixSpec:
    path: Path
    raw: dict[str, Any]
    seed: int
    allow_redistribution: bool
    sources: tuple[SourceSpec, ...]
    decontaminate: DecontaminationSpec | None = None
    description: str = ""
    uses_levels: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "uses_levels", any(source.levels is not None for source in self.sources))


def preset_names() -> list[str]:
    return sorted(path.stem for path in PRESET_DIR.glob("*.yaml"))


def resolve_spec_path(name_or_path: str | Path) -> Path:
    """A path to an existing file, or the name of a preset in ``recipe/mixes/`` (with or without ``.yaml``)."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    preset = PRESET_DIR / f"{Path(str(name_or_path)).stem}.yaml"
    if preset.is_file() and path.parent == Path("."):
        return preset
    raise FileNotFoundError(
        f"{name_or_path}: no such spec file and no such preset (presets: {', '.join(preset_names())})"
    )


def _check_keys(spec_file: Path, where: str, mapping: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(mapping, dict):
        raise MixSpecError(spec_file, where, f"must be a mapping, got {type(mapping).__name__}")
    unknown = sorted(str(key) for key in mapping if key not in allowed)
    if unknown:
        raise MixSpecError(spec_file, where or "top level", f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    return mapping


def _int(spec_file: Path, where: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise MixSpecError(spec_file, where, f"must be an integer >= {minimum}, got {value!r}")
    return value


def _level_map(spec_file: Path, where: str, value: Any, integer: bool) -> dict[int, Any]:
    if not isinstance(value, dict) or not value:
        raise MixSpecError(spec_file, where, f"must be a non-empty mapping level -> number, got {value!r}")
    out: dict[int, Any] = {}
    for level, amount in value.items():
        level = _int(spec_file, f"{where} (level key)", level, 1)
        if integer:
            out[level] = _int(spec_file, f"{where}.{level}", amount, 0)
        elif isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0 <= amount < math.inf:
            raise MixSpecError(spec_file, f"{where}.{level}", f"must be a finite number >= 0, got {amount!r}")
        else:
            out[level] = float(amount)
    return dict(sorted(out.items()))


def _parse_levels(spec_file: Path, where: str, block: Any) -> LevelRule:
    block = _check_keys(spec_file, where, block, _LEVEL_KEYS)
    exclude = block.get("exclude", [])
    if not isinstance(exclude, list):
        raise MixSpecError(spec_file, f"{where}.exclude", f"must be a list of levels, got {exclude!r}")
    exclude = tuple(sorted({_int(spec_file, f"{where}.exclude", level, 1) for level in exclude}))
    if "weights" in block and "quotas" in block:
        raise MixSpecError(spec_file, where, "give weights or quotas, not both")
    weights = block.get("weights")
    if weights is not None and weights != "uniform":
        weights = _level_map(spec_file, f"{where}.weights", weights, integer=False)
        if not any(weights.values()):
            raise MixSpecError(spec_file, f"{where}.weights", "all weights are 0")
    quotas = _level_map(spec_file, f"{where}.quotas", block["quotas"], integer=True) if "quotas" in block else None
    for name, chosen in (("weights", weights), ("quotas", quotas)):
        clash = sorted(set(exclude) & set(chosen)) if isinstance(chosen, dict) else []
        if clash:
            raise MixSpecError(spec_file, f"{where}.{name}", f"level(s) {clash} are also excluded")
    return LevelRule(exclude=exclude, where=where, weights=weights, quotas=quotas)


def _paths(spec_file: Path, where: str, value: Any, data_root: Path) -> tuple[Path, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise MixSpecError(spec_file, where, f"must be a parquet path or a non-empty list of them, got {value!r}")
    return tuple(data_root / Path(v).expanduser() for v in values)  # an absolute path replaces data_root


def _parse_source(spec_file: Path, name: Any, entry: Any, levels: LevelRule | None, root: Path) -> SourceSpec:
    where = f"sources.{name}"
    if name not in DATA_SOURCES:
        raise MixSpecError(spec_file, where, f"{name!r} is not a known data_source; known: {', '.join(DATA_SOURCES)}")
    if isinstance(entry, (str, list)):
        entry = {"inputs": entry}
    entry = _check_keys(spec_file, where, entry, _SOURCE_KEYS)
    if "inputs" not in entry:
        raise MixSpecError(spec_file, f"{where}.inputs", "is missing: which parquet file(s) hold this source?")
    if "levels" in entry:
        levels = _parse_levels(spec_file, f"{where}.levels", entry["levels"])
    count = _int(spec_file, f"{where}.count", entry["count"], 0) if "count" in entry else None
    fraction = entry.get("fraction")
    if fraction is not None:
        if count is not None:
            raise MixSpecError(spec_file, where, "give count or fraction, not both")
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
            raise MixSpecError(spec_file, f"{where}.fraction", f"must be a number in (0, 1], got {fraction!r}")
    if levels is not None and levels.weights is not None and count is None and fraction is None:
        raise MixSpecError(spec_file, where, "levels.weights split a count: give this source a count or a fraction")
    if levels is not None and levels.quotas is not None:
        total = sum(levels.quotas.values())
        if fraction is not None or (count is not None and count != total):
            raise MixSpecError(spec_file, where, f"quotas fix the count at {total}; drop count/fraction")
    return SourceSpec(name, _paths(spec_file, f"{where}.inputs", entry["inputs"], root), count, fraction, levels)


def _parse_decontamination(spec_file: Path, block: Any, data_root: Path) -> DecontaminationSpec:
    block = _check_keys(spec_file, "decontaminate", block, _DECONTAMINATE_KEYS)
    eval_block = block.get("eval", "default")
    if eval_block == "default":
        eval_files = {key: (data_root / folder / f"{split}.parquet",) for key, (folder, split) in EVAL_SPLITS.items()}
    elif isinstance(eval_block, dict) and eval_block:
        eval_files = {}
        for name, value in eval_block.items():
            if not isinstance(name, str) or not name:
                raise MixSpecError(spec_file, "decontaminate.eval", f"keys are evaluation set names, got {name!r}")
            eval_files[name] = _paths(spec_file, f"decontaminate.eval.{name}", value, data_root)
    else:
        raise MixSpecError(
            spec_file, "decontaminate.eval", f"must be 'default' or a mapping name -> paths, got {eval_block!r}"
        )
    ngram = _int(spec_file, "decontaminate.ngram", block.get("ngram", 13), 1)
    threshold = block.get("threshold", 0.5)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        raise MixSpecError(spec_file, "decontaminate.threshold", f"must be a number in (0, 1], got {threshold!r}")
    return DecontaminationSpec(eval_files=eval_files, ngram=ngram, threshold=float(threshold))


def _read_yaml(spec_file: Path) -> Any:
    """The spec's YAML; unreadable text, a syntax error or a key given twice is a :class:`MixSpecError`."""
    try:
        return yaml.load(spec_file.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # a SafeLoader
    except _DuplicateKeyError as err:
        raise MixSpecError(spec_file, "", f"{err}; YAML would keep only the last value, so say it once") from err
    except yaml.YAMLError as err:
        raise MixSpecError(spec_file, "", f"not valid YAML ({err})") from err
    except UnicodeDecodeError as err:
        raise MixSpecError(spec_file, "", f"not UTF-8 text (byte offset {err.start})") from err
    except OSError as err:
        raise MixSpecError(spec_file, "", f"cannot be read ({err.strerror or err})") from err


def load_spec(name_or_path: str | Path, data_root: str | Path) -> MixSpec:
    """Parse and check a spec; raise :class:`MixSpecError` naming the file and field on the first problem."""
    spec_file = resolve_spec_path(name_or_path)
    root = Path(data_root).expanduser()
    raw = _read_yaml(spec_file)
    raw = _check_keys(spec_file, "", raw, _TOP_KEYS)
    seed = _int(spec_file, "seed", raw.get("seed", 0), 0)
    redistribute = raw.get("allow_redistribution", False)
    if not isinstance(redistribute, bool):
        raise MixSpecError(spec_file, "allow_redistribution", f"must be true or false, got {redistribute!r}")
    sources_block = raw.get("sources")
    if not isinstance(sources_block, dict) or not sources_block:
        raise MixSpecError(spec_file, "sources", "must map at least one data_source to its parquet file(s)")
    levels = _parse_levels(spec_file, "levels", raw["levels"]) if raw.get("levels") is not None else None
    sources = tuple(_parse_source(spec_file, name, entry, levels, root) for name, entry in sources_block.items())
    decontaminate = raw.get("decontaminate")
    return MixSpec(
        path=spec_file,
        raw=raw,
        seed=seed,
        allow_redistribution=redistribute,
        sources=sources,
        decontaminate=_parse_decontamination(spec_file, decontaminate, root) if decontaminate is not None else None,
        description=str(raw.get("description", "")).strip(),
    )

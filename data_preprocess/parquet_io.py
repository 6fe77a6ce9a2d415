"""Reading and writing veRL record files: the one place parquet is touched.

Writes are atomic (temp file + rename, so an interrupted job never leaves a half file that veRL would read)
and deterministic (same rows -> byte-identical file: no pandas index metadata, fixed compression), which is
what lets converters, annotation and mixes promise reproducible outputs.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_records_parquet(records: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Write veRL rows to ``path`` atomically; the same rows always give the same bytes."""
    path = Path(path).expanduser()
    if not records:
        raise ValueError(f"{path}: refusing to write a parquet file with no rows")
    table = pa.Table.from_pylist([dict(r) for r in records])
    _atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd", store_schema=False))
    return path


def write_json_atomic(obj: Any, path: str | Path) -> Path:
    """Pretty JSON (sorted keys, UTF-8), written atomically: example files, manifests, reports."""
    path = Path(path).expanduser()
    text = json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"
    _atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return path


def read_records_parquet(paths: str | Path | Iterable[str | Path]) -> list[dict[str, Any]]:
    """Rows of one or more veRL parquet files as plain Python dicts and lists (no numpy arrays)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    rows: list[dict[str, Any]] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such parquet file")
        try:
            rows.extend(pq.read_table(path).to_pylist())
        except pa.ArrowException as err:
            raise ValueError(f"{path}: not a readable parquet file ({err})") from err
    return rows


def write_file_atomic(path: str | Path, write: Callable[[str], Any]) -> Path:
    """Whatever ``write(temp_path)`` writes (a plot, say), moved to ``path`` only once it is complete."""
    path = Path(path).expanduser()
    _atomic_write(path, write)
    return path


def write_text_atomic(text: str, path: str | Path) -> Path:
    """UTF-8 text written atomically: reports that a reader must never see half-written."""
    return write_file_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_jsonl_atomic(rows: Iterable[Any], path: str | Path) -> Path:
    """One compact JSON object per line (UTF-8 kept as is), written atomically."""
    return write_text_atomic("".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows), path)


def read_json(path: str | Path, what: str) -> dict[str, Any]:
    """A JSON object file that this package wrote; truncated, not JSON or not an object is one ``ValueError``
    naming the file and ``what`` it should hold (a killed writer or a hand edit, never a traceback)."""
    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not {what}: truncated or not JSON ({err})") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not {what}: expected a JSON object, got {type(data).__name__}")
    return data

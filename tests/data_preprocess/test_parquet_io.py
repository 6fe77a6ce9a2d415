"""Record files: byte-identical for the same rows, atomic, and read back as plain Python."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from alphamed.data_preprocess.parquet_io import read_records_parquet, write_json_atomic, write_records_parquet
from alphamed.data_preprocess.schema import McqItem, from_verl_record, to_verl_record


def records(n: int) -> list[dict]:
    items = [McqItem(f"q{i}", "medmcqa", "train", f"Question {i}?", ["a", "b", "c"], "ABC"[i % 3]) for i in range(n)]
    return [to_verl_record(it, "alphamed", i) for i, it in enumerate(items)]


def test_same_rows_same_bytes_and_round_trip(tmp_path: Path) -> None:
    first = write_records_parquet(records(5), tmp_path / "a" / "x.parquet")
    second = write_records_parquet(records(5), tmp_path / "b" / "x.parquet")
    assert first.read_bytes() == second.read_bytes()
    rows = read_records_parquet(first)
    assert rows == records(5)
    assert isinstance(rows[0]["extra_info"]["options"], list)
    assert [from_verl_record(r).answer for r in rows] == ["A", "B", "C", "A", "B"]
    assert [p.name for p in first.parent.iterdir()] == ["x.parquet"]  # no temp file left behind


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = write_records_parquet(records(2), tmp_path / "x.parquet")
    before = path.read_bytes()
    with pytest.raises(ValueError, match="no rows"):
        write_records_parquet([], path)
    with pytest.raises(pa.ArrowException):
        write_records_parquet([{"data_source": object()}], path)
    assert path.read_bytes() == before and len(list(tmp_path.iterdir())) == 1


def test_bad_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.parquet"):
        read_records_parquet(tmp_path / "missing.parquet")
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    with pytest.raises(ValueError, match="junk.parquet"):
        read_records_parquet(junk)
    write_json_atomic({"b": 1, "a": "é"}, tmp_path / "m.json")
    assert (tmp_path / "m.json").read_text(encoding="utf-8") == '{\n  "a": "é",\n  "b": 1\n}\n'

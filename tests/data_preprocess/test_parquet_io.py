"""Record files: byte-identical for the same rows, atomic, and read back as plain Python."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest

from alphamed.data_preprocess.parquet_io import (
    OutputError,
    OutputLockedError,
    check_output_writable,
    lock_path,
    output_lock,
    read_records_parquet,
    replace_unencodable,
    write_json_atomic,
    write_records_parquet,
)
from alphamed.data_preprocess.schema import McqItem, from_verl_record, to_verl_record
from tests.conftest import lock_held_elsewhere


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


# ---------------------------------------------------------------- the output guards (issue 13)


def _python(code: str, *, pipe: bool = False) -> subprocess.Popen | subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter: as a Popen whose stdout we read (``pipe``), or to completion."""
    code = textwrap.dedent(code)
    if pipe:
        return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_outputs_get_the_umask_permissions_not_0600(tmp_path: Path, mask: int) -> None:
    old = os.umask(mask)
    try:
        parquet = write_records_parquet(records(2), tmp_path / "x.parquet")
        manifest = write_json_atomic({"a": 1}, tmp_path / "m.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE(parquet.stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o666 & ~mask


def _killed_writer(target: Path) -> subprocess.Popen:
    """A process in the middle of an atomic write of ``target`` (its temp file exists), not yet renamed."""
    proc = _python(
        f"""
        import time
        from pathlib import Path
        from alphamed.data_preprocess.parquet_io import _atomic_write

        def slow(tmp):
            Path(tmp).write_text("half a file")
            print("writing", flush=True)
            time.sleep(120)

        _atomic_write(Path({str(target)!r}), slow)
        """,
        pipe=True,
    )
    assert proc.stdout.readline().strip() == "writing"
    return proc


def test_a_killed_writes_temp_file_is_removed_by_the_next_write_a_live_ones_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "x.parquet"
    killed, live = _killed_writer(target), _killed_writer(target)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        temps = {p.name for p in tmp_path.iterdir()}
        assert len(temps) == 2 and all(name.startswith(".x.parquet.") for name in temps)
        write_records_parquet(records(2), target)
        left = {p.name for p in tmp_path.iterdir()}
        assert left == {"x.parquet", next(name for name in temps if f".{live.pid}@" in name)}
    finally:
        live.kill()
        live.wait()


def test_a_disk_error_while_writing_is_one_error_naming_the_file(tmp_path: Path) -> None:
    target = tmp_path / "x.parquet"
    write_records_parquet(records(2), target)
    before = target.read_bytes()
    # A real failing write: the file-size limit makes the kernel refuse the write with EFBIG, as a full disk
    # refuses with ENOSPC (root ignores permissions, so a read-only folder cannot be planted with chmod).
    result = _python(
        f"""
        import resource, signal
        from alphamed.data_preprocess.parquet_io import OutputError, write_json_atomic

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
        try:
            write_json_atomic({{"text": "x" * 10_000}}, {str(target)!r})
        except OutputError as err:
            print(type(err).__name__, err)
        """
    )
    assert result.stdout.strip() == f"OutputError {target}: cannot write (File too large [EFBIG])", result.stderr
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["x.parquet"]


def test_an_output_that_cannot_be_a_file_is_one_error_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a regular file where the output folder should be")
    with pytest.raises(OutputError, match=re.escape(str(blocker / "x.parquet")) + ": cannot write"):
        write_records_parquet(records(2), blocker / "x.parquet")
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(OutputError, match=r"dir\.json: cannot write \(Is a directory \[EISDIR\]\)"):
        write_json_atomic({}, tmp_path / "dir.json")
    assert isinstance(OutputError("x", "y"), ValueError)  # what every CLI here already prints as one line


def test_check_output_writable_makes_the_folder_and_refuses_one_that_cannot_be(tmp_path: Path) -> None:
    folder = check_output_writable(tmp_path / "a" / "b")
    assert folder.is_dir() and not list(folder.iterdir())  # the probe file is gone
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match=re.escape(str(blocker / "out")) + r": cannot write an output here \(Not a"):
        check_output_writable(blocker / "out")
    with pytest.raises(OutputError, match=re.escape(str(blocker)) + r": cannot write an output here \(it is a file"):
        check_output_writable(blocker)
    free = shutil.disk_usage(tmp_path).free
    with pytest.raises(OutputError, match=re.escape(str(tmp_path)) + r": only .* MB free, .* MB needed \[ENOSPC\]"):
        check_output_writable(tmp_path, needed_bytes=free * 2)


def test_a_folder_output_named_dot_or_dotdot_is_locked_beside_it(tmp_path: Path, monkeypatch) -> None:
    run = tmp_path / "runs" / "eval"
    run.mkdir(parents=True)
    monkeypatch.chdir(run)  # `alphamed eval --output_dir .`: the folder's own name is the lock's
    assert lock_path(".") == tmp_path / "runs" / "eval.lock"
    assert lock_path("../eval/sub/..") == tmp_path / "runs" / "eval.lock"
    with output_lock(".") as lock:
        assert lock == tmp_path / "runs" / "eval.lock" and lock.is_file()


def test_the_output_lock_refuses_a_live_owner_and_takes_over_a_dead_ones(tmp_path: Path) -> None:
    output = tmp_path / "mix.parquet"
    with lock_held_elsewhere(output) as holder:
        with pytest.raises(OutputLockedError, match=f"mix.parquet: in use by another run, pid {holder.pid} "):
            with output_lock(output):
                pass
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert json.loads(lock_path(output).read_text())["pid"] == holder.pid  # SIGKILL left the lock behind
    torn = tmp_path / f".mix.parquet.lock.{holder.pid}@{socket.gethostname()}.0a1b2c3d.tmp"
    torn.write_text("")  # as a kill between writing a lock's temp file and linking it leaves one
    with output_lock(output) as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        with pytest.raises(OutputLockedError, match=f"pid {os.getpid()}"):  # not re-entrant
            with output_lock(output):
                pass
    assert not lock_path(output).exists() and not list(tmp_path.iterdir())


def test_a_lock_from_another_host_or_unreadable_is_refused_with_what_to_do(tmp_path: Path) -> None:
    output = tmp_path / "out.parquet"
    lock_path(output).write_text(json.dumps({"pid": 1, "host": "elsewhere-node-7"}))
    with pytest.raises(OutputLockedError, match="in use by pid 1 on host elsewhere-node-7 .* delete the lock"):
        with output_lock(output):
            pass
    lock_path(output).write_text("")
    with pytest.raises(OutputError, match=r"out\.parquet\.lock: unreadable lock file .* delete it"):
        with output_lock(output):
            pass


def test_json_outputs_are_strict_json(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"m\.json: refusing to write non-JSON"):
        write_json_atomic({"weight": float("nan")}, tmp_path / "m.json")
    assert not list(tmp_path.iterdir())


def test_text_utf8_cannot_store_is_named_and_replace_unencodable_counts_it(tmp_path: Path) -> None:
    reply = "It is \ud83d, then \ud800 \U0001f600 B"  # two lone surrogates, one real emoji
    with pytest.raises(ValueError, match=r"r\.json: refusing to write text UTF-8 cannot store \('\\ud83d' at"):
        write_json_atomic({"response": reply}, tmp_path / "r.json")
    with pytest.raises(ValueError, match=r"r\.parquet: refusing to write text UTF-8 cannot store"):
        write_records_parquet([{"response": reply}], tmp_path / "r.parquet")
    assert not list(tmp_path.iterdir())
    cleaned, replaced = replace_unencodable(reply)
    assert (cleaned, replaced) == ("It is \ufffd, then \ufffd \U0001f600 B", 2)
    write_json_atomic({"response": cleaned}, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8")) == {"response": cleaned}

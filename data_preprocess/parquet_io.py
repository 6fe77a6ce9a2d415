"""Reading and writing veRL record files: the one place parquet is touched, and the rules every output follows.

Writes are atomic (temp file + rename, so an interrupted job never leaves a half file that veRL would read)
and deterministic (same rows -> byte-identical file: no pandas index metadata, fixed compression), which is
what lets converters, annotation and mixes promise reproducible outputs.

Every command that writes an output uses the same three guards, so a disk problem is one line naming the file:

- :func:`check_output_writable` before expensive work: the folder can be made and written, and has room;
- :func:`output_lock` around a run: a second run on the same output is refused, naming the owner;
- the writers here turn any ``OSError`` (read-only, full, no permission) into :class:`OutputError`.

Outputs get the usual umask permissions (a teammate can read what a converter wrote), and temp files that an
interrupted write left behind are removed by the next write to the same target.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import socket
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

_TMP_SUFFIX = ".tmp"
_SURROGATE = re.compile("[\ud800-\udfff]")


class OutputError(OSError, ValueError):
    """An output that cannot be written (read-only, full, not a folder, in use); the message names the file.

    It is an ``OSError`` (what it is) and a ``ValueError`` (what every CLI here already reports as one line
    with a non-zero exit), so no command needs a new ``except`` clause to report it without a traceback.
    """

    def __init__(self, path: str | Path, message: str):
        super().__init__(f"{path}: {message}")
        self.path = Path(path)

    @classmethod
    def caused_by(cls, path: str | Path, err: OSError) -> OutputError:
        """The disk refused a write to ``path`` (read-only, full, no permission): one error naming the file."""
        return cls(path, f"cannot write ({_describe(err)})")


class OutputLockedError(OutputError):
    """Another live run holds the output's lock; ``owner`` is what its lock file says (pid, host, ...)."""

    def __init__(self, path: str | Path, message: str, owner: Mapping[str, Any]):
        super().__init__(path, message)
        self.owner = dict(owner)


def _describe(err: OSError) -> str:
    """``Read-only file system [EROFS]``: the reason and its errno name, without the path (callers add it)."""
    name = errno.errorcode.get(err.errno or 0)
    reason = err.strerror or str(err)
    return f"{reason} [{name}]" if name else reason


def _host() -> str:
    return socket.gethostname()


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a process on this host (a pid we may not signal still exists)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux), so a pid reused by a later process is not taken for the owner."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22; the command name before ")" may hold spaces


# ---------------------------------------------------------------- checks before work


def check_output_writable(folder: str | Path, needed_bytes: int = 0) -> Path:
    """Make ``folder`` (with parents) and prove a file can be created in it and ``needed_bytes`` are free.

    Call it before expensive work (generation, a long conversion) so a read-only, full or misnamed output
    folder fails in seconds, not after hours. Raises :class:`OutputError` naming the folder; returns it.
    A check cannot reserve space: a write that still fails later raises :class:`OutputError` too.
    """
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise OutputError(folder, "cannot write an output here (it is a file, not a folder)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_tmp_files(folder / "alphamed-write-probe")
        probe = _create_tmp(folder / "alphamed-write-probe")
        os.unlink(probe)
    except OSError as err:
        raise OutputError(folder, f"cannot write an output here ({_describe(err)})") from err
    free = shutil.disk_usage(folder).free
    if free < needed_bytes:
        raise OutputError(folder, f"only {free / 1e6:.1f} MB free, {needed_bytes / 1e6:.1f} MB needed [ENOSPC]")
    return folder


# ---------------------------------------------------------------- the output lock


def lock_path(output: str | Path) -> Path:
    """Where the lock of ``output`` lives: ``<output>.lock``, beside it (a folder output: ``<folder>.lock``).

    The path is made absolute first, so an output named ``.`` or ``runs/..`` still has a name to lock.
    """
    output = Path(os.path.abspath(Path(output).expanduser()))
    return output.with_name(output.name + ".lock")


@contextlib.contextmanager
def output_lock(output: str | Path) -> Iterator[Path]:
    """Hold ``<output>.lock`` for the body; refuse (:class:`OutputLockedError`) if a live run holds it.

    The lock file is JSON: ``pid``, ``host`` and the process's start time. A lock whose process is gone (same
    host, pid dead or reused) is stale and taken over with a note on stderr; a lock from another host cannot be
    checked and is refused, saying to delete it if that run is over. Created whole (written, then linked into
    place), so a kill never leaves a torn lock. Released on exit, only if it is still ours. Not re-entrant: one
    process taking the same output twice is refused like anyone else.
    """
    path = lock_path(output)
    check_output_writable(path.parent)
    remove_stale_tmp_files(path)
    owner = {"pid": os.getpid(), "host": _host(), "start": _process_start(os.getpid())}
    text = json.dumps(owner, sort_keys=True)
    for _ in range(3):  # a stale lock removed by a racing process: try again
        if _try_create(path, text):
            break
        _remove_if_stale(path, output)
    else:
        raise OutputError(path, "could not take the lock (another run keeps taking it)")
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            if path.read_text(encoding="utf-8") == text:
                path.unlink()


def _try_create(path: Path, text: str) -> bool:
    """Create ``path`` holding ``text`` atomically; False when it already exists."""
    tmp = _create_tmp(path)
    try:
        Path(tmp).write_text(text, encoding="utf-8")
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    except OSError as err:
        raise OutputError(path, f"cannot create the lock file ({_describe(err)})") from err
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _read_owner(path: Path) -> tuple[str, dict[str, Any]] | None:
    """The lock's text and owner, or None when the lock vanished meanwhile."""
    try:
        text = path.read_text(encoding="utf-8")
        owner = json.loads(text)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise OutputError(path, f"unreadable lock file ({err}); if no run uses this output, delete it") from err
    if not isinstance(owner, dict) or not isinstance(owner.get("pid"), int):
        raise OutputError(path, f"lock file without an owner pid ({owner!r:.80}); if no run uses it, delete it")
    return text, owner


def _remove_if_stale(path: Path, output: str | Path) -> None:
    """Remove a lock whose owner is gone; raise :class:`OutputLockedError` when it may still be running."""
    found = _read_owner(path)
    if found is None:
        return
    text, owner = found
    pid, host = owner["pid"], owner.get("host")
    if host != _host():
        raise OutputLockedError(
            output,
            f"in use by pid {pid} on host {host} (lock {path}); if that run is over, delete the lock",
            owner,
        )
    if _pid_alive(pid) and (owner.get("start") is None or owner.get("start") == _process_start(pid)):
        raise OutputLockedError(
            output, f"in use by another run, pid {pid} on this host (lock {path}); wait for it or stop it", owner
        )
    with contextlib.suppress(FileNotFoundError):
        # Only the stale lock we judged: a racing run may have replaced it with its own meanwhile.
        if path.read_text(encoding="utf-8") == text:
            path.unlink()
            print(f"note: took over the stale lock {path} of pid {pid}, which is gone", file=sys.stderr)


# ---------------------------------------------------------------- atomic writes


def _create_tmp(target: Path) -> str:
    """A new empty temp file beside ``target``, named after it and this process, with umask permissions.

    ``.<name>.<pid>@<host>.<random>.tmp``: the pid and host let a later write tell an orphan (owner gone) from
    a write in progress. Created with mode 0666 so the umask applies, unlike mkstemp's 0600.
    """
    name = f".{target.name}.{os.getpid()}@{_host()}.{secrets.token_hex(4)}{_TMP_SUFFIX}"
    tmp = target.with_name(name)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return str(tmp)


def remove_stale_tmp_files(target: str | Path) -> list[Path]:
    """Delete temp files of ``target`` left by writes whose process is gone (SIGKILL, power loss); return them.

    Only files of this host whose pid is dead are removed: a temp file of a live write, or of another host
    sharing the folder, is left alone.
    """
    target = Path(target)
    removed = []
    prefix, host = f".{target.name}.", _host()
    for tmp in target.parent.glob(f".{_glob_escape(target.name)}.*{_TMP_SUFFIX}"):
        owner = tmp.name[len(prefix) : -len(_TMP_SUFFIX)].rsplit(".", 1)[0]  # "<pid>@<host>"
        pid, _, tmp_host = owner.partition("@")
        if pid.isdigit() and tmp_host == host and not _pid_alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _atomic_write(path: Path, write: Callable[[str], Any]) -> None:
    """Write through a temp file beside ``path`` and rename it into place; any ``OSError`` -> :class:`OutputError`."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_tmp_files(path)
        tmp = _create_tmp(path)
        write(tmp)
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and not isinstance(err, OutputError):
            raise OutputError.caused_by(path, err) from err
        raise


def replace_unencodable(text: str) -> tuple[str, int]:
    """``text`` with each lone surrogate (which UTF-8 cannot store) replaced by U+FFFD, and how many were replaced.

    A model server can return one (a reply cut inside an emoji's surrogate pair); storing it would fail every
    rerun of the same batch. Callers that keep model text pass it through here and count the replacements.
    """
    return _SURROGATE.subn("\ufffd", text)


def _unencodable(path: Path, err: UnicodeEncodeError) -> ValueError:
    char = err.object[err.start : err.start + 1] if isinstance(err.object, str) else "?"
    return ValueError(
        f"{path}: refusing to write text UTF-8 cannot store ({char!r} at position {err.start} of a string); "
        "pass model text through parquet_io.replace_unencodable first"
    )


def write_records_parquet(records: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Write veRL rows to ``path`` atomically; the same rows always give the same bytes.

    Raises :class:`OutputError` naming ``path`` when the disk refuses (read-only, full, not a folder), and a
    ``ValueError`` naming it for rows that cannot be stored (no rows; text with a lone surrogate).
    """
    path = Path(path).expanduser()
    if not records:
        raise ValueError(f"{path}: refusing to write a parquet file with no rows")
    try:
        table = pa.Table.from_pylist([dict(r) for r in records])
    except UnicodeEncodeError as err:
        raise _unencodable(path, err) from err
    _atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd", store_schema=False))
    return path


def write_json_atomic(obj: Any, path: str | Path) -> Path:
    """Pretty strict JSON (sorted keys, UTF-8, no NaN/Infinity), written atomically: examples, manifests, reports.

    A NaN is a ``ValueError`` naming ``path``: bare ``NaN`` is not JSON and breaks every other reader. So is text
    with a lone surrogate (see :func:`replace_unencodable`).
    """
    path = Path(path).expanduser()
    try:
        text = json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, default=str, allow_nan=False) + "\n"
        data = text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise _unencodable(path, err) from err
    except ValueError as err:
        raise ValueError(f"{path}: refusing to write non-JSON ({err})") from err
    _atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))
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

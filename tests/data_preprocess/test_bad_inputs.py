"""Every converter on a broken input file or an unusable output: one line naming the file, exit code 1.

The faults are planted for real in copies of the shipped sample files: invalid UTF-8 bytes, an empty file,
an output folder below a regular file (root ignores permissions, so chmod cannot make a folder read-only), an
output another live process has locked, and a write the kernel refuses (a file-size limit: EFBIG, the same path
through the code as ENOSPC on a full disk).
"""

from __future__ import annotations

import json
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alphamed.data_preprocess.converter import RawFormatError, read_text
from alphamed.recipe.cli import main as cli
from tests.conftest import REPO_ROOT, lock_held_elsewhere

SAMPLES = REPO_ROOT / "examples" / "data"
#: converter -> (a shipped release file, the split it is read as)
RELEASE_FILES = {
    "medqa": ("medqa/4_options/phrases_no_exclude_test.jsonl", "test"),
    "medmcqa": ("medmcqa/dev.json", "validation"),
    "pubmedqa": ("pubmedqa/ori_pqal.json", "test"),
    "headqa": ("headqa/HEAD_EN/test_HEAD_EN.json", "test"),
    "mmlu_pro": ("mmlu_pro/test.jsonl", "test"),
    "gpqa": ("gpqa/gpqa_main.csv", "test"),
    "medxpertqa": ("medxpertqa/medxpertqa_text_input.jsonl", "test"),
}


def prepare(name: str, source: Path, split: str, out: Path, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """``alphamed prepare NAME`` as a user runs it; returns (exit code, stderr)."""
    code = cli(["prepare", name, "--local_dataset_path", str(source), "--split", split, "--local_save_dir", str(out)])
    return code, capsys.readouterr().err


def copy_sample(name: str, tmp_path: Path) -> tuple[Path, str]:
    relative, split = RELEASE_FILES[name]
    copy = tmp_path / "in" / Path(relative).name
    copy.parent.mkdir()
    shutil.copyfile(SAMPLES / relative, copy)
    return copy, split


def test_invalid_utf8_names_the_line_and_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": "caf\xe9"}\n')
    with pytest.raises(RawFormatError) as err:
        read_text(path)
    assert str(err.value) == f"{path} line 2: not UTF-8 text: byte 0xe9 at byte offset 19; convert the file to UTF-8"
    path.write_bytes(b"\xef\xbb\xbfQuestion,Answer\n")  # Excel's byte-order mark is not part of the text
    assert read_text(path) == "Question,Answer\n"


@pytest.mark.parametrize("name", sorted(RELEASE_FILES))
def test_a_release_file_with_invalid_utf8_is_one_line(name: str, tmp_path: Path, capsys) -> None:
    source, split = copy_sample(name, tmp_path)
    data = source.read_bytes()
    offset = next(i for i in range(len(data) // 2, len(data)) if chr(data[i]).isalpha())
    source.write_bytes(data[:offset] + b"\xe9" + data[offset + 1 :])  # a Latin-1 "é" in a UTF-8 file
    line = data.count(b"\n", 0, offset) + 1
    code, err = prepare(name, source, split, tmp_path / "out", capsys)
    assert (code, err) == (
        1,
        f"error: {source} line {line}: not UTF-8 text: byte 0xe9 at byte offset {offset}; convert the file to UTF-8\n",
    )


@pytest.mark.parametrize("content", [b"", b"\n  \n"])
@pytest.mark.parametrize("name", sorted(RELEASE_FILES))
def test_an_empty_release_file_says_it_is_empty(name: str, content: bytes, tmp_path: Path, capsys) -> None:
    source, split = copy_sample(name, tmp_path)
    source.write_bytes(content)
    assert prepare(name, source, split, tmp_path / "out", capsys) == (1, f"error: {source}: the file is empty\n")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("medmcqa", b"[]\n", "holds an empty list: no rows"),
        ("gpqa", (SAMPLES / "gpqa/gpqa_main.csv").read_bytes().split(b"\n", 1)[0] + b"\n", "has a header but no rows"),
    ],
)
def test_a_release_file_without_rows_says_so(name: str, content: bytes, message: str, tmp_path: Path, capsys) -> None:
    source, split = copy_sample(name, tmp_path)
    source.write_bytes(content)
    assert prepare(name, source, split, tmp_path / "out", capsys) == (1, f"error: {source}: {message}\n")


def test_an_unreadable_or_empty_parquet_shard_is_one_line(tmp_path: Path, capsys) -> None:
    shard = tmp_path / "test-00000-of-00001.parquet"
    shard.write_bytes(b"PAR1 but not parquet")
    code, err = prepare("mmlu_pro", shard, "test", tmp_path / "out", capsys)
    assert code == 1 and err.startswith(f"error: {shard}: not a readable parquet file (") and err.count("\n") == 1
    pq.write_table(pa.table({"question": pa.array([], pa.string())}), shard)
    assert prepare("mmlu_pro", shard, "test", tmp_path / "out", capsys) == (1, f"error: {shard}: holds no rows\n")


def test_an_output_folder_that_cannot_be_made_is_one_line_before_reading(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    missing_input = tmp_path / "never_read.jsonl"  # the output is checked first: no input error
    code, err = prepare("medqa", missing_input, "test", blocker / "out", capsys)
    assert (code, err) == (1, f"error: {blocker / 'out'}: cannot write an output here (Not a directory [ENOTDIR])\n")


def test_a_second_run_on_an_output_in_use_is_refused(tmp_path: Path, capsys) -> None:
    source, split = copy_sample("medqa", tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    with lock_held_elsewhere(out / "test.parquet") as holder:
        code, err = prepare("medqa", source, split, out, capsys)
    assert code == 1 and err.startswith(f"error: {out / 'test.parquet'}: in use by another run, pid {holder.pid} ")
    assert not (out / "test.parquet").exists()
    assert prepare("medqa", source, split, out, capsys)[0] == 0  # the killed holder's lock is stale: taken over
    assert sorted(p.name for p in out.iterdir()) == ["test.parquet", "test_example.json"]


def _small_file_limit() -> None:
    """In the child: writes past 2 kB fail with EFBIG instead of killing it (SIG_IGN survives exec)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))


def test_a_write_the_disk_refuses_is_one_line_from_the_script(tmp_path: Path) -> None:
    source, split = copy_sample("medqa", tmp_path)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "data_preprocess/medqa.py", "--local_dataset_path", str(source), "--split", split]
        + ["--local_save_dir", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        preexec_fn=_small_file_limit,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"error: {out / 'test.parquet'}: cannot write (") and "[EFBIG])" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert list(out.iterdir()) == []  # no half file, no temp file, no lock left behind


def test_a_file_whose_rows_are_all_skipped_names_the_input(tmp_path: Path, capsys) -> None:
    source, split = copy_sample("medqa", tmp_path)
    row = json.loads(source.read_text(encoding="utf-8").splitlines()[0])
    source.write_text(json.dumps({**row, "question": "  "}) + "\n", encoding="utf-8")
    code, err = prepare("medqa", source, split, tmp_path / "out", capsys)
    assert code == 1 and f"error: [medqa] test: no valid rows to write from {source} (" in err

"""ruff (veRL's settings, line length 120) is part of the suite, so CI fails on lint and on unformatted code like
on any other defect (veRL's pre-commit runs both)."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    ruff = Path(sys.executable).with_name("ruff")
    assert ruff.exists(), "ruff is not installed beside this Python: install the package with its [test] extra"
    return subprocess.run([str(ruff), *args, str(REPO_ROOT)], capture_output=True, text=True, cwd=REPO_ROOT)


def test_ruff_is_clean() -> None:
    result = _ruff("check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = _ruff("format", "--check")
    assert result.returncode == 0, result.stdout + result.stderr

"""ruff (veRL's settings, line length 120) is part of the suite, so CI fails on lint like on any other defect."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT


def test_ruff_is_clean() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    assert ruff.exists(), "ruff is not installed beside this Python: install the package with its [test] extra"
    result = subprocess.run([str(ruff), "check", str(REPO_ROOT)], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr

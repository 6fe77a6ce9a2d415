"""A non-editable install works on its own: the wheel ships what the quickstart needs, and the installed package
runs ``alphamed quickstart`` from a directory that is not a clone.

Built for real, once per module (about 2 s): a wheel from a copy of the source tree, ``pip install --no-deps
--target`` into a fresh venv whose only other packages are this environment's dependencies (a ``.pth`` line; the
editable install's finder is not loaded there), so ``alphamed`` can only come from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from alphamed.recipe.quickstart import SAMPLE_CONVERSIONS
from tests.conftest import REPO_ROOT

SOURCES = ("setup.py", "pyproject.toml", "README.md", "reward_score", "data_preprocess", "recipe", "examples")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")


def pip(*argv: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", *argv], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=IGNORED)
        else:
            shutil.copy(path, source / name)
    dist = tmp_path_factory.mktemp("dist")
    pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(dist), str(source))
    (built,) = dist.glob("alphamed_verl-*.whl")
    return built


@pytest.fixture(scope="module")
def installed_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # torch, veRL, transformers ... from this environment; a .pth line adds a folder without running its .pth files
    Path(purelib, "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    pip("install", "--no-deps", "--no-index", "-q", "--target", purelib, str(wheel))
    return python


def test_the_wheel_ships_the_sample_the_recipes_and_the_mixes(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for relative, _ in SAMPLE_CONVERSIONS.values():
        prefix = f"alphamed/examples/data/{relative}"
        assert any(name == prefix or name.startswith(prefix + "/") for name in names), f"{prefix} is not shipped"
    for script in ("run_alphamed_8b.sh", "_recipe_common.sh", "_launch_guard.sh", "run_med_rlvr_3b.sh"):
        assert f"alphamed/examples/{script}" in names
    assert "alphamed/recipe/mixes/quickstart_sample.yaml" in names
    assert "alphamed/data_preprocess/resources/pubmedqa_test_ground_truth.json" in names


@pytest.mark.slow
def test_installed_quickstart_runs_from_any_directory(installed_python: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "not_a_clone"
    elsewhere.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("MODEL_PATH", None)
    env.pop("PYTHONPATH", None)

    def alphamed(*argv: str) -> subprocess.CompletedProcess:
        command = [str(installed_python), "-m", "alphamed.recipe.cli", *argv]
        return subprocess.run(command, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)

    version = alphamed("--version")
    assert version.returncode == 0 and version.stdout.startswith("alphamed-verl 0.1.0 (verl "), version.stderr
    result = alphamed("quickstart", "--k", "1", "--eval_max_samples", "2", "--max_tokens", "4")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    shipped = installed_python.parents[1]  # everything it read came from the install, not from this clone
    assert f"alphamed check {shipped}" in result.stdout and f"OK {shipped}" in result.stdout
    assert f"bash {shipped}" in result.stdout and "/alphamed/examples/run_alphamed_8b.sh" in result.stdout
    assert str(REPO_ROOT / "examples") not in result.stdout
    assert (elsewhere / "quickstart_out" / "eval" / "results.md").is_file()

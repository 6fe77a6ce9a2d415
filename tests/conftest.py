"""Shared test fixtures: the real data beside the repo (skipped when absent) and an offline tiny model."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

# Nothing in the tests may reach a model hub, and no cache is written outside the test's own temp dirs.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session", autouse=True)
def _isolated_hf_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep Hugging Face caches (datasets' parquet cache included) inside pytest's temp dir."""
    home = tmp_path_factory.mktemp("hf_home")
    os.environ["HF_HOME"] = str(home)
    os.environ["HF_DATASETS_CACHE"] = str(home / "datasets")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real releases in their original formats); skip when this clone has none beside it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data {SHARED_DATA} is absent (a user's clone has no ../shared); repo fixtures cover this")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random Qwen2-architecture model + ChatML tokenizer saved to disk, built offline once per session."""
    from alphamed.recipe.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="module")
def local_ray():
    """A fresh one-CPU local Ray cluster (never one that RAY_ADDRESS points at) for one test module."""
    import ray

    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def run_repo_script(*argv: str) -> subprocess.CompletedProcess:
    """``python ARGV`` from the repo root, as a user runs it (``data_preprocess/medqa.py ...`` or ``-m ...``)."""
    return subprocess.run([sys.executable, *argv], cwd=REPO_ROOT, capture_output=True, text=True, check=False)


def raw_rows(path: Path) -> list[dict]:
    """The rows of a JSON Lines release file, read independently of the converters under test."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def norm(text: str) -> str:
    """Whitespace- and case-insensitive key for matching questions across independent copies of a dataset."""
    return " ".join(text.split()).casefold()


@contextlib.contextmanager
def lock_held_elsewhere(output: Path) -> Iterator[subprocess.Popen]:
    """Another live process holding ``output``'s lock through the real ``output_lock``, for the body's duration.

    The body may kill it (a SIGKILL leaves the lock file behind, as a crashed run does).
    """
    code = f"""
        import time
        from alphamed.data_preprocess.parquet_io import output_lock

        with output_lock({str(output)!r}):
            print("held", flush=True)
            time.sleep(120)
        """
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()

"""The ``alphamed`` console script: one vocabulary, suggestions, --version, no prefix matching, quiet pipes."""

from __future__ import annotations

import contextlib
import io
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from alphamed.data_preprocess import CONVERTERS, DATA_SOURCE_ALIASES, EVAL_SPLITS
from alphamed.data_preprocess.parquet_io import read_records_parquet
from alphamed.recipe import cli, mix, quickstart
from tests.conftest import REPO_ROOT

SAMPLE = REPO_ROOT / "examples" / "data"


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:  # argparse's own exits (--help, usage errors)
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_version_names_this_package_and_verl() -> None:
    from importlib.metadata import version

    code, out, _ = run_cli("--version")
    assert code == 0 and out.strip() == f"alphamed-verl {version('alphamed-verl')} (verl {version('verl')})"


@pytest.mark.parametrize(
    ("typed", "meant"), [("anotate", "annotate"), ("eval_compare", "eval-compare"), ("chek", "check")]
)
def test_an_unknown_command_suggests_the_closest(typed: str, meant: str) -> None:
    code, _, err = run_cli(typed, "--help")
    assert code == 2 and f"unknown command {typed!r} (did you mean {meant}?)" in err


def test_an_unknown_dataset_suggests_the_closest() -> None:
    code, _, err = run_cli("prepare", "medqaa")
    assert code == 2 and "unknown dataset 'medqaa' (did you mean medqa?)" in err


def test_every_data_source_name_is_a_prepare_name() -> None:
    """One vocabulary: whatever eval, mix and veRL's metrics call a dataset, prepare accepts too."""
    data_sources = set(EVAL_SPLITS) | {"medqa_5opt", "headqa"}
    assert data_sources <= set(CONVERTERS) | set(DATA_SOURCE_ALIASES)
    code, out, _ = run_cli("prepare", "--help")
    assert code == 0 and "mmlu_pro_med = mmlu_pro" in out and "gpqa_med = gpqa" in out


def test_a_data_source_alias_converts_like_its_converter(tmp_path: Path) -> None:
    source = str(SAMPLE / "mmlu_pro" / "test.jsonl")
    for name in ("mmlu_pro_med", "mmlu_pro"):
        out = tmp_path / name
        assert (
            run_cli("prepare", name, "--local_dataset_path", source, "--split", "test", "--local_save_dir", str(out))[0]
            == 0
        )
    alias_rows = read_records_parquet(tmp_path / "mmlu_pro_med" / "test.parquet")
    assert alias_rows == read_records_parquet(tmp_path / "mmlu_pro" / "test.parquet")
    assert {row["data_source"] for row in alias_rows} == {"mmlu_pro_med"}


def test_medqa_5opt_implies_five_options_and_refuses_a_contradiction(tmp_path: Path) -> None:
    source = str(SAMPLE / "medqa" / "test.jsonl")  # the release's 5-option file
    argv = ["--local_dataset_path", source, "--split", "test", "--local_save_dir", str(tmp_path / "m5")]
    assert run_cli("prepare", "medqa_5opt", *argv)[0] == 0
    assert {r["data_source"] for r in read_records_parquet(tmp_path / "m5" / "test.parquet")} == {"medqa_5opt"}
    code, _, err = run_cli("prepare", "medqa_5opt", *argv, "--num_options", "4")
    assert code == 2 and "medqa_5opt implies --num_options 5" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["prepare", "medqa", "--max_sample", "5"],
        ["mix", "uniform_levels", "--output", "x.parquet", "--data_roo", "d"],
        ["quickstart", "--eval_max", "3"],
        ["eval-compare", "a", "--output_dir", "o", "--label", "x"],
    ],
)
def test_a_flag_prefix_is_an_error_with_a_suggestion(argv: list[str]) -> None:
    code, _, err = run_cli(*argv)
    assert code == 2 and "unrecognized arguments" in err and "(did you mean --" in err


@pytest.mark.parametrize(
    ("parser", "shown"),
    [
        (lambda: quickstart.build_parser(), ["(default: 5)", "(default: quickstart_out)"]),
        (lambda: mix.build_parser(), ["(default: ~/data/alphamed)"]),
    ],
)
def test_help_shows_defaults(parser, shown: list[str]) -> None:
    text = " ".join(parser().format_help().split())
    for default in shown:
        assert default in text


def test_converter_help_shows_defaults_and_the_shared_max_samples() -> None:
    code, out, _ = run_cli("prepare", "medqa", "--help")
    text = " ".join(out.split())
    assert code == 0 and "prompt template (default: alphamed)" in text and "(default: 4)" in text
    assert "seeded random sample of N items per input file, in file order" in text


def test_a_closed_pipe_ends_quietly() -> None:
    """`alphamed ... | head`: the reader goes away; no BrokenPipeError traceback, the shell's SIGPIPE status."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "alphamed.recipe.cli", "prepare", "--help"],  # printed by alphamed itself
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the child has written anything: its first write fails
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 128 + signal.SIGPIPE
    assert err == "", err

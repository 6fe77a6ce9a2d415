"""``alphamed check`` on a recipe switched to the ``alphamed`` reward manager (the plugin's way, README "As a veRL
plugin"): it passes, and each way it would fail on the cluster is one line naming the key or the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from alphamed.recipe.check import main
from tests.conftest import REPO_ROOT

RECIPE = REPO_ROOT / "examples" / "run_alphamed_8b.sh"
#: What README tells a user to append to a recipe to score with the manager instead of the custom function.
TO_MANAGER = ("reward.custom_reward_function.path=null", "reward.reward_manager.name=alphamed")


@pytest.fixture(autouse=True)
def _no_data_and_plugins_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_ROOT", str(tmp_path / "no_data"))
    monkeypatch.delenv("VERL_USE_EXTERNAL_PLUGINS", raising=False)


def check(capsys: pytest.CaptureFixture, *overrides: str) -> tuple[int, str, str]:
    status = main([str(RECIPE), "--", *overrides])
    out, err = capsys.readouterr()
    return status, out, err


def test_a_recipe_switched_to_the_manager_passes_and_says_what_scores_what(capsys: pytest.CaptureFixture) -> None:
    status, out, err = check(capsys, *TO_MANAGER, "+reward.reward_kwargs.wrong_score=-0.1")
    assert status == 0, err
    assert (
        "  reward     manager alphamed {'wrong_score': -0.1} (ours by prompt style; other rows: veRL's default scorer)"
        in out.splitlines()
    )


def test_the_manager_by_class_needs_no_plugin(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERL_USE_EXTERNAL_PLUGINS", "none")
    by_class = (
        "reward.custom_reward_function.path=null",
        "reward.reward_manager.source=importlib",
        "reward.reward_manager.module.path=pkg://alphamed.reward_score.verl_manager",
        "reward.reward_manager.name=AlphaMedRewardManager",
    )
    status, out, err = check(capsys, *by_class)
    assert status == 0, err
    assert "manager alphamed (ours by prompt style" in out


@pytest.mark.parametrize(
    ("policy", "shown"),
    [("someone_else", "VERL_USE_EXTERNAL_PLUGINS='someone_else'"), ("", "VERL_USE_EXTERNAL_PLUGINS=''")],
)
def test_plugins_turned_off_by_the_variable_fail_naming_it(
    policy: str, shown: str, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERL_USE_EXTERNAL_PLUGINS", policy)
    status, _, err = check(capsys, *TO_MANAGER)
    assert status == 1
    assert err.count("\n") == 1, err
    assert f"reward.reward_manager.name: 'alphamed' is registered by the alphamed veRL plugin, which {shown}" in err


def test_plugins_off_end_to_end_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    """The real thing: a process whose ``import verl`` loaded no plugin, so veRL itself knows no ``alphamed``."""
    env = {**os.environ, "VERL_USE_EXTERNAL_PLUGINS": "none", "DATA_ROOT": str(tmp_path)}
    argv = [sys.executable, "-m", "alphamed.recipe.check", str(RECIPE), "--", *TO_MANAGER]
    proc = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1
    assert proc.stderr == (
        f"FAIL {RECIPE}: reward.reward_manager.name: 'alphamed' is registered by the alphamed veRL plugin, which "
        "VERL_USE_EXTERNAL_PLUGINS='none' turns off in every veRL process; unset VERL_USE_EXTERNAL_PLUGINS or list "
        "alphamed in it\n"
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # the recipe's own custom function left in place: it would score the gsm8k rows with the medical reward
        (
            ("reward.reward_manager.name=alphamed",),
            "reward.custom_reward_function.path: with the alphamed manager the custom function scores only the rows",
        ),
        # a misspelled constant, which our rewards' **kwargs would swallow
        (
            (*TO_MANAGER, "+reward.reward_kwargs.format_penalti=-0.5"),
            "reward.reward_kwargs.format_penalti: not a constant of the alphamed reward",
        ),
    ],
)
def test_manager_misconfigurations_are_named(
    overrides: tuple[str, ...], expected: str, capsys: pytest.CaptureFixture
) -> None:
    status, _, err = check(capsys, *overrides)
    assert status == 1
    assert err.count("\n") == 1 and expected in err, err

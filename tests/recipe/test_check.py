"""``alphamed check`` rejects what veRL would reject (or silently ignore) on the GPUs, naming the problem.

Each case is a mutated copy of the shipped 8B recipe, so the checker sees exactly what a researcher's edit gives.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from alphamed.recipe import check
from alphamed.recipe.check import KL_ESTIMATORS, as_path_list, converter_hint, main, require_data
from alphamed.recipe.check_launch import MAIN_CONFIG_NAME, MAIN_CONFIG_PATH, main_ppo_file, primary_config_dir
from tests.conftest import REPO_ROOT

RECIPE = REPO_ROOT / "examples" / "run_alphamed_8b.sh"
MED_RLVR = REPO_ROOT / "examples" / "run_med_rlvr_3b.sh"
#: The 8B recipe's reward line, and where a reward kwarg goes on the command line.
REWARD_NAME = "reward.custom_reward_function.name=compute_score"
REWARD_KWARG = "+reward.custom_reward_function.reward_kwargs"


@pytest.fixture(autouse=True)
def _empty_data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_ROOT", str(tmp_path / "no_data"))


def mutated(tmp_path: Path, old: str, new: str, recipe: Path = RECIPE) -> Path:
    """A copy of a recipe (the 8B one unless told) with one edit; the edit must apply, or the test checks nothing."""
    text = recipe.read_text()
    assert text.count(old) == 1, f"{old!r} is not exactly once in {recipe}"
    script = tmp_path / "mutated.sh"
    script.write_text(text.replace(old, new))
    for helper in recipe.parent.glob("_*.sh"):  # what the recipes source, beside the copy
        shutil.copy(helper, tmp_path)
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
            REWARD_NAME,
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
        # a function veRL's reward manager cannot call as fn(data_source=, solution_str=, ground_truth=, extra_info=)
        (
            REWARD_NAME,
            "reward.custom_reward_function.name=extract_answer",
            [
                "reward.custom_reward_function.name: pkg://alphamed.reward_score:extract_answer() cannot take "
                "veRL's call extract_answer(data_source=..., solution_str=..., ground_truth=..., extra_info=...)",
                "missing a required argument: 'text'",
            ],
        ),
        # a misspelled reward kwarg, which compute_score's **kwargs would swallow
        (
            REWARD_NAME,
            f"{REWARD_NAME}\n    {REWARD_KWARG}.wrong_scor=-1",
            [
                "reward.custom_reward_function.reward_kwargs.wrong_scor: compute_score() has no parameter 'wrong_scor'",
                "did you mean wrong_score?",
            ],
        ),
        # a reward kwarg that would replace what veRL passes for every sample
        (
            REWARD_NAME,
            f"{REWARD_NAME}\n    {REWARD_KWARG}.ground_truth=A",
            ["reward_kwargs.ground_truth: overrides the 'ground_truth' veRL passes to compute_score()"],
        ),
        # a KL estimator core_algos.kl_penalty does not implement (NotImplementedError at the first actor update)
        (
            "kl_loss_type=low_var_kl",
            "kl_loss_type=low_var_kll",
            ["actor_rollout_ref.actor.kl_loss_type: 'low_var_kll' is not an estimator", "did you mean low_var_kl"],
        ),
        # a reward manager veRL's registry does not have ("Unknown reward manager" in every reward worker)
        (
            REWARD_NAME,
            f"{REWARD_NAME}\n    reward.reward_manager.name=naieve",
            ["reward.reward_manager.name: 'naieve' is not a reward manager veRL registers", "did you mean naive?"],
        ),
        # a per-GPU token budget below one full-length sequence (veRL's seqlen_balancing assertion, mid-run)
        (
            "MAX_TOKENS_PER_GPU=${MAX_TOKENS_PER_GPU:-$(((MAX_PROMPT_LEN + MAX_RESPONSE_LEN) * 4))}",
            "MAX_TOKENS_PER_GPU=${MAX_TOKENS_PER_GPU:-4000}",
            [
                "actor_rollout_ref.actor.ppo_max_token_len_per_gpu: 4000 tokens per GPU cannot hold one full-length "
                "sequence (max_prompt_length 2048 + max_response_length 2048 = 4096)"
            ],
        ),
        # names veRL does not register
        ("algorithm.adv_estimator=grpo", "algorithm.adv_estimator=gpro", ["algorithm.adv_estimator: 'gpro' is not"]),
        ("rollout.name=vllm", "rollout.name=vlm", ["actor_rollout_ref.rollout.name: 'vlm' in mode 'async' is not"]),
        # a script that dies before launching, and one that never launches through ${LAUNCHER}
        (
            "set -euo pipefail",
            "set -euo pipefail\nexit 3",
            ["exited with status 3 before reaching ${LAUNCHER}"],
        ),
        (
            "${LAUNCHER} \\\n",
            "python3 -m verl.trainer.main_ppo --help >/dev/null || true; true \\\n",
            ["finished without calling ${LAUNCHER}"],
        ),
    ],
)
def test_mutation_is_rejected(
    old: str, new: str, expected: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    err = check_fails(capsys, str(mutated(tmp_path, old, new)))
    for text in expected:
        assert text in err, err


def test_misspelled_med_rlvr_reward_kwarg_is_rejected_and_the_right_one_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    kwarg = "    reward.custom_reward_function.name=compute_score_med_rlvr\n"
    typo = mutated(tmp_path, kwarg, f"{kwarg}    {REWARD_KWARG}.format_penality=-0.5\n", MED_RLVR)
    err = check_fails(capsys, str(typo))
    assert "reward_kwargs.format_penality: compute_score_med_rlvr() has no parameter 'format_penality'" in err
    assert "did you mean format_penalty?" in err
    assert main([str(MED_RLVR), "--", f"{REWARD_KWARG}.format_penalty=-0.5"]) == 0
    assert "compute_score_med_rlvr {'format_penalty': -0.5}" in capsys.readouterr().out


def test_reward_model_keywords_are_part_of_the_call(capsys: pytest.CaptureFixture) -> None:
    """With a reward model veRL also passes reward_router_address and reward_model_tokenizer; ours take **kwargs."""
    assert main([str(RECIPE), "--", "reward.reward_model.enable=True", "reward.reward_model.model_path=/m/rm"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["algorithm.use_kl_in_reward=True", "algorithm.kl_penalty=ful"], "algorithm.kl_penalty: 'ful' is not an"),
        (["algorithm.use_kl_in_reward=True", "algorithm.kl_ctrl.type=adaptiv"], "algorithm.kl_ctrl: veRL's get_kl"),
        (["actor_rollout_ref.ref.log_prob_max_token_len_per_gpu=4000"], "ref.log_prob_max_token_len_per_gpu: 4000"),
        (["actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu=4000"], "rollout.log_prob_max_token_len_per_gpu"),
    ],
)
def test_kl_and_token_budget_overrides_are_rejected(
    overrides: list[str], expected: str, capsys: pytest.CaptureFixture
) -> None:
    assert expected in check_fails(capsys, str(RECIPE), "--", *overrides)


def test_critic_budget_is_checked_and_sequence_parallel_counts(capsys: pytest.CaptureFixture) -> None:
    err = check_fails(capsys, str(MED_RLVR), "--", "critic.ppo_max_token_len_per_gpu=4000")
    assert "critic.ppo_max_token_len_per_gpu: 4000 tokens per GPU" in err
    # veRL's budget is per GPU times the Ulysses group: 2 x 3000 holds a 4096-token sequence
    actor = "actor_rollout_ref.actor"
    sp = [f"{actor}.ulysses_sequence_parallel_size=2", f"{actor}.ppo_max_token_len_per_gpu=3000"]
    assert main([str(MED_RLVR), "--", *sp]) == 0
    capsys.readouterr()


def test_every_listed_kl_estimator_is_one_verl_implements() -> None:
    """KL_ESTIMATORS only feeds "did you mean"; it must not offer a name veRL's kl_penalty would refuse."""
    import torch
    from verl.trainer.ppo.core_algos import kl_penalty

    probe = torch.zeros(2)
    for estimator in KL_ESTIMATORS:
        assert kl_penalty(probe, probe, estimator).shape == probe.shape, estimator
    with pytest.raises(NotImplementedError):
        kl_penalty(probe, probe, "full")


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
        "alphamed prepare mmlu_pro --split test --local_save_dir /d/mmlu_pro --prompt_style med_rlvr"
    )
    assert converter_hint(Path("/d/mix/train.parquet"), "alphamed").startswith("alphamed mix")


def test_annotated_file_hint_names_the_split_and_the_annotator(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    annotated = tmp_path / "medqa" / "train.annotated.parquet"
    plain = annotated.with_name("train.parquet")
    annotate = f"alphamed annotate --input {plain} --output {annotated} --model REFERENCE_MODEL"
    # the converter output is missing too: convert first (split "train", not "train.annotated"), then annotate
    hint = converter_hint(annotated, "alphamed")
    assert hint.startswith(f"alphamed prepare medqa --split train --local_save_dir {plain.parent}, then ")
    assert annotate in hint and "train.annotated " not in hint.split(", then")[0]
    assert main(["--require-data", "alphamed", str(annotated)]) == 1
    assert f"ERROR: missing data file {annotated}; make it with: alphamed prepare medqa" in (capsys.readouterr().err)
    plain.parent.mkdir()
    plain.write_bytes(b"")
    assert converter_hint(annotated, "alphamed").startswith(annotate)


def test_file_lists_parse_like_hydra_values() -> None:
    home = os.path.expanduser("~")
    assert as_path_list("['~/a.parquet', '/b c.parquet']") == [Path(home, "a.parquet"), Path("/b c.parquet")]
    assert as_path_list("/x/mix.parquet") == [Path("/x/mix.parquet")]


def _alive(pid: int) -> bool:
    """Whether a process still runs (a zombie waiting to be reaped has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_script_that_never_reaches_the_launcher_is_stopped_with_its_children(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pidfile = tmp_path / "child.pid"
    script = mutated(tmp_path, "set -euo pipefail", f"set -euo pipefail\nsleep 300 &\necho $! > {pidfile}\nsleep 300")
    err = check_fails(capsys, str(script), "--timeout", "3")
    assert "the script did not reach ${LAUNCHER} within 3 s and was stopped with every process it started" in err
    assert err.count("\n") == 1
    assert not _alive(int(pidfile.read_text()))


def test_a_background_child_left_at_the_launch_is_ended(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pidfile = tmp_path / "child.pid"
    script = mutated(tmp_path, "${LAUNCHER} \\\n", f"sleep 300 &\necho $! > {pidfile}\n${{LAUNCHER}} \\\n")
    assert main([str(script), "--timeout", "60"]) == 0
    assert capsys.readouterr().out.startswith(f"OK {script}")
    assert not _alive(int(pidfile.read_text()))


def test_output_that_is_not_utf8_is_shown_replaced(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    script = mutated(tmp_path, "set -euo pipefail", "set -euo pipefail\nprintf 'bad \\xff\\xfe bytes\\n' >&2\nexit 4")
    err = check_fails(capsys, str(script))
    assert "exited with status 4 before reaching ${LAUNCHER}; last output: bad \ufffd\ufffd bytes" in err


def test_a_script_without_launcher_is_refused_before_it_runs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A script that cannot launch through ${LAUNCHER} (the quickstart: a whole pipeline) never runs at all."""
    marker = tmp_path / "ran"
    script = tmp_path / "pipeline.sh"
    script.write_text(f"touch {marker}\npython3 -m verl.trainer.main_ppo trainer.nnodes=1\n")
    err = check_fails(capsys, str(script))
    assert "the script never refers to ${LAUNCHER} (nor does any script it sources or runs)" in err
    assert not marker.exists()
    err = check_fails(capsys, str(REPO_ROOT / "examples" / "quickstart.sh"))
    assert "never refers to ${LAUNCHER}" in err


def test_a_script_that_runs_the_recipe_is_followed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """run_alphamed_3b.sh names no LAUNCHER itself: it execs the 8B recipe, which does."""
    assert main([str(REPO_ROOT / "examples" / "run_alphamed_3b.sh")]) == 0
    capsys.readouterr()


def test_a_check_that_crashes_is_a_fail_or_an_advisory_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    def crash(cfg: object) -> list[str]:
        return [str(1 / 0)]

    monkeypatch.setattr(check, "CHECKS", [*check.CHECKS, check.Check("advice", crash, advisory=True)])
    assert main([str(RECIPE)]) == 0
    assert "WARNING    advice: could not evaluate (ZeroDivisionError: division by zero)" in capsys.readouterr().out
    monkeypatch.setattr(check, "CHECKS", [*check.CHECKS, check.Check("arithmetic", crash)])
    err = check_fails(capsys, str(RECIPE))
    assert err == f"FAIL {RECIPE}: arithmetic: could not evaluate (ZeroDivisionError: division by zero)\n"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["--multirun"], "--multirun: not a single training run"),
        (["--config-name=no_such_config"], "--config-name: Hydra cannot load 'no_such_config'"),
        (["actor_rollout_ref.rollout.top_p=0"], "actor_rollout_ref.rollout.top_p: 0 must be in (0, 1]"),
        (["actor_rollout_ref.actor.kl_loss_coef=abc"], "actor_rollout_ref.actor.kl_loss_coef: 'abc' is not a number"),
        (["actor_rollout_ref.actor.use_kl_loss=maybe"], "actor_rollout_ref.actor.use_kl_loss: 'maybe' is not true"),
        (["trainer.total_epochs=0"], "trainer.total_epochs: 0 must be a positive integer"),
        (["data.truncation=lefft"], "data.truncation: 'lefft' is not one of veRL's: error, left, right, middle"),
        (["trainer.logger=[console,wandbb]"], "trainer.logger: 'wandbb' is not a logger veRL's Tracking supports"),
        (["actor_rollout_ref.actor.policy_loss.loss_mode=vanila"], "policy_loss.loss_mode: 'vanila' is not one of"),
    ],
)
def test_values_are_checked_against_their_meaning(
    overrides: list[str], expected: str, capsys: pytest.CaptureFixture
) -> None:
    err = check_fails(capsys, str(RECIPE), "--", *overrides)
    assert expected in err and err.count("\n") == 1, err


def test_a_critic_value_counts_only_with_a_critic(capsys: pytest.CaptureFixture) -> None:
    assert main([str(RECIPE), "--", "critic.optim.lr=abc"]) == 0  # GRPO: no critic, the key is never read
    capsys.readouterr()
    assert "critic.optim.lr: 'abc' is not a number" in check_fails(capsys, str(MED_RLVR), "--", "critic.optim.lr=abc")


def test_the_config_path_rule_is_main_ppos() -> None:
    """Hydra anchors a relative --config-path at main_ppo.py's folder (its task function runs as __main__)."""
    import re

    source = Path(main_ppo_file()).read_text()
    declared = re.search(r'@hydra\.main\(config_path="([^"]+)", config_name="([^"]+)"', source)
    assert declared and declared.groups() == (MAIN_CONFIG_PATH, MAIN_CONFIG_NAME)
    trainer_dir = Path(main_ppo_file()).parent
    assert primary_config_dir(None) == str(trainer_dir / "config")
    assert primary_config_dir("my_configs") == str(trainer_dir / "my_configs")
    assert primary_config_dir("/abs/configs") == "/abs/configs"


def test_timeout_must_be_positive(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main([str(RECIPE), "--timeout", "0"])
    assert "is not a positive number of seconds" in capsys.readouterr().err


def test_the_critics_deprecated_sequence_parallel_key_is_flagged(capsys: pytest.CaptureFixture) -> None:
    """FSDPCriticConfig never copies it into the engine, unlike the actor's; the engine's own key works."""
    assert main([str(MED_RLVR), "--", "critic.ulysses_sequence_parallel_size=2"]) == 0
    assert "critic.ulysses_sequence_parallel_size 2 is ignored by veRL's critic engine" in capsys.readouterr().out
    assert main([str(MED_RLVR), "--", "critic.fsdp.ulysses_sequence_parallel_size=2"]) == 0
    out = capsys.readouterr().out
    assert "critic fsdp (SP 2) -> DP 4" in out and "is ignored" not in out

"""``alphamed check`` against veRL's own verdict, on recipes for every engine veRL 0.9.1 offers.

The corpus (``check_corpus/``) is our own small GRPO recipes: FSDP2, FSDP with Ulysses SP, Megatron (by
``model_engine`` and by ``--config-name``), VeOmni, TorchTitan, and a config folder of the recipe's own reached by
``--config-path``, ``--config-dir`` and ``hydra.searchpath``. Each case is one of them, valid or with a planted
mistake; veRL's verdict comes from its real ``main_ppo`` (``verl_verdict.py``: Hydra composition and
``validate_config``, stopped where Ray would start). The checker must pass every valid recipe veRL accepts, and
fail -- naming the key -- every case veRL rejects and every case veRL accepts that would break on the GPUs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import pytest

from alphamed.recipe.check import main
from alphamed.recipe.check_launch import record_launch

CORPUS = Path(__file__).parent / "check_corpus"
VERDICT_DRIVER = Path(__file__).parent / "verl_verdict.py"
ARR = "actor_rollout_ref.actor"


@dataclass(frozen=True)
class Case:
    """One launch: a corpus script, extra overrides, environment knobs; what veRL says and what we must say."""

    name: str
    script: str
    extra: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    verl_accepts: bool = True
    fail: str | None = None  # the text the FAIL line must hold; None: the checker says OK


VALID = [
    Case("fsdp2", "fsdp2.sh"),
    Case("fsdp-ulysses-sp8", "fsdp_ulysses.sh"),
    Case("megatron-tp-pp-cp-ep", "megatron.sh"),
    Case("megatron-config-name", "megatron_config_name.sh"),
    Case("veomni", "veomni.sh"),
    Case("torchtitan", "torchtitan.sh"),
    Case("config-path", "custom_config.sh"),
    Case("config-dir", "config_dir.sh"),
    Case("hydra-searchpath", "searchpath.sh"),
]

VERL_REJECTS = [
    Case(
        "megatron-misspelled-key",
        "megatron.sh",
        (f"{ARR}.megatron.tensor_parallel_size=2",),
        verl_accepts=False,
        fail=f"{ARR}.megatron.tensor_parallel_size: unknown key in veRL's config (did you mean tensor_model_parallel",
    ),
    Case(
        "relative-config-path",
        "custom_config.sh",
        env={"CONFIG_PATH": "configs"},
        verl_accepts=False,
        fail="--config-path: 'configs' resolves to",
    ),
    Case(
        "veomni-no-micro-batch",
        "veomni.sh",
        (f"{ARR}.use_dynamic_bsz=False",),
        verl_accepts=False,
        fail="ppo_micro_batch_size",
    ),
    Case(
        "megatron-static-batch-tp3",
        "megatron_config_name.sh",
        (
            f"{ARR}.megatron.tensor_model_parallel_size=3",
            f"{ARR}.use_dynamic_bsz=False",
            f"{ARR}.ppo_micro_batch_size_per_gpu=2",
        ),
        verl_accepts=False,
        fail=f"{ARR}.megatron.tensor_model_parallel_size: TP 3 x PP 1 x CP 1 = 3 GPUs does not divide the 8 GPUs",
    ),
    Case(
        "ulysses-with-padding",
        "fsdp_ulysses.sh",
        ("actor_rollout_ref.model.use_remove_padding=False",),
        verl_accepts=False,
        fail="use_remove_padding",
    ),
]

CHECKER_ONLY = [
    Case(
        "ulysses-budget-below-a-sequence",
        "fsdp_ulysses.sh",
        env={"SP": "4"},
        fail=f"{ARR}.ppo_max_token_len_per_gpu: 2816 tokens per GPU x 4 GPUs per sequence "
        f"({ARR}.ulysses_sequence_parallel_size) cannot hold one full-length sequence",
    ),
    Case(
        "megatron-budget-below-a-sequence",
        "megatron.sh",
        env={"TOKENS_PER_GPU": "500"},
        fail=f"{ARR}.ppo_max_token_len_per_gpu: 500 tokens per GPU x 2 GPUs per sequence "
        f"({ARR}.megatron.context_parallel_size)",
    ),
    Case(
        "megatron-tp3",
        "megatron.sh",
        (f"{ARR}.megatron.tensor_model_parallel_size=3",),
        fail=f"{ARR}.megatron.tensor_model_parallel_size: TP 3 x PP 2 x CP 2 = 12 GPUs does not divide the 16 GPUs",
    ),
    Case(
        "megatron-ep3",
        "megatron.sh",
        (f"{ARR}.megatron.expert_model_parallel_size=3",),
        fail=f"{ARR}.megatron.expert_model_parallel_size: ETP 1 x EP 3 x PP 2 = 6 GPUs does not divide the 16",
    ),
    Case(
        "megatron-mini-batch-over-dp",
        "megatron.sh",
        (f"{ARR}.ppo_mini_batch_size=5", "actor_rollout_ref.rollout.n=3"),
        fail=f"{ARR}.ppo_mini_batch_size: 5 prompts x rollout.n 3 = 15 sequences do not split over 2 data-parallel "
        "ranks (megatron (TP 2, PP 2, CP 2, EP 4) -> DP 2)",
    ),
    Case(
        "veomni-ulysses3",
        "veomni.sh",
        (f"{ARR}.veomni.ulysses_parallel_size=3",),
        fail=f"{ARR}.veomni.ulysses_parallel_size: Ulysses SP = 3 GPUs does not divide the 8 GPUs",
    ),
    Case(
        "torchtitan-sizes-short-of-the-gpus",
        "torchtitan.sh",
        (f"{ARR}.torchtitan.data_parallel_shard_size=2",),
        fail=f"{ARR}.torchtitan.data_parallel_shard_size: DP-shard 2 x DP-replicate 1 x TP 2 x PP 1 x CP 1 = 4 GPUs",
    ),
    Case(
        "fsdp-unknown-strategy",
        "fsdp2.sh",
        (f"{ARR}.strategy=fsdp3",),
        fail=f"{ARR}.strategy: 'fsdp3' cannot run the fsdp_config engine, which runs fsdp/fsdp2",
    ),
    Case("lr-not-a-number", "fsdp2.sh", (f"{ARR}.optim.lr=abc",), fail=f"{ARR}.optim.lr: 'abc' is not a number"),
    Case(
        "memory-fraction-above-one",
        "veomni.sh",
        ("actor_rollout_ref.rollout.gpu_memory_utilization=1.5",),
        fail="actor_rollout_ref.rollout.gpu_memory_utilization: 1.5 must be in (0, 1]",
    ),
    Case(
        "batch-not-a-number",
        "custom_config.sh",
        ("data.train_batch_size=abc",),
        fail="data.train_batch_size: 'abc' is not a number",
    ),
    Case(
        "no-gpus",
        "config_dir.sh",
        ("trainer.n_gpus_per_node=0",),
        fail="trainer.n_gpus_per_node: 0 must be a positive integer",
    ),
]

CASES = VALID + VERL_REJECTS + CHECKER_ONLY


def _recorded(case: Case) -> list[str]:
    """The case's launch as the checker records it: working directory, then the argv."""
    with mock.patch.dict(os.environ, case.env):
        return record_launch(CORPUS / case.script, list(case.extra), timeout=60)


@pytest.fixture(scope="module")
def verl_verdicts() -> dict[str, bool]:
    """veRL's verdict on every case, from one run of its real main_ppo per case in one process."""
    launches = [[words[0], words[1:]] for words in map(_recorded, CASES)]
    result = subprocess.run(
        [sys.executable, str(VERDICT_DRIVER)], input=json.dumps(launches), capture_output=True, text=True, check=True
    )
    return dict(zip((case.name for case in CASES), json.loads(result.stdout), strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_checker_agrees_with_verl(
    case: Case, verl_verdicts: dict[str, bool], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    assert verl_verdicts[case.name] == case.verl_accepts, "veRL's own verdict is not what the case says"
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    script = CORPUS / case.script
    code = main([str(script), "--", *case.extra])
    out, err = capsys.readouterr()
    if case.fail is None:
        assert code == 0 and out.startswith(f"OK {script}"), err
        return
    assert code == 1, out
    assert err.startswith(f"FAIL {script}: ") and err.count("\n") == 1, err
    assert case.fail in err, err


def test_corpus_covers_every_engine_veRL_offers() -> None:
    """Every ``model_engine`` option in the pinned veRL's config groups has a valid recipe here."""
    import verl.trainer.config as verl_config

    engines = {p.stem for p in (Path(verl_config.__file__).parent / "model_engine").glob("*.yaml")}
    covered = {"dp"}  # the default: fsdp2.sh, fsdp_ulysses.sh and the custom-config recipes
    for case in VALID:
        text = (CORPUS / case.script).read_text()
        covered |= {engine for engine in engines if f"model_engine={engine}" in text}
    assert engines <= covered, engines - covered

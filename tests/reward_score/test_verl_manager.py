"""The ``alphamed`` reward manager inside veRL's own reward loop: our reward for our rows, veRL's for the rest.

The manager is found by name in veRL's registry, filled by the plugin this package installs (``import verl`` in
this process, and in the Ray worker for the cluster test). Every expected value is computed independently: our
rows by calling ``alphamed.reward_score``'s functions directly, gsm8k rows by calling veRL's
``default_compute_score`` directly, a custom function's rows by calling it.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
from pathlib import Path

import numpy as np
import pytest
from verl.experimental.reward_loop import RewardLoopManager, RewardLoopWorker
from verl.trainer.ppo.metric_utils import process_validation_metrics
from verl.utils import hf_tokenizer
from verl.utils.reward_score import default_compute_score

from alphamed.data_preprocess.schema import McqItem, to_verl_record
from alphamed.reward_score import compute_score, compute_score_med_rlvr
from alphamed.reward_score.verl_manager import EXTRA_KEYS, reward_constants
from tests.test_verl_contract_on_cpu import ITEMS, assert_token_rewards, compose_ppo_config, reward_batch

FORMAT_PENALTY = -0.5  # unlike the default -1, so the test sees that reward.reward_kwargs reached our reward
MANAGER = ("reward.reward_manager.name=alphamed", f"+reward.reward_kwargs.format_penalty={FORMAT_PENALTY}")

MEDQA = ITEMS[0]  # the contract test's MedQA item (answer B)
PUBMEDQA = McqItem(
    id="plugin-pubmedqa",
    source="pubmedqa",
    split="train",
    question="Does aspirin reduce the risk of a second myocardial infarction?",
    options=["yes", "no", "maybe"],
    answer="A",
)
#: A row as veRL's own examples/data_preprocess/gsm8k.py writes it.
GSM8K = {
    "data_source": "openai/gsm8k",
    "prompt": [
        {
            "role": "user",
            "content": "Natalia sold 48 clips in April and half as many in May. How many "
            'altogether? Let\'s think step by step and output the final answer after "####".',
        }
    ],
    "ability": "math",
    "reward_model": {"style": "rule", "ground_truth": "72"},
    "extra_info": {"split": "train", "index": 0, "answer": "48 + 24 = 72 #### 72", "question": "Natalia ..."},
}

#: (row, responses): a right, a wrong and a malformed answer for each kind of row.
MEDQA_ROLLOUTS = (
    to_verl_record(MEDQA, "alphamed", 0),
    ("<think>Inferior leads.</think> \\boxed{B}", "\\boxed{A}", "The answer is B."),
)
PUBMEDQA_ROLLOUTS = (
    to_verl_record(PUBMEDQA, "med_rlvr", 0),
    ("<think>Trials say so.</think><answer>A</answer>", "<think>No.</think><answer>B</answer>", "\\boxed{A}"),
)
GSM8K_ROLLOUTS = (GSM8K, ("48 + 24 = 72\n#### 72", "#### 71", "The answer is 72."))


def rollouts(*groups: tuple[dict, tuple[str, ...]]) -> tuple[list[dict], list[str]]:
    rows = [copy.deepcopy(row) for row, responses in groups for _ in responses]
    return rows, [response for _, responses in groups for response in responses]


def expected(rows: list[dict], responses: list[str], foreign=None) -> list[dict]:
    """Our rewards called directly for our rows; for the others, what ``foreign`` (veRL's default scorer unless
    told) returns, in our keys: its score, its ``acc`` (a bare number is both, as in veRL's naive manager)."""
    results = []
    for row, text in zip(rows, responses, strict=True):
        args = (row["data_source"], text, row["reward_model"]["ground_truth"], copy.deepcopy(row["extra_info"]))
        style = row["extra_info"].get("prompt_style")
        if style == "alphamed":
            results.append(compute_score(*args))
        elif style == "med_rlvr":
            results.append(compute_score_med_rlvr(*args, format_penalty=FORMAT_PENALTY))
        else:
            value = (foreign or default_compute_score)(*args)
            score, acc = (value["score"], value.get("acc")) if isinstance(value, dict) else (value, value)
            results.append({"score": score, "acc": acc, "format_ok": None, "pred_valid": None})
    return results


def test_our_reward_keys_are_the_same_for_both_styles() -> None:
    assert tuple(compute_score_med_rlvr("", "", "A")) == EXTRA_KEYS == tuple(compute_score("", "", "A"))
    assert {"score", "acc"} <= set(EXTRA_KEYS)


def test_reward_kwargs_go_to_the_styles_that_take_them_and_a_misspelling_is_named() -> None:
    constants = reward_constants({"format_penalty": -0.5, "correct_score": 2})
    assert constants == {"alphamed": {"correct_score": 2.0}, "med_rlvr": {"format_penalty": -0.5, "correct_score": 2.0}}
    with pytest.raises(ValueError, match=r"^reward\.reward_kwargs\.format_penalti: not a constant") as err:
        reward_constants({"format_penalti": -0.5})
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match=r"^reward\.reward_kwargs\.wrong_score: 'low' is not a number"):
        reward_constants({"wrong_score": "low"})


@pytest.fixture(scope="module")
def worker(tiny_model_dir: Path) -> RewardLoopWorker:
    """veRL's reward-loop worker (what RewardLoopManager starts as a Ray actor) built in-process by name."""
    return RewardLoopWorker(compose_ppo_config([*MANAGER, f"actor_rollout_ref.model.path={tiny_model_dir}"]))


def run_worker(worker: RewardLoopWorker, rows: list[dict], responses: list[str]) -> list[dict]:
    data = reward_batch(worker.input_tokenizer, rows, responses)
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(data))
    assert_token_rewards(
        data,
        worker.reward_manager.assemble_rm_scores(data, [o["reward_score"] for o in outputs]),
        [o["reward_extra_info"] for o in outputs],
    )
    return outputs


def test_worker_scores_ours_by_prompt_style_and_gsm8k_by_verls_default(worker: RewardLoopWorker) -> None:
    rows, responses = rollouts(MEDQA_ROLLOUTS, PUBMEDQA_ROLLOUTS, GSM8K_ROLLOUTS)
    want = expected(rows, responses)
    assert len({w["score"] for w in want}) >= 3, "right, wrong and format-penalised answers should all occur"

    outputs = run_worker(worker, rows, responses)

    assert [o["reward_extra_info"] for o in outputs] == want
    assert [o["reward_score"] for o in outputs] == [w["score"] for w in want]


def test_a_row_of_ours_without_a_prompt_style_is_a_named_data_fault(worker: RewardLoopWorker) -> None:
    row = copy.deepcopy(MEDQA_ROLLOUTS[0])
    del row["extra_info"]["prompt_style"]
    with pytest.raises(ValueError, match=r"^extra_info\.prompt_style: None on a 'medqa' row"):
        run_worker(worker, [row], ["\\boxed{B}"])


CUSTOM_FUNCTIONS = {
    "sync": "def score(data_source, solution_str, ground_truth, extra_info=None, bonus=0.0):\n"
    "    return {'score': len(solution_str) / 100 + bonus, 'acc': 1.0, 'pred': solution_str[-2:]}\n",
    "async": "async def score(data_source, solution_str, ground_truth, extra_info=None, bonus=0.0):\n"
    "    return len(solution_str) / 100 + bonus\n",
}


@pytest.mark.parametrize("kind", sorted(CUSTOM_FUNCTIONS))
def test_a_configured_custom_function_scores_the_other_rows_only(kind: str, tiny_model_dir: Path, tmp_path: Path):
    """A user's own function for their own data (sync or async: veRL's naive manager awaits the latter)."""
    module = tmp_path / "their_reward.py"
    module.write_text(CUSTOM_FUNCTIONS[kind])
    namespace: dict = {}
    exec(CUSTOM_FUNCTIONS[kind], namespace)  # the same text, called directly for the expected values
    bonus = 0.5

    def their(*args):
        value = namespace["score"](*args, bonus=bonus)
        return asyncio.run(value) if inspect.iscoroutine(value) else value

    config = compose_ppo_config(
        [
            *MANAGER,
            f"actor_rollout_ref.model.path={tiny_model_dir}",
            f"reward.custom_reward_function.path={module}",
            "reward.custom_reward_function.name=score",
            f"+reward.custom_reward_function.reward_kwargs.bonus={bonus}",
        ]
    )
    worker = RewardLoopWorker(config)
    rows, responses = rollouts(GSM8K_ROLLOUTS, MEDQA_ROLLOUTS, PUBMEDQA_ROLLOUTS)

    outputs = run_worker(worker, rows, responses)

    assert [o["reward_extra_info"] for o in outputs] == expected(rows, responses, foreign=their)


def test_unknown_reward_kwargs_stop_the_worker_with_the_key_named(tiny_model_dir: Path) -> None:
    config = compose_ppo_config(
        [*MANAGER, "+reward.reward_kwargs.correct_scor=2", f"actor_rollout_ref.model.path={tiny_model_dir}"]
    )
    with pytest.raises(ValueError, match=r"^reward\.reward_kwargs\.correct_scor: not a constant"):
        RewardLoopWorker(config)


# ---------------------------------------------------------------------------------------------------------------
# veRL's RewardLoopManager on a local Ray cluster: the manager is registered in the Ray worker by the plugin
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_manager(local_ray, tiny_model_dir: Path) -> RewardLoopManager:
    config = compose_ppo_config([*MANAGER, f"actor_rollout_ref.model.path={tiny_model_dir}", "reward.num_workers=1"])
    return RewardLoopManager(config=config, rm_resource_pool=None)  # as RayPPOTrainer builds it


@pytest.mark.parametrize("first", ["gsm8k", "ours"])
def test_ray_reward_loop_gives_every_row_its_own_reward_and_the_same_keys(
    first: str, ray_manager: RewardLoopManager, tiny_model_dir: Path
) -> None:
    """veRL takes the extras' key list from the FIRST row and indexes every other row with it, so the order of a
    mixed batch must not matter: a gsm8k row first and a medical row first give the same keys and values."""
    groups = [MEDQA_ROLLOUTS, PUBMEDQA_ROLLOUTS, GSM8K_ROLLOUTS]
    if first == "gsm8k":
        groups.reverse()
    rows, responses = rollouts(*groups)
    data = reward_batch(hf_tokenizer(str(tiny_model_dir)), rows, responses)
    want = expected(rows, responses)

    out = ray_manager.compute_rm_score(data)

    assert_token_rewards(data, out.batch["rm_scores"], want)
    assert out.meta_info["reward_extra_keys"] == list(EXTRA_KEYS)
    for key in EXTRA_KEYS:
        assert out.non_tensor_batch[key].tolist() == [w[key] for w in want], key

    # veRL's validation metrics skip None: gsm8k gets its score and acc but no format metric of ours.
    infos = {key: out.non_tensor_batch[key].tolist() for key in EXTRA_KEYS}
    metrics = process_validation_metrics([row["data_source"] for row in rows], list(range(len(rows))), infos)
    assert set(metrics["openai/gsm8k"]) == {"score", "acc"}
    assert set(metrics["medqa"]) == set(metrics["pubmedqa"]) == set(EXTRA_KEYS)
    gsm8k_acc = [w["acc"] for w in want if w["format_ok"] is None]
    assert sorted(gsm8k_acc) == [0.0, 0.0, 1.0]
    assert metrics["openai/gsm8k"]["acc"]["mean@1"] == pytest.approx(np.mean(gsm8k_acc))


def test_selected_by_class_it_needs_no_registration(tiny_model_dir: Path) -> None:
    """README's way with plugins off: veRL's ``source=importlib`` loads the class itself, no registry involved."""
    config = compose_ppo_config(
        [
            "reward.reward_manager.source=importlib",
            "reward.reward_manager.module.path=pkg://alphamed.reward_score.verl_manager",
            "reward.reward_manager.name=AlphaMedRewardManager",
            f"+reward.reward_kwargs.format_penalty={FORMAT_PENALTY}",
            f"actor_rollout_ref.model.path={tiny_model_dir}",
        ]
    )
    worker = RewardLoopWorker(config)
    rows, responses = rollouts(PUBMEDQA_ROLLOUTS, GSM8K_ROLLOUTS)

    outputs = run_worker(worker, rows, responses)

    assert [o["reward_extra_info"] for o in outputs] == expected(rows, responses)

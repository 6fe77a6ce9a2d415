"""The contract with the pinned veRL, checked on CPU: an upgrade that breaks it fails here, not hours into a GPU job.

1. Every veRL import and dotted ``verl`` path used anywhere in this repo resolves. They are found by parsing the
   repo each run (no hand-kept list to drift), so files added later are covered too.
2. The Hydra keys we set exist in veRL's packaged ``ppo_trainer`` config. Two traps are pinned down:
   ``reward_kwargs`` is not in that config (an override needs ``+``), and the legacy top-level
   ``custom_reward_function.*`` keys are accepted but never read by ``main_ppo``.
3. Our reward loads through veRL's own loaders (``load_extern_object``, ``get_custom_reward_fn`` + reward_kwargs).
4. veRL's reward loop gives each rollout exactly the score and extras our function returns when called directly.
   This is checked on the in-process ``RewardLoopWorker`` and on the Ray ``RewardLoopManager`` that main_ppo
   builds, with rows from our parquet read back both by veRL's ``RLHFDataset`` and by pandas.
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import os
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import verl
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, OmegaConf
from verl import DataProto
from verl.experimental.reward_loop import RewardLoopManager, RewardLoopWorker
from verl.trainer.ppo.reward import get_custom_reward_fn, resolve_reward_manager_cls
from verl.trainer.ppo.utils import create_rl_dataset
from verl.utils import hf_tokenizer
from verl.utils.dataset.rl_dataset import collate_fn
from verl.utils.import_utils import load_extern_object
from verl.utils.reward_score import default_compute_score

from alphamed import reward_score
from alphamed.data_preprocess.parquet_io import write_records_parquet
from alphamed.data_preprocess.schema import LETTERS, McqItem, to_verl_record
from tests.conftest import REPO_ROOT

REWARD_PATH = "pkg://alphamed.reward_score"
VERL_CONFIG_DIR = Path(verl.__file__).parent / "trainer" / "config"

# ---------------------------------------------------------------------------------------------------------------
# 1. every veRL path the repo uses
# ---------------------------------------------------------------------------------------------------------------

#: ``verl.a.b`` not inside a longer word, file name or URL (``github.com/volcengine/verl.git``), but after ``pkg://``.
_DOTTED_VERL = re.compile(r"(?:(?<=pkg://)|(?<![\w./-]))verl(?:\.[A-Za-z_]\w*)+")
_SKIPPED_DIRS = {"__pycache__", "build", "dist"}


def _repo_files(suffixes: tuple[str, ...]) -> Iterator[Path]:
    """Files of this repo with these suffixes; hidden folders (.venv, .git) and build outputs are not the repo."""
    for dirpath, dirnames, filenames in os.walk(REPO_ROOT):
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and d not in _SKIPPED_DIRS and not d.endswith(".egg-info")
        )
        yield from (Path(dirpath, name) for name in sorted(filenames) if name.endswith(suffixes))


def _is_verl(module: str) -> bool:
    return module == "verl" or module.startswith("verl.")


def verl_references() -> dict[str, list[str]]:
    """Every veRL path the repo names -> where (``file:line``).

    Python: ``import verl…`` and ``from verl… import name`` at any depth (inside functions too), plus string
    constants that are a dotted veRL path (``-m`` targets, Hydra ``_target_``s, ``pkg://`` paths).
    Shell and YAML: any dotted veRL path (``python3 -m verl.trainer.main_ppo``).
    """
    found: dict[str, list[str]] = defaultdict(list)
    for path in _repo_files((".py",)):
        where = path.relative_to(REPO_ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                dotted = [alias.name for alias in node.names if _is_verl(alias.name)]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and _is_verl(node.module):
                dotted = [node.module if alias.name == "*" else f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                match = _DOTTED_VERL.fullmatch(node.value.removeprefix("pkg://"))
                dotted = [match.group()] if match else []
            else:
                continue
            for name in dotted:
                found[name].append(f"{where}:{node.lineno}")
    for path in _repo_files((".sh", ".yaml", ".yml")):
        where = path.relative_to(REPO_ROOT).as_posix()
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for match in _DOTTED_VERL.finditer(line):
                found[match.group()].append(f"{where}:{lineno}")
    return dict(found)


def resolve_dotted(dotted: str) -> object:
    """Import the longest module prefix of ``dotted``, then getattr the rest: what ``from a.b import c`` does."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:  # the module exists but one of ITS imports is missing: a real failure
                raise
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


#: Dotted names that are entry-point groups, not modules: each must be a group ``import verl`` loads.
ENTRY_POINT_GROUPS = ("verl.plugins",)


def test_every_verl_path_the_repo_uses_exists() -> None:
    references = verl_references()
    # The scan must see at least this file's own imports, or it is looking at nothing.
    assert "verl.experimental.reward_loop.RewardLoopWorker" in references
    broken = []
    for dotted, places in sorted(references.items()):
        if dotted in ENTRY_POINT_GROUPS:
            if f'entry_points(group="{dotted}")' not in inspect.getsource(verl):
                broken.append(f"{dotted} (used at {', '.join(places)}): import verl no longer loads this group")
            continue
        try:
            resolve_dotted(dotted)
        except (ImportError, AttributeError) as err:
            broken.append(f"{dotted} (used at {', '.join(places)}): {type(err).__name__}: {err}")
    assert not broken, f"veRL {verl.__version__} lacks paths this repo uses:\n" + "\n".join(broken)


def test_the_scanner_reads_imports_in_functions_shell_launchers_and_skips_urls(tmp_path: Path) -> None:
    tree = ast.parse("def f():\n    from verl.utils import hf_tokenizer\n")
    assert any(isinstance(node, ast.ImportFrom) and node.module == "verl.utils" for node in ast.walk(tree))
    line = "python3 -m verl.trainer.main_ppo x=pkg://verl.utils.dataset https://github.com/volcengine/verl.git"
    assert _DOTTED_VERL.findall(line) == ["verl.trainer.main_ppo", "verl.utils.dataset"]
    with pytest.raises(AttributeError):  # (built at run time, so the repo scan does not count it as a path we use)
        resolve_dotted(f"{verl.__name__}.utils.import_utils.no_such_loader")
    assert resolve_dotted("verl.workers.config.RewardConfig").__name__ == "RewardConfig"


# ---------------------------------------------------------------------------------------------------------------
# 2. the Hydra keys we set, and the two traps
# ---------------------------------------------------------------------------------------------------------------

#: Keys our recipes and docs set on ``python -m verl.trainer.main_ppo``.
RELIED_ON_KEYS = (
    "reward.custom_reward_function.path",
    "reward.custom_reward_function.name",
    "reward.reward_manager.name",
    "reward.num_workers",
    "data.train_files",
    "data.val_files",
    "data.prompt_key",
    "data.reward_fn_key",
    "data.max_prompt_length",
    "data.max_response_length",
    "algorithm.adv_estimator",
    "actor_rollout_ref.model.path",
    "actor_rollout_ref.rollout.n",
    "actor_rollout_ref.actor.use_kl_loss",
    "trainer.validation_data_dir",
)


def compose_ppo_config(overrides: Sequence[str] = ()) -> DictConfig:
    """veRL's own ``ppo_trainer`` config with command-line overrides, exactly as ``main_ppo``'s Hydra composes it."""
    with initialize_config_dir(config_dir=str(VERL_CONFIG_DIR), version_base=None):
        return compose(config_name="ppo_trainer", overrides=list(overrides))


def test_the_config_keys_we_set_exist() -> None:
    config = compose_ppo_config()
    absent = object()
    missing = [key for key in RELIED_ON_KEYS if OmegaConf.select(config, key, default=absent) is absent]
    assert not missing, f"veRL {verl.__version__}'s ppo_trainer config lacks {missing}"
    # The naive reward manager is the one that calls compute_score once per rollout.
    assert config.reward.reward_manager.name == "naive"


def test_reward_kwargs_is_not_in_the_packaged_config_so_an_override_needs_plus() -> None:
    assert "reward_kwargs" not in compose_ppo_config().reward.custom_reward_function
    with pytest.raises(ConfigCompositionException, match=r"\+reward\.custom_reward_function\.reward_kwargs"):
        compose_ppo_config(["reward.custom_reward_function.reward_kwargs.format_penalty=-0.5"])
    config = compose_ppo_config(["+reward.custom_reward_function.reward_kwargs.format_penalty=-0.5"])
    assert config.reward.custom_reward_function.reward_kwargs == {"format_penalty": -0.5}


def test_legacy_top_level_custom_reward_function_is_accepted_but_ignored() -> None:
    legacy = [f"custom_reward_function.path={REWARD_PATH}", "custom_reward_function.name=compute_score"]
    config = compose_ppo_config(legacy)  # Hydra raises nothing: the keys exist (legacy_reward_impl.yaml) ...
    assert config.custom_reward_function.path == REWARD_PATH
    # ... but the reward is built from reward.custom_reward_function only, so veRL falls back to its own scorer,
    assert config.reward.custom_reward_function.path is None
    assert get_custom_reward_fn(config) is None
    # which knows no medical data source: the run dies at its first reward, after all the GPU start-up.
    with pytest.raises(NotImplementedError, match="medqa"):
        default_compute_score("medqa", "\\boxed{A}", "A")
    # Only the fully-async entry point migrates the legacy keys (migrate_legacy_reward_impl); main_ppo does not.
    for entry_point in ("verl.trainer.main_ppo", "verl.trainer.main_ppo_v0"):
        source = inspect.getsource(importlib.import_module(entry_point))
        assert "migrate_legacy_reward_impl" not in source, f"{entry_point} now migrates the legacy keys"


# ---------------------------------------------------------------------------------------------------------------
# 3. our reward through veRL's loaders
# ---------------------------------------------------------------------------------------------------------------

#: A ``reward_kwargs`` value unlike the default, so the test sees whether it reached the function.
FORMAT_PENALTY = -0.5
MED_RLVR_OVERRIDES = (
    f"reward.custom_reward_function.path={REWARD_PATH}",
    "reward.custom_reward_function.name=compute_score_med_rlvr",
    f"+reward.custom_reward_function.reward_kwargs.format_penalty={FORMAT_PENALTY}",
)
ALPHAMED_OVERRIDES = (
    f"reward.custom_reward_function.path={REWARD_PATH}",
    "reward.custom_reward_function.name=compute_score",
)


def test_load_extern_object_finds_our_reward_functions() -> None:
    assert load_extern_object(REWARD_PATH, "compute_score") is reward_score.compute_score
    assert load_extern_object(REWARD_PATH, "compute_score_med_rlvr") is reward_score.compute_score_med_rlvr


def test_get_custom_reward_fn_applies_reward_kwargs() -> None:
    fn = get_custom_reward_fn(compose_ppo_config(MED_RLVR_OVERRIDES))
    args = ("medqa", "The answer is B.", "B", {"options": np.array(["x", "y", "z"], dtype=object)})
    assert fn(*args) == reward_score.compute_score_med_rlvr(*args, format_penalty=FORMAT_PENALTY)
    assert fn(*args) != reward_score.compute_score_med_rlvr(*args), "format_penalty had no effect on the score"


# ---------------------------------------------------------------------------------------------------------------
# 4. veRL's reward loop returns exactly our scores
# ---------------------------------------------------------------------------------------------------------------

ITEMS = (
    McqItem(
        id="contract-1",
        source="medqa",
        split="train",
        question="A 60-year-old man has crushing chest pain and ST elevation in II, III and aVF. Which artery?",
        options=["Left anterior descending", "Right coronary", "Left circumflex", "Left main"],
        answer="B",
    ),
    McqItem(
        id="contract-2",
        source="medmcqa",
        split="train",
        question="Which vitamin deficiency causes scurvy?",
        options=["Vitamin A", "Vitamin B12", "Vitamin C", "Vitamin D", "Vitamin K"],
        answer="C",
    ),
)

#: Responses per item; ``{right}`` / ``{wrong}`` become letters of that item.
ALPHAMED_RESPONSES = (
    "<think>Inferior leads point to the right coronary artery.</think>\nThe answer is \\boxed{{{right}}}.",
    "\\boxed{{{wrong}}}",
    "It is \\boxed{{{wrong}}} or \\boxed{{{right}}}.",
    "The answer is {right}.",
    "<think>\\boxed{{{right}}}</think> I cannot decide.",
)
MED_RLVR_RESPONSES = (
    "<think>Inferior leads point to the right coronary artery.</think><answer>{right}</answer>",
    "<think>Not sure.</think><answer>{wrong}</answer>",
    "<answer>{right}</answer>",
    "The answer is \\boxed{{{right}}}.",
)


def _rollouts(rows: list[dict], templates: Sequence[str]) -> tuple[list[dict], list[str]]:
    """Every response template against every row (a GRPO group per prompt), as (rows, responses)."""
    pairs = []
    for row in rows:
        right = row["reward_model"]["ground_truth"]
        wrong = next(letter for letter in LETTERS if letter != right)
        pairs += [(row, template.format(right=right, wrong=wrong)) for template in templates]
    return [copy.deepcopy(row) for row, _ in pairs], [response for _, response in pairs]


def reward_batch(tokenizer, rows: list[dict], responses: list[str]) -> DataProto:
    """The batch veRL's reward loop gets: prompt ids left-padded, response ids right-padded and ended by EOS,
    attention mask over both, and each row's non-tensor fields collated by veRL's own ``collate_fn``."""
    prompt_ids = [
        tokenizer(
            tokenizer.apply_chat_template(list(row["prompt"]), add_generation_prompt=True, tokenize=False),
            add_special_tokens=False,
        )["input_ids"]
        for row in rows
    ]
    response_ids = [tokenizer(text + tokenizer.eos_token, add_special_tokens=False)["input_ids"] for text in responses]
    for text, ids in zip(responses, response_ids, strict=True):
        # The reward sees the decoded text; the comparison below is only fair if decoding gives the text back.
        assert tokenizer.decode(ids, skip_special_tokens=True) == text
    prompt_len, response_len, pad = max(map(len, prompt_ids)), max(map(len, response_ids)), tokenizer.pad_token_id
    prompts = torch.tensor([[pad] * (prompt_len - len(ids)) + ids for ids in prompt_ids])
    prompt_mask = torch.tensor([[0] * (prompt_len - len(ids)) + [1] * len(ids) for ids in prompt_ids])
    responses_t = torch.tensor([ids + [pad] * (response_len - len(ids)) for ids in response_ids])
    response_mask = torch.tensor([[1] * len(ids) + [0] * (response_len - len(ids)) for ids in response_ids])
    tensors = {
        "prompts": prompts,
        "responses": responses_t,
        "input_ids": torch.cat([prompts, responses_t], dim=1),
        "attention_mask": torch.cat([prompt_mask, response_mask], dim=1),
        "response_mask": response_mask,
    }
    non_tensors = {key: value for key, value in collate_fn(rows).items() if not isinstance(value, torch.Tensor)}
    return DataProto.from_single_dict({**tensors, **non_tensors})


@pytest.fixture(scope="module")
def parquet_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Our items in both prompt styles, written by the repo's one parquet writer."""
    records = [to_verl_record(item, style, i) for style in ("alphamed", "med_rlvr") for i, item in enumerate(ITEMS)]
    return write_records_parquet(records, tmp_path_factory.mktemp("contract") / "train.parquet")


def read_rows(parquet_path: Path, reader: str, prompt_style: str, tokenizer, config: DictConfig) -> list[dict]:
    """Rows as veRL's ``RLHFDataset`` (HF datasets: lists) or pandas (numpy arrays) gives them back."""
    if reader == "verl_dataset":
        dataset = create_rl_dataset([str(parquet_path)], config.data, tokenizer, None)
        rows = [dataset[i] for i in range(len(dataset))]
    else:
        rows = pd.read_parquet(parquet_path).to_dict("records")
        assert isinstance(rows[0]["extra_info"]["options"], np.ndarray)
    rows = [row for row in rows if row["extra_info"]["prompt_style"] == prompt_style]
    assert len(rows) == len(ITEMS)
    return rows


def expected_results(fn, rows: list[dict], responses: list[str], **reward_kwargs) -> list[dict]:
    """Our function called directly, on untouched copies (veRL adds keys to ``extra_info`` in place)."""
    results = []
    for row, text in zip(rows, responses, strict=True):
        extra_info = copy.deepcopy(row["extra_info"])
        results.append(fn(row["data_source"], text, row["reward_model"]["ground_truth"], extra_info, **reward_kwargs))
    return results


def assert_token_rewards(data: DataProto, rm_scores: torch.Tensor, expected: list[dict]) -> None:
    """The whole reward sits on the last valid response token, every other token gets 0."""
    last = data.batch["response_mask"].sum(dim=1) - 1
    for i, result in enumerate(expected):
        assert rm_scores[i, last[i]].item() == pytest.approx(result["score"])
        assert torch.count_nonzero(rm_scores[i]).item() == (1 if result["score"] != 0 else 0)


CASES = {
    "compute_score": (ALPHAMED_OVERRIDES, "alphamed", ALPHAMED_RESPONSES, {}),
    "compute_score_med_rlvr": (MED_RLVR_OVERRIDES, "med_rlvr", MED_RLVR_RESPONSES, {"format_penalty": FORMAT_PENALTY}),
}


@pytest.mark.parametrize("reader", ["verl_dataset", "pandas"])
@pytest.mark.parametrize("fn_name", sorted(CASES))
def test_reward_loop_worker_returns_exactly_our_scores(
    fn_name: str, reader: str, tiny_model_dir: Path, parquet_path: Path
) -> None:
    overrides, prompt_style, templates, reward_kwargs = CASES[fn_name]
    config = compose_ppo_config([*overrides, f"actor_rollout_ref.model.path={tiny_model_dir}"])
    worker = RewardLoopWorker(config)  # what RewardLoopManager starts as a Ray actor, here in-process
    tokenizer = worker.input_tokenizer
    rows, responses = _rollouts(read_rows(parquet_path, reader, prompt_style, tokenizer, config), templates)
    data = reward_batch(tokenizer, rows, responses)
    expected = expected_results(getattr(reward_score, fn_name), rows, responses, **reward_kwargs)
    assert len({result["score"] for result in expected}) >= 2, "the cases should not all score alike"

    outputs = worker.loop.run_until_complete(worker.compute_score_batch(data))

    assert [out["reward_score"] for out in outputs] == [result["score"] for result in expected]
    assert [out["reward_extra_info"] for out in outputs] == expected
    # veRL takes the extras' key list from the FIRST rollout and indexes every other one with it.
    assert all(out["reward_extra_info"].keys() == outputs[0]["reward_extra_info"].keys() for out in outputs)
    rm_scores = resolve_reward_manager_cls(config).assemble_rm_scores(data, [out["reward_score"] for out in outputs])
    assert_token_rewards(data, rm_scores, expected)


def test_reward_loop_worker_keys_hold_for_ground_truths_stored_as_text_or_index(
    tiny_model_dir: Path, parquet_path: Path
) -> None:
    """A dataset storing its answer as the option's text scores as if it were the letter; one storing an index
    scores wrong and warns; either way veRL's reward loop gets the same keys from every rollout."""
    config = compose_ppo_config([*ALPHAMED_OVERRIDES, f"actor_rollout_ref.model.path={tiny_model_dir}"])
    worker = RewardLoopWorker(config)
    rows, responses = _rollouts(
        read_rows(parquet_path, "pandas", "alphamed", worker.input_tokenizer, config), ALPHAMED_RESPONSES
    )
    letters = [row["reward_model"]["ground_truth"] for row in rows]
    for row, letter in zip(rows, letters, strict=True):
        as_text = row["data_source"] == "medqa"
        row["reward_model"] = {**row["reward_model"], "ground_truth": row["extra_info"]["answer_text"]}
        if not as_text:
            row["reward_model"]["ground_truth"] = LETTERS.index(letter)  # a 0-based index: never guessed
        row["data_source"] = "contract_gt_text" if as_text else "contract_gt_index"
    data = reward_batch(worker.input_tokenizer, rows, responses)

    with pytest.warns(reward_score.scoring.GroundTruthWarning, match="'contract_gt_index'") as caught:
        outputs = worker.loop.run_until_complete(worker.compute_score_batch(data))

    assert not [w for w in caught if "contract_gt_text" in str(w.message)]
    as_letters = [
        reward_score.compute_score(row["data_source"], text, letter, copy.deepcopy(row["extra_info"]))
        for row, text, letter in zip(rows, responses, letters, strict=True)
    ]
    keys = {"score", "acc", "format_ok", "pred_valid"}
    assert all(out["reward_extra_info"].keys() == keys for out in outputs)
    text_rows = [i for i, row in enumerate(rows) if row["data_source"] == "contract_gt_text"]
    index_rows = [i for i, row in enumerate(rows) if row["data_source"] == "contract_gt_index"]
    assert [outputs[i]["reward_score"] for i in text_rows] == [as_letters[i]["score"] for i in text_rows]
    assert {outputs[i]["reward_score"] for i in text_rows} == {0.0, 1.0}
    assert {outputs[i]["reward_score"] for i in index_rows} == {0.0}


def test_ray_reward_loop_manager_from_main_ppo_returns_exactly_our_scores(
    local_ray, tiny_model_dir: Path, parquet_path: Path
) -> None:
    config = compose_ppo_config(
        [*MED_RLVR_OVERRIDES, f"actor_rollout_ref.model.path={tiny_model_dir}", "reward.num_workers=1"]
    )
    manager = RewardLoopManager(config=config, rm_resource_pool=None)  # as RayPPOTrainer builds it
    tokenizer = hf_tokenizer(str(tiny_model_dir))
    rows, responses = _rollouts(read_rows(parquet_path, "pandas", "med_rlvr", tokenizer, config), MED_RLVR_RESPONSES)
    data = reward_batch(tokenizer, rows, responses)
    expected = expected_results(reward_score.compute_score_med_rlvr, rows, responses, format_penalty=FORMAT_PENALTY)

    out = manager.compute_rm_score(data)

    assert_token_rewards(data, out.batch["rm_scores"], expected)
    assert out.meta_info["reward_extra_keys"] == list(expected[0])
    for key in expected[0]:
        np.testing.assert_array_equal(out.non_tensor_batch[key], np.array([result[key] for result in expected]))

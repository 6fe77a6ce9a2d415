"""The converters' parquet goes through veRL's own dataset loader (``create_rl_dataset`` -> ``RLHFDataset``) intact.

veRL tokenises every prompt with the model's chat template to filter over-long prompts, and any exception
there counts the row as too long: a tokenizer without a chat template, or a ``prompt`` column stored as a
string, silently empties the dataset. These tests load every shipped dataset sample the way a training run
would (veRL's packaged Hydra config, ``data.filter_overlong_prompts=True``, ``max_prompt_length=2048``), show
both traps really drop every row, and check that our records can never fall into them.
"""

from __future__ import annotations

import importlib
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alphamed.data_preprocess.parquet_io import read_records_parquet, write_records_parquet
from tests.conftest import REPO_ROOT

MAX_PROMPT_LENGTH = 2048
DATA = REPO_ROOT / "examples" / "data"
#: converter module -> the flags that convert its shipped sample (one evaluation split each).
SAMPLES = {
    "medqa": ["--local_dataset_path", str(DATA / "medqa"), "--split", "test"],
    "medmcqa": ["--local_dataset_path", str(DATA / "medmcqa" / "dev.json"), "--split", "validation"],
    "pubmedqa": ["--local_dataset_path", str(DATA / "pubmedqa"), "--split", "test"],
    "headqa": ["--local_dataset_path", str(DATA / "headqa" / "HEAD_EN"), "--split", "test"],
    "mmlu_pro": ["--local_dataset_path", str(DATA / "mmlu_pro")],
    "gpqa": ["--local_dataset_path", str(DATA / "gpqa")],
    "medxpertqa": ["--local_dataset_path", str(DATA / "medxpertqa" / "medreason_MedXpertQA_test.jsonl")],
}


@pytest.fixture(scope="module", params=["alphamed", "med_rlvr"])
def parquet_files(request, tmp_path_factory) -> list[Path]:
    """Every shipped sample converted with one prompt style: the val_files of a training run."""
    out = tmp_path_factory.mktemp(f"parquet_{request.param}")
    files = []
    for name, flags in SAMPLES.items():
        module = importlib.import_module(f"alphamed.data_preprocess.{name}")
        (report,) = module.convert([*flags, "--local_save_dir", str(out / name), "--prompt_style", request.param])
        files.append(report.path)
    return files


@pytest.fixture(scope="module")
def data_config():
    """``data`` section of veRL's packaged ``ppo_trainer`` config, composed the way ``main_ppo`` composes it."""
    import verl
    from hydra import compose, initialize_config_dir

    config_dir = Path(verl.__file__).parent / "trainer" / "config"
    overrides = [f"data.max_prompt_length={MAX_PROMPT_LENGTH}", "data.filter_overlong_prompts=True"]
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        return compose(config_name="ppo_trainer", overrides=overrides).data


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def verl_dataset(files: list[Path], data_config, tokenizer):
    from verl.trainer.ppo.utils import create_rl_dataset

    return create_rl_dataset([str(f) for f in files], data_config, tokenizer, None, is_train=False)


def test_every_row_survives_verl_loading(parquet_files, data_config, tokenizer):
    records = read_records_parquet(parquet_files)
    dataset = verl_dataset(parquet_files, data_config, tokenizer)
    assert len(dataset) == len(records)
    assert Counter(dataset.dataframe["data_source"]) == Counter(r["data_source"] for r in records)
    assert len({r["data_source"] for r in records}) == len(SAMPLES)
    for position in (0, len(dataset) // 2, len(dataset) - 1):
        row, record = dataset[position], records[position]
        assert row["raw_prompt"] == record["prompt"]
        assert row["reward_model"] == {"style": "rule", "ground_truth": record["reward_model"]["ground_truth"]}
        assert row["index"] == record["extra_info"]["index"]


def test_our_prompt_is_a_list_of_chat_messages(parquet_files, tokenizer):
    assert tokenizer.chat_template, "the tiny model's tokenizer must carry a chat template"
    for path in parquet_files:
        column = pq.read_schema(path).field("prompt").type
        assert pa.types.is_list(column) and pa.types.is_struct(column.value_type), path
        assert {(f.name, f.type) for f in column.value_type} == {("role", pa.string()), ("content", pa.string())}
    for record in read_records_parquet(parquet_files):
        assert record["prompt"] and all(set(m) == {"role", "content"} for m in record["prompt"])
        assert record["prompt"][-1]["role"] == "user"


def test_verl_drops_every_row_when_the_tokenizer_has_no_chat_template(parquet_files, data_config, tiny_model_dir):
    from transformers import AutoTokenizer

    bare = AutoTokenizer.from_pretrained(tiny_model_dir)
    bare.chat_template = None
    assert len(verl_dataset(parquet_files[:1], data_config, bare)) == 0


def test_verl_drops_every_row_when_the_prompt_is_a_string(parquet_files, data_config, tokenizer, tmp_path):
    records = read_records_parquet(parquet_files[:1])
    flattened = [{**r, "prompt": "\n\n".join(m["content"] for m in r["prompt"])} for r in records]
    path = write_records_parquet(flattened, tmp_path / "string_prompt.parquet")
    assert pq.read_schema(path).field("prompt").type == pa.string()
    assert len(verl_dataset([path], data_config, tokenizer)) == 0

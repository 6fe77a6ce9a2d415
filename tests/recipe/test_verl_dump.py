"""veRL validation dumps: written by veRL 0.9.1's own ``_write_generations`` (the default v1 trainer's, run on CPU),
with prompts rendered and decoded the way ``_validate`` does it, then matched back to the benchmark questions."""

from __future__ import annotations

import json
import random

import pytest
from transformers import AutoTokenizer

from alphamed.data_preprocess.parquet_io import read_records_parquet
from alphamed.recipe.evaluation import benchmark_path
from alphamed.recipe.evaluation import main as eval_main
from alphamed.recipe.verl_dump import dump_file, match_dump, read_dump
from tests.recipe.eval_fixtures import write_benchmark_dir


def verl_write_generations():
    """veRL's own dump writer: ``PPOTrainer._write_generations`` of the default (v1) trainer, ``main_ppo``'s."""
    from verl.trainer.ppo.v1.trainer_base import PPOTrainer

    return PPOTrainer._write_generations


def verl_decoded_prompt(tokenizer, messages) -> str:
    """What ``_validate`` puts in ``input``: left-padded prompt ids decoded with ``skip_special_tokens=True``."""
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    ids = list(ids["input_ids"] if hasattr(ids, "keys") else ids)
    return tokenizer.decode([tokenizer.pad_token_id] * 3 + ids, skip_special_tokens=True)


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


def _answers(record, right: bool) -> str:
    gold = record["reward_model"]["ground_truth"]
    wrong = "B" if gold == "A" else "A"
    return f"<think>hmm</think> The answer is \\boxed{{{gold if right else wrong}}}"


def _write_dump(tmp_path, tokenizer, data_dir, step: int = 7):
    """Validation of medqa + pubmedqa with val n = 2: first sample right, second wrong; plus two bad rows."""
    records = read_records_parquet(benchmark_path(data_dir, "medqa")) + read_records_parquet(
        benchmark_path(data_dir, "pubmedqa")
    )
    inputs, outputs, gts, scores = [], [], [], []
    for record in records:  # repeat(interleave=True): the n samples of a prompt are adjacent
        for right in (True, False):
            inputs.append(verl_decoded_prompt(tokenizer, record["prompt"]))
            outputs.append(_answers(record, right))
            gts.append(record["reward_model"]["ground_truth"])
            scores.append(1.0 if right else 0.0)
    stranger = [{"role": "user", "content": "A question that is in no benchmark file.\n\nA. x\nB. y"}]
    inputs.append(verl_decoded_prompt(tokenizer, stranger))
    outputs.append("\\boxed{A}")
    gts.append("A")
    scores.append(1.0)
    inputs.append(inputs[0])  # the text of medqa-0 but another gold letter: the files disagree
    outputs.append("\\boxed{D}")
    gts.append("D")
    scores.append(1.0)
    order = list(range(len(inputs)))
    random.Random(0).shuffle(order)  # data.validation_shuffle defaults to True
    # what the v1 trainer passes: the reward's extra keys, plus each sample's transfer-queue uid
    extras = {"reward": [scores[i] for i in order], "acc": [scores[i] for i in order]}
    extras["uid"] = [f"val_{i}_0" for i in order]
    dump_dir = tmp_path / "val_generations"
    verl_write_generations()(
        [inputs[i] for i in order],
        [outputs[i] for i in order],
        [gts[i] for i in order],
        [scores[i] for i in order],
        extras,
        str(dump_dir),
        step,
    )
    return dump_dir, records


def test_dump_rows_match_their_questions(tmp_path, tokenizer) -> None:
    data_dir = write_benchmark_dir(tmp_path / "data", only=("medqa", "pubmedqa"))
    dump_dir, records = _write_dump(tmp_path, tokenizer, data_dir)
    rows = read_dump(dump_file(dump_dir))
    assert len(rows) == 2 * len(records) + 2
    assert rows[0].extra["step"] == 7 and "acc" in rows[0].extra
    labelled = [(r["data_source"], r) for r in records]
    match = match_dump(rows, labelled)
    assert match.skip_counts == {"unmatched": 1, "gold_mismatch": 1}
    assert len(match.records) == len(records)
    for (_, record), texts in zip(match.records, match.responses, strict=True):
        gold = record["reward_model"]["ground_truth"]
        assert sorted(texts) == sorted([_answers(record, True), _answers(record, False)]), gold


def test_eval_scores_a_verl_dump_into_the_same_report(tmp_path, tokenizer, tiny_model_dir) -> None:
    data_dir = write_benchmark_dir(tmp_path / "data", only=("medqa", "pubmedqa"))
    dump_dir, records = _write_dump(tmp_path, tokenizer, data_dir)
    out = tmp_path / "report"
    argv = ["--from_verl_dump", str(dump_dir), "--data_dir", str(data_dir), "--benchmarks", "medqa,pubmedqa"]
    assert eval_main([*argv, "--output_dir", str(out), "--tokenizer", str(tiny_model_dir)]) == 0
    payload = json.loads((out / "results.json").read_text())
    assert payload["dump"] == {"rows": 2 * len(records) + 2, "skipped": {"unmatched": 1, "gold_mismatch": 1}, "step": 7}
    for name, count in (("medqa", 3), ("pubmedqa", 3)):
        metrics = payload["benchmarks"][name]
        assert (metrics["n"], metrics["samples_per_item"]) == (count, 2)
        assert metrics["accuracy"] == pytest.approx(0.5) and metrics["accuracy_strict"] == pytest.approx(0.5)
        assert metrics["mean_response_tokens"] > 0
    skipped = [json.loads(line) for line in (out / "dump_unmatched.jsonl").read_text().splitlines()]
    assert sorted(row["reason"] for row in skipped) == ["gold_mismatch", "unmatched"]
    assert all(row["line"] >= 1 for row in skipped)
    assert (out / "results.md").is_file() and (out / "results.png").stat().st_size > 0


def test_dump_in_another_prompt_style_is_an_explained_error(tmp_path, tokenizer, capsys) -> None:
    data_dir = write_benchmark_dir(tmp_path / "data", only=("medqa", "pubmedqa"))
    dump_dir, _ = _write_dump(tmp_path, tokenizer, data_dir)
    other = write_benchmark_dir(tmp_path / "other", prompt_style="med_rlvr", only=("medqa", "pubmedqa"))
    argv = ["--from_verl_dump", str(dump_dir), "--data_dir", str(other), "--benchmarks", "medqa,pubmedqa"]
    assert eval_main([*argv, "--output_dir", str(tmp_path / "out")]) == 1
    assert "--val_files" in capsys.readouterr().err


def test_val_files_are_matched_by_their_data_source(tmp_path, tokenizer) -> None:
    data_dir = write_benchmark_dir(tmp_path / "data", only=("medqa", "pubmedqa"))
    dump_dir, _ = _write_dump(tmp_path, tokenizer, data_dir)
    out = tmp_path / "report"
    val_files = [str(benchmark_path(data_dir, "medqa")), str(benchmark_path(data_dir, "pubmedqa"))]
    assert eval_main(["--from_verl_dump", str(dump_dir), "--val_files", *val_files, "--output_dir", str(out)]) == 0
    assert set(json.loads((out / "results.json").read_text())["benchmarks"]) == {"medqa", "pubmedqa"}


def test_latest_step_is_read_unless_one_is_named(tmp_path) -> None:
    for step in (2, 10, 9):
        (tmp_path / f"{step}.jsonl").write_text("")
    assert dump_file(tmp_path).name == "10.jsonl"
    assert dump_file(tmp_path, step=9).name == "9.jsonl"
    with pytest.raises(FileNotFoundError, match=r"steps present: \[2, 9, 10\]"):
        dump_file(tmp_path, step=3)


def test_malformed_dump_line_names_file_line_and_field(tmp_path) -> None:
    path = tmp_path / "3.jsonl"
    path.write_text(json.dumps({"input": "q", "output": "a", "gts": "A"}) + "\n" + json.dumps({"input": "q"}) + "\n")
    with pytest.raises(ValueError, match=r"3\.jsonl: line 2: field 'output' is missing"):
        read_dump(path)

"""The generation + scoring engine: scoring wired to the right extraction mode, resumable sidecar, refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from alphamed.data_preprocess.cli_args import sample_in_order
from alphamed.data_preprocess.parquet_io import write_records_parquet
from alphamed.data_preprocess.schema import McqItem, to_verl_record
from alphamed.recipe.engine import (
    ItemResult,
    SamplingConfig,
    SidecarMismatchError,
    load_records,
    read_sidecar,
    run_items,
    score_record,
    sidecar_meta_path,
)
from alphamed.recipe.generate import GenerationError, HfBackend, build_backend
from tests.conftest import REPO_ROOT
from tests.recipe.openai_stub_server import StubOpenAIServer

SAMPLING = SamplingConfig(n=2, max_tokens=6, temperature=1.0, top_p=1.0, seed=11)


def _records(count: int = 7) -> list[dict]:
    """Real-shaped veRL rows: both prompt styles, answers on different letters, 4 or 5 options."""
    rows = []
    for i in range(count):
        options = ["Aspirin", "Heparin", "Warfarin", "Alteplase", "Clopidogrel"][: 4 + i % 2]
        item = McqItem(
            id=f"q{i}",
            source="medqa" if i % 3 else "pubmedqa",
            split="test",
            question=f"Case {i}: a patient with chest pain. Which drug is the best next step?",
            options=options,
            answer="ABCD"[i % 4],
        )
        rows.append(to_verl_record(item, "alphamed" if i % 2 == 0 else "med_rlvr", i))
    return rows


class CountingHf(HfBackend):
    """The real hf backend, counting the generate calls it receives (to see which batches a resume redoes)."""

    calls: list[int]

    def generate(self, requests, sampling):
        self.calls.append(len(requests))
        return super().generate(requests, sampling)


@pytest.fixture(scope="module")
def hf(tiny_model_dir) -> CountingHf:
    backend = CountingHf(str(tiny_model_dir), device="cpu")
    backend.calls = []
    return backend


@pytest.fixture(scope="module")
def reference(hf: CountingHf, tmp_path_factory) -> list[dict]:
    """An uninterrupted run (batch size 2) that resumed runs must reproduce exactly."""
    sidecar = tmp_path_factory.mktemp("ref") / "items.jsonl"
    return [r.to_json() for r in run_items(_records(), hf, SAMPLING, sidecar, batch_size=2)]


def test_results_are_in_input_order_with_n_scored_responses(reference: list[dict]) -> None:
    records = _records()
    assert [r["id"] for r in reference] == [f"q{i}" for i in range(7)]
    for record, result in zip(records, reference, strict=True):
        assert result["prompt"] == record["prompt"]
        assert result["gold"] == record["reward_model"]["ground_truth"]
        assert result["prompt_style"] == record["extra_info"]["prompt_style"]
        assert result["data_source"] == record["data_source"]
        for key in ("responses", "pred", "pred_lenient", "correct", "response_tokens"):
            assert len(result[key]) == SAMPLING.n
        assert result["correct"] == [p == result["gold"] for p in result["pred"]]
        assert all(isinstance(t, int) for t in result["response_tokens"])


def test_scoring_uses_the_prompt_styles_mode_and_lenient_beside_it(tmp_path) -> None:
    # The stub answers "... The answer is \boxed{A}." to everything: strict reads A, tagged reads nothing
    # (no <answer> tags), lenient reads A for both styles.
    records = _records(4)
    with StubOpenAIServer() as server:
        backend = build_backend("openai", "served", base_url=server.base_url)
        results = run_items(records, backend, SAMPLING, tmp_path / "s.jsonl")
    by_style = {r.prompt_style: r for r in results}
    assert by_style["alphamed"].pred == ["A", "A"] and by_style["alphamed"].pred_lenient == ["A", "A"]
    assert by_style["med_rlvr"].pred == [None, None] and by_style["med_rlvr"].pred_lenient == ["A", "A"]
    assert [r.correct for r in results] == [[r.gold == "A" and r.prompt_style == "alphamed"] * 2 for r in results]
    assert all(r.response_tokens == [None, None] for r in results)


def test_sidecar_holds_every_result_and_its_settings(reference: list[dict], tmp_path, hf: CountingHf) -> None:
    sidecar = tmp_path / "items.jsonl"
    run_items(_records(3), hf, SAMPLING, sidecar, batch_size=2)
    lines = sidecar.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["q0", "q1", "q2"]
    meta = json.loads(sidecar_meta_path(sidecar).read_text())
    assert meta["backend"] == "hf" and meta["batch_size"] == 2 and meta["sampling"]["seed"] == SAMPLING.seed
    assert meta["model"] == hf.model


def _copy_first_batches(reference_sidecar_lines: list[str], sidecar: Path, lines: int, torn: str = "") -> None:
    sidecar.write_text("".join(line + "\n" for line in reference_sidecar_lines[:lines]) + torn, encoding="utf-8")


def test_resume_skips_finished_batches_and_reproduces_the_uninterrupted_run(
    reference: list[dict], hf: CountingHf, tmp_path
) -> None:
    first = tmp_path / "first.jsonl"
    # a run that was killed after 2 of its 4 batches, mid-way through writing the third
    run_items(_records(4), hf, SAMPLING, first, batch_size=2)
    done_lines = first.read_text(encoding="utf-8").splitlines()
    half_line = json.dumps(reference[4])[:40]
    _copy_first_batches(done_lines, first, 4, torn=half_line)

    hf.calls.clear()
    resumed = run_items(_records(), hf, SAMPLING, first, batch_size=2)
    assert hf.calls == [2, 1]  # batches 2 (q4, q5) and 3 (q6) only
    assert [r.to_json() for r in resumed] == reference
    lines = first.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == [f"q{i}" for i in range(7)]  # torn tail was cut first

    hf.calls.clear()
    assert [r.to_json() for r in run_items(_records(), hf, SAMPLING, first, batch_size=2)] == reference
    assert hf.calls == []  # all done: nothing generated


def test_torn_tail_is_cut_even_when_longer_than_a_read_chunk(tmp_path, reference: list[dict]) -> None:
    from alphamed.recipe.engine import _truncate_torn_tail

    sidecar = tmp_path / "s.jsonl"
    whole = json.dumps(reference[0]) + "\n"
    sidecar.write_text(whole + json.dumps(reference[1])[:-3])
    _truncate_torn_tail(sidecar, chunk=7)
    assert sidecar.read_text() == whole
    sidecar.write_text(json.dumps(reference[1])[:-3])  # nothing complete at all
    _truncate_torn_tail(sidecar, chunk=7)
    assert sidecar.read_text() == ""


def test_a_partly_written_batch_is_generated_again_whole(reference: list[dict], hf: CountingHf, tmp_path) -> None:
    sidecar = tmp_path / "partial.jsonl"
    run_items(_records(3), hf, SAMPLING, sidecar, batch_size=2)  # q0..q2: batch 1 holds only q2 of (q2, q3)
    hf.calls.clear()
    results = run_items(_records(), hf, SAMPLING, sidecar, batch_size=2)
    assert hf.calls == [2, 2, 1]
    assert [r.to_json() for r in results] == reference


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sampling": SamplingConfig(n=2, max_tokens=6, temperature=1.0, top_p=1.0, seed=12)}, "sampling"),
        ({"sampling": SamplingConfig(n=3, max_tokens=6, temperature=1.0, top_p=1.0, seed=11)}, "sampling"),
        ({"batch_size": 3}, "batch_size"),
    ],
)
def test_resuming_with_other_settings_is_refused(change, field, hf: CountingHf, tmp_path) -> None:
    sidecar = tmp_path / "s.jsonl"
    run_items(_records(2), hf, SAMPLING, sidecar, batch_size=2)
    kwargs = {"sampling": SAMPLING, "batch_size": 2, **change}
    with pytest.raises(SidecarMismatchError, match=f"refusing to mix runs.*{field}"):
        run_items(_records(2), hf, kwargs["sampling"], sidecar, batch_size=kwargs["batch_size"])


def test_resuming_with_another_model_is_refused(hf: CountingHf, tmp_path) -> None:
    sidecar = tmp_path / "s.jsonl"
    run_items(_records(1), hf, SAMPLING, sidecar, batch_size=2)
    with StubOpenAIServer() as server:
        other = build_backend("openai", "other-model", base_url=server.base_url)
        with pytest.raises(SidecarMismatchError, match="model"):
            run_items(_records(1), other, SAMPLING, sidecar, batch_size=2)
    assert server.requests == []


def test_a_sidecar_without_its_settings_is_refused(hf: CountingHf, tmp_path) -> None:
    sidecar = tmp_path / "s.jsonl"
    run_items(_records(1), hf, SAMPLING, sidecar)
    sidecar_meta_path(sidecar).unlink()
    with pytest.raises(SidecarMismatchError, match="cannot tell how it was made"):
        run_items(_records(1), hf, SAMPLING, sidecar)


def test_an_edited_input_under_the_same_ids_is_refused(hf: CountingHf, tmp_path) -> None:
    sidecar = tmp_path / "s.jsonl"
    run_items(_records(2), hf, SAMPLING, sidecar, batch_size=2)
    edited = _records(2)
    edited[1]["prompt"][-1]["content"] += " (edited)"
    with pytest.raises(SidecarMismatchError, match="'q1' was generated for a different prompt"):
        run_items(edited, hf, SAMPLING, sidecar, batch_size=2)


def test_duplicate_ids_and_bad_rows_fail_before_generating(hf: CountingHf, tmp_path) -> None:
    records = _records(3)
    hf.calls.clear()
    with pytest.raises(ValueError, match=r"1 duplicate item id\(s\).*'q0' x2"):
        run_items([*records, records[0]], hf, SAMPLING, tmp_path / "a.jsonl")
    bad_answer = _records(3)
    bad_answer[2]["reward_model"]["ground_truth"] = "F"
    with pytest.raises(ValueError, match="record 2: field answer"):
        run_items(bad_answer, hf, SAMPLING, tmp_path / "b.jsonl")
    bad_style = _records(3)
    bad_style[1]["extra_info"]["prompt_style"] = "cot"
    with pytest.raises(ValueError, match=r"record 1 \(id q1\): field extra_info.prompt_style"):
        run_items(bad_style, hf, SAMPLING, tmp_path / "c.jsonl")
    assert hf.calls == []


def test_a_corrupt_line_inside_the_sidecar_is_an_error_naming_it(tmp_path, reference: list[dict]) -> None:
    sidecar = tmp_path / "s.jsonl"
    sidecar.write_text(json.dumps(reference[0]) + "\n{oops\n" + json.dumps(reference[1]) + "\n")
    with pytest.raises(ValueError, match="line 2: not an ItemResult"):
        read_sidecar(sidecar)


def test_item_result_round_trips_and_names_missing_fields(reference: list[dict]) -> None:
    result = ItemResult.from_json(reference[0])
    assert result.to_json() == reference[0]
    assert result.accuracy == sum(reference[0]["correct"]) / SAMPLING.n
    with pytest.raises(ValueError, match="missing field.*responses"):
        ItemResult.from_json({k: v for k, v in reference[0].items() if k != "responses"})


def test_load_records_reads_parquet_and_samples_each_file_as_prepare_does(tmp_path) -> None:
    path = write_records_parquet(_records(5), tmp_path / "test.parquet")
    ids = [f"q{i}" for i in range(5)]
    assert [r["extra_info"]["id"] for r in load_records(path)] == ids
    for seed in (0, 1):
        sampled = [r["extra_info"]["id"] for r in load_records([path], max_samples=2, seed=seed)]
        assert sampled == sample_in_order(ids, 2, seed)  # prepare's draw, in file order
        assert len(sampled) == 2 and sampled == sorted(sampled, key=ids.index)
    twice = [r["extra_info"]["id"] for r in load_records([path, path], max_samples=2)]
    assert twice == sample_in_order(ids, 2, 0) * 2  # per file, not over the concatenation
    with pytest.raises(FileNotFoundError, match="no such parquet file"):
        load_records(tmp_path / "missing.parquet")


def test_engine_module_summarises_a_sidecar_as_a_script(tmp_path, reference: list[dict]) -> None:
    sidecar = tmp_path / "s.jsonl"
    sidecar.write_text("".join(json.dumps(r) + "\n" for r in reference))
    result = subprocess.run(
        [sys.executable, "recipe/engine.py", str(sidecar)], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["medqa"][1] == "4" and rows["pubmedqa"][1] == "3"


def test_score_record_scores_outside_responses_like_run_items() -> None:
    alphamed, med_rlvr = _records(2)  # q0: alphamed style, gold A; q1: med_rlvr style, gold B
    result = score_record(alphamed, ["so \\boxed{A}", "<think>x</think> \\boxed{B}", "A or B"], [3, 5, 2])
    assert (result.pred, result.correct, result.response_tokens) == (["A", "B", None], [True, False, False], [3, 5, 2])
    tagged = score_record(med_rlvr, ["<think>hmm</think><answer>B</answer>", "The answer is B."])
    assert tagged.pred == ["B", None] and tagged.pred_lenient[1] == "B" and tagged.correct == [True, False]
    assert tagged.response_tokens == [None, None]
    with pytest.raises(ValueError, match="2 responses but 1 token counts"):
        score_record(alphamed, ["a", "b"], [1])


@pytest.mark.parametrize("text", ['{"format": 2, "backe', "[1, 2]", "\udcff"])
def test_a_truncated_settings_file_is_an_error_naming_it(text, hf: CountingHf, tmp_path) -> None:
    sidecar = tmp_path / "s.jsonl"
    sidecar_meta_path(sidecar).write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ValueError, match=rf"{sidecar_meta_path(sidecar)}: not the settings of its sidecar"):
        run_items(_records(1), hf, SAMPLING, sidecar)


def test_text_that_is_not_valid_unicode_is_stored_with_replacement_characters(tmp_path, capsys) -> None:
    """A lone surrogate escape or non-UTF-8 bytes in a server's reply never stop a run: U+FFFD, counted."""
    sidecar = tmp_path / "s.jsonl"
    with StubOpenAIServer(script=["lone_surrogate", "invalid_bytes"]) as server:
        backend = build_backend("openai", "served", base_url=server.base_url, max_concurrency=1)
        sampling = SamplingConfig(n=1, max_tokens=6, temperature=1.0, top_p=1.0, seed=11)
        results = run_items(_records(3), backend, sampling, sidecar)
    assert [r.responses[0].endswith("\ufffd") for r in results] == [True, True, False]
    assert "\ud83d" not in results[0].responses[0] and "<not-utf8>" not in results[1].responses[0]
    assert [r.pred_lenient for r in results] == [["A"], ["A"], ["A"]]  # the answer before the bad text still reads
    assert [r.to_json() for r in read_sidecar(sidecar).values()] == [r.to_json() for r in results]
    assert "2 response(s) held text that is not valid Unicode" in capsys.readouterr().err


def test_a_failing_request_is_named_by_its_item_id(tmp_path) -> None:
    with StubOpenAIServer(script=["ok", 401]) as server:
        backend = build_backend("openai", "served", base_url=server.base_url, max_concurrency=1)
        with pytest.raises(GenerationError, match=r"model 'served', item 'q1': the server refused") as info:
            run_items(_records(2), backend, SAMPLING, tmp_path / "s.jsonl")
    assert "request 1" not in str(info.value)

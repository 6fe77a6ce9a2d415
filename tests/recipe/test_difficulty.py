"""``alphamed annotate``: binning, the level report, the hf backend end to end on real items, kill-and-resume."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alphamed.data_preprocess.parquet_io import read_records_parquet, write_records_parquet
from alphamed.data_preprocess.schema import McqItem, from_verl_record, to_verl_record
from alphamed.recipe.difficulty import (
    annotate_record,
    difficulty_level,
    level_summary,
    main,
    parse_edges,
    summary_markdown,
)
from alphamed.recipe.engine import ItemResult, read_sidecar
from tests.conftest import REPO_ROOT, SHARED_DATA

EDGES = (0.2, 0.5, 0.8)


@pytest.mark.parametrize(
    ("correct", "by_wrong_answers", "by_edges"),
    [
        ([True] * 5, 1, 1),
        ([True, True, True, True, False], 2, 1),  # pass rate 0.8 sits on an edge: the easier bin
        ([True, False, True, False, True], 3, 2),
        ([False, True, False, False, True], 4, 3),
        ([False, False, True, False, False], 5, 3),
        ([False] * 5, 6, 4),
        ([True, False], 2, 2),
    ],
)
def test_difficulty_levels(correct: list[bool], by_wrong_answers: int, by_edges: int) -> None:
    assert difficulty_level(correct) == by_wrong_answers
    assert difficulty_level(correct, EDGES) == by_edges


def test_pass_rate_edges_are_checked() -> None:
    assert parse_edges("0.8, 0.2,0.5,0.5") == EDGES
    for bad in ("", "0.5,1", "0,0.5", "a,b"):
        with pytest.raises(argparse.ArgumentTypeError, match="--pass_rate_edges"):
            parse_edges(bad)
    with pytest.raises(ValueError, match="at least one"):
        difficulty_level([])


def _item(i: int, source: str = "medqa") -> McqItem:
    return McqItem(
        id=f"{source}-{i}", source=source, split="train", question=f"Question {i}?", options=["x", "y", "z"], answer="B"
    )


def _result(record: dict, correct: list[bool]) -> ItemResult:
    """An engine result as the sidecar holds it (the engine's own data type, filled in by hand)."""
    n = len(correct)
    return ItemResult(
        id=record["extra_info"]["id"],
        data_source=record["data_source"],
        gold="B",
        prompt_style="alphamed",
        prompt=record["prompt"],
        responses=["..."] * n,
        pred=["B" if c else None for c in correct],
        pred_lenient=[None] * n,
        correct=correct,
        response_tokens=[1] * n,
    )


def test_annotation_fields_and_level_summary() -> None:
    records = [
        to_verl_record(_item(i, source), "alphamed", i) for i, source in enumerate(["medqa", "medqa", "pubmedqa"])
    ]
    results = [_result(records[0], [True, True]), _result(records[1], [True, False]), _result(records[2], [False] * 2)]
    annotated = [annotate_record(r, res, None) for r, res in zip(records, results, strict=True)]
    assert [a["extra_info"]["difficulty"] for a in annotated] == [1, 2, 3]
    assert [a["extra_info"]["pass_rate"] for a in annotated] == [1.0, 0.5, 0.0]
    assert records[0]["extra_info"].get("difficulty") is None  # the input row is not modified
    assert from_verl_record(annotated[1]) == from_verl_record(records[1])
    summary = level_summary(annotated, results, levels=3)
    assert summary["medqa"] == {
        "items": 2,
        "levels": {"1": 1, "2": 1, "3": 0},
        "mean_pass_rate": 0.75,
        "unreadable_share": 0.25,
    }
    assert summary["pubmedqa"]["unreadable_share"] == 1.0 and summary["all"]["items"] == 3
    table = summary_markdown(summary)
    assert "| medqa | 1 | 1 | 0 | 2 | 0.750 | 25.0% |" in table and "| all | 1 | 1 | 1 | 3 |" in table


#: Real MedQA / PubMedQA release files: the full ones beside the repo when present, else the repo's own cuts.
REAL_FILES = (
    (SHARED_DATA / "medqa" / "US_4_options_phrases_no_exclude_test.jsonl", SHARED_DATA / "pubmedqa" / "ori_pqal.json")
    if SHARED_DATA.is_dir()
    else (
        REPO_ROOT / "examples" / "data" / "medqa" / "4_options" / "phrases_no_exclude_test.jsonl",
        REPO_ROOT / "examples" / "data" / "pubmedqa" / "ori_pqal.json",
    )
)


def real_records(medqa: int, pubmedqa: int) -> list[dict]:
    """Real MedQA (4-option test) and PubMedQA (PQA-L) questions as veRL rows, both prompt styles."""
    items = []
    medqa_file, pqal_file = REAL_FILES
    with open(medqa_file, encoding="utf-8") as handle:
        for i, line in zip(range(medqa), handle, strict=False):
            row = json.loads(line)
            options = [row["options"][letter] for letter in sorted(row["options"])]
            items.append(McqItem(f"medqa-test-{i}", "medqa", "test", row["question"], options, row["answer_idx"]))
    pqal = json.loads(pqal_file.read_text(encoding="utf-8"))
    for pmid in sorted(pqal)[:pubmedqa]:
        row = pqal[pmid]
        answer = "ABC"["yes no maybe".split().index(row["final_decision"])]
        items.append(McqItem(f"pubmedqa-{pmid}", "pubmedqa", "test", row["QUESTION"], ["yes", "no", "maybe"], answer))
    return [to_verl_record(item, ("alphamed", "med_rlvr")[i % 2], i) for i, item in enumerate(items)]


def test_hf_backend_end_to_end_on_real_items(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    records = real_records(medqa=8, pubmedqa=16)
    write_records_parquet(records[:10], tmp_path / "a.parquet")
    write_records_parquet(records[10:], tmp_path / "b.parquet")
    out = tmp_path / "out" / "train.annotated.parquet"
    args = [
        "--input",
        str(tmp_path / "a.parquet"),
        str(tmp_path / "b.parquet"),
        "--output",
        str(out),
        "--model",
        str(tiny_model_dir),
        "--backend",
        "hf",
        "--device",
        "cpu",
        "--k",
        "3",
        "--max_tokens",
        "12",
        "--batch_size",
        "8",
        "--seed",
        "3",
    ]
    assert main(args) == 0
    annotated = read_records_parquet(out)
    sidecar = read_sidecar(out.parent / "train.annotated.sidecar.jsonl")
    assert len(annotated) == len(sidecar) == 24
    for record, row in zip(records, annotated, strict=True):
        extra = row["extra_info"]
        result = sidecar[extra["id"]]
        assert len(result.responses) == 3
        assert extra["pass_rate"] == sum(result.correct) / 3
        assert extra["difficulty"] == 4 - sum(result.correct)
        assert {k: v for k, v in extra.items() if k not in ("pass_rate", "difficulty")} == record["extra_info"]
        assert {k: v for k, v in row.items() if k != "extra_info"} == {
            k: v for k, v in record.items() if k != "extra_info"
        }
    report = json.loads((out.parent / "train.annotated.levels.json").read_text())
    assert {s: r["items"] for s, r in report["by_data_source"].items()} == {"medqa": 8, "pubmedqa": 16, "all": 24}
    for source in ("medqa", "pubmedqa"):
        expected = [
            sum(1 for r in annotated if r["data_source"] == source and r["extra_info"]["difficulty"] == lv)
            for lv in range(1, 5)
        ]
        assert list(report["by_data_source"][source]["levels"].values()) == expected
    assert report["sampling"] == {"n": 3, "max_tokens": 12, "temperature": 1.0, "top_p": 1.0, "seed": 3}
    assert (out.parent / "train.annotated.levels.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| pubmedqa |" in (out.parent / "train.annotated.levels.md").read_text()
    assert "| medqa |" in capsys.readouterr().out
    # Re-binning reuses the sidecar: nothing is generated again and the levels follow the edges.
    rebinned = tmp_path / "rebinned.parquet"
    assert (
        main(
            [
                *args[:4],
                str(rebinned),
                "--sidecar",
                str(out.parent / "train.annotated.sidecar.jsonl"),
                *args[5:],
                "--pass_rate_edges",
                "0.5",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "24 of 24 items already done" in captured.out + captured.err
    for row in read_records_parquet(rebinned):
        assert row["extra_info"]["difficulty"] == (1 if row["extra_info"]["pass_rate"] >= 0.5 else 2)


def test_bad_input_is_a_clear_error(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nope.parquet"
    assert main(["--input", str(missing), "--output", str(tmp_path / "o.parquet"), "--model", "m"]) == 2
    assert f"{missing}: no such parquet file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--input", str(missing), "--output", "o.parquet", "--pass_rate_edges", "2"])


def _annotate_command(input_path: Path, output: Path, model: Path) -> list[str]:
    return [
        sys.executable,
        str(REPO_ROOT / "recipe" / "difficulty.py"),
        "--input",
        str(input_path),
        "--output",
        str(output),
        "--model",
        str(model),
        "--backend",
        "hf",
        "--device",
        "cpu",
        "--k",
        "2",
        "--max_tokens",
        "16",
        "--batch_size",
        "4",
        "--seed",
        "7",
    ]


@pytest.mark.slow
def test_sigkill_and_resume_gives_the_uninterrupted_output(tiny_model_dir: Path, tmp_path: Path):
    records = real_records(medqa=10, pubmedqa=30)
    write_records_parquet(records, tmp_path / "in.parquet")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # same arithmetic in every process
    reference = subprocess.Popen(
        _annotate_command(tmp_path / "in.parquet", tmp_path / "ref" / "out.parquet", tiny_model_dir),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = tmp_path / "killed" / "out.parquet"
    command = _annotate_command(tmp_path / "in.parquet", killed, tiny_model_dir)
    victim = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sidecar = killed.parent / "out.sidecar.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and victim.poll() is None:
        if sidecar.is_file() and sidecar.read_bytes().count(b"\n") >= 4:  # at least one batch of 4 is on disk
            victim.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    assert victim.wait(timeout=60) == -signal.SIGKILL, "the run ended before it could be killed mid-way"
    done_before = sidecar.read_bytes().count(b"\n")
    assert 4 <= done_before < len(records)
    assert not killed.exists()
    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming; {done_before - done_before % 4} of {len(records)} items already done" in resumed.stdout
    _, reference_err = reference.communicate(timeout=300)
    assert reference.returncode == 0, reference_err[-2000:]
    assert killed.read_bytes() == (tmp_path / "ref" / "out.parquet").read_bytes()
    assert read_sidecar(sidecar) == read_sidecar(tmp_path / "ref" / "out.sidecar.jsonl")

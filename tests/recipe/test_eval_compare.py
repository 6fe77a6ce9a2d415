"""``alphamed eval-compare``: two runs side by side, with deltas, a JSON copy and a grouped bar plot."""

from __future__ import annotations

import json

import matplotlib.image
import pytest

from alphamed.recipe.cli import main as cli_main
from alphamed.recipe.engine import ItemResult
from alphamed.recipe.eval_compare import compare
from alphamed.recipe.eval_report import write_report
from tests.recipe.eval_fixtures import png_size

GREEDY = {"n": 1, "temperature": 0.0, "top_p": 1.0, "max_tokens": 2048, "seed": 0, "max_samples": None}


def _run(out, model: str, correct: dict[str, list[bool]], settings=GREEDY, style="alphamed", first_id=0, **info):
    items = {
        name: [
            ItemResult(
                id=f"{name}-{first_id + i}",
                data_source=name,
                gold="A",
                prompt_style=style,
                prompt=[{"role": "user", "content": "q"}],
                responses=["r"],
                pred=["A" if ok else None],
                pred_lenient=["A" if ok else "B"],
                correct=[ok],
                response_tokens=[10],
            )
            for i, ok in enumerate(flags)
        ]
        for name, flags in correct.items()
    }
    write_report(items, out, {"model": model, "source": "generation", "settings": settings, **info})
    return out


def test_two_runs_side_by_side(tmp_path, capsys) -> None:
    base = _run(tmp_path / "base", "base-model", {"medqa": [True, False, False, False], "pubmedqa": [True, False]})
    tuned = _run(tmp_path / "tuned", "rl-step-100", {"medqa": [True, True, True, False], "pubmedqa": [True, True]})
    out = tmp_path / "cmp"
    assert cli_main(["eval-compare", str(base), str(tuned), "--output_dir", str(out)]) == 0
    markdown = (out / "compare.md").read_text()
    header = "| benchmark | base n | base acc % (95% CI) | tuned n | tuned acc % (95% CI) | Δ tuned vs base |"
    assert header in markdown
    assert "| medqa | 4 | 25.0 (" in markdown and "| 4 | 75.0 (" in markdown and "| +50.0 |" in markdown
    assert "| pubmedqa | 2 | 50.0 (" in markdown and "| 2 | 100.0 (" in markdown
    assert "| **average (unweighted)** | 6 | 37.5 (2 benchmarks) | 6 | 87.5 (2 benchmarks) | +50.0 |" in markdown
    assert "NOT LIKE FOR LIKE" not in markdown and "†" not in markdown
    assert "`rl-step-100`" in markdown
    payload = json.loads((out / "compare.json").read_text())
    assert payload["runs"]["tuned"]["benchmarks"][0]["accuracy"] == 0.75
    assert payload["comparable"] is True and payload["warnings"] == []
    width, height = png_size(out / "compare.png")
    assert matplotlib.image.imread(out / "compare.png").shape[:2] == (height, width)
    captured = capsys.readouterr()
    assert "Δ tuned vs base" in captured.out and "WARNING" not in captured.err


def test_a_benchmark_missing_from_one_run_shows_a_dash(tmp_path) -> None:
    a = _run(tmp_path / "a", "a", {"medqa": [True]})
    b = _run(tmp_path / "b", "b", {"medqa": [False], "gpqa_med": [True]})
    paths = compare([a, b], tmp_path / "cmp", labels=["first", "second"])
    assert "| gpqa_med | — | — | 1 | 100.0 (" in paths["md"].read_text()
    assert paths["warnings"] == []  # a benchmark only one run has is shown, not a difference in items


def test_runs_that_measured_different_things_are_flagged(tmp_path, capsys) -> None:
    base = _run(tmp_path / "base", "llama-8b", {"medqa": [True] * 20, "pubmedqa": [True, False]}, revision="abc1")
    sampled = {**GREEDY, "n": 4, "temperature": 0.6, "max_samples": 60}
    other = _run(
        tmp_path / "other",
        "llama-8b",
        {"medqa": [True] * 60, "pubmedqa": [False, False]},
        settings=sampled,
        style="med_rlvr",
        first_id=100,  # pubmedqa: same n, other questions
        revision="def2",
    )
    out = tmp_path / "cmp"
    assert cli_main(["eval-compare", str(base), str(other), "--output_dir", str(out)]) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("alphamed eval-compare: WARNING: ")]
    text = "\n".join(warnings)
    assert "medqa n differs (base 20, other 60)" in text
    assert "pubmedqa: same n (2) but different questions" in text
    assert "sampling setting n differs: base 1, other 4" in text
    assert "sampling setting temperature differs: base 0.0, other 0.6" in text
    assert "prompt style differs: base alphamed, other med_rlvr" in text
    assert "revision of model llama-8b differs: base abc1, other def2" in text
    assert "sampling setting top_p" not in text and "seed" not in text  # what is equal is not flagged
    markdown = (out / "compare.md").read_text()
    assert "NOT LIKE FOR LIKE" in markdown and all(f"- ⚠ {w.split('WARNING: ')[1]}" in markdown for w in warnings)
    assert "| +0.0 † |" in markdown and "| -50.0 † |" in markdown
    assert "† the runs scored different questions" in markdown
    assert json.loads((out / "compare.json").read_text())["comparable"] is False


def test_a_setting_one_run_did_not_record_is_a_difference(tmp_path) -> None:
    a = _run(tmp_path / "a", "m", {"medqa": [True]})
    b = _run(tmp_path / "b", "m2", {"medqa": [True]}, settings={"n": 1, "temperature": 0.0, "top_p": 1.0})
    warnings = compare([a, b], tmp_path / "cmp")["warnings"]
    assert warnings == ["sampling setting max_tokens differs: a 2048, b not recorded"]


def test_bad_inputs_are_clear_errors(tmp_path, capsys) -> None:
    a = _run(tmp_path / "a", "a", {"medqa": [True]})
    with pytest.raises(ValueError, match="2 names for 1 runs"):
        compare([a], tmp_path / "cmp", labels=["x", "y"])
    assert cli_main(["eval-compare", str(a), str(tmp_path / "nothing"), "--output_dir", str(tmp_path / "c")]) == 1
    assert "no results.json" in capsys.readouterr().err

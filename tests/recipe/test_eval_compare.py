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


def _run(out, model: str, correct: dict[str, list[bool]]):
    items = {
        name: [
            ItemResult(
                id=f"{name}-{i}",
                data_source=name,
                gold="A",
                prompt_style="alphamed",
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
    write_report(items, out, {"model": model, "source": "test", "settings": {}})
    return out


def test_two_runs_side_by_side(tmp_path, capsys) -> None:
    base = _run(tmp_path / "base", "base-model", {"medqa": [True, False, False, False], "pubmedqa": [True, False]})
    tuned = _run(tmp_path / "tuned", "rl-step-100", {"medqa": [True, True, True, False], "pubmedqa": [True, True]})
    out = tmp_path / "cmp"
    assert cli_main(["eval-compare", str(base), str(tuned), "--output_dir", str(out)]) == 0
    markdown = (out / "compare.md").read_text()
    assert "| benchmark | base acc % (95% CI) | tuned acc % (95% CI) | Δ tuned vs base |" in markdown
    assert "| medqa | 25.0 (" in markdown and "| +50.0 |" in markdown  # 25% -> 75%
    assert "| pubmedqa | 50.0 (" in markdown and "| +50.0 |" in markdown  # 50% -> 100%
    assert "| **average (unweighted)** | 37.5 (2 benchmarks) | 87.5 (2 benchmarks) | +50.0 |" in markdown
    assert "`rl-step-100`" in markdown
    payload = json.loads((out / "compare.json").read_text())
    assert payload["runs"]["tuned"]["benchmarks"][0]["accuracy"] == 0.75
    width, height = png_size(out / "compare.png")
    assert matplotlib.image.imread(out / "compare.png").shape[:2] == (height, width)
    assert "Δ tuned vs base" in capsys.readouterr().out


def test_a_benchmark_missing_from_one_run_shows_a_dash(tmp_path) -> None:
    a = _run(tmp_path / "a", "a", {"medqa": [True]})
    b = _run(tmp_path / "b", "b", {"medqa": [False], "gpqa_med": [True]})
    paths = compare([a, b], tmp_path / "cmp", labels=["first", "second"])
    assert "| gpqa_med | — | 100.0 (" in paths["md"].read_text()


def test_bad_inputs_are_clear_errors(tmp_path, capsys) -> None:
    a = _run(tmp_path / "a", "a", {"medqa": [True]})
    with pytest.raises(ValueError, match="2 names for 1 runs"):
        compare([a], tmp_path / "cmp", labels=["x", "y"])
    assert cli_main(["eval-compare", str(a), str(tmp_path / "nothing"), "--output_dir", str(tmp_path / "c")]) == 1
    assert "no results.json" in capsys.readouterr().err


def test_a_truncated_results_json_is_one_line_naming_it(tmp_path, capsys) -> None:
    a = _run(tmp_path / "a", "a", {"medqa": [True]})
    b = _run(tmp_path / "b", "b", {"medqa": [False]})
    results = b / "results.json"
    results.write_text(results.read_text()[:50])
    assert cli_main(["eval-compare", str(a), str(b), "--output_dir", str(tmp_path / "cmp")]) == 1
    err = capsys.readouterr().err
    assert f"{results}: not an alphamed results.json: truncated" in err and len(err.strip().splitlines()) == 1

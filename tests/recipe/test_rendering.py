"""The shared report shapes: a markdown table (blank vs empty cells, alignment) and a grouped bar chart."""

from __future__ import annotations

import matplotlib.image

from alphamed.recipe.rendering import grouped_bars, markdown_table
from tests.recipe.eval_fixtures import png_size


def test_markdown_table_alignment_and_blank_cells() -> None:
    table = markdown_table(["name", "x", "y"], [["a", "1", ""], ["**all**", None, "2"]], numeric=True)
    assert table.splitlines() == ["| name | x | y |", "|---|---:|---:|", "| a | 1 |  |", "| **all** | | 2 |"]
    assert markdown_table(["a", "b"], [], numeric=False) == "| a | b |\n|---|---|"


def test_grouped_bars_skip_missing_categories_and_leave_no_temp_file(tmp_path) -> None:
    path = tmp_path / "deep" / "plot.png"
    heights = {"run1": {"medqa": 50.0, "pubmedqa": 75.0}, "run2": {"pubmedqa": 60.0}}
    errors = {"run1": {"medqa": (5.0, 5.0), "pubmedqa": (3.0, 2.0)}, "run2": {"pubmedqa": (1.0, 1.0)}}
    written = grouped_bars(
        path, ["medqa", "pubmedqa"], heights, errors=errors, title="t", ylabel="y", figsize=(6.0, 4.0), ylim=(0, 100)
    )
    assert written == path and [p.name for p in path.parent.iterdir()] == ["plot.png"]
    width, height = png_size(path)
    assert (width, height) == (720, 480)  # figsize x dpi 120
    assert matplotlib.image.imread(path).shape[:2] == (height, width)

"""The two shapes every report here takes: a markdown table and a grouped bar chart (evaluation results, run
comparisons, difficulty levels), written once so that the reports look alike and are written atomically."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from alphamed.data_preprocess.parquet_io import write_file_atomic


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str | None]], *, numeric: bool) -> str:
    """A pipe table; ``numeric`` right-aligns every column after the first. A ``None`` cell is left blank
    (``| |``), an empty string is an empty value (``|  |``)."""

    def line(cells: Sequence[str | None]) -> str:
        return "|" + "|".join(" " if cell is None else f" {cell} " for cell in cells) + "|"

    rule = "|---|" + ("---:|" if numeric else "---|") * (len(header) - 1)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def grouped_bars(
    path: Path,
    categories: Sequence[str],
    series: Mapping[str, Mapping[str, float]],
    *,
    title: str,
    ylabel: str,
    figsize: tuple[float, float],
    errors: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
    xlabel: str | None = None,
    tick_labels: Sequence[str] | None = None,
    tick_rotation: float = 0,
    ylim: tuple[float, float] | None = None,
    grid: bool = False,
    legend: str | float | None = "small",
) -> Path:
    """One group of bars per category, one bar per series (a series may lack a category: no bar), optional
    (below, above) error bars; saved as PNG with matplotlib's Agg backend (no display needed).

    ``legend`` is the legend's font size, or ``None`` for no legend.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=figsize)
    for i, (label, heights) in enumerate(series.items()):
        present = [(j, name) for j, name in enumerate(categories) if name in heights]
        positions = [j + (i - (len(series) - 1) / 2) * width for j, _ in present]
        bars = {"width": width, "label": label}
        if errors is not None:
            spans = [errors[label][name] for _, name in present]
            bars.update(yerr=[[below for below, _ in spans], [above for _, above in spans]], capsize=3)
        ax.bar(positions, [heights[name] for _, name in present], **bars)
    rotated = {"rotation": tick_rotation, "ha": "right"} if tick_rotation else {}
    ax.set_xticks(range(len(categories)), list(tick_labels or categories), **rotated)
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_title(title)
    if grid:
        ax.grid(axis="y", alpha=0.3)
    if legend is not None:
        ax.legend(fontsize=legend)
    fig.tight_layout()
    try:
        return write_file_atomic(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    finally:
        plt.close(fig)

"""Charts for a paper: respondents per theme and a code co-occurrence heatmap.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot), so
no global backend is switched and nothing opens a window; saving a figure
renders it with Agg (PNG) or the SVG backend. Each chart function returns the
Figure, whose artists hold exactly the values computed by ``qualcode.themes``.
"""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

from qualcode.errors import InputError

CHART_FORMATS = ("png", "svg", "pdf")
# Colour-blind-safe qualitative palette (Okabe & Ito 2008).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
FONT_SIZE = 9
WIDTH_INCHES = 6.5  # a journal text block


def _wrap(label: str, width: int = 38) -> str:
    return "\n".join(textwrap.wrap(label, width)) or label


def themes_chart(
    conn: sqlite3.Connection,
    *,
    coder: str | None = None,
    by: str | None = None,
    level: str = "theme",
):
    """Horizontal bars: distinct respondents per theme (``level`` as in ``compute_counts``).

    With ``by`` each bar is split (stacked) by the respondents' value of that
    attribute, so a bar's total is still the theme's n. Returns the Figure;
    ``figure.qualcode_counts`` holds the CountsResult it was drawn from.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from qualcode.themes import compute_counts

    counts = compute_counts(conn, coder=coder, level=level, by=by)
    table = counts.table
    if table.empty:
        raise InputError("the codebook has no codes at this level; nothing to chart")
    labels = [("    " if depth > 1 else "") + _wrap(label) for label, depth in zip(table["label"], table["depth"])]
    positions = list(range(len(table)))[::-1]  # first theme at the top
    height = max(2.2, 0.32 * sum(label.count("\n") + 1 for label in labels) + 1.3)
    figure = Figure(figsize=(WIDTH_INCHES, height), layout="constrained")
    axes = figure.add_subplot()
    if by:
        left = [0] * len(table)
        for index, value in enumerate(counts.group_denominators):
            widths = table[f"n ({value})"].tolist()
            axes.barh(positions, widths, left=left, color=PALETTE[index % len(PALETTE)],
                      label=f"{value} (N = {counts.group_denominators[value]})", height=0.7)
            left = [a + b for a, b in zip(left, widths)]
        # Above the plot, outside the axes, so it never hides a bar.
        figure.legend(title=by, fontsize=FONT_SIZE - 1, title_fontsize=FONT_SIZE - 1, frameon=False,
                      loc="outside upper center", ncols=min(len(counts.group_denominators), 4))
    else:
        axes.barh(positions, table["n"].tolist(), color=PALETTE[0], height=0.7)
    for position, n in zip(positions, table["n"].tolist()):
        axes.text(n + 0.1, position, str(n), va="center", ha="left", fontsize=FONT_SIZE)
    axes.set_yticks(positions, labels, fontsize=FONT_SIZE)
    for tick, depth in zip(axes.get_yticklabels(), table["depth"].tolist()):
        if depth == 1 and (table["depth"] > 1).any():
            tick.set_fontweight("bold")
    axes.set_xlim(0, counts.denominator + 0.5)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(axis="x", labelsize=FONT_SIZE)
    axes.set_xlabel(f"Respondents (N = {counts.denominator})", fontsize=FONT_SIZE)
    axes.spines[["top", "right"]].set_visible(False)
    figure.qualcode_counts = counts
    return figure


def cooccurrence_chart(
    conn: sqlite3.Connection,
    *,
    coder: str | None = None,
    by: str = "respondents",
    level: str = "code",
):
    """A heatmap of code co-occurrence (respondents or units coded with both codes).

    The image array equals ``qualcode.themes.cooccurrence``; each cell is
    annotated with its value. ``figure.qualcode_matrix`` holds that DataFrame.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from qualcode.codebook import load_tree
    from qualcode.themes import cooccurrence

    matrix = cooccurrence(conn, coder=coder, by=by, level=level)
    if matrix.empty:
        raise InputError("the codebook has no codes at this level; nothing to chart")
    tree = load_tree(conn)
    labels = [_wrap(tree.by_key[key].label, 30) for key in matrix.index]
    size = len(labels)
    side = min(max(3.5, 0.38 * size + 2.5), 9.0)
    figure = Figure(figsize=(max(side, WIDTH_INCHES), side), layout="constrained")
    axes = figure.add_subplot()
    values = matrix.to_numpy()
    image = axes.imshow(values, cmap="Blues", vmin=0, vmax=max(int(values.max()), 1))
    axes.set_xticks(range(size), labels, rotation=60, ha="right", rotation_mode="anchor",
                    fontsize=FONT_SIZE - (1 if size > 12 else 0))
    axes.set_yticks(range(size), labels, fontsize=FONT_SIZE - (1 if size > 12 else 0))
    threshold = values.max() / 2 if values.max() else 1
    for row in range(size):
        for column in range(size):
            value = int(values[row, column])
            axes.text(column, row, str(value), ha="center", va="center",
                      fontsize=FONT_SIZE - (2 if size > 12 else 1),
                      color="white" if value > threshold else "black")
    colorbar = figure.colorbar(image, ax=axes, shrink=0.8)
    colorbar.locator = MaxNLocator(integer=True)
    colorbar.update_ticks()
    colorbar.set_label("Respondents coded with both" if by == "respondents" else "Paragraphs coded with both",
                       fontsize=FONT_SIZE)
    colorbar.ax.tick_params(labelsize=FONT_SIZE - 1)
    figure.qualcode_matrix = matrix
    return figure


def save_figure(figure, path: Path | str, *, force: bool = False) -> Path:
    """Save a chart as PNG (300 dpi), SVG or PDF, atomically, refusing to overwrite without ``force``."""
    from qualcode.exports import atomic_write

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in CHART_FORMATS:
        raise InputError(f"cannot save a chart as '{path.suffix or path.name}'; use .png, .svg or .pdf")
    with atomic_write(path, force) as tmp:
        figure.savefig(tmp, format=fmt, dpi=300 if fmt == "png" else "figure", bbox_inches="tight",
                       metadata={"Date": None} if fmt in ("svg", "pdf") else None)
    return path

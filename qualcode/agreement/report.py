"""Reading a two-coder result: codes by κ, codes under a bar, the demo's coders, and the κ bar chart."""

from __future__ import annotations

import sqlite3

from qualcode.agreement.two_coders import AgreementResult
from qualcode.errors import InputError

def sort_by_kappa(df):
    """Rows by κ, highest first, undefined κ last (then by code key)."""
    return df.assign(_undefined=df["kappa"].isna()).sort_values(
        ["_undefined", "kappa", "code"], ascending=[True, False, True], kind="stable").drop(columns="_undefined")


def codes_below(result: AgreementResult, threshold: float) -> list[str]:
    """Codes whose defined per-code κ is below ``threshold``."""
    df = result.per_code
    return [row.code for row in df.itertuples() if row.kappa == row.kappa and row.kappa < threshold]


def coder_pair_for_demo(conn: sqlite3.Connection) -> list[str]:
    """The coders (other than 'auto' and 'consensus') who have codings, sorted by name."""
    return [r[0] for r in conn.execute(
        "SELECT DISTINCT k.name FROM codings c JOIN coders k USING (coder_id)"
        " WHERE k.name NOT IN ('auto', 'consensus') ORDER BY k.name")]


CHART_SUFFIXES = ("png", "svg", "pdf")


def write_chart(result: AgreementResult, path, *, force: bool = False, threshold: float | None = None):
    """A horizontal bar chart of per-code κ (with CI whiskers when computed) as PNG, SVG or PDF.

    The layout is constrained (matplotlib arranges title, labels and legend
    so none is cut off or overlaps): the title, wrapped, sits above the plot, the
    threshold legend below the x-axis label, and a note on codes with
    undefined κ is a second line of that label.
    """
    from pathlib import Path

    from qualcode.exports import atomic_write

    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in CHART_SUFFIXES:
        raise InputError(f"cannot draw a chart as '.{suffix}'; name the file .png, .svg or .pdf")
    # a Figure without pyplot, as in qualcode.charts: no global backend switch, no figure left open
    import numpy as np
    from matplotlib.figure import Figure

    df = sort_by_kappa(result.per_code)
    defined = df[df["kappa"].notna()].iloc[::-1]
    if not len(defined):
        raise InputError("no code has a defined κ, so there is nothing to chart")
    height = max(3.0, 0.32 * len(defined) + 1.8)
    figure = Figure(figsize=(6.5, height), layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(len(defined))
    error = None
    if result.ci and "kappa_lo" in defined:
        low = (defined["kappa"] - defined["kappa_lo"]).clip(lower=0).fillna(0)
        high = (defined["kappa_hi"] - defined["kappa"]).clip(lower=0).fillna(0)
        error = np.vstack([low.to_numpy(), high.to_numpy()])
    axes.barh(positions, defined["kappa"], xerr=error, color="#4C72B0", ecolor="#333333", capsize=3, height=0.6)
    axes.set_yticks(positions, [f"{row.label} ({row.code})" for row in defined.itertuples()], fontsize=9)
    # the value beside each bar, so a κ of 0 (no bar at all) still reads as a number
    for position, value in zip(positions, defined["kappa"]):
        axes.text(1.01, position, f"{value:.2f}", transform=axes.get_yaxis_transform(), va="center",
                  ha="left", fontsize=8, color="#333333")
    axes.axvline(0, color="#333333", linewidth=0.8)
    axes.set_xlim(min(-0.1, float(np.nanmin(defined["kappa"])) - 0.1), 1.05)
    xlabel = f"Cohen's κ ({result.unit} units)"
    if result.ci:  # on its own line: one long line would run past the figure's edge
        xlabel += f"\nbars: {int(round(result.ci_level * 100))}% cluster-bootstrap CI"
    undefined = len(df) - len(defined)
    if undefined:
        xlabel += f"\n{undefined} code(s) with undefined κ not shown"
    axes.set_xlabel(xlabel)
    # across the whole figure from its left edge, wrapped, so a long pair of coder names is not cut off
    import textwrap

    figure.suptitle(textwrap.fill(f"Agreement between {result.coder_a} and {result.coder_b}", 75),
                    x=0.01, ha="left", fontsize=10)
    axes.spines[["top", "right"]].set_visible(False)
    if threshold is not None:
        axes.axvline(threshold, color="#C44E52", linestyle="--", linewidth=1, label=f"threshold κ = {threshold:g}")
        # below the x-axis label, where it can overlap neither the title nor the bars
        figure.legend(loc="outside lower right", fontsize=8, frameon=False)
    with atomic_write(path, force) as tmp:
        figure.savefig(tmp, format=suffix, dpi=200,
                       metadata={"Date": None} if suffix in ("svg", "pdf") else None)
    return path

"""Rendering ``qualcode agree`` for two or more coders (per code, --pairwise, --groups); parsing stays in agree.py."""

from __future__ import annotations

from pathlib import Path

from qualcode.agreement import PERCENT_DIGITS, UNDEFINED
from qualcode.agreement import format_statistic as _fmt

TEAM_COLUMNS = (("code", "left"), ("units", "right"), ("n₂", "right"), ("%", "right"), ("Fleiss κ", "right"),
                ("α", "right"), ("AC1", "right"), ("BP", "right"), ("Light κ", "right"), ("Landis–Koch", "left"))
MARKED = ("fleiss_kappa", "alpha", "ac1", "bp", "light_kappa")


def _with_ci(row, name: str, ci: bool) -> str:
    text = _fmt(getattr(row, name))
    if ci and text != UNDEFINED:
        low, high = getattr(row, f"{name}_lo", None), getattr(row, f"{name}_hi", None)
        if low is not None and low == low and high == high:
            text += f" [{low:.2f}, {high:.2f}]"
    return text


class _Notes:
    """Numbered reasons for undefined values, shared by all tables of one run."""

    def __init__(self):
        self.numbers: dict[str, int] = {}

    def mark(self, row, name: str, ci: bool = False) -> str:
        text = _with_ci(row, name, ci and name == "fleiss_kappa")
        reason = getattr(row, f"{name}_reason", "")
        if text == UNDEFINED and reason:
            text += f" ({self.numbers.setdefault(reason, len(self.numbers) + 1)})"
        return text

    def line(self) -> str:
        return f"{UNDEFINED} undefined: " + "; ".join(f"({n}) {r}" for r, n in self.numbers.items())


def _sorted(df):
    return df.assign(_undefined=df["fleiss_kappa"].isna()).sort_values(
        ["_undefined", "fleiss_kappa", "code"], ascending=[True, False, True], kind="stable").drop(columns="_undefined")


def render_team_table(result, threshold: float) -> None:
    """The per-code table for two or more coders."""
    import pandas as pd
    from rich.table import Table

    from qualcode.agreement import landis_koch
    from qualcode.cli._util import console

    out = console()
    notes = _Notes()

    def add(table, df, prefix="", flag=True):
        for row in df.itertuples():
            verdict = landis_koch(row.fleiss_kappa)
            if flag and row.fleiss_kappa == row.fleiss_kappa and row.fleiss_kappa < threshold:
                verdict += " [bold red]⚑[/]"
            units = "" if pd.isna(row.units) else str(row.units)
            pairable = "" if pd.isna(row.pairable_units) else str(row.pairable_units)
            table.add_row(prefix + row.code, units, pairable, _fmt(row.percent, PERCENT_DIGITS),
                          *[notes.mark(row, name, result.ci) for name in MARKED], verdict)

    title = f"Agreement among {', '.join(result.coders)} ({len(result.coders)} coders), unit: {result.unit}"
    if result.ci:
        title += f" (Fleiss κ with {int(round(result.ci_level * 100))}% cluster-bootstrap CI)"
    table = Table(title=title, title_justify="left")
    for header, justify in TEAM_COLUMNS:
        table.add_column(header, justify=justify, overflow="fold", min_width=12 if header == "code" else None)
    add(table, _sorted(result.per_code))
    if len(result.per_theme):
        table.add_section()
        add(table, _sorted(result.per_theme), "theme: ")
    table.add_section()
    names = {"(pooled: sum of tables)": "pooled (sum)", "(pooled: mean of codes)": "pooled (mean)"}
    add(table, result.pooled.assign(code=result.pooled["code"].map(names)), flag=False)
    out.print(table)
    if notes.numbers:
        out.print(notes.line(), highlight=False, markup=False)
    out.print("units = compared units rated by at least one coder, n₂ = by two or more; % = mean share of agreeing"
              " coder pairs per unit (Fleiss' P̄); Light κ = mean of the pairwise Cohen's κ; "
              f"⚑ = Fleiss κ below {threshold:g}; pooled (sum) = every (unit, code) one item, "
              "pooled (mean) = mean of the defined per-code values. See --pairwise for each pair of coders.",
              highlight=False, markup=False)
    _analytic_note(result)


def _analytic_note(result) -> None:
    if not result.ci:
        return
    from qualcode.cli._util import console

    row = result.pooled.iloc[0]
    parts = [f"pooled (sum): Gwet's {int(round(result.ci_level * 100))}% intervals: "
             f"Fleiss κ [{_fmt(row.fleiss_kappa_gwet_lo)}, {_fmt(row.fleiss_kappa_gwet_hi)}], "
             f"AC1 [{_fmt(row.ac1_gwet_lo)}, {_fmt(row.ac1_gwet_hi)}], "
             f"BP [{_fmt(row.bp_gwet_lo)}, {_fmt(row.bp_gwet_hi)}]"]
    if row.fleiss_kappa_se0 == row.fleiss_kappa_se0:
        parts.append(f"test of κ = 0 (Fleiss, Nee & Landis 1979): z = {row.fleiss_kappa_z:.2f}")
    console().print("; ".join(parts) + " (per code: csv/json/xlsx).", highlight=False, markup=False)


def render_pairwise_table(result) -> None:
    """A coders × coders matrix of pooled Cohen's κ, then κ per code for each pair."""
    from qualcode.agreement.team_frames import pairwise_matrix
    from qualcode.cli._util import render_table

    matrix = pairwise_matrix(result.pairwise, result.coders)
    view = matrix.map(_fmt).reset_index().rename(columns={"index": "coder"})
    render_table(view, "table", title="Cohen's κ per pair, pooled")
    codes = result.pairwise[result.pairwise["level"] == "code"]
    wide = codes.assign(pair=codes["coder_a"] + " · " + codes["coder_b"]).pivot(
        index="code", columns="pair", values="kappa")
    wide = wide.reindex(result.per_code["code"]).map(_fmt).reset_index()
    render_table(wide, "table", title="Cohen's κ per code and pair")


def render_groups_table(result) -> None:
    """Each exclusive group as one nominal variable, its categories, coincidences and problems."""
    from qualcode.cli._util import console, render_table

    if not len(result.groups):
        console().print("The codebook has no exclusive code groups among the compared codes"
                        " (mark a theme or subtheme 'exclusive: true').", highlight=False, markup=False)
        return
    notes = _Notes()
    rows = []
    for row in result.groups.itertuples():
        rows.append({"group": row.group, "categories": row.categories, "units": row.units,
                     "n₂": row.pairable_units, "%": _fmt(row.percent, PERCENT_DIGITS),
                     **{label: notes.mark(row, name, result.ci) for label, name in (
                         ("Fleiss κ", "fleiss_kappa"), ("α", "alpha"), ("AC1", "ac1"), ("BP", "bp"),
                         ("Light κ", "light_kappa"))}, "problems": row.problems})
    import pandas as pd

    render_table(pd.DataFrame(rows), "table", title="Exclusive code groups, each as one nominal variable")
    categories = result.group_categories.copy()
    for name in ("fleiss_kappa", "alpha", "ac1", "bp", "share"):
        categories[name] = categories[name].map(_fmt)
    categories["percent"] = categories["percent"].map(lambda v: _fmt(v, PERCENT_DIGITS))
    render_table(categories[["group", "category", "coincidences", "share", "percent", "fleiss_kappa", "alpha",
                             "ac1", "bp"]], "table", title="Per category (the category against the rest)")
    for group, cells in result.group_coincidences.groupby("group", sort=False):
        matrix = cells.pivot(index="category", columns="with_category", values="coincidences")
        order = list(dict.fromkeys(cells["category"]))
        matrix = matrix.reindex(index=order, columns=order).map(lambda v: f"{v:g}").reset_index()
        render_table(matrix, "table", title=f"Coincidences of {group} (Krippendorff; rows sum to each category's"
                                           " pairable values)")
    pairs = result.group_tables[["coder_a", "coder_b"]].drop_duplicates()
    if len(pairs) <= 3:  # more coders: csv/json/xlsx carry every pair's table
        for (group, coder_a, coder_b), cells in result.group_tables.groupby(["group", "coder_a", "coder_b"],
                                                                            sort=False):
            order = list(dict.fromkeys(cells["category_a"]))
            matrix = cells.pivot(index="category_a", columns="category_b", values="units").reindex(
                index=order, columns=order).reset_index().rename(columns={"category_a": "category"})
            render_table(matrix, "table", title=f"{group}: {coder_a} (rows) × {coder_b} (columns)")
    if notes.numbers:
        console().print(notes.line(), highlight=False, markup=False)
    if len(result.problems):
        render_table(result.problems, "table", title="Units with two codes of one exclusive group (left out, as"
                                                     " missing, for that coder)")


def report_problems(problems) -> None:
    """Every unit where a coder applied two codes of one exclusive group, on stderr."""
    from qualcode.cli._util import notice

    if problems is None or not len(problems):
        return
    notice(f"{len(problems)} unit(s) carry two codes of one exclusive group for a coder; that coder's rating"
           " of the group is left out there (missing):")
    for row in problems.itertuples():
        notice(f"  {row.group}: {row.coder} in {row.document}, unit {row.unit}: {row.codes}")


def team_output_table(result, view: str):
    """The one table csv and md carry for ``view`` (codes, pairwise or groups)."""
    import pandas as pd

    if view == "pairwise":
        return result.pairwise
    if view == "groups":
        if not len(result.groups):
            return result.groups
        stacked = pd.concat([result.groups.assign(level="group", category=""),
                             result.group_categories.assign(level="category")], ignore_index=True)
        for name in ("units", "pairable_units", "ratings", "problems"):  # counts stay integers, blank for categories
            stacked[name] = pd.Series(["" if pd.isna(v) else int(v) for v in stacked[name]], dtype=object)
        return stacked
    return result.table()


def write_team_output(result, fmt: str, out: Path | None, force: bool, view: str) -> None:
    import json
    import sys

    from qualcode.cli._util import notice
    from qualcode.exports import atomic_write, table_to_text, write_xlsx

    if fmt == "xlsx":
        with atomic_write(out, force) as tmp:
            write_xlsx(result.sheets(), tmp)
        notice(f"Agreement written to {out}")
        return
    if fmt == "json":
        text = json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n"
    else:
        table = team_output_table(result, view)
        text = table_to_text(rounded_for_reading(table) if fmt == "md" else table, fmt)
    if out is None:
        sys.stdout.write(text)
        return
    with atomic_write(out, force) as tmp:
        tmp.write_text(text, encoding="utf-8")
    notice(f"Agreement written to {out}")


# csv and json keep full precision; md is for reading but often pasted into a report, so one more
# decimal than the terminal table
MD_STATISTIC_DIGITS = 3


def rounded_for_reading(table):
    """The agreement table with numbers as text for people (``--format md``): percentages
    (``percent``, ``percent_lo``, ``percent_hi``) to 1 decimal, every other statistic to 3,
    undefined values blank. csv and json keep full precision for further analysis."""
    import pandas as pd

    view = table.copy()
    for column in view.columns:
        if not pd.api.types.is_float_dtype(view[column]):
            continue
        digits = PERCENT_DIGITS if str(column).startswith("percent") else MD_STATISTIC_DIGITS
        view[column] = [("" if pd.isna(v) else f"{v:.{digits}f}") for v in view[column]]
    return view

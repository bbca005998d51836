"""qualcode agree: inter-coder agreement between two or more coders, per code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from qualcode.cli._util import ForceOption, ProjectOption

# Exit status when --fail-below finds a code under the bar (1 is kept for errors, 2 for usage errors).
EXIT_BELOW_THRESHOLD = 3

from qualcode.agreement import PERCENT_DIGITS, UNDEFINED
from qualcode.agreement import format_statistic as _fmt
from qualcode.cli._agree_team import rounded_for_reading


def _with_ci(row, name: str, ci: bool, digits: int = 2) -> str:
    text = _fmt(getattr(row, name), digits)
    if ci and text != UNDEFINED:
        low, high = getattr(row, f"{name}_lo"), getattr(row, f"{name}_hi")
        if low == low and high == high:
            text += f" [{low:.{digits}f}, {high:.{digits}f}]"
    return text


def _render_rich(result, threshold: float) -> None:
    from rich.table import Table

    from qualcode.agreement import REASONED, landis_koch, sort_by_kappa
    from qualcode.cli._util import console

    out = console()
    notes: dict[str, int] = {}

    def mark(row, name: str) -> str:
        text = _with_ci(row, name, result.ci) if name == "kappa" else _fmt(getattr(row, name))
        reason = getattr(row, f"{name}_reason", "") if name in REASONED else ""
        if text == UNDEFINED and reason:
            number = notes.setdefault(reason, len(notes) + 1)
            text += f" ({number})"
        return text

    def verdict(kappa, flag: bool) -> str:
        label = landis_koch(kappa)
        if flag and kappa == kappa and kappa < threshold:
            label += " [bold red]⚑[/]"
        return label

    def add_rows(table, df, prefix: str = "") -> None:
        for row in sort_by_kappa(df).itertuples():
            table.add_row(
                prefix + row.code, str(row.n), f"{row.a}/{row.b}/{row.c}/{row.d}", _fmt(row.percent, PERCENT_DIGITS),
                mark(row, "kappa"), mark(row, "alpha"), mark(row, "ac1"), _fmt(row.bp),
                mark(row, "pos_agree"), mark(row, "neg_agree"), verdict(row.kappa, True),
            )

    title = f"Agreement {result.coder_a} vs {result.coder_b}, unit: {result.unit}"
    if result.ci:
        title += f" (κ with {int(round(result.ci_level * 100))}% cluster-bootstrap CI)"
    table = Table(title=title, title_justify="left")
    for header, justify in (("code", "left"), ("n", "right"), ("a/b/c/d", "right"), ("%", "right"),
                            ("κ", "right"), ("α", "right"), ("AC1", "right"), ("BP", "right"),
                            ("pos", "right"), ("neg", "right"), ("Landis–Koch", "left")):
        table.add_column(header, justify=justify, overflow="fold", min_width=12 if header == "code" else None)
    add_rows(table, result.per_code)
    if len(result.per_theme):
        table.add_section()
        add_rows(table, result.per_theme, "theme: ")
    table.add_section()
    import pandas as pd

    for row, name in zip(result.pooled.itertuples(), ("pooled (sum)", "pooled (mean)")):
        cells = "" if pd.isna(row.a) else f"{row.a}/{row.b}/{row.c}/{row.d}"
        n = "" if pd.isna(row.n) else str(row.n)
        table.add_row(name, n, cells, _fmt(row.percent, PERCENT_DIGITS), _with_ci(row, "kappa", result.ci),
                      _fmt(row.alpha), _fmt(row.ac1), _fmt(row.bp), _fmt(row.pos_agree), _fmt(row.neg_agree),
                      landis_koch(row.kappa))
    out.print(table)
    if notes:
        lines = [f"({number}) {reason}" for reason, number in notes.items()]
        out.print(f"{UNDEFINED} undefined: " + "; ".join(lines), highlight=False, markup=False)
    out.print(f"a = both coders, b = only {result.coder_a}, c = only {result.coder_b}, d = neither; "
              "pos/neg = positive/negative specific agreement; "
              f"⚑ = κ below {threshold:g}; pooled (sum) = one table summed over codes, "
              "pooled (mean) = mean of the defined per-code values.", highlight=False, markup=False)
    if result.per_code_document is not None:
        from qualcode.cli._util import render_table

        view = result.per_code_document[["code", "document", "a", "b", "c", "d", "n", "percent", "kappa"]].copy()
        view["percent"] = view["percent"].map(lambda v: _fmt(v, PERCENT_DIGITS))
        view["kappa"] = view["kappa"].map(_fmt)
        render_table(view, "table", title="Per code × document (NVivo's coding comparison)")


def agree(
    coders: Annotated[list[str], typer.Argument(
        help="Two or more coders (e.g. the one who coded everything, then the blind second coders).")],
    unit: Annotated[str, typer.Option(
        "--unit", "-u", help="Unit compared: paragraph, turn, sentence, char, document or respondent.")] = "paragraph",
    codes: Annotated[Optional[list[str]], typer.Option(
        "--codes", "-c", help="Only these codes (and what is beneath them); repeatable or comma-separated.")] = None,
    min_overlap: Annotated[float, typer.Option(
        "--min-overlap", help="Count a unit as coded only when codings cover at least this fraction of it.")] = 0.0,
    all_units: Annotated[bool, typer.Option(
        "--all-units", help="Compare every respondent unit, not only those both coders were assigned.")] = False,
    ci: Annotated[bool, typer.Option(
        "--ci", help="Add 95% cluster-bootstrap intervals (resampling respondents); for 3+ coders also Gwet's.")] = False,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap replicates for --ci.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed for --ci.")] = 0,
    threshold: Annotated[float, typer.Option(
        "--threshold", help="Flag codes whose κ (Fleiss' κ for three or more coders) is below this.")] = 0.6,
    fail_below: Annotated[Optional[float], typer.Option(
        "--fail-below", help=f"Exit with status {EXIT_BELOW_THRESHOLD} when any defined per-code κ"
                             " (Fleiss' κ for 3+ coders) is below this.")] = None,
    pairwise: Annotated[bool, typer.Option(
        "--pairwise", help="Show Cohen's κ for every pair of coders (per code and pooled) instead.")] = False,
    groups: Annotated[bool, typer.Option(
        "--groups", help="Show the exclusive code groups (exclusive: true) as nominal variables instead.")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv, json, md or xlsx (xlsx needs --out).")] = "table",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write csv, json, md or xlsx to this file.")] = None,
    chart: Annotated[Optional[Path], typer.Option("--chart", help="Also draw per-code κ as a bar chart (.png, .svg or .pdf).")] = None,
    force: ForceOption = False,
    project: ProjectOption = None,
) -> None:
    """Inter-coder agreement between two or more coders, code by code.

    Two coders: percent agreement, Cohen's κ, Krippendorff's α, Gwet's AC1,
    Brennan–Prediger and specific agreement, per code, per theme and pooled, on
    the unit you choose. Three or more: Fleiss' κ, Krippendorff's α (a coder not
    given a unit is missing for it), Gwet's AC1, Brennan–Prediger, Light's κ and
    percent agreement; --pairwise shows Cohen's κ for each pair of coders, and
    --groups the exclusive code groups of the codebook (either works with two).

    By default only the units both coders were assigned (or the documents both
    coded) are compared — with more coders, those in the scope of at least two;
    the command says which. An undefined statistic is shown as — with its
    reason. Formulas and references: docs/methods/agreement.md.
    Exit status: 0 ok, 1 error, 3 when --fail-below finds a κ under the bar.

    Example:

        qualcode agree alice bob --unit paragraph --ci --chart kappa.png

        qualcode agree alice bob carol --pairwise
    """
    # long: typer declares each option in the signature; the body only checks them, calls, renders
    from qualcode.agreement import codes_below, compute_agreement, write_chart
    from qualcode.cli._util import check_format, err_console, notice, open_project

    fmt = check_format(fmt, ("table", "csv", "json", "md", "xlsx"))
    if fmt == "xlsx" and out is None:
        from qualcode.errors import InputError

        raise InputError("--format xlsx writes a file; add --out FILE.xlsx")
    if out is not None and fmt == "table":
        from qualcode.exports import format_from_path

        fmt = check_format(format_from_path(out), ("csv", "json", "md", "xlsx"))
    # refuse unusable output paths before the work, not after part of the output is written
    from qualcode.exports import check_overwrite

    if out is not None:
        check_overwrite(out, force)
    if chart is not None:
        if chart.suffix.lower() not in (".png", ".svg", ".pdf"):
            from qualcode.errors import InputError

            raise InputError(f"cannot draw a chart as '{chart.suffix}'; name the file .png, .svg or .pdf")
        check_overwrite(chart, force)
    code_keys = [k.strip() for item in (codes or []) for k in item.split(",") if k.strip()] or None
    if len(coders) != 2 or pairwise or groups:
        return _agree_team(coders, unit=unit, codes=code_keys, min_overlap=min_overlap, all_units=all_units, ci=ci,
                           n_boot=n_boot, seed=seed, threshold=threshold, fail_below=fail_below, fmt=fmt, out=out,
                           chart=chart, force=force, project=project, pairwise=pairwise, groups=groups)
    coder_a, coder_b = coders
    proj = open_project(project)
    try:
        result = compute_agreement(
            proj.connect(), coder_a, coder_b, unit=unit.lower(), codes=code_keys, min_overlap=min_overlap, ci=ci,
            n_boot=n_boot, seed=seed, scope="all" if all_units else "assigned", language=proj.language)
        exclusive_problems = _exclusive_problems(proj.connect(), coders, unit.lower(), code_keys, min_overlap,
                                                 "all" if all_units else "assigned", proj.language)
    finally:
        proj.close()

    if exclusive_problems is not None:
        from qualcode.cli._agree_team import report_problems

        report_problems(exclusive_problems)
    compared = result.compared
    # every format says what was compared (on stderr, so csv/json on stdout stay clean)
    notice(f"Compared {compared['count']} {compared['unit']} unit(s) in {len(compared['documents'])} document(s): "
           f"{compared['scope']}. Rule: {compared['rule']}.")
    if ci and result.compared["clusters"] < 10:
        notice(f"Only {result.compared['clusters']} respondent(s) to resample: the bootstrap intervals are coarse"
               " and can understate the uncertainty.")
    if fmt == "table":
        _render_rich(result, threshold)
    else:
        _write_output(result, fmt, out, force)
    if chart is not None:
        write_chart(result, chart, force=force, threshold=threshold)
        notice(f"Chart written to {chart}")
    low = codes_below(result, threshold)
    if low and fmt == "table":
        notice(f"{len(low)} code(s) with κ below {threshold:g}: {', '.join(low)}")
    if fail_below is not None:
        failing = codes_below(result, fail_below)
        if failing:
            err_console().print(
                f"κ below {fail_below:g} for {len(failing)} code(s): {', '.join(failing)}", highlight=False, markup=False)
            raise typer.Exit(EXIT_BELOW_THRESHOLD)


def _exclusive_problems(conn, coders, unit, codes, min_overlap, scope, language):
    """The exclusive-group problems of two coders (None when the codebook has no exclusive group)."""
    from qualcode.agreement import exclusive_group_keys, gather_team_data

    if unit == "char" or not exclusive_group_keys(conn):
        return None
    import pandas as pd

    data = gather_team_data(conn, coders, unit=unit, codes=codes, min_overlap=min_overlap, scope=scope,
                            language=language)
    return pd.DataFrame([p for g in data.groups for p in g.problems], columns=["group", "coder", "document", "unit",
                                                                              "codes"])


def _agree_team(coders, *, unit, codes, min_overlap, all_units, ci, n_boot, seed, threshold, fail_below, fmt, out,
                chart, force, project, pairwise, groups) -> None:
    """Two or more coders through the many-coder statistics (the options were checked by ``agree``)."""
    from qualcode.agreement import compute_team_agreement
    from qualcode.cli import _agree_team as render
    from qualcode.cli._util import err_console, notice, open_project
    from qualcode.errors import InputError

    if pairwise and groups:
        raise InputError("--pairwise and --groups show different tables; choose one")
    if chart is not None:
        raise InputError("--chart draws two coders' Cohen's κ; for more coders use --format csv and chart the"
                         " fleiss_kappa column")
    proj = open_project(project)
    try:
        result = compute_team_agreement(
            proj.connect(), coders, unit=unit.lower(), codes=codes, min_overlap=min_overlap, ci=ci, n_boot=n_boot,
            seed=seed, scope="all" if all_units else "assigned", language=proj.language)
    finally:
        proj.close()
    render.report_problems(result.problems)
    compared = result.compared
    notice(f"Compared {compared['count']} {compared['unit']} unit(s) in {len(compared['documents'])} document(s)"
           f" among {len(result.coders)} coders: {compared['scope']}. Rule: {compared['rule']}; {compared['missing']}.")
    if ci and compared["clusters"] < 10:
        notice(f"Only {compared['clusters']} respondent(s) to resample: the bootstrap intervals are coarse"
               " and can understate the uncertainty.")
    view = "pairwise" if pairwise else "groups" if groups else "codes"
    if fmt != "table":
        render.write_team_output(result, fmt, out, force, view)
    elif view == "pairwise":
        render.render_pairwise_table(result)
    elif view == "groups":
        render.render_groups_table(result)
    else:
        render.render_team_table(result, threshold)
    kappas = result.per_code.set_index("code")["fleiss_kappa"]
    low = [code for code, value in kappas.items() if value == value and value < threshold]
    if low and fmt == "table" and view == "codes":
        notice(f"{len(low)} code(s) with Fleiss κ below {threshold:g}: {', '.join(low)}")
    if fail_below is not None:
        failing = [code for code, value in kappas.items() if value == value and value < fail_below]
        if failing:
            err_console().print(f"Fleiss κ below {fail_below:g} for {len(failing)} code(s): {', '.join(failing)}",
                                highlight=False, markup=False)
            raise typer.Exit(EXIT_BELOW_THRESHOLD)


def _write_output(result, fmt: str, out: Path | None, force: bool) -> None:
    import json
    import sys

    from qualcode.cli._util import notice
    from qualcode.exports import atomic_write, table_to_text, write_xlsx

    if fmt == "json":
        text = json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n"
    elif fmt in ("csv", "md"):
        table = result.table(with_documents=True)
        if fmt == "md":
            table = rounded_for_reading(table)
        text = table_to_text(table, fmt)
    else:
        text = None
    if fmt == "xlsx":
        with atomic_write(out, force) as tmp:
            write_xlsx(result.sheets(), tmp)
        notice(f"Agreement written to {out}")
        return
    if out is None:
        sys.stdout.write(text)
        return
    with atomic_write(out, force) as tmp:
        tmp.write_text(text, encoding="utf-8")
    notice(f"Agreement written to {out}")


def register(app: typer.Typer) -> None:
    app.command("agree")(agree)

"""qualcode counts / matrix / fill / chart: respondent counts and what a results section needs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from qualcode.cli._util import ForceOption, ProjectOption

CoderOption = Annotated[
    Optional[str],
    typer.Option("--coder", "-c", help="Coder to count from (default: 'consensus' if it exists, else the only coder).",
                 show_default=False),
]
ByOption = Annotated[
    Optional[str], typer.Option("--by", help="Split by this respondent attribute (e.g. role).", show_default=False)
]
LevelOption = Annotated[
    str, typer.Option("--level", help="Rows to show: theme (top level), subtheme (two levels) or code (all).")
]
OutOption = Annotated[
    Optional[Path], typer.Option("--out", "-o", help="Write to this file; the format follows its suffix.",
                                 show_default=False)
]
ChartOutOption = Annotated[Path, typer.Option("--out", "-o", help="FILE.png, FILE.svg or FILE.pdf.")]

def _print_notices(notices) -> None:
    from qualcode.cli._util import notice

    for line in notices:
        notice(f"Note: {line}")


def counts(
    coder: CoderOption = None,
    by: ByOption = None,
    level: LevelOption = "code",
    table: Annotated[bool, typer.Option(
        "--table", help="The theme table papers print: theme / subtheme / n (%) / description / respondent ids.")] = False,
    fmt: Annotated[Optional[str], typer.Option(
        "--format", "-f", help="table, csv, json or md on stdout; with --out the suffix decides (csv, json, md, xlsx,"
                               " docx, and tex with --table).", show_default=False)] = None,
    out: OutOption = None,
    force: ForceOption = False,
    project: ProjectOption = None,
) -> None:
    """Distinct respondents per theme, subtheme and code, rolled up through the codebook.

    A respondent counts for a code when one of its codings overlaps that respondent's own
    speech; a theme's n is the respondents coded anywhere beneath it (never a sum).
    Respondents without transcript text are left out of the denominator (a note on stderr).

    Example:

        qualcode counts --level theme --by role

        qualcode counts --table --level subtheme --out outputs/themes.docx
    """
    from qualcode.cli._util import notice, open_project, output_format, render_table
    from qualcode.exports import table_to_text, write_table
    from qualcode.themes import (compute_counts, theme_table_from, theme_table_markdown, write_theme_table)

    file_formats = ("csv", "json", "md", "xlsx", "docx") + (("tex",) if table else ())
    fmt = output_format(fmt, out, file_formats)
    with open_project(project) as opened:
        result = compute_counts(opened.connect(), coder=coder, level=level, by=by)
    _print_notices(result.notices)
    title = f"Respondents per {'theme' if level == 'theme' else 'code'} ({result.description()})"
    if table:
        themes = theme_table_from(result)
        if out is not None:
            write_theme_table(themes, out, force=force)
            notice(f"Wrote the theme table ({len(themes.table)} rows) to {out}")
        elif fmt == "md":
            typer.echo(theme_table_markdown(themes), nl=False)
        else:
            render_table(themes.table, fmt, title=title if fmt == "table" else None)
        return
    df = result.table
    if out is not None:
        write_table(df, out, force=force, sheet_name="Counts", title=title)
        notice(f"Wrote counts for {len(df)} codes to {out}")
        return
    if fmt == "table":
        render_table(result.display(), "table", title=title)
    else:
        typer.echo(table_to_text(df, fmt), nl=False)


def matrix(
    out: Annotated[Path, typer.Option("--out", "-o", help="FILE.xlsx (one sheet per theme) or FILE.csv (one table).")],
    coder: CoderOption = None,
    cells: Annotated[str, typer.Option(
        "--cells", help="count (coded paragraphs), presence (1/0) or text (the coded passages, trimmed).")] = "count",
    by: Annotated[Optional[str], typer.Option(
        "--by", help="Group the respondent rows by this attribute.", show_default=False)] = None,
    max_words: Annotated[int, typer.Option("--max-words", help="Words kept per text cell before '…'.", min=5)] = 60,
    force: ForceOption = False,
    project: ProjectOption = None,
) -> None:
    """The framework matrix: respondents (rows) × codes grouped by theme (columns).

    Text cells hold each respondent's coded passages for the code, so the matrix
    reads like a framework analysis chart.

    Example:

        qualcode matrix --cells text --by role --out outputs/matrix.xlsx
    """
    from qualcode.cli._util import notice, open_project
    from qualcode.themes import framework_matrix, write_matrix

    with open_project(project) as opened:
        result = framework_matrix(opened.connect(), coder=coder, cells=cells, by=by, max_words=max_words)
    _print_notices(result.notices)
    write_matrix(result, out, force=force)
    notice(f"Wrote a {len(result.flat)}-respondent matrix ({cells} cells, coder '{result.coder}') to {out}")


def fill(
    manuscript: Annotated[Path, typer.Argument(help="A .md (or .txt) or .docx manuscript with {{n:KEY}} placeholders.")],
    out: OutOption = None,
    check: Annotated[bool, typer.Option("--check", help="Only validate the placeholders; write nothing.")] = False,
    coder: CoderOption = None,
    force: ForceOption = False,
    project: ProjectOption = None,
) -> None:
    """Fill counts into a manuscript: {{n:KEY}} → (12), {{ids:KEY}} → [SF3; SF5; SF8], {{pct:KEY}} → 80%.

    Filters restrict the respondents: {{n:work.toll|role=Support worker}}; join several with
    ',' (the same attribute twice means either value). Quote values holding ',', '|' or '='
    with double quotes. Any unknown key, attribute or value, or a malformed placeholder,
    is reported with its line (or paragraph) and nothing is written.

    Example:

        qualcode fill results.md --out results_filled.md

        qualcode fill paper.docx --check
    """
    from qualcode.cli._util import notice, open_project
    from qualcode.errors import InputError
    from qualcode.themes import fill_manuscript

    if not check and out is None:
        raise InputError("give the filled file's name with --out FILE (or add --check to only validate)")
    with open_project(project) as opened:
        result = fill_manuscript(opened.connect(), manuscript, out, coder=coder, check=check, force=force)
    _print_notices(result.notices)
    if check:
        for problem in result.problems:
            notice(f"{manuscript.name}, {problem}")
        if result.problems:
            raise InputError(f"{manuscript.name}: {len(result.problems)} placeholder problem(s) found")
        notice(f"{manuscript.name}: {len(result.placeholders)} placeholder(s), all valid (coder '{result.coder}')")
        return
    notice(f"Filled {len(result.placeholders)} placeholder(s) from coder '{result.coder}' into {out}")


chart_app = typer.Typer(
    help="Charts for a paper (PNG, SVG or PDF).\n\nExample:\n\n    qualcode chart themes --by role --out outputs/themes.png",
    no_args_is_help=True,
)


def _save_chart(figure, out: Path, force: bool) -> None:
    """Save a chart to --out (refusing to overwrite without --force) and say where on stderr."""
    from qualcode.charts import save_figure
    from qualcode.cli._util import notice

    save_figure(figure, out, force=force)
    notice(f"Wrote {out}")


@chart_app.command("themes")
def chart_themes(
    out: ChartOutOption,
    coder: CoderOption = None,
    by: ByOption = None,
    level: LevelOption = "theme",
    force: ForceOption = False,
    project: ProjectOption = None,
) -> None:
    """Bar chart of distinct respondents per theme, optionally stacked by an attribute.

    Example:

        qualcode chart themes --by role --out outputs/themes.png
    """
    from qualcode.charts import themes_chart
    from qualcode.cli._util import open_project

    with open_project(project) as opened:
        figure = themes_chart(opened.connect(), coder=coder, by=by, level=level)
    _print_notices(figure.qualcode_counts.notices)
    _save_chart(figure, out, force)


@chart_app.command("cooccurrence")
def chart_cooccurrence(
    out: ChartOutOption,
    coder: CoderOption = None,
    by: Annotated[str, typer.Option(
        "--by", help="respondents (coded with both codes) or units (paragraphs coded with both).")] = "respondents",
    level: LevelOption = "code",
    force: ForceOption = False,
    project: ProjectOption = None,
) -> None:
    """Heatmap of how often two codes occur together, by respondents or by paragraphs.

    Example:

        qualcode chart cooccurrence --by units --out outputs/cooccurrence.svg
    """
    from qualcode.charts import cooccurrence_chart
    from qualcode.cli._util import open_project

    with open_project(project) as opened:
        figure = cooccurrence_chart(opened.connect(), coder=coder, by=by, level=level)
    _save_chart(figure, out, force)


def register(app: typer.Typer) -> None:
    app.command("counts")(counts)
    app.command("matrix")(matrix)
    app.command("fill")(fill)
    app.add_typer(chart_app, name="chart")

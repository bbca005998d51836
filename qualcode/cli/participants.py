"""qualcode participants table: the participant characteristics table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from qualcode.cli._util import ForceOption, ProjectOption

participants_app = typer.Typer(
    help="Describe the participants (characteristics table).\n\nExample:\n\n    qualcode participants table --by role,site",
    no_args_is_help=True,
)


@participants_app.command("table")
def table(
    by: Annotated[Optional[str], typer.Option(
        "--by", help="Attributes to describe, comma-separated (default: all, in import order).",
        show_default=False)] = None,
    include_all: Annotated[bool, typer.Option(
        "--all", help="Describe every respondent, not only those with transcript text.")] = False,
    fmt: Annotated[Optional[str], typer.Option(
        "--format", "-f", help="table, csv, json or md on stdout; with --out the suffix decides (csv, json, md,"
                               " xlsx, docx, tex).", show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write to this file.", show_default=False)] = None,
    force: ForceOption = False,
    project: ProjectOption = None,
) -> None:
    """Participant characteristics: n (%) for each attribute value, mean (range) for numbers.

    The denominator (respondents with transcript text, or all with --all) is stated in the
    header. csv, json and xlsx keep the tidy columns (n, pct, mean, min, max); table, md,
    docx and tex print the layout papers use.

    Example:

        qualcode participants table --by role,gender,site,years_in_role --out outputs/participants.docx
    """
    from qualcode.cli._util import notice, open_project, output_format, render_table
    from qualcode.exports import table_to_text, write_table
    from qualcode.participants import participant_table

    fmt = output_format(fmt, out, ("csv", "json", "md", "xlsx", "docx", "tex"))
    attributes = [name.strip() for name in by.split(",") if name.strip()] if by else None
    with open_project(project) as opened:
        result = participant_table(opened.connect(), by=attributes, include_all=include_all)
    for line in result.notices:
        notice(f"Note: {line}")
    tidy = fmt in ("csv", "json", "xlsx")
    df = result.table if tidy else result.display()
    title = f"Participant characteristics (N = {result.denominator})"
    if out is not None:
        write_table(df, out, force=force, sheet_name="Participants", title=title)
        notice(f"Wrote the participants table to {out}")
    elif fmt == "table":
        render_table(df, "table", title=title)
    else:
        typer.echo(table_to_text(df, fmt), nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(participants_app, name="participants")

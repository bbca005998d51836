"""qualcode respondents: import attributes from a CSV and list respondents."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from qualcode.cli._util import FormatOption, ProjectOption

respondents_app = typer.Typer(
    name="respondents",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _list(fmt: str, project_dir: Path | None) -> None:
    from qualcode.cli._util import check_format, open_project, render_table
    from qualcode.respondents import list_respondents

    check_format(fmt, ("table", "csv", "json", "md"))
    project = open_project(project_dir)
    try:
        table = list_respondents(project.connect())
    finally:
        project.close()
    render_table(table, fmt, title="Respondents", caption="units and words: respondent speech only")


@respondents_app.callback()
def respondents(
    ctx: typer.Context,
    fmt: FormatOption = "table",
    project_dir: ProjectOption = None,
) -> None:
    """Respondents: import attributes (role, site, …) from a CSV; list them with documents, units and words.

    Plain 'qualcode respondents' lists them, like 'qualcode respondents list'.

    Example:

        qualcode respondents --format csv > respondents-summary.csv
    """
    if ctx.invoked_subcommand is None:
        _list(fmt, project_dir)


@respondents_app.command("list")
def list_command(fmt: FormatOption = "table", project_dir: ProjectOption = None) -> None:
    """List respondents with their attributes, documents, units and words (respondent speech only).

    Example:

        qualcode respondents list --format md
    """
    _list(fmt, project_dir)


@respondents_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV: an id column plus attribute columns (comma or semicolon).",
                                         show_default=False)],
    id_column: Annotated[Optional[str], typer.Option(
        "--id-column", help="Name of the id column (default: respondent, respondent_id or id).",
        show_default=False)] = None,
    allow_new: Annotated[bool, typer.Option(
        "--allow-new", help="Add ids that are not yet in the project (otherwise refused as likely typos).")] = False,
    project_dir: ProjectOption = None,
) -> None:
    """Import respondent attributes (role, site, country, gender, years…) from a CSV file.

    Re-importing replaces the attributes of the respondents in the file. Ids
    the project does not know yet are refused unless --allow-new (a project
    with no respondents yet accepts any).

    Example:

        qualcode respondents import respondents.csv
    """
    from qualcode.cli._util import notice, open_project
    from qualcode.respondents import import_respondents

    project = open_project(project_dir)
    try:
        result = import_respondents(project, file, id_column=id_column, allow_new=allow_new)
    finally:
        project.close()
    total = len(result.updated) + len(result.new)
    notice(f"Imported attributes ({', '.join(result.attributes) or 'none'}) for {total} respondent(s)"
           + (f"; new: {', '.join(result.new)}" if result.new else "") + ".")
    if result.not_in_file:
        notice(f"Not in {file.name} (no attributes changed): {', '.join(result.not_in_file)}")


def register(app: typer.Typer) -> None:
    app.add_typer(respondents_app, name="respondents")

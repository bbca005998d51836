"""qualcode respondents: import attributes from a CSV, list respondents, attribute documents to them."""

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
    """Respondents: import attributes (role, site, …) from a CSV; list them with documents, units and words;
    attribute documents or speakers to them (assign).

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
    replace: Annotated[bool, typer.Option(
        "--replace", help="Remove the listed respondents' attributes that are not in the file (default: keep them).")
    ] = False,
    project_dir: ProjectOption = None,
) -> None:
    """Import respondent attributes (role, site, country, gender, years…) from a CSV file.

    The file's attributes are added or updated for the respondents in it; their
    other attributes are kept (a file with only respondent,role updates the role
    and keeps site, gender, …). With --replace, the listed respondents'
    attributes that are not in the file are removed. Respondents not in the file
    are never changed. Ids the project does not know yet are refused unless
    --allow-new (a project with no respondents yet accepts any).

    Example:

        qualcode respondents import respondents.csv

        qualcode respondents import roles-corrected.csv --replace
    """
    from qualcode.cli._util import notice, open_project
    from qualcode.respondents import import_respondents

    project = open_project(project_dir)
    try:
        result = import_respondents(project, file, id_column=id_column, allow_new=allow_new, replace=replace)
    finally:
        project.close()
    for line in import_summary(result, file.name):
        notice(line)


def import_summary(result, file_name: str) -> list[str]:
    """The notice lines for a respondents import: what was set, kept or removed."""
    total = len(result.updated) + len(result.new)
    line = f"Updated {', '.join(result.attributes) or 'no attributes'} for {total} respondent(s)"
    if result.new:
        line += f" (new: {', '.join(result.new)})"
    if result.kept:
        line += f"; kept {', '.join(result.kept)} (not in {file_name})"
    if result.removed:
        line += f"; removed {', '.join(result.removed)} (not in {file_name}, --replace)"
    lines = [line + "."]
    if result.not_in_file:
        lines.append(f"Not in {file_name} (no attributes changed): {', '.join(result.not_in_file)}")
    return lines


@respondents_app.command("assign")
def assign_command(
    document: Annotated[str, typer.Argument(help="Document name, as 'qualcode documents' lists it (e.g. FG1.txt).",
                                            show_default=False)],
    respondent_id: Annotated[str, typer.Argument(metavar="RESPONDENT_ID", help="The respondent's id, e.g. SF4.",
                                                 show_default=False)],
    speaker: Annotated[Optional[str], typer.Option(
        "--speaker", help="Only this speaker's turns (label as in the transcript, e.g. \"Speaker 2\").",
        show_default=False)] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Also reassign a document or units that already belong to another respondent.")] = False,
    project_dir: ProjectOption = None,
) -> None:
    """Attribute a document, or one speaker in it, to a respondent.

    For documents imported without a respondent (a REFI-QDA project without
    cases, a focus group, generic speaker labels): sets the document's
    respondent and gives its respondent speech that has none to RESPONDENT_ID;
    with --speaker, only that speaker's turns. Units or a document that already
    belong to someone else are changed only with --force. Text, positions and
    codings stay as they are; counts per respondent follow the new attribution.

    Example:

        qualcode respondents assign interview-03.txt SF4

        qualcode respondents assign FG1.txt SF2 --speaker "Speaker 3"
    """
    from qualcode.cli._util import notice, open_project
    from qualcode.respondents import assign_respondent

    project = open_project(project_dir)
    try:
        result = assign_respondent(project, document, respondent_id, speaker=speaker, force=force)
    finally:
        project.close()
    notice(assign_summary(result))


def assign_summary(result) -> str:
    """One line saying what ``assign_respondent`` changed."""
    changed = result.units_set + result.units_changed
    document_changed = result.document_respondent != result.previous_document_respondent
    if not changed and not document_changed:
        return f"{result.document}: nothing to change; its respondent speech already belongs to {result.respondent}."
    who = " (new respondent)" if result.new_respondent else ""
    line = f"{result.document}: {changed} respondent unit(s) given to {result.respondent}{who}"
    if result.units_changed:
        line += f" ({result.units_changed} reassigned from another respondent)"
    if document_changed:
        before = result.previous_document_respondent or "none"
        line += f"; document respondent: {before} → {result.document_respondent}"
    return line + "."


def register(app: typer.Typer) -> None:
    app.add_typer(respondents_app, name="respondents")
